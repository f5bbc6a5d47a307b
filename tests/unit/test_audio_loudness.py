"""Loudness, true peak, normalisation and fades, checked against signals with known answers."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
import scipy.signal

from dgx_music.audio import loudness
from dgx_music.audio.dynamics import apply_fades
from dgx_music.audio.loudness import (
    integrated_loudness,
    normalise_loudness,
    true_peak,
)
from dgx_music.domain import AudioClip

SR = 48000
CEILING_SLACK_DB = 0.05


def _clip(mono: npt.NDArray[np.float64], channels: int = 2, sr: int = SR) -> AudioClip:
    return AudioClip(np.repeat(mono[:, None], channels, axis=1).astype(np.float32), sr)


def _sine(freq: float, amplitude: float, seconds: float, phase: float = 0.0) -> AudioClip:
    t = np.arange(round(seconds * SR)) / SR
    return _clip(amplitude * np.sin(2 * np.pi * freq * t + phase), channels=1)


def _pink(seconds: float, seed: int) -> npt.NDArray[np.float64]:
    """Pink noise (1/f power) scaled to peak 1, via spectral shaping of white noise."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    freqs = np.fft.rfftfreq(n)
    spectrum = rng.standard_normal(freqs.size) + 1j * rng.standard_normal(freqs.size)
    spectrum[0] = 0
    spectrum[1:] /= np.sqrt(freqs[1:])
    x = np.fft.irfft(spectrum, n)
    return np.asarray(x / np.abs(x).max(), dtype=np.float64)


def _kicks(seconds: float, amplitude: float) -> npt.NDArray[np.float64]:
    """A 60 Hz 'kick' every 0.5 s with a 20 ms decay: big peaks, little loudness."""
    t = np.arange(round(seconds * SR)) / SR
    return amplitude * np.sin(2 * np.pi * 60 * t) * np.exp(-(t % 0.5) / 0.02)


# --- true peak -------------------------------------------------------------------------------


def test_full_scale_sine_reads_zero_dbtp() -> None:
    assert true_peak(_sine(997, 1.0, 1.0)) == pytest.approx(0.0, abs=0.05)


def test_half_scale_sine_reads_minus_six_dbtp() -> None:
    assert true_peak(_sine(997, 0.5, 1.0)) == pytest.approx(-6.02, abs=0.05)


def test_inter_sample_peak_is_found() -> None:
    # fs/4 with a 45 degree phase: every sample sits at +-0.707 while the waveform reaches 1.0.
    clip = apply_fades(_sine(SR / 4, 1.0, 1.0, phase=math.pi / 4), 0.01, 0.01)
    sample_peak = 20 * math.log10(float(np.abs(clip.samples).max()))
    assert sample_peak == pytest.approx(-3.01, abs=0.05)
    assert true_peak(clip) == pytest.approx(0.0, abs=0.2)
    assert true_peak(clip) > sample_peak + 2.5


def test_true_peak_matches_resample_poly_reference() -> None:
    rng = np.random.default_rng(3)
    samples = (rng.standard_normal((20000, 2)) * 0.2).astype(np.float32)
    reference = np.abs(scipy.signal.resample_poly(samples.astype(np.float64), 4, 1, axis=0)).max()
    assert true_peak(AudioClip(samples, SR)) == pytest.approx(20 * math.log10(reference), abs=0.02)


def test_true_peak_of_silence_and_empty_is_minus_inf() -> None:
    assert true_peak(_clip(np.zeros(SR))) == -math.inf
    assert true_peak(AudioClip(np.zeros((0, 2), np.float32), SR)) == -math.inf


# --- integrated loudness ---------------------------------------------------------------------


def test_full_scale_1k_sine_mono_is_minus_3_lufs() -> None:
    # BS.1770 calibration: a 0 dBFS 997 Hz sine in one channel reads -3.01 LUFS.
    assert integrated_loudness(_sine(997, 1.0, 5.0)) == pytest.approx(-3.01, abs=0.1)


def test_loudness_tracks_gain_exactly() -> None:
    noise = _pink(5.0, seed=1) * 0.3
    quiet = integrated_loudness(_clip(noise * 0.5))
    assert integrated_loudness(_clip(noise)) - quiet == pytest.approx(6.02, abs=0.01)


@pytest.mark.parametrize("frames", [0, 10, int(0.39 * SR)])
def test_too_short_is_minus_inf(frames: int) -> None:
    assert integrated_loudness(_clip(np.full(frames, 0.5))) == -math.inf


