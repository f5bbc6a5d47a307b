"""``auto``: MusicGen when its weights are already on this machine, the symbolic engine if not.

The choice only looks at the disk (and whether torch is installed), never at the network, so
it answers in milliseconds. It is made again by the worker that runs the job, and the job
records which engine ran and why.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dgx_music.engines.base import (
    CancelCheck,
    Engine,
    EngineCapabilities,
    EngineError,
    GenerationResult,
    ProgressCallback,
)

if TYPE_CHECKING:
    from dgx_music.config import Settings
    from dgx_music.domain import GenerationRequest
    from dgx_music.engines.registry import EngineRegistry


class AutoEngine:
    name = "auto"

    def __init__(self, registry: EngineRegistry) -> None:
        self._registry = registry

    def choose(self, request: GenerationRequest | None = None) -> tuple[Engine, str]:
        """The engine that would run ``request`` here, and the reason, in words."""
        symbolic = self._registry.get("symbolic")
        if importlib.util.find_spec("torch") is None:
            return symbolic, "musicgen is not installed (pip install 'dgx-music[musicgen]')"
        musicgen: Any = self._registry.get("musicgen")
        model = musicgen.model_name(request)
        if request is not None and request.model is not None:
            return musicgen, f"model {model} asked for"
        try:
            path = musicgen.weights_path(request)
        except EngineError:
            return symbolic, (
                f"no weights for {model} on this machine (`dgx-music models pull {model}`)"
            )
        return musicgen, f"weights for {model} found at {path}"

    def capabilities(self) -> EngineCapabilities:
        return self.choose()[0].capabilities()

    def validate(self, request: GenerationRequest) -> None:
        chosen, _ = self.choose(request)
        validate = getattr(chosen, "validate", None)
        if validate is not None:
            validate(request)

    def batch_key(self, request: GenerationRequest) -> tuple[Any, ...] | None:
        """Batchable only when the choice lands on an engine that batches."""
        chosen, _ = self.choose(request)
        key_of = getattr(chosen, "batch_key", None)
        return None if key_of is None else (chosen.name, *key_of(request))

    def describe(self, request: GenerationRequest) -> dict[str, Any]:
        """The chosen engine's description of ``request`` and why that engine was chosen."""
        chosen, reason = self.choose(request)
        describe = getattr(chosen, "describe", None)
        notes: dict[str, Any] = {} if describe is None else describe(request)
        return {**notes, "engine_choice": {"engine": chosen.name, "reason": reason}}

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
        chosen, reason = self.choose(requests[0])
        if len(requests) == 1:
            results = [chosen.generate(requests[0], on_progress, should_cancel)]
        else:
            results = chosen.generate_batch(requests, on_progress, should_cancel)  # type: ignore[attr-defined]
        choice = {"engine": chosen.name, "reason": reason}
        return [
            GenerationResult(
                r.mix, r.stems, r.midi, {**r.notes, "engine_choice": choice}, chosen.name
            )
            for r in results
        ]


def make_auto_engine(settings: Settings, registry: EngineRegistry) -> Engine:
    del settings  # the engines it chooses between have their own
    return AutoEngine(registry)


make_auto_engine.needs_registry = True  # type: ignore[attr-defined]
