"""Grid finding on onset autocorrelations built by hand: peaks placed where a tremolo, a split
beat or a plain metre puts them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from dgx_music.audio import onset_periods
from dgx_music.audio.onset_periods import grid_period

FloatArray = npt.NDArray[np.float64]

FRAME_RATE = 22050 / 256


def _autocorrelation(peaks: dict[float, float], size: int = 600) -> FloatArray:
    """1 at lag 0 and a narrow bump of the given height at each lag (frames)."""
    lags = np.arange(size, dtype=np.float64)
    curve = np.exp(-0.5 * np.square(lags / 1.5))
    for lag, height in peaks.items():
        curve += height * np.exp(-0.5 * np.square((lags - lag) / 1.5))
    return curve


TREMOLO = {8.0: 0.30, 15.0: 0.214, 79.0: 0.32, 158.0: 0.35, 237.0: 0.28, 316.0: 0.75}
"""A 65 BPM pad piece (79 frames a beat) whose ~11 Hz modulation peaks at 8 and 15 frames."""
SPLIT_BEAT = {55.0: 0.344, 60.0: 0.278, 110.0: 0.28, 115.0: 0.535, 170.0: 0.27, 231.0: 0.689}
"""A 90 BPM piece (57.6 frames a beat) whose one-beat peak is split in two, 55 and 60."""


@pytest.mark.parametrize(
    ("peaks", "beat", "unnested"),
    [(TREMOLO, 79.0, 15.0), (SPLIT_BEAT, 115.0, 55.0)],
    ids=["tremolo", "split-beat"],
)
def test_a_grid_that_does_not_nest_in_the_bar_gives_way_to_one_that_does(
    peaks: dict[float, float], beat: float, unnested: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    autocorr = _autocorrelation(peaks)
    found = grid_period(autocorr, FRAME_RATE)
    assert found == pytest.approx(beat, abs=1.0)
    # The finest-peak rule alone takes the tremolo's or the split peak's lag.
    monkeypatch.setattr(onset_periods, "_nested_in_bar", lambda _ac, _fr, grid: grid)
    assert grid_period(autocorr, FRAME_RATE) == pytest.approx(unnested, abs=1.0)


@pytest.mark.parametrize(("step", "steps_in_bar"), [(20.0, 16), (40.0, 5), (27.0, 12)])
def test_a_grid_that_nests_in_the_bar_is_kept(step: float, steps_in_bar: int) -> None:
    """16ths of a 4/4 bar, quarters of a 5/4 bar, triplet 8ths of a 4/4 bar."""
    peaks = {step * k: 0.5 for k in range(1, steps_in_bar)}
    peaks[step * steps_in_bar] = 0.8
    found = grid_period(_autocorrelation(peaks), FRAME_RATE)
    assert found == pytest.approx(step, abs=0.5)


TWO_BARS = {73.0: 0.33, 138.0: 0.30, 210.0: 0.661, 283.0: 0.26, 348.0: 0.29, 421.0: 0.674}
"""A 98 BPM piece (52.6 frames a beat) of organ chords and a sparse cello line that repeats
every two bars (421) a little more than every bar (210); 138 is a third of two bars."""


def test_the_bar_is_the_shortest_of_the_strongest_repetitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    autocorr = _autocorrelation(TWO_BARS)
    assert grid_period(autocorr, FRAME_RATE) == pytest.approx(210.0, abs=1.0)
    # Nested in the strongest repetition only, the grid is three steps of two bars: 149 BPM.
    monkeypatch.setattr(onset_periods, "_BAR_PEAK_SHARE", 1.0)
    assert grid_period(autocorr, FRAME_RATE) == pytest.approx(138.0, abs=1.0)


SWING = {25.0: 0.22, 50.0: 0.29, 75.0: 0.76, 101.0: 0.29, 125.0: 0.25, 151.0: 0.845}
SWING |= {176.0: 0.235, 201.0: 0.27, 226.0: 0.78, 301.0: 0.77}
"""A 69 BPM swing (75 frames a beat) whose 8ths fall at 2/3 of the beat: peaks at 1/3 and 2/3."""


def test_a_swung_beat_is_not_split_in_three(monkeypatch: pytest.MonkeyPatch) -> None:
    autocorr = _autocorrelation(SWING)
    assert grid_period(autocorr, FRAME_RATE) == pytest.approx(75.0, abs=1.0)
    # Any peak dividing the beat would do without the two-four-eight rule: a third (103 BPM
    # after the level's powers of two).
    monkeypatch.setattr(onset_periods, "_halves", onset_periods._divides)
    assert grid_period(autocorr, FRAME_RATE) == pytest.approx(25.0, abs=1.0)
