"""The ``musicgen`` engine: requests in, audio out, through a resident model.

Only this package imports torch, and only once a clip is really generated: listing engines,
validating a request or asking whether weights are on disk stays cheap.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dgx_music.domain import AudioClip, GenerationRequest
from dgx_music.engines.base import (
    CancelCheck,
    EngineCapabilities,
    EngineError,
    GenerationCancelled,
    GenerationResult,
    ProgressCallback,
)
from dgx_music.engines.musicgen import catalog

if TYPE_CHECKING:
    from dgx_music.config import Settings
    from dgx_music.engines.musicgen.loader import LoadedModel, ModelPool

log = logging.getLogger(__name__)

SAMPLE_RATE = 32_000
MAX_DURATION = 600.0
"""Seconds; windowed continuation has no hard limit, this bounds one job's runtime."""
CONTROLS = frozenset({"bpm", "key", "bars", "instruments", "continue_from", "melody"})
BATCH_KEYS = (
    "model",
    "duration",
    "bars",
    "bpm",
    "temperature",
    "top_k",
    "top_p",
    "guidance_scale",
    "continue_from",
    "melody",
)
"""Request fields that must agree for requests to share one forward pass."""


def conditioning_text(request: GenerationRequest) -> str:
    """The prompt, with the explicit controls spelled out the way MusicGen's captions do."""
    parts = [request.prompt]
    if request.bpm is not None:
        parts.append(f"{request.bpm:g} bpm")
    if request.key is not None:
        parts.append(request.key)
    if request.instruments:
        parts.append("featuring " + ", ".join(request.instruments))
    return ", ".join(parts)


def clip_seconds(request: GenerationRequest) -> float:
    if request.bars is not None and request.bpm is not None:
        return request.bars * 4 * 60 / request.bpm
    return request.duration


def request_batch_key(request: GenerationRequest) -> tuple[Any, ...]:
    """Requests with equal keys can be decoded together."""
    return tuple(getattr(request, name) for name in BATCH_KEYS)


