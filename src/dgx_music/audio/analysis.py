"""Tempo, key and loudness of a finished clip, measured from the audio alone.

Hand-written with numpy/scipy instead of calling librosa on purpose: librosa's numba-JIT-compiled
paths cost many seconds on the first call in a fresh process, and this service starts fresh
processes all the time (every CLI invocation, every worker start). These few hundred lines of
numpy analyse a 30 s clip in well under a second, first call included; ``scipy.signal`` is kept
out of this path too (its import alone took 1.3-2 s). The methods live in ``tempo``
(band-split spectral-flux onsets, autocorrelation for the period grid, drum evidence for the
metrical level) and ``key`` (bass and treble chroma, Temperley key profiles, tonic salience at
the ends); ``benchmarks/symbolic_accuracy.py`` measures them against the symbolic engine's
labelled output, and any improvement should keep this cost profile.

Everything runs on a mono mixdown, decimated to about 22 kHz for onsets (hi-hats and rides are
told apart above 5 kHz: at 11 kHz a standard kit's 16th hats vanished and half-time grooves
read at half the tempo) and to about 11 kHz for pitch classes (55 Hz to 2 kHz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import soxr

from dgx_music.audio.key import estimate_key, key_and_confidence
from dgx_music.audio.meter import integrated_loudness, true_peak
from dgx_music.audio.tempo import estimate_tempo, tempo_and_confidence
from dgx_music.domain import AudioClip

__all__ = ["Analysis", "analyse", "estimate_key", "estimate_tempo"]

FloatArray = npt.NDArray[np.float64]

_ONSET_RATE = 22050
_PITCH_RATE = 11025


@dataclass(frozen=True)
class Analysis:
    """Measured facts about a clip. ``duration`` in seconds, ``sample_rate`` in Hz, ``lufs``
    integrated LUFS (``-inf`` when unmeasurable), ``true_peak`` in dBTP (``-inf`` for silence).
    ``bpm`` is None when no steady pulse was found; ``key`` ("A minor", "F# major") is None for
    silence."""

    duration: float
    sample_rate: int
    channels: int
    bpm: float | None
    key: str | None
    lufs: float
    true_peak: float
    bpm_confidence: float | None = None
    """0-1, see ``tempo.estimate_tempo``; None when ``bpm`` is."""
    key_confidence: float | None = None
    """0-1, see ``key.estimate_key``; None when ``key`` is."""


def _decimated(signal: FloatArray, rate: float, target: float) -> tuple[FloatArray, float]:
    """``signal`` decimated by an integer factor to about ``target`` Hz; returns (signal, Hz).

    The exact rate does not matter because every later step is expressed in seconds or Hz; an
    integer factor keeps soxr on its cheapest path. soxr rather than scipy.signal: importing
    scipy.signal costs more than the whole analysis (see ``meter``).
    """
    factor = max(1, int(rate // target))
    if factor == 1:
        return signal, rate
    decimated = soxr.resample(signal, rate, rate / factor, quality="HQ")
    return np.asarray(decimated, dtype=np.float64), rate / factor


def analyse(clip: AudioClip) -> Analysis:
    """Measure duration, tempo, key, integrated loudness and true peak of ``clip``.

    Raises ValueError for NaN/inf samples (from the loudness meters); never for silence or
    short clips, which give None/-inf fields instead.
    """
    lufs = integrated_loudness(clip)
    peak = true_peak(clip)
    tempo: tuple[float, float] | None = None
    key: tuple[str, float] | None = None
    if clip.frames > 0:
        mono = np.asarray(clip.samples.mean(axis=1), dtype=np.float64)
        onsets, onset_rate = _decimated(mono, clip.sample_rate, _ONSET_RATE)
        tempo = tempo_and_confidence(onsets, onset_rate)
        pitches, pitch_rate = _decimated(onsets, onset_rate, _PITCH_RATE)
        key = key_and_confidence(pitches, pitch_rate)
    return Analysis(
        duration=clip.duration,
        sample_rate=clip.sample_rate,
        channels=clip.channels,
        bpm=None if tempo is None else round(tempo[0], 2),
        key=None if key is None else key[0],
        lufs=lufs,
        true_peak=peak,
        bpm_confidence=None if tempo is None else round(tempo[1], 3),
        key_confidence=None if key is None else round(key[1], 3),
    )
