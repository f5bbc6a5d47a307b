"""Melody conditioning on a tiny random musicgen-melody checkpoint: the real loading and
generation code, the chromagram included, and a whole job through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from dgx_music.config import load_settings
from dgx_music.domain import GenerationRequest
from dgx_music.engines.base import GenerationCancelled
from dgx_music.engines.musicgen import MusicGenEngine
from tests.support.cli import run_cli

SAMPLE_RATE = 32_000
FRAME_RATE = 50
DELAY = 3  # 4 codebooks, each one step behind the previous
NOTES = (440.0, 329.63, 392.0, 493.88)  # A4 E4 G4 B4: none is C, the "no melody" pitch class


@pytest.fixture(scope="session")
def tiny_melody_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_musicgen_melody import build_tiny_musicgen_melody

    return build_tiny_musicgen_melody(tmp_path_factory.mktemp("tiny-musicgen-melody") / "melody")


@pytest.fixture(scope="session")
def melody_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four sine notes of half a second, stereo at 44.1 kHz (the engine resamples and mixes)."""
    rate = 44_100
    t = np.arange(rate // 2) / rate
    notes = [0.4 * np.sin(2 * np.pi * frequency * t) * np.hanning(t.size) for frequency in NOTES]
    mono = np.concatenate(notes).astype(np.float32)
    path = tmp_path_factory.mktemp("melody") / "tune.wav"
    sf.write(path, np.stack([mono, 0.5 * mono], axis=1), rate, subtype="FLOAT")
    return path


def make_engine(checkpoint: Path) -> MusicGenEngine:
    return MusicGenEngine(load_settings(musicgen_model=str(checkpoint)))


def request(melody: Path | None = None, **fields: Any) -> GenerationRequest:
    values: dict[str, Any] = {"engine": "musicgen", "duration": 2.0, "seed": 7, **fields}
    return GenerationRequest(prompt="lofi piano", melody=str(melody) if melody else None, **values)


def never() -> bool:
    return False


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def __call__(self, stage: str, fraction: float) -> None:
        self.calls.append((stage, fraction))

    @property
    def decoding(self) -> list[tuple[str, float]]:
        return [call for call in self.calls if call[0].startswith("decoding")]


@pytest.fixture(scope="module")
def engine(tiny_melody_model: Path) -> MusicGenEngine:
    """One engine for the module: the model is loaded once and stays resident."""
    return make_engine(tiny_melody_model)


@pytest.fixture(scope="module")
def with_melody(engine: MusicGenEngine, melody_wav: Path) -> tuple[Any, Recorder]:
    progress = Recorder()
    return engine.generate(request(melody_wav), progress, never), progress


def test_melody_output_has_the_asked_length_at_the_models_rate(
    with_melody: tuple[Any, Recorder], melody_wav: Path, tiny_melody_model: Path
) -> None:
    result, _ = with_melody
    assert result.mix.sample_rate == SAMPLE_RATE
    assert result.mix.frames == 2 * SAMPLE_RATE and result.mix.channels == 1
    assert np.isfinite(result.mix.samples).all() and np.abs(result.mix.samples).max() > 0
    assert result.notes["melody"] == str(melody_wav)
    assert result.notes["model"] == str(tiny_melody_model)


def test_progress_is_reported_once_per_decoding_step(with_melody: tuple[Any, Recorder]) -> None:
    result, progress = with_melody
    steps = progress.decoding
    total = 2 * FRAME_RATE + DELAY
    assert len(steps) == total and result.notes["decoding_steps"] == total
    assert [fraction for _, fraction in steps] == [(n + 1) / total for n in range(total)]
    assert steps[0][0].startswith(f"decoding 1/{total} steps")


def test_a_melody_changes_the_clip_and_the_same_seed_repeats_it(
    engine: MusicGenEngine, with_melody: tuple[Any, Recorder], melody_wav: Path
) -> None:
    first = with_melody[0].mix.samples
    again = engine.generate(request(melody_wav), Recorder(), never).mix.samples
    without = engine.generate(request(), Recorder(), never).mix.samples
    assert np.array_equal(first, again)
    assert first.shape == without.shape and not np.allclose(first, without)


def test_odd_durations_still_get_exactly_the_asked_samples(
    engine: MusicGenEngine, melody_wav: Path
) -> None:
    result = engine.generate(request(melody_wav, duration=0.51), Recorder(), never)
    assert result.mix.frames == round(0.51 * SAMPLE_RATE)


def test_cancel_stops_within_one_step(engine: MusicGenEngine, melody_wav: Path) -> None:
    progress = Recorder()
    asked = {"count": 0}

    def cancel_after_five() -> bool:
        asked["count"] += 1
        return asked["count"] >= 5

    with pytest.raises(GenerationCancelled):
        engine.generate(request(melody_wav), progress, cancel_after_five)
    assert len(progress.decoding) == 5


def test_validate_accepts_a_melody_for_a_melody_checkpoint(
    tiny_melody_model: Path, melody_wav: Path
) -> None:
    make_engine(tiny_melody_model).validate(request(melody_wav))


def test_a_melody_job_through_the_cli(tiny_melody_model: Path, melody_wav: Path) -> None:
    env = {"DGX_MUSIC_MUSICGEN_MODEL": str(tiny_melody_model)}
    args = ("generate", "lofi piano", "-e", "musicgen", "--melody", str(melody_wav))
    done = run_cli(*args, "-d", "2", "--json", env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["status"] == "completed"
