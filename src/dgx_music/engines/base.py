"""The contract every engine fulfils, and the small types it speaks in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from dgx_music.domain import AudioClip, GenerationRequest

ProgressCallback = Callable[[str, float], None]
"""Called with (stage name, fraction 0..1 of that engine's work) at every generation step."""

CancelCheck = Callable[[], bool]
"""Returns True once the job should stop; engines ask it at every step."""


class GenerationCancelled(Exception):
    """Raised by an engine that saw ``should_cancel()`` turn true; nothing was produced."""


class EngineError(Exception):
    """A failure the user can act on (bad model name, missing weights…); the message says how."""


@dataclass(frozen=True)
class EngineCapabilities:
    sample_rate: int
    min_duration: float
    """seconds"""
    max_duration: float
    """seconds"""
    has_stems: bool = False
    has_midi: bool = False
    models: tuple[str, ...] = ()
    controls: frozenset[str] = frozenset()
    """Request fields beyond prompt, duration and seed that the engine honours, e.g. "bpm"."""


@dataclass(frozen=True)
class GenerationResult:
    mix: AudioClip
    stems: dict[str, AudioClip] = field(default_factory=dict)
    """Instrument name → audio with the same length and rate as ``mix``."""
    midi: bytes | None = None
    """A standard MIDI file, when the engine composes symbolically."""
    notes: dict[str, Any] = field(default_factory=dict)
    """What the engine understood and chose (tempo, key, genre…), recorded on the job."""
    engine: str | None = None
    """The engine that really ran, when it differs from the one asked (``auto`` delegates)."""


@runtime_checkable
class Engine(Protocol):
    name: str

    def capabilities(self) -> EngineCapabilities: ...

    def generate(
        self,
        request: GenerationRequest,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
    ) -> GenerationResult:
        """Make the clip for ``request`` (whose ``seed`` the service has already fixed).

        Must call ``on_progress`` and ``should_cancel`` at every step and raise
        :class:`GenerationCancelled` as soon as the latter is true.
        """
        ...