def test_silence_and_below_gate_are_minus_inf() -> None:
    assert integrated_loudness(_clip(np.zeros(SR * 2))) == -math.inf
    assert integrated_loudness(_clip(_pink(2.0, seed=2) * 1e-5)) == -math.inf


def test_non_finite_samples_are_rejected() -> None:
    samples = np.zeros((SR, 1), np.float32)
    samples[100] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        integrated_loudness(AudioClip(samples, SR))
    with pytest.raises(ValueError, match="NaN"):
        true_peak(AudioClip(samples, SR))


# --- normalisation ---------------------------------------------------------------------------


def _assert_within_ceiling(peak: float, ceiling: float) -> None:
    assert peak <= ceiling + CEILING_SLACK_DB


@pytest.mark.parametrize("source", ["pink", "white", "loud-white"])
def test_noise_is_normalised_to_target(source: str) -> None:
    rng = np.random.default_rng(4)
    mono = {
        "pink": _pink(6.0, seed=5) * 0.05,
        "white": rng.standard_normal(SR * 6) * 0.01,
        "loud-white": np.clip(rng.standard_normal(SR * 6) * 0.5, -1, 1),
    }[source]
    clip = _clip(mono)
    result = normalise_loudness(clip, target_lufs=-16.0, ceiling_dbtp=-1.0)
    assert result.lufs == pytest.approx(-16.0, abs=0.5)
    assert integrated_loudness(result.clip) == pytest.approx(result.lufs, abs=1e-6)
    assert true_peak(result.clip) == pytest.approx(result.true_peak, abs=1e-6)
    _assert_within_ceiling(result.true_peak, -1.0)
    assert result.clip.samples.dtype == np.float32
    assert result.clip.samples.shape == clip.samples.shape


def test_plain_gain_is_reported_as_gain() -> None:
    clip = _clip(_pink(6.0, seed=6) * 0.05)
    result = normalise_loudness(clip, target_lufs=-23.0, ceiling_dbtp=-1.0)
    assert result.method == "gain"
    assert result.gain_db == pytest.approx(-23.0 - integrated_loudness(clip), abs=1e-9)
    assert result.lufs == pytest.approx(-23.0, abs=0.01)


def test_peaky_signal_is_limited_to_target_under_ceiling() -> None:
    # Gain alone to -16 LUFS would put the kicks about 1.5 dB over the -1 dBTP ceiling.
    clip = _clip(_pink(6.0, seed=7) * 0.25 + _kicks(6.0, 0.4))
    gain_db = -16.0 - integrated_loudness(clip)
    assert true_peak(clip) + gain_db > -1.0 + 1.0  # precondition: plain gain would break it
    result = normalise_loudness(clip, target_lufs=-16.0, ceiling_dbtp=-1.0)
    assert result.method == "limiter"
    assert result.lufs == pytest.approx(-16.0, abs=0.5)
    _assert_within_ceiling(true_peak(result.clip), -1.0)


@pytest.mark.parametrize("kick_level", [0.0, 0.4])  # plain gain, then the limiter
def test_stems_scaled_like_the_mix_still_sum_to_it(kick_level: float) -> None:
    bed, kicks = _clip(_pink(6.0, seed=9) * 0.25), _clip(_kicks(6.0, kick_level))
    mix = AudioClip(bed.samples + kicks.samples, SR)
    result = normalise_loudness(mix, target_lufs=-16.0, ceiling_dbtp=-1.0)
    assert result.method == ("gain" if kick_level == 0 else "limiter")
    summed = result.apply_to(bed).samples + result.apply_to(kicks).samples
    error = np.sqrt(np.mean((summed - result.clip.samples) ** 2))
    assert error <= 1e-5 * np.sqrt(np.mean(result.clip.samples**2))  # below -100 dB


