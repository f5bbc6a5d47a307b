"""Loudness measurement (ITU-R BS.1770-4) and normalisation under a true-peak ceiling.

Every clip is delivered at one integrated loudness so that a library plays back at an even level,
and under a true-peak ceiling because lossy encoders and D/A reconstruction overshoot the sample
peak: a file whose samples stay below 0 dBFS can still clip after conversion. The measurements
themselves live in ``meter``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.ndimage

from dgx_music.audio.meter import integrated_loudness, interval_peaks, to_db, true_peak
from dgx_music.domain import AudioClip

__all__ = [
    "LoudnessMethod",
    "LoudnessResult",
    "integrated_loudness",
    "normalise_loudness",
    "true_peak",
]

LoudnessMethod = Literal["gain", "limiter", "gain-cap"]
Float32Array = npt.NDArray[np.float32]

_LOOKAHEAD_S = 0.005
_RELEASE_DB_PER_S = 80.0
"""Linear-in-dB recovery: a 6 dB reduction recovers in 75 ms, quick enough not to duck the
following beat, slow enough not to modulate bass waveforms into distortion."""
_LIMITER_MARGIN_DB = 0.1
"""The limiter aims this far under the ceiling because its gain, computed from the oversampled
envelope of the input, is applied to samples; reconstruction of the product can overshoot a
little. A final exact trim guarantees the ceiling whatever remains."""
_LUFS_TOLERANCE = 0.1
_ACCEPT_TOLERANCE = 0.5
_MAX_ITERATIONS = 6


@dataclass(frozen=True)
class LoudnessResult:
    """Outcome of :func:`normalise_loudness`.

    ``gain_db`` is the static gain applied before any limiting (dB). ``lufs`` (LUFS) and
    ``true_peak`` (dBTP) are measured on the returned clip, so they tell the truth even when the
    target was missed (method ``"gain-cap"``).
    """

    clip: AudioClip
    method: LoudnessMethod
    gain_db: float
    lufs: float
    true_peak: float
    gain: float | Float32Array = 1.0
    """Linear gain that turned the input into ``clip``: a number, or one value per frame when
    the limiter acted. ``apply_to`` gives stems the same treatment, so they still sum to it."""

    def apply_to(self, other: AudioClip) -> AudioClip:
        """Scale ``other`` (same frame count as the input, e.g. a stem) exactly as the mix was."""
        if isinstance(self.gain, float):
            return AudioClip(other.samples * np.float32(self.gain), other.sample_rate)
        if other.frames != self.gain.shape[0]:
            raise ValueError(
                f"{other.frames} frames given, the gain curve has {self.gain.shape[0]}"
            )
        return AudioClip(other.samples * self.gain[:, np.newaxis], other.sample_rate)


def _limit(
    samples: Float32Array, sample_rate: int, ceiling_dbtp: float
) -> tuple[Float32Array, float, Float32Array]:
    """Look-ahead true-peak limiter; returns (limited samples, deepest gain reduction in dB,
    the per-frame linear gain it applied).

    Works offline, so "look-ahead" is free: the gain curve is computed for the whole clip at once.
    ``required`` is the gain each sample needs so its neighbourhood's true peak meets the ceiling;
    a minimum filter spreads each dip over a window of length L around the peak, then a moving
    average of the same L turns the steps into ramps. Every sample in the averaging window of
    sample ``n`` took its minimum over a window containing ``n``, so the smoothed gain is never
    above ``required[n]`` -- smoothing cannot let a peak through. The release is a linear-in-dB
    recovery (a running minimum of ``gain_db[k] + rate * (n - k)``), inserted before smoothing.
    The gain curve is float64 (the release ramp grows with clip length), the audio float32.
    """
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    # Per-frame float64 arrays are updated in place and dropped early: on a ten-minute clip
    # each one is 200 MB.
    envelope = interval_peaks(samples)
    # A sample's reconstruction touches the intervals on both of its sides.
    np.maximum(envelope[1:], envelope[:-1], out=envelope[1:])
    with np.errstate(divide="ignore"):
        required = np.minimum(ceiling / envelope, 1.0)
    del envelope
    window = max(3, round(_LOOKAHEAD_S * sample_rate) | 1)
    curve = scipy.ndimage.minimum_filter1d(required, size=window, mode="nearest")
    ramp = np.arange(curve.size, dtype=np.float64)
    ramp *= _RELEASE_DB_PER_S / sample_rate
    np.log10(curve, out=curve)
    curve *= 20.0
    curve -= ramp
    np.minimum.accumulate(curve, out=curve)
    curve += ramp
    del ramp
    curve /= 20.0
    np.power(10.0, curve, out=curve)
    gain = scipy.ndimage.uniform_filter1d(curve, size=window, mode="nearest")
    del curve
    np.minimum(gain, required, out=gain)  # guards only against rounding in the running sum
    del required
    gain32 = gain.astype(np.float32)
    limited = samples * gain32[:, np.newaxis]
    return limited, -to_db(float(gain.min())), gain32


def _scaled(samples: Float32Array, gain_db: float) -> Float32Array:
    return samples * np.float32(10.0 ** (gain_db / 20.0))


def _result(
    samples: Float32Array,
    sample_rate: int,
    method: LoudnessMethod,
    gain_db: float,
    ceiling_dbtp: float,
    gain: float | Float32Array,
) -> LoudnessResult:
    """Package ``samples`` (the input times ``gain``), trimming any residual overshoot of the
    ceiling exactly."""
    clip = AudioClip(samples=samples, sample_rate=sample_rate)
    peak = true_peak(clip)
    if peak > ceiling_dbtp:
        trim = 10.0 ** ((ceiling_dbtp - peak) / 20.0)
        clip = AudioClip(samples=_scaled(samples, ceiling_dbtp - peak), sample_rate=sample_rate)
        gain = gain * trim if isinstance(gain, float) else gain * np.float32(trim)
        peak = true_peak(clip)
    return LoudnessResult(clip, method, gain_db, integrated_loudness(clip), peak, gain)


def normalise_loudness(
    clip: AudioClip,
    target_lufs: float = -16.0,
    ceiling_dbtp: float = -1.0,
    *,
    max_reduction_db: float = 6.0,
) -> LoudnessResult:
    """Bring ``clip`` to ``target_lufs`` (LUFS) with its true peak at or under ``ceiling_dbtp``.

    Returns a new float32 clip of the same shape; ``clip`` is never modified.

    Strategy, cheapest first:

    * ``"gain"``: a static gain reaches the target and the true peak is already under the ceiling.
    * ``"limiter"``: gain, then the look-ahead true-peak limiter, iterated (limiting lowers the
      loudness, so the gain is raised by the shortfall) until the loudness is within 0.5 LU of
      the target. Used only while the deepest gain reduction stays within ``max_reduction_db``;
      beyond that the limiter would audibly crush transients.
    * ``"gain-cap"``: the largest static gain whose true peak meets the ceiling; the target is
      missed and the returned ``lufs`` says by how much.

    Digital silence, a clip under 400 ms, or one below the -70 LUFS gate cannot be measured; it
    is returned unchanged (method ``"gain"``, gain 0) unless its true peak is over the ceiling,
    in which case it is turned down to the ceiling (``"gain-cap"``). The returned true peak never
    exceeds the ceiling by more than float32 rounding.

    Raises ValueError for NaN/inf samples or non-finite parameters.
    """
    for name, value in (("target_lufs", target_lufs), ("ceiling_dbtp", ceiling_dbtp)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if not max_reduction_db >= 0.0:
        raise ValueError(f"max_reduction_db must be >= 0, got {max_reduction_db!r}")
    sr = clip.sample_rate
    source = np.asarray(clip.samples, dtype=np.float32)
    measured = integrated_loudness(clip)
    peak = true_peak(clip)
    cap_db = ceiling_dbtp - peak
    if not math.isfinite(measured):
        if peak <= ceiling_dbtp:
            return LoudnessResult(clip, "gain", 0.0, measured, peak)
        return _result(_scaled(source, cap_db), sr, "gain-cap", cap_db, ceiling_dbtp, _lin(cap_db))

    gain_db = target_lufs - measured
    if gain_db <= cap_db:
        return _result(_scaled(source, gain_db), sr, "gain", gain_db, ceiling_dbtp, _lin(gain_db))

    limit_to = ceiling_dbtp - _LIMITER_MARGIN_DB
    # (|shortfall|, audio, static gain dB, per-frame limiter gain)
    best: tuple[float, Float32Array, float, Float32Array] | None = None
    for _ in range(_MAX_ITERATIONS):
        limited, reduction, curve = _limit(_scaled(source, gain_db), sr, limit_to)
        if reduction > max_reduction_db:
            break
        shortfall = target_lufs - integrated_loudness(AudioClip(limited, sr))
        if best is None or abs(shortfall) < best[0]:
            best = (abs(shortfall), limited, gain_db, curve)
        if abs(shortfall) <= _LUFS_TOLERANCE:
            break
        gain_db += shortfall
    if best is not None and best[0] <= _ACCEPT_TOLERANCE:
        _shortfall, limited, static_db, curve = best
        curve *= np.float32(_lin(static_db))
        return _result(limited, sr, "limiter", static_db, ceiling_dbtp, curve)
    return _result(_scaled(source, cap_db), sr, "gain-cap", cap_db, ceiling_dbtp, _lin(cap_db))


def _lin(gain_db: float) -> float:
    return float(10.0 ** (gain_db / 20.0))
