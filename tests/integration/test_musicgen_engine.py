"""The MusicGen engine on a tiny random checkpoint: the real loading and decoding code."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from dgx_music.config import load_settings
from dgx_music.domain import GenerationRequest
from dgx_music.engines.base import EngineError, GenerationCancelled
from dgx_music.engines.musicgen import MusicGenEngine, batching, synthesis
from dgx_music.engines.musicgen.decoding import (
    Conditioning,
    DecodingCancelled,
    Sampling,
    decode_window,
)
from dgx_music.engines.musicgen.loader import ModelPool, load_model
from dgx_music.engines.musicgen.synthesis import Window, plan_windows

SAMPLE_RATE = 32_000
FRAME_RATE = 50
DELAY = 3  # 4 codebooks, each one step behind the previous


def make_engine(checkpoint: Path, **settings: Any) -> MusicGenEngine:
    return MusicGenEngine(load_settings(musicgen_model=str(checkpoint), **settings))


def request(prompt: str = "lofi piano", **fields: Any) -> GenerationRequest:
    values: dict[str, Any] = {"engine": "musicgen", "duration": 2.0, "seed": 7, **fields}
    return GenerationRequest(prompt=prompt, **values)


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


def test_output_has_the_asked_length_at_the_models_rate(tiny_musicgen: Path) -> None:
    result = make_engine(tiny_musicgen).generate(request(duration=2.3), Recorder(), never)
    assert result.mix.sample_rate == SAMPLE_RATE
    assert result.mix.frames == round(2.3 * SAMPLE_RATE)
    assert result.mix.channels == 1
    assert np.isfinite(result.mix.samples).all() and np.abs(result.mix.samples).max() > 0
    assert result.notes["model"] == str(tiny_musicgen)
    assert result.notes["device"] == "cpu" and result.notes["dtype"] == "float32"


def test_stereo_checkpoints_give_two_channels(tiny_musicgen_stereo: Path) -> None:
    result = make_engine(tiny_musicgen_stereo).generate(request(), Recorder(), never)
    assert result.mix.channels == 2 and result.mix.frames == 2 * SAMPLE_RATE
    left, right = result.mix.samples.T
    assert not np.allclose(left, right)  # two codebook streams, not one copied


def test_same_seed_same_clip_other_seed_other_clip(tiny_musicgen: Path) -> None:
    engine = make_engine(tiny_musicgen)
    first = engine.generate(request(seed=11), Recorder(), never).mix.samples
    again = engine.generate(request(seed=11), Recorder(), never).mix.samples
    other = engine.generate(request(seed=12), Recorder(), never).mix.samples
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_progress_every_step_with_an_eta(tiny_musicgen: Path) -> None:
    progress = Recorder()
    make_engine(tiny_musicgen).generate(request(duration=1.0), progress, never)
    steps = progress.decoding
    assert len(steps) == 1 * FRAME_RATE + DELAY
    fractions = [fraction for _, fraction in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert steps[0][0].startswith("decoding 1/53 steps") and "ETA" in steps[0][0]


def test_cancel_is_honoured_at_the_next_step(tiny_musicgen: Path) -> None:
    progress = Recorder()
    asked = {"count": 0}

    def cancel_after_ten() -> bool:
        asked["count"] += 1
        return asked["count"] >= 10

    with pytest.raises(GenerationCancelled):
        make_engine(tiny_musicgen).generate(request(duration=2.0), progress, cancel_after_ten)
    assert len(progress.decoding) == 10


def test_a_cancelled_decode_holds_exactly_the_prefix_of_the_full_one(tiny_musicgen: Path) -> None:
    loaded = load_model("tiny", tiny_musicgen, torch.device("cpu"), torch.float32)
    tokens = loaded.processor.tokenizer(["dark techno"], return_tensors="pt")

    def run(stop_at: int | None) -> torch.Tensor:
        conditioning = Conditioning(
            loaded.model, tokens["input_ids"], tokens["attention_mask"], True
        )
        generators = [torch.Generator().manual_seed(3)]
        with torch.inference_mode():
            return decode_window(
                loaded.model,
                conditioning,
                frames=60,
                prompt=None,
                sampling=Sampling(),
                generators=generators,
                hook=lambda done, total: stop_at is not None and done >= stop_at,
            )

    full = run(None)
    with pytest.raises(DecodingCancelled) as stopped:
        run(25)
    partial = stopped.value.frames
    assert partial.shape[-1] == 25 - DELAY
    assert torch.equal(partial, full[..., : partial.shape[-1]])


def test_greedy_decoding_matches_transformers_generate(tiny_musicgen: Path) -> None:
    """Our step loop is the same model as stock ``generate``, padded batch included."""
    loaded = load_model("tiny", tiny_musicgen, torch.device("cpu"), torch.float32)
    model = loaded.model
    inputs = loaded.processor(text=["lofi piano", "dark techno drums fast"], padding=True)
    ids = torch.tensor(inputs["input_ids"])
    mask = torch.tensor(inputs["attention_mask"])
    with torch.inference_mode():
        stock = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=40,
            do_sample=False,
            guidance_scale=3.0,
        )
        conditioning = Conditioning(model, ids, mask, True)
        frames = decode_window(
            model,
            conditioning,
            frames=40 - DELAY,
            prompt=None,
            sampling=Sampling(top_k=1),
            generators=[torch.Generator(), torch.Generator()],
            hook=lambda done, total: False,
        )
    ours = synthesis.decode_codes(loaded, frames)
    assert np.allclose(ours[..., 0], stock[:, 0].numpy(), atol=1e-6)


def test_windows_keep_the_context_and_cover_the_length() -> None:
    assert plan_windows(100, 0, 500, 250) == [Window(0, 100)]
    assert plan_windows(700, 0, 500, 250) == [Window(0, 500), Window(250, 200)]
    windows = plan_windows(1000, 300, 500, 250)
    assert windows[0] == Window(250, 250)
    assert sum(w.new_frames for w in windows) == 1000
    assert all(w.prompt_frames + w.new_frames <= 500 for w in windows)


def test_clips_longer_than_the_window_are_continued(tiny_musicgen_short_window: Path) -> None:
    engine = make_engine(tiny_musicgen_short_window, musicgen_context=1.0)
    progress = Recorder()
    result = engine.generate(request(duration=6.0), progress, never)
    assert result.mix.frames == 6 * SAMPLE_RATE
    loaded = engine.preload()
    assert loaded.window_frames == 124  # 128 positions − 3 delays − 1 start token
    windows = plan_windows(300, 0, 124, 50)
    assert len(windows) == 4
    assert len(progress.decoding) == sum(w.new_frames + DELAY for w in windows)
    assert progress.decoding[-1][1] == 1.0


def test_continuing_an_audio_file(tiny_musicgen: Path, tmp_path: Path) -> None:
    import soundfile

    engine = make_engine(tiny_musicgen)
    source = engine.generate(request(duration=2.0), Recorder(), never).mix
    path = tmp_path / "source.wav"
    soundfile.write(path, source.samples, source.sample_rate, subtype="FLOAT")
    plain = engine.generate(request(duration=1.5, seed=5), Recorder(), never).mix
    continued = engine.generate(
        request(duration=1.5, seed=5, continue_from=str(path)), Recorder(), never
    )
    assert continued.mix.frames == round(1.5 * SAMPLE_RATE)
    assert not np.allclose(continued.mix.samples, plain.samples)  # the prompt changed it
    again = engine.generate(
        request(duration=1.5, seed=5, continue_from=str(path)), Recorder(), never
    )
    assert np.array_equal(again.mix.samples, continued.mix.samples)
    assert continued.notes["continues"] == str(path)


def test_batched_prompts_each_get_their_own_clip(tiny_musicgen: Path) -> None:
    engine = make_engine(tiny_musicgen)
    requests = [request("lofi piano", seed=1), request("dark techno", seed=2)]
    results = engine.generate_batch(requests, Recorder(), never)
    assert [r.notes["batch_size"] for r in results] == [2, 2]
    assert [r.notes["conditioning_text"] for r in results] == ["lofi piano", "dark techno"]
    alone = engine.generate(requests[1], Recorder(), never)
    # Each prompt draws from its own seeded generator, so batching does not change the clip.
    assert np.allclose(results[1].mix.samples, alone.mix.samples, atol=1e-5)
    assert not np.allclose(results[0].mix.samples, results[1].mix.samples)


def test_batches_need_equal_length_and_sampling(tiny_musicgen: Path) -> None:
    engine = make_engine(tiny_musicgen)
    assert engine.batch_key(request(seed=1)) == engine.batch_key(request("other", seed=2))
    assert engine.batch_key(request()) != engine.batch_key(request(duration=3.0))
    with pytest.raises(ValueError, match="equal"):
        engine.generate_batch([request(), request(top_k=10)], Recorder(), never)


def test_missing_weights_fail_at_once_saying_how_to_get_them() -> None:
    engine = MusicGenEngine(load_settings())
    started = time.monotonic()
    with pytest.raises(EngineError, match="dgx-music models pull facebook/musicgen-small"):
        engine.generate(request(), Recorder(), never)
    with pytest.raises(EngineError, match="not a MusicGen checkpoint directory"):
        engine.validate(request(model="/nonexistent/checkpoint"))
    assert time.monotonic() - started < 2.0


def test_out_of_memory_retries_with_half_batches_then_fails_clearly(
    tiny_musicgen: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_model("tiny", tiny_musicgen, torch.device("cpu"), torch.float32)
    real = synthesis.generate_audio
    batches: list[int] = []

    def flaky(loaded: Any, texts: list[str], **kwargs: Any) -> Any:
        batches.append(len(texts))
        if len(batches) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(loaded, texts, **kwargs)

    monkeypatch.setattr(synthesis, "generate_audio", flaky)
    audio = batching.run_with_oom_retry(
        loaded,
        ["a", "b", "c"],
        seconds=0.5,
        sampling=Sampling(),
        seeds=[1, 2, 3],
        context_seconds=1.0,
        hook=lambda done, total: False,
    )
    assert batches == [3, 2, 1] and audio.shape[0] == 3

    def always(loaded: Any, texts: list[str], **kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(synthesis, "generate_audio", always)
    with pytest.raises(EngineError, match=r"out of memory .* retried smaller"):
        batching.run_with_oom_retry(
            loaded,
            ["a"],
            seconds=0.5,
            sampling=Sampling(),
            seeds=[1],
            context_seconds=1.0,
            hook=lambda done, total: False,
        )


def test_the_model_stays_loaded_between_jobs_and_unloads_when_idle(tiny_musicgen: Path) -> None:
    pool = ModelPool("cpu", "auto", "none", idle_unload=0.3)
    first = pool.acquire("tiny", tiny_musicgen)
    pool.release()
    second = pool.acquire("tiny", tiny_musicgen)
    assert second is first  # no reload while jobs keep coming
    pool.release()
    deadline = time.monotonic() + 5
    while pool.loaded is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.loaded is None
    pool.close()


def test_the_description_says_what_the_model_will_read_without_loading_it(
    tiny_musicgen: Path,
) -> None:
    engine = make_engine(tiny_musicgen)
    notes = engine.describe(request("lofi piano", bpm=92, key="A minor"))
    assert notes["model"] == str(tiny_musicgen)
    assert notes["conditioning_text"].startswith("lofi piano")
    assert "92 bpm" in notes["conditioning_text"] and "A minor" in notes["conditioning_text"]
    assert engine.resident() is None