class MusicGenEngine:
    name = "musicgen"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: ModelPool | None = None

    # -- what the service asks before queueing -------------------------------------------

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(
            sample_rate=SAMPLE_RATE,
            min_duration=0.5,
            max_duration=MAX_DURATION,
            controls=CONTROLS,
        )

    def describe(self, request: GenerationRequest) -> dict[str, Any]:
        """The model and the text it will be conditioned on, known before it loads."""
        return {"model": self.model_name(request), "conditioning_text": conditioning_text(request)}

    def model_name(self, request: GenerationRequest | None = None) -> str:
        chosen = request.model if request is not None and request.model else None
        return catalog.canonical_name(chosen or self._settings.musicgen_model)

    def weights_path(self, request: GenerationRequest | None = None) -> Path:
        """Where the request's checkpoint is on disk; an EngineError saying how to get it."""
        try:
            return catalog.require(self.model_name(request), self._settings.models_dir)
        except catalog.ModelNotFound as exc:
            raise EngineError(str(exc)) from None

    def batch_key(self, request: GenerationRequest) -> tuple[Any, ...]:
        """Requests with equal keys are decoded together by :meth:`generate_batch`."""
        return (self.model_name(request), *request_batch_key(request))

    def validate(self, request: GenerationRequest) -> None:
        """Fail at submission, not in the worker, when the weights are missing."""
        path = self.weights_path(request)
        melody_model = "melody" in self.model_name(request) or _is_melody_checkpoint(path)
        if request.melody is not None and not melody_model:
            raise EngineError(
                f"--melody needs a melody model (e.g. facebook/musicgen-melody), not "
                f"{self.model_name(request)}"
            )

    # -- generation ------------------------------------------------------------------------

    def generate(
        self, request: GenerationRequest, on_progress: ProgressCallback, should_cancel: CancelCheck
    ) -> GenerationResult:
        return self.generate_batch([request], on_progress, should_cancel)[0]

    def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
    ) -> list[GenerationResult]:
        """One forward pass for all ``requests`` (equal :meth:`batch_key`), one result each."""
        if len({request_batch_key(request) for request in requests}) != 1:
            raise ValueError("a batch needs requests with equal model, length and sampling")
        first = requests[0]
        path = self.weights_path(first)
        on_progress("loading model", 0.0)
        pool = self._model_pool()
        loaded = pool.acquire(self.model_name(first), path)
        try:
            return self._generate_loaded(loaded, requests, on_progress, should_cancel)
        finally:
            pool.release()

    def preload(self, model: str | None = None) -> LoadedModel:
        """Load the configured (or given) model now, e.g. when a worker starts."""
        name = catalog.canonical_name(model or self._settings.musicgen_model)
        try:
            path = catalog.require(name, self._settings.models_dir)
        except catalog.ModelNotFound as exc:
            raise EngineError(str(exc)) from None
        pool = self._model_pool()
        loaded = pool.acquire(name, path)
        pool.release()
        return loaded

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def resident(self) -> LoadedModel | None:
        """The model this process holds in memory now, if any (for ``GET /engines``).

        Never loads anything and never imports torch: with no model loaded yet it is None.
        """
        return None if self._pool is None else self._pool.loaded

    def _model_pool(self) -> ModelPool:
        if self._pool is None:
            from dgx_music.engines.musicgen.loader import ModelPool

            settings = self._settings
            self._pool = ModelPool(
                settings.musicgen_device,
                settings.musicgen_dtype,
                settings.musicgen_quantize,
                settings.musicgen_idle_unload,
            )
        return self._pool

    def _generate_loaded(
        self,
        loaded: LoadedModel,
        requests: Sequence[GenerationRequest],
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
    ) -> list[GenerationResult]:
        from dgx_music.engines.musicgen.batching import run_with_oom_retry
        from dgx_music.engines.musicgen.decoding import DecodingCancelled

        first = requests[0]
        sampling = _sampling(loaded, first)
        seconds = clip_seconds(first)
        texts = [conditioning_text(request) for request in requests]
        seeds = [request.seed if request.seed is not None else 0 for request in requests]
        prompt_audio = (
            self._audio_input(first.continue_from, loaded) if first.continue_from else None
        )
        if loaded.is_melody and first.continue_from:
            raise EngineError("melody models cannot continue audio; use a non-melody model")
        progress = _StepProgress(on_progress, should_cancel)
        started = time.perf_counter()
        try:
            if loaded.is_melody:
                from dgx_music.engines.musicgen.melody import generate_melody_audio

                melody = self._audio_input(first.melody, loaded) if first.melody else None
                audio = generate_melody_audio(
                    loaded,
                    texts,
                    seconds=seconds,
                    sampling=sampling,
                    seeds=seeds,
                    melody=melody,
                    hook=progress,
                )
            else:
                audio = run_with_oom_retry(
                    loaded,
                    texts,
                    seconds=seconds,
                    sampling=sampling,
                    seeds=seeds,
                    context_seconds=self._settings.musicgen_context,
                    hook=progress,
                    prompt_audio=prompt_audio,
                )
        except DecodingCancelled:
            raise GenerationCancelled from None
        elapsed = time.perf_counter() - started
        notes: dict[str, Any] = {
            "model": loaded.name,
            "checkpoint": str(loaded.path),
            "device": str(loaded.device),
            "dtype": str(loaded.dtype).removeprefix("torch."),
            "quantized": "int8 (experimental, lossy)" if loaded.quantized else None,
            "sampling": {
                "temperature": sampling.temperature,
                "top_k": sampling.top_k,
                "top_p": sampling.top_p,
                "guidance_scale": sampling.guidance_scale,
            },
            "batch_size": len(requests),
            "decoding_steps": progress.total,
            "steps_per_second": round(progress.total / elapsed, 2) if elapsed > 0 else None,
            "seconds_generating": round(elapsed, 3),
            "model_load_seconds": round(loaded.load_seconds, 3),
        }
        if first.continue_from:
            notes["continues"] = first.continue_from
        if first.melody:
            notes["melody"] = first.melody
        return [
            GenerationResult(
                mix=AudioClip(audio[index], loaded.sample_rate),
                notes={**notes, "conditioning_text": text},
            )
            for index, text in enumerate(texts)
        ]

    def _audio_input(self, reference: str, loaded: LoadedModel) -> Any:
        """The file a request points at (the runner has turned track ids into paths), mono or
        stereo as the model wants, at the model's sample rate."""
        from dgx_music.audio import read_audio
        from dgx_music.audio.export import AudioFileError

        try:
            clip = read_audio(Path(reference))
        except AudioFileError as exc:
            raise EngineError(str(exc)) from None
        return _resample(clip.samples, clip.sample_rate, loaded.sample_rate)


class _StepProgress:
    """The decoder's hook: progress with an ETA from the measured step rate, and cancel."""

    def __init__(self, on_progress: ProgressCallback, should_cancel: CancelCheck) -> None:
        self._on_progress = on_progress
        self._should_cancel = should_cancel
        self._started = time.perf_counter()
        self.total = 0
        self.calls = 0

    def __call__(self, done: int, total: int) -> bool:
        self.total = total
        self.calls += 1
        elapsed = time.perf_counter() - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else math.inf
        stage = f"decoding {done}/{total} steps, {rate:.1f}/s, ETA {_format_eta(eta)}"
        self._on_progress(stage, done / total if total else 1.0)
        return self._should_cancel()


def _format_eta(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _sampling(loaded: LoadedModel, request: GenerationRequest) -> Any:
    from dgx_music.engines.musicgen.decoding import Sampling

    defaults = loaded.model.generation_config
    guidance = request.guidance_scale
    if guidance is None:
        guidance = defaults.guidance_scale if defaults.guidance_scale is not None else 3.0
    top_k = request.top_k if request.top_k is not None else (defaults.top_k or 250)
    return Sampling(
        temperature=request.temperature or defaults.temperature or 1.0,
        top_k=top_k,
        top_p=request.top_p if request.top_p is not None else 0.0,
        guidance_scale=float(guidance),
    )


def _resample(samples: Any, rate: int, target: int) -> Any:
    import numpy as np

    if rate == target:
        return samples
    from math import gcd

    from scipy.signal import resample_poly

    divisor = gcd(rate, target)
    resampled = resample_poly(samples, target // divisor, rate // divisor, axis=0)
    return np.ascontiguousarray(resampled, dtype=np.float32)


def _is_melody_checkpoint(path: Path) -> bool:
    import json

    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(config.get("model_type") == "musicgen_melody")
