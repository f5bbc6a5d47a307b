from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from dgx_music.domain import GenerationRequest
from dgx_music.engines.base import Engine, EngineError, GenerationCancelled, GenerationResult
from dgx_music.engines.symbolic import SymbolicEngine
from dgx_music.engines.symbolic.composer import PARTS, STYLES, compose
from dgx_music.engines.symbolic.prompt import SHARP_NAMES, parse_prompt

RATE = 44100
Progress = list[tuple[str, float]]


def _generate(
    engine: SymbolicEngine, prompt: str, duration: float = 6.0, seed: int | None = 1
) -> tuple[GenerationResult, Progress]:
    calls: Progress = []
    request = GenerationRequest(prompt=prompt, duration=duration, seed=seed)
    result = engine.generate(request, lambda stage, f: calls.append((stage, f)), lambda: False)
    return result, calls


@pytest.fixture(scope="module")
def engine() -> SymbolicEngine:
    return SymbolicEngine()


@pytest.fixture(scope="module")
def lofi(engine: SymbolicEngine) -> tuple[GenerationResult, Progress]:
    return _generate(engine, "lofi hip hop 92 bpm in A minor", duration=5.3)


def test_is_an_engine_with_stems_and_midi(engine: SymbolicEngine) -> None:
    assert isinstance(engine, Engine)
    caps = engine.capabilities()
    assert engine.name == "symbolic"
    assert (caps.sample_rate, caps.min_duration, caps.max_duration) == (RATE, 1.0, 600.0)
    assert caps.has_stems and caps.has_midi and caps.models == ("symbolic",)


def test_exact_length_stereo_float32_stems_that_sum_to_the_mix(
    lofi: tuple[GenerationResult, Progress],
) -> None:
    result, _ = lofi
    frames = round(5.3 * RATE)
    assert list(result.stems) == list(PARTS)
    total = np.zeros((frames, 2), dtype=np.float32)
    for clip in (result.mix, *result.stems.values()):
        assert clip.samples.shape == (frames, 2)
        assert clip.samples.dtype == np.float32
        assert clip.sample_rate == RATE
    for name in PARTS:
        total += result.stems[name].samples
        assert np.abs(result.stems[name].samples).max() > 1e-3, f"{name} stem is silent"
    np.testing.assert_allclose(total, result.mix.samples, atol=1e-6)
    peak = float(np.abs(result.mix.samples).max())
    assert 0.05 < peak < 1.0
    # Panned parts make real stereo, not two copies of one channel.
    assert not np.array_equal(result.mix.samples[:, 0], result.mix.samples[:, 1])


def test_notes_and_midi_carry_tempo_key_and_parts(
    lofi: tuple[GenerationResult, Progress],
) -> None:
    result, _ = lofi
    assert result.notes["bpm"] == 92.0 and isinstance(result.notes["bpm"], float)
    assert result.notes["key"] == "A minor"
    assert result.notes["genre"] == "lofi hip hop"
    assert result.notes["interpretation"]["tempo"]["matched"] == "92 bpm"
    assert json.loads(json.dumps(result.notes)) == result.notes  # stored on the job as JSON
    assert result.midi is not None
    midi = pretty_midi.PrettyMIDI(io.BytesIO(result.midi))
    _, tempi = midi.get_tempo_changes()
    assert tempi[0] == pytest.approx(92.0, abs=1e-3)
    assert [inst.name for inst in midi.instruments] == list(PARTS)
    assert [inst.is_drum for inst in midi.instruments] == [True, False, False, False]
    assert midi.instruments[2].program == 4  # lofi chords on electric piano
    assert midi.key_signature_changes[0].key_number == 9 + 12  # A minor


def test_progress_is_monotonic_and_ends_at_one(lofi: tuple[GenerationResult, Progress]) -> None:
    _, calls = lofi
    stages = [stage for stage, _ in calls]
    fractions = [fraction for _, fraction in calls]
    assert stages[0] == "composing" and stages[-1] == "rendering"
    assert stages == sorted(stages, key=["composing", "rendering"].index)
    assert fractions == sorted(fractions)
    assert all(0.0 <= f <= 1.0 for f in fractions) and fractions[-1] == 1.0
    assert stages.count("rendering") >= 10  # 5.3 s in 0.5 s chunks


def test_same_seed_is_bit_identical_and_another_seed_differs(engine: SymbolicEngine) -> None:
    first, _ = _generate(engine, "house music", duration=4.0, seed=7)
    again, _ = _generate(engine, "house music", duration=4.0, seed=7)
    other, _ = _generate(engine, "house music", duration=4.0, seed=8)
    assert first.mix.samples.tobytes() == again.mix.samples.tobytes()
    assert first.midi == again.midi
    assert first.mix.samples.tobytes() != other.mix.samples.tobytes()
    assert first.midi != other.midi


def test_no_seed_means_seed_zero(engine: SymbolicEngine) -> None:
    unseeded, _ = _generate(engine, "pop", duration=2.0, seed=None)
    zero, _ = _generate(engine, "pop", duration=2.0, seed=0)
    assert unseeded.mix.samples.tobytes() == zero.mix.samples.tobytes()


