"""The BS.1770 meter against the standard's own numbers and against independent implementations
(scipy's recursive filter, pyloudnorm). ffmpeg's ebur128 is the reference in
tests/integration/test_loudness_vs_ffmpeg.py."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pyloudnorm
import pytest
import scipy.signal

from dgx_music.audio import meter
from dgx_music.domain import AudioClip

# BS.1770-4 tables 1 and 2: the K-weighting coefficients at 48 kHz.
SHELF_48K = (1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585)  # fmt: skip  # noqa: E501
HIGHPASS_48K = (1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621)


def _stereo_sine(levels_and_seconds: list[tuple[float, float]], rate: int) -> AudioClip:
    """A 1 kHz sine in both channels, each section at ``dBFS`` for ``seconds``."""
    parts = []
    for dbfs, seconds in levels_and_seconds:
        t = np.arange(round(seconds * rate)) / rate
        parts.append(10.0 ** (dbfs / 20.0) * np.sin(2.0 * np.pi * 1000.0 * t))
    mono = np.concatenate(parts).astype(np.float32)
    return AudioClip(np.stack([mono, mono], axis=1), rate)


def test_filter_design_reproduces_the_printed_48k_coefficients() -> None:
    shelf, highpass = meter._biquads(48000)
    assert shelf == pytest.approx(SHELF_48K, abs=1e-12)
    assert highpass == pytest.approx(HIGHPASS_48K, abs=1e-12)


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_fft_k_weighting_equals_the_recursive_filter(rate: int) -> None:
    signal = np.random.default_rng(rate).standard_normal(3 * rate + 12345)
    reference = signal
    for b0, b1, b2, a1, a2 in meter._biquads(rate):
        reference = scipy.signal.lfilter([b0, b1, b2], [1.0, a1, a2], reference)
    ours = meter._k_weighted(signal, rate)
    assert ours.shape == signal.shape
    assert np.abs(ours - reference).max() < 1e-9 * np.abs(reference).max()


# EBU Tech 3341 (2016) test cases 1-5: each must read -23.0 LUFS (or -33.0) within 0.1 LU.
TECH_3341 = [
    ([(-23.0, 20.0)], -23.0),
    ([(-33.0, 20.0)], -33.0),
    ([(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)], -23.0),
    ([(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)], -23.0),
    ([(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)], -23.0),
]


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize(("sections", "expected"), TECH_3341)
def test_ebu_tech_3341_cases(
    sections: list[tuple[float, float]], expected: float, rate: int
) -> None:
    assert meter.integrated_loudness(_stereo_sine(sections, rate)) == pytest.approx(
        expected, abs=0.1
    )


def _pink(frames: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    spectrum = np.fft.rfft(rng.standard_normal(frames))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
    pink = np.fft.irfft(spectrum, frames)
    return np.asarray(0.2 * pink / np.abs(pink).max(), dtype=np.float64)


@pytest.mark.parametrize("rate", [32000, 44100, 48000])
def test_agrees_with_pyloudnorm_on_noise(rate: int) -> None:
    rng = np.random.default_rng(1)
    samples = np.stack([_pink(10 * rate, rng), _pink(10 * rate, rng)], axis=1)
    reference = pyloudnorm.Meter(rate).integrated_loudness(samples)
    ours = meter.integrated_loudness(AudioClip(samples.astype(np.float32), rate))
    # pyloudnorm's shelf comes from rounded parameters; it differs by a few hundredths of an LU.
    assert ours == pytest.approx(reference, abs=0.1)


def test_oversampling_taps_are_resample_polys_filter() -> None:
    design = scipy.signal.firwin(81, 0.25, window=("kaiser", 5.0)) * 4
    rows = np.arange(20)[:, np.newaxis]
    expected = design[np.arange(1, 4)[np.newaxis, :] + 4 * (19 - rows)]
    assert np.abs(meter._phase_taps() - expected).max() < 1e-12


def test_five_channels_weight_the_surrounds() -> None:
    rate = 48000
    t = np.arange(5 * rate) / rate
    tone = (0.1 * np.sin(2.0 * np.pi * 1000.0 * t)).astype(np.float32)
    front = np.zeros((t.size, 5), dtype=np.float32)
    front[:, 0] = tone
    surround = np.zeros_like(front)
    surround[:, 3] = tone
    difference = meter.integrated_loudness(AudioClip(surround, rate)) - meter.integrated_loudness(
        AudioClip(front, rate)
    )
    assert difference == pytest.approx(10.0 * math.log10(1.41), abs=1e-6)
