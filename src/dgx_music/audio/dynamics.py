"""Gain shaping over time that does not depend on the signal's content.

Fades are applied to every clip before export so that a generated clip that starts or stops
mid-note does not click: an abrupt edge is a broadband transient that reads as a pop on playback
and as a spurious onset to the tempo estimator.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from dgx_music.domain import AudioClip

__all__ = ["apply_fades"]


def _raised_cosine(length: int) -> npt.NDArray[np.float32]:
    """Rising half-cosine of ``length`` samples, exactly 0 at index 0 and approaching 1.

    A raised cosine has zero slope at both ends, so neither the start of the fade nor the join
    with the unfaded audio introduces a corner (which a linear ramp would, audibly, on quiet
    material).
    """
    phase = np.arange(length, dtype=np.float64) / length
    return (0.5 - 0.5 * np.cos(np.pi * phase)).astype(np.float32)


def apply_fades(clip: AudioClip, fade_in: float, fade_out: float) -> AudioClip:
    """Return a copy of ``clip`` with a raised-cosine fade-in and fade-out.

    ``fade_in`` and ``fade_out`` are in seconds (0 disables that fade). Each fade is shortened to
    at most half the clip so the two never overlap and the middle of the clip keeps its level; the
    first sample of a fade-in and the last sample of a fade-out are exactly 0. The input array is
    never modified.

    Raises ValueError for a negative or non-finite fade length.
    """
    for name, value in (("fade_in", fade_in), ("fade_out", fade_out)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    samples = np.array(clip.samples, dtype=np.float32, copy=True)
    half = clip.frames // 2
    n_in = min(round(fade_in * clip.sample_rate), half)
    n_out = min(round(fade_out * clip.sample_rate), half)
    if n_in > 0:
        samples[:n_in] *= _raised_cosine(n_in)[:, np.newaxis]
    if n_out > 0:
        samples[clip.frames - n_out :] *= _raised_cosine(n_out)[::-1, np.newaxis]
    return AudioClip(samples=samples, sample_rate=clip.sample_rate)
