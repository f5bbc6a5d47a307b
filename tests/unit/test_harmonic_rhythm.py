"""Keys without drums: the chord changes decide between a tempo and its half or double.

The pieces are synthetic (additive tones, 22.05 kHz), one chord per 4/4 bar (C, Am, F, G):
either a chord struck on each bar line and held under a melody of chord tones and a bass line,
or an 8th-note arpeggio alone.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from dgx_music.audio import tempo
from dgx_music.audio.harmonic_rhythm import mid_span_change_ratio

SR = 22050
FloatArray = npt.NDArray[np.float64]
_CHORDS = ([60, 64, 67], [57, 60, 64], [53, 57, 60], [55, 59, 62])


def _tone(midi: int, seconds: float, decay: float) -> FloatArray:
    """Three harmonics rolling off by 0.6 each, 10 ms attack, exponential decay."""
    t = np.arange(round(seconds * SR)) / SR
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    partials = sum(0.6**h * np.sin(2 * np.pi * freq * (h + 1) * t) for h in range(3))
    return np.asarray(partials * np.minimum(1.0, t / 0.01) * np.exp(-t / decay))


def _keys(bpm: float, seconds: float = 30.0, hats: bool = False) -> FloatArray:
    """Held chord per bar, melody on every beat, bass on beats 1, 3 and 4; ``hats`` adds a
    closed hi-hat (high-passed noise) on every 8th, i.e. a drummer."""
    beat = 60.0 / bpm
    out = np.zeros(round(seconds * SR))

    def add(sound: FloatArray, at: float, gain: float) -> None:
        start = round(at * SR)
        stop = min(start + sound.size, out.size)
        if start < out.size:
            out[start:stop] += gain * sound[: stop - start]

    for bar in range(int(seconds / (4 * beat)) + 1):
        chord = _CHORDS[bar % 4]
        start = bar * 4 * beat
        for midi in chord:
            add(_tone(midi, 4 * beat * 0.98, 1.5), start, 0.5)
        for step in range(4):
            add(_tone(chord[step % 3] + 12, beat * 0.9, 0.4), start + step * beat, 0.6)
        for step in (0, 2, 3):
            add(_tone(chord[0] - 24, beat * 0.9, 1.5), start + step * beat, 0.7)
    if hats:
        noise = np.random.default_rng(3).standard_normal(round(0.03 * SR))
        hat = np.diff(noise, prepend=0.0) * np.exp(-np.arange(noise.size) / (0.01 * SR))
        for index in range(int(seconds / (beat / 2))):
            add(hat, index * beat / 2, 0.4)
    return np.asarray(0.5 * out / np.abs(out).max())


def _arpeggio(bpm: float, seconds: float = 30.0) -> FloatArray:
    """Each bar's chord broken into 8th notes (root, third, fifth, octave and back down)."""
    beat = 60.0 / bpm
    out = np.zeros(round(seconds * SR))
    for bar in range(int(seconds / (4 * beat)) + 1):
        root, third, fifth = _CHORDS[bar % 4]
        for step, midi in enumerate([root, third, fifth, root + 12, fifth, third, root, third]):
            start = round((bar * 4 + step / 2) * beat * SR)
            tone = _tone(midi, beat / 2, 0.5)[: max(0, out.size - start)]
            out[start : start + tone.size] += 0.6 * tone
    return np.asarray(0.5 * out / np.abs(out).max())


def test_one_chord_a_bar_changes_on_the_bar_line_only() -> None:
    piece = _keys(120.0)
    # Read at 120 the bar holds one chord; read at 60 the "bar" holds two, one change half-way.
    at_120 = mid_span_change_ratio(piece, SR, 120.0, bars=1)
    at_60 = mid_span_change_ratio(piece, SR, 60.0, bars=1)
    assert at_120 is not None and at_120 < 0.2
    assert at_60 is not None and at_60 > 0.5
    # Read at 240, two "bars" hold one chord: the second bar line brings no change.
    at_240 = mid_span_change_ratio(piece, SR, 240.0, bars=2)
    assert at_240 is not None and at_240 < 0.2


def test_no_evidence_without_two_whole_spans_or_without_chord_changes() -> None:
    assert mid_span_change_ratio(_keys(120.0, seconds=3.0), SR, 60.0, bars=1) is None
    t = np.arange(10 * SR) / SR
    drone = np.sin(2 * np.pi * 220.0 * t) * (1.0 + 0.5 * np.sin(2 * np.pi * 2.0 * t))
    assert mid_span_change_ratio(drone, SR, 120.0, bars=1) is None


@pytest.mark.parametrize(
    ("build", "bpm", "onsets_alone"),
    [
        # The chord struck once a bar outweighs the melody's beats: half the tempo...
        (_keys, 120.0, 0.5),
        (_keys, 145.0, 0.5),
        # ...the arpeggio's 8ths sound like beats: double, where the chords then change on
        # every other bar line and the prior prefers the slower reading too.
        (_arpeggio, 88.0, 2.0),
        (_arpeggio, 96.0, 2.0),
    ],
)
def test_the_chord_changes_correct_the_octave_the_onsets_alone_get_wrong(
    build: Callable[[float], FloatArray],
    bpm: float,
    onsets_alone: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    piece = build(bpm)
    found = tempo.tempo_and_confidence(piece, SR)
    assert found is not None and found[0] == pytest.approx(bpm, rel=0.04)
    monkeypatch.setattr(tempo, "_level_from_chords", lambda signal, rate, level, fr: (level, 1.0))
    without = tempo.tempo_and_confidence(piece, SR)
    assert without is not None and without[0] == pytest.approx(onsets_alone * bpm, rel=0.04)


@pytest.mark.parametrize("bpm", [62.0, 70.0, 80.0])
def test_slow_keys_with_one_chord_a_bar_stay_slow(bpm: float) -> None:
    found = tempo.tempo_and_confidence(_keys(bpm), SR)
    assert found is not None and found[0] == pytest.approx(bpm, rel=0.04)


def test_the_chord_rule_is_only_asked_without_drums(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[float] = []

    def recording(signal: FloatArray, rate: float, bpm: float, bars: int) -> float | None:
        asked.append(bpm)
        return mid_span_change_ratio(signal, rate, bpm, bars)

    monkeypatch.setattr(tempo, "mid_span_change_ratio", recording)
    tempo.tempo_and_confidence(_keys(120.0, hats=True), SR)
    assert asked == []
    tempo.tempo_and_confidence(_keys(120.0), SR)
    assert asked and asked[0] == pytest.approx(60.0, rel=0.04)


def test_a_close_call_on_the_chords_lowers_the_tempo_confidence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    piece = _keys(120.0)

    def confidence_with(ratio: float) -> float:
        monkeypatch.setattr(tempo, "mid_span_change_ratio", lambda *args, **kwargs: ratio)
        found = tempo.tempo_and_confidence(piece, SR)
        assert found is not None and found[0] == pytest.approx(120.0, rel=0.04)
        return found[1]

    # Both double the 60 BPM reading; one only just, and says so (a clear call leaves the
    # confidence to the onset rules' own margins).
    assert confidence_with(0.52) < confidence_with(0.95) == confidence_with(1.0)