@pytest.mark.parametrize("genre", ["jazz", "ambient", "trap", "cinematic", "techno", "rock"])
def test_no_silent_second_anywhere(engine: SymbolicEngine, genre: str) -> None:
    result, _ = _generate(engine, genre, duration=8.0, seed=3)
    mono = result.mix.samples.astype(np.float64).mean(axis=1)
    windows = mono[: len(mono) // RATE * RATE].reshape(-1, RATE)
    rms = np.sqrt(np.mean(windows**2, axis=1))
    assert rms.min() > 10 ** (-45 / 20), f"quiet window in {genre}: {rms.round(4)}"


@pytest.mark.parametrize("after", [0, 1, 5])
def test_cancel_stops_generation(engine: SymbolicEngine, after: int) -> None:
    asked = 0

    def should_cancel() -> bool:
        nonlocal asked
        asked += 1
        return asked > after

    request = GenerationRequest(prompt="techno", duration=8.0, seed=1)
    with pytest.raises(GenerationCancelled):
        engine.generate(request, lambda stage, f: None, should_cancel)
    assert asked == after + 1  # stopped at the first true answer


def test_other_sample_rate_gives_exact_frames() -> None:
    result, _ = _generate(SymbolicEngine(sample_rate=22050), "rock", duration=3.01)
    assert result.mix.sample_rate == 22050
    assert result.mix.frames == round(3.01 * 22050)
    assert all(s.frames == result.mix.frames for s in result.stems.values())


def test_unusable_soundfonts_fail_with_a_clear_message(tmp_path: Path) -> None:
    request = GenerationRequest(prompt="pop", duration=2.0, seed=1)
    missing = SymbolicEngine(soundfont=tmp_path / "nope.sf2")
    with pytest.raises(EngineError, match=r"SoundFont not found: .*nope\.sf2"):
        missing.generate(request, lambda stage, f: None, lambda: False)
    garbage = tmp_path / "garbage.sf2"
    garbage.write_bytes(b"this is not a soundfont" * 100)
    with pytest.raises(EngineError, match="not a SoundFont"):
        SymbolicEngine(soundfont=garbage).generate(request, lambda stage, f: None, lambda: False)


def test_missing_libfluidsynth_says_how_to_install(
    engine: SymbolicEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # makes ``import fluidsynth`` fail
    request = GenerationRequest(prompt="pop", duration=2.0, seed=1)
    with pytest.raises(EngineError, match=r"apt-get install libfluidsynth3"):
        engine.generate(request, lambda stage, f: None, lambda: False)


def test_rejects_sample_rates_fluidsynth_would_clamp() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        SymbolicEngine(sample_rate=192000)


# --- the score itself -------------------------------------------------------------------


@pytest.mark.parametrize("genre", sorted(STYLES))
def test_score_fills_the_duration_and_frames_the_tonic(genre: str) -> None:
    intent = parse_prompt(f"{genre} in D minor")
    duration = 9.7
    midi = compose(intent, duration, seed=11)
    assert midi.get_tempo_changes()[1][0] == pytest.approx(intent.bpm, rel=1e-12)
    tonic = SHARP_NAMES.index("D")
    for inst in midi.instruments:
        assert inst.notes, f"{inst.name} is empty"
        for note in inst.notes:
            assert 0.0 <= note.start < note.end <= duration + 1e-9
        assert max(n.end for n in inst.notes) > duration - 1.0
    bass = sorted(midi.instruments[1].notes, key=lambda n: n.start)
    assert bass[0].start < 0.5 and bass[0].pitch % 12 == tonic  # some grooves start off-beat
    assert bass[-1].pitch % 12 == tonic
    chords = midi.instruments[2].notes
    first_start = min(n.start for n in chords)
    first = {n.pitch % 12 for n in chords if n.start == first_start}
    last_start = max(n.start for n in chords)
    last = {n.pitch % 12 for n in chords if n.start == last_start}
    assert {tonic, (tonic + 3) % 12} <= first and {tonic, (tonic + 3) % 12} <= last


def test_score_notes_stay_in_key() -> None:
    midi = compose(parse_prompt("pop in E major"), 20.0, seed=5)
    scale = {(SHARP_NAMES.index("E") + i) % 12 for i in (0, 2, 4, 5, 7, 9, 11)}
    for inst in midi.instruments[2:]:  # chords and lead are strictly diatonic
        assert {n.pitch % 12 for n in inst.notes} <= scale


def test_score_is_deterministic_per_seed() -> None:
    intent = parse_prompt("synthwave")

    def notes(seed: int) -> list[tuple[str, int, float, float, int]]:
        midi = compose(intent, 12.0, seed)
        return [
            (i.name, n.pitch, n.start, n.end, n.velocity) for i in midi.instruments for n in i.notes
        ]

    assert notes(3) == notes(3)
    assert notes(3) != notes(4)


def _drum_steps(genre: str, pitch_set: set[int]) -> set[int]:
    intent = parse_prompt(genre)
    step = 60.0 / intent.bpm / 4
    midi = compose(intent, 16 * 4 * step * 8, seed=2)  # eight bars
    drums = midi.instruments[0].notes
    return {round(n.start / step) % 16 for n in drums if n.pitch in pitch_set and n.start > 0}


def test_drum_grooves_follow_the_genre() -> None:
    assert {0, 4, 8, 12} <= _drum_steps("house", {36})  # four on the floor
    assert {0, 4, 8, 12} <= _drum_steps("techno", {36})
    assert _drum_steps("trap", {38, 39}) >= {8}  # half-time: snare/clap on beat three
    assert 4 not in _drum_steps("trap", {39})
    assert {4, 12} <= _drum_steps("rock", {38})  # backbeat
    assert 4 not in _drum_steps("rock", {36})


def test_notes_sit_on_the_sixteenth_grid_without_swing() -> None:
    intent = parse_prompt("techno 133 bpm")
    step = 60.0 / 133 / 4
    midi = compose(intent, 10.0, seed=9)
    for inst in midi.instruments:
        for note in inst.notes:
            assert note.start / step == pytest.approx(round(note.start / step), abs=1e-6)
