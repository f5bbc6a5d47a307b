"""Where the chords change relative to the bar: the one tempo cue keys-only music still has.

Without drums, nothing in the note onsets says whether a piano that strikes a chord on every
other beat under a melody in quarter notes is at 130 BPM or at 65: both readings put notes on
every beat. A listener also hears the harmony, and chords change on the bar line -- most often
once a bar, sometimes once every two, hardly ever every other beat through a whole piece (Goto
and Muraoka's beat tracker for music without drums rests on the same fact). So if, read at a
tempo, the chords change half-way through every bar as regularly as on its bar lines, that
tempo is likely half the music's, and a 4/4 bar of the doubled tempo has one change per bar;
if they change on only every other bar line, it is likely twice the music's. Which of "one
chord a bar" and "one chord every two bars" a piece has, the chords alone cannot say, so
``tempo`` lets this evidence decide only where the tempo prior agrees with it.

The chord-change curve is the cosine distance between the pitch-class content of the beat
before and the beat after each frame (``chroma``'s pitch-class shares of the power spectrum),
folded at the bar of the tempo under test. ``tempo`` asks only where no drums play, so the
drum mask ``key`` needs (``chroma.tonal_power``, two thirds of the cost here) is left out.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from dgx_music.audio.chroma import BASS_MAX_HZ, CHROMA_MAX_HZ, CHROMA_MIN_HZ, pitch_class_shares
from dgx_music.audio.onsets import fold, half_way_ratio, magnitudes

__all__ = ["chord_change_curve", "mid_span_change_ratio"]

FloatArray = npt.NDArray[np.float64]

_WINDOW_SECONDS = 0.37
"""FFT length in seconds (8192 samples at 22.05 kHz: 2.7 Hz bins, finer than a semitone from
about 50 Hz up); the hop is an eighth of it, 46 ms, ample for changes a beat or more apart."""
_MIN_CHANGE = 0.05
"""Least mean chord change (cosine distance between the chroma either side) at the span's
strongest point for the chords to count as changing at all: keys-only pieces of the
independent set peaked at 0.11-0.79; a drone's curve is rounding noise (1e-8), whose ratios are
noise too."""
_BEATS_PER_BAR = 4
"""4/4, by far the commonest metre; a 3/4 bar has no half-way point to test."""


def chord_change_curve(signal: FloatArray, rate: float, window_seconds: float) -> FloatArray:
    """Per frame (hop ``_WINDOW_SECONDS / 8``), how far the pitch-class content of the
    ``window_seconds`` after the frame is from those before it: 0 for the same chord, up to 1;
    the median is taken off so the melody's steady churn reads as no change."""
    fft = 2 ** math.ceil(math.log2(_WINDOW_SECONDS * rate))
    hop = fft // 8
    power = np.square(magnitudes(signal, fft, hop))
    freqs = np.asarray(np.fft.rfftfreq(fft, 1.0 / rate), dtype=np.float64)
    top = min(CHROMA_MAX_HZ, rate / 2.0)
    chroma = pitch_class_shares(power, freqs, CHROMA_MIN_HZ, BASS_MAX_HZ) + pitch_class_shares(
        power, freqs, BASS_MAX_HZ, top
    )
    frames = chroma.shape[0]
    width = max(1, round(window_seconds * rate / hop))
    curve = np.zeros(frames)
    if frames < 2 * width + 1:
        return curve
    running = np.vstack([np.zeros((1, 12)), np.cumsum(chroma, axis=0)])
    at = np.arange(width, frames - width + 1)
    before = running[at] - running[at - width]
    after = running[at + width] - running[at]
    norms = np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1)
    sounding = norms > 0.0
    curve[at[sounding]] = 1.0 - (before[sounding] * after[sounding]).sum(axis=1) / norms[sounding]
    return np.asarray(np.maximum(curve - np.median(curve), 0.0), dtype=np.float64)


def mid_span_change_ratio(signal: FloatArray, rate: float, bpm: float, bars: int) -> float | None:
    """How strongly the chords change half-way through each span of ``bars`` 4/4 bars of
    ``bpm``, relative to where in the span they change most (0-1), or None where that says
    nothing: fewer than two whole spans, or no clear chord changes (``_MIN_CHANGE``).

    ``bars=1``: near 1 when the chords change twice a bar (on the bar line and half-way), so
    the music's bar is likely half as long. ``bars=2``: low when they change on only every
    other bar line, so the music's bar is likely twice as long. The chords compared are a
    quarter of the span either side of each point (a beat; two beats for two bars): a chord
    spread over an arpeggio needs that long to be heard whole.
    """
    beat_seconds = 60.0 / bpm
    curve = chord_change_curve(signal, rate, bars * beat_seconds)
    hop_seconds = 2 ** math.ceil(math.log2(_WINDOW_SECONDS * rate)) / 8 / rate
    span = bars * _BEATS_PER_BAR * beat_seconds / hop_seconds
    folded = fold(curve, span)
    if folded is None or float(folded[1].max()) < _MIN_CHANGE:
        return None
    return half_way_ratio(curve, span)
