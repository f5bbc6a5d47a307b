"""Pitch-class content of a spectrogram, shared by ``key`` (which key) and ``harmonic_rhythm``
(when the chords change): a drum-masked power spectrogram folded onto the 12 pitch classes.

Split out of ``key`` when the tempo estimate began to read chord changes too; both want the same
chroma, with the drums' broadband smear taken out before notes are counted.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["BASS_MAX_HZ", "CHROMA_MAX_HZ", "CHROMA_MIN_HZ", "pitch_class_shares", "tonal_power"]

FloatArray = npt.NDArray[np.float64]

CHROMA_MIN_HZ = 440.0 * 2.0 ** ((39.5 - 69.0) / 12.0)
"""80 Hz, a quarter-tone under E2: below it a kick drum's body (40-80 Hz) outweighs the bass
line, and with the kick on every beat it put one constant pitch class into every frame's bass
chroma. A bass note under E2 still counts through its octave partial, the same pitch class."""
BASS_MAX_HZ = 2.0 * 2.0 * CHROMA_MIN_HZ
"""E2-E4 (80-320 Hz): where bass lines put chord roots, exactly two octaves so every pitch
class has the same number of semitone bands in it."""
CHROMA_MAX_HZ = 2000.0
_BROADBAND_HZ = 8.0
"""Half-width of the across-frequency median that estimates each bin's broadband (percussive)
power: wider than a tonal partial's main lobe (a few Hz at the FFT sizes used), narrower than a
drum hit's smear (tens of Hz)."""
_TONAL_RATIO = 2.0
"""A bin keeps power in proportion to p^2 / (p^2 + (ratio * median)^2): half at twice the local
median, almost all well above it, almost none on a flat broadband stretch."""


def pitch_class_shares(power: FloatArray, freqs: FloatArray, lo: float, hi: float) -> FloatArray:
    """Each frame's power share per pitch class between ``lo`` and ``hi`` Hz, ``[frames, 12]``.

    Power rather than log-magnitude: log compression lifts the upper partials of every note
    almost to the level of the fundamental, and the 3rd partial (a fifth up) then drags the
    estimate towards the dominant key. Each frame is normalised so a loud passage does not
    outvote the rest; a frame with no power in the band gives zeros.
    """
    band = (freqs >= lo) & (freqs <= hi)
    pitch_class = np.round(69.0 + 12.0 * np.log2(freqs[band] / 440.0)).astype(np.int64) % 12
    per_bin = power[:, band]
    totals = per_bin.sum(axis=1, keepdims=True)
    shares = per_bin / np.where(totals > 0.0, totals, 1.0)
    folded = np.zeros((power.shape[0], 12))
    for pc in range(12):
        folded[:, pc] = shares[:, pitch_class == pc].sum(axis=1)
    return folded


def tonal_power(power: FloatArray, freqs: FloatArray) -> FloatArray:
    """``power`` with its broadband part masked off, bin by bin (a soft harmonic/percussive
    split across frequency, as in Fitzgerald's median filtering, without the across-time half).

    A drum hit is a smear tens of Hz wide, a note's partial a line a few bins wide, so a bin's
    local median over +-``_BROADBAND_HZ`` measures the drums under it. Only the chroma band is
    filtered, which keeps this a few milliseconds.
    """
    step = float(freqs[1] - freqs[0])
    half = max(1, round(_BROADBAND_HZ / step))
    band = np.nonzero(
        (freqs >= CHROMA_MIN_HZ - _BROADBAND_HZ) & (freqs <= CHROMA_MAX_HZ + _BROADBAND_HZ)
    )[0]
    sub = power[:, band]
    padded = np.pad(sub, ((0, 0), (half, half)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=1)
    floor = _TONAL_RATIO * np.median(windows, axis=2)
    squared = np.square(sub)
    total = squared + np.square(floor)
    tonal = np.zeros_like(power)
    tonal[:, band] = sub * squared / np.where(total > 0.0, total, 1.0)
    return tonal
