"""The folded-envelope measures the tempo rules read, on pulse trains built by hand."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from dgx_music.audio.onsets import between_ratio, half_way_ratio

FloatArray = npt.NDArray[np.float64]

PERIOD = 40.0
"""Frames per beat (about 129 BPM at 86 frames/s)."""


def _pulses(offbeat_gain: float, offbeat_at: float, beats: int = 24) -> FloatArray:
    """One-frame pulses of height 1 on every beat and ``offbeat_gain`` at ``offbeat_at`` of the
    way to the next beat, smoothed a little as the onset envelopes are."""
    envelope = np.zeros(round(beats * PERIOD) + 1)
    for beat in range(beats):
        envelope[round(beat * PERIOD)] = 1.0
        envelope[round((beat + offbeat_at) * PERIOD)] = offbeat_gain
    kernel = np.exp(-0.5 * np.square(np.arange(-4, 5) / 1.0))
    smoothed: FloatArray = np.convolve(envelope, kernel / kernel.max(), mode="same")
    return smoothed


def test_nothing_between_the_beats_scores_zero() -> None:
    assert between_ratio(_pulses(0.0, 0.5), PERIOD) == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("offbeat_at", [0.5, 2.0 / 3.0])
def test_a_softer_offbeat_scores_its_strength_straight_or_swung(offbeat_at: float) -> None:
    assert between_ratio(_pulses(0.5, offbeat_at), PERIOD) == pytest.approx(0.5, abs=0.05)


def test_a_swung_offbeat_is_between_the_beats_but_not_half_way() -> None:
    """The reason ``between_ratio`` exists beside ``half_way_ratio``."""
    swung = _pulses(0.5, 2.0 / 3.0)
    assert half_way_ratio(swung, PERIOD) < 0.05
    assert between_ratio(swung, PERIOD) > 0.4


def test_too_short_an_envelope_scores_zero() -> None:
    assert between_ratio(_pulses(0.5, 0.5, beats=1), PERIOD) == 0.0