def test_impulsive_signal_falls_back_to_gain_cap() -> None:
    # Clicks 0.9 high on a quiet bed: reaching -16 LUFS would need far more than 6 dB of
    # limiting, so the largest clean gain is used and the result says the target was missed.
    mono = _pink(6.0, seed=8) * 0.02
    mono[:: SR // 4] = 0.9
    clip = _clip(mono)
    result = normalise_loudness(clip, target_lufs=-16.0, ceiling_dbtp=-1.0)
    assert result.method == "gain-cap"
    assert result.lufs < -16.5
    assert result.lufs == pytest.approx(integrated_loudness(result.clip), abs=1e-6)
    assert result.gain_db == pytest.approx(-1.0 - true_peak(clip), abs=0.01)
    _assert_within_ceiling(true_peak(result.clip), -1.0)


@pytest.mark.parametrize(
    ("target", "ceiling", "method"),
    [(-16.0, -0.1, "limiter"), (-16.0, -3.0, "limiter"), (-10.0, -1.0, "gain-cap")],
)
def test_ceiling_is_never_exceeded(target: float, ceiling: float, method: str) -> None:
    clip = _clip(_pink(5.0, seed=9) * 0.3 + _kicks(5.0, 0.6))
    result = normalise_loudness(clip, target_lufs=target, ceiling_dbtp=ceiling)
    assert result.method == method
    _assert_within_ceiling(true_peak(result.clip), ceiling)
    assert result.true_peak <= ceiling + CEILING_SLACK_DB


def test_limiter_alone_holds_the_ceiling_with_a_smooth_gain() -> None:
    # The private limiter is checked directly because normalise_loudness trims any residual
    # overshoot at the end, which would hide a limiter that lets peaks through.
    source = _clip(_pink(4.0, seed=11) * 0.5 + _kicks(4.0, 0.9)).samples
    assert true_peak(AudioClip(source, SR)) > 0.0
    limited, reduction, _gain = loudness._limit(source, SR, -1.0)
    assert reduction > 1.0
    assert true_peak(AudioClip(limited, SR)) <= -1.0 + CEILING_SLACK_DB
    gain = limited[:, 0] / np.where(source[:, 0] == 0, 1.0, source[:, 0])
    steps = np.abs(np.diff(gain[source[:, 0] != 0]))
    assert steps.max() < 0.01  # ramps over ~5 ms, no per-sample gain jumps (distortion)


def test_silence_is_returned_unchanged() -> None:
    clip = _clip(np.zeros(SR * 2))
    result = normalise_loudness(clip)
    assert result.method == "gain"
    assert result.gain_db == 0.0
    assert result.clip is clip
    assert result.lufs == -math.inf
    assert result.true_peak == -math.inf


def test_unmeasurable_short_clip_is_only_held_under_ceiling() -> None:
    clip = _sine(997, 1.0, 0.2)  # too short to gate, peak at 0 dBTP
    result = normalise_loudness(clip, ceiling_dbtp=-1.0)
    assert result.method == "gain-cap"
    assert result.lufs == -math.inf
    _assert_within_ceiling(true_peak(result.clip), -1.0)
    assert result.true_peak == pytest.approx(-1.0, abs=0.01)


def test_input_clip_is_not_modified() -> None:
    clip = _clip(_pink(3.0, seed=10) * 0.3 + _kicks(3.0, 0.6))
    before = clip.samples.copy()
    normalise_loudness(clip)
    np.testing.assert_array_equal(clip.samples, before)


# --- fades -----------------------------------------------------------------------------------


def test_fades_start_and_end_at_zero_and_leave_the_middle() -> None:
    clip = _clip(np.ones(SR * 2))
    faded = apply_fades(clip, fade_in=0.1, fade_out=0.2)
    samples = faded.samples
    assert np.all(samples[0] == 0.0)
    assert np.all(samples[-1] == 0.0)
    assert np.abs(samples[: int(0.1 * SR) // 10]).max() < 0.03  # raised cosine starts flat
    assert np.abs(samples[-int(0.2 * SR) // 10 :]).max() < 0.03
    np.testing.assert_array_equal(samples[int(0.1 * SR) : -int(0.2 * SR)], 1.0)
    assert np.all(np.diff(samples[: int(0.1 * SR), 0]) >= 0)  # monotonic: no click, no bump
    np.testing.assert_array_equal(clip.samples, 1.0)  # input untouched


def test_fade_longer_than_half_the_clip_is_shortened() -> None:
    clip = _clip(np.ones(1000))
    faded = apply_fades(clip, fade_in=10.0, fade_out=10.0)
    assert faded.samples[0, 0] == 0.0
    assert faded.samples[-1, 0] == 0.0
    assert faded.samples[499, 0] > 0.99  # each fade is at most 500 frames
    assert faded.samples[500, 0] > 0.99


def test_zero_fades_are_identity_and_negative_is_rejected() -> None:
    clip = _clip(np.linspace(-1, 1, 100))
    np.testing.assert_array_equal(apply_fades(clip, 0.0, 0.0).samples, clip.samples)
    with pytest.raises(ValueError, match="fade_in"):
        apply_fades(clip, -1.0, 0.0)
    with pytest.raises(ValueError, match="fade_out"):
        apply_fades(clip, 0.0, math.nan)
