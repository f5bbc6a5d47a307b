"""Value types shared by every layer.

They carry no behaviour beyond validation so that the CLI, the service, the engines and the
storage layer can all depend on them without depending on each other.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_SEED = 2**31 - 1
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_KEY_PATTERN = re.compile(
    r"^\s*([A-Ga-g])\s*([#♯b♭]?)\s*(m|min|minor|maj|major)?\s*$", re.IGNORECASE
)


def canonical_key(text: str) -> str:
    """``"Bbm"``, ``"f# minor"``, ``"C"`` → ``"A# minor"``, ``"F# minor"``, ``"C major"``.

    Sharps throughout, because the analysis reports keys that way and the two must compare equal.
    """
    match = _KEY_PATTERN.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a key; write e.g. 'A minor', 'F# major', 'Bbm'")
    letter, accidental, quality = match.groups()
    pitch = PITCH_CLASSES.index(letter.upper())
    pitch += {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(accidental, 0)
    mode = "minor" if quality and quality.lower() in ("m", "min", "minor") else "major"
    return f"{PITCH_CLASSES[pitch % 12]} {mode}"


OutputFormat = Literal["wav", "flac"]
BitDepth = Literal["16", "24", "32f"]


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class GenerationRequest(BaseModel):
    """Everything needed to (re)generate one clip; stored whole on the job and in the sidecar.

    Engine-specific limits (duration range, known models) are checked by the service against the
    engine's capabilities, because only the engine knows them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str = Field(min_length=1, max_length=2000)
    engine: str = Field(default="symbolic", min_length=1, max_length=64)
    model: str | None = Field(default=None, max_length=256)
    duration: float = Field(default=30.0, gt=0, le=3600, description="seconds")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    temperature: float | None = Field(default=None, gt=0, le=10)
    top_k: int | None = Field(default=None, ge=0, le=10000)
    top_p: float | None = Field(default=None, ge=0, le=1)
    guidance_scale: float | None = Field(default=None, ge=0, le=30)
    bpm: float | None = Field(default=None, ge=40, le=240, description="tempo; beats the prompt")
    key: str | None = Field(default=None, description="e.g. 'A minor'; beats the prompt")
    bars: int | None = Field(
        default=None, ge=1, le=512, description="length in 4/4 bars; replaces duration"
    )
    loop: bool = Field(default=False, description="seamless loop of whole bars")
    instruments: tuple[str, ...] | None = Field(default=None, max_length=16)
    continue_from: str | None = Field(
        default=None,
        max_length=4096,
        description="library track id or audio file whose end this clip continues",
    )
    melody: str | None = Field(
        default=None,
        max_length=4096,
        description="library track id or audio file whose melody conditions a melody model",
    )
    output_format: OutputFormat = "wav"
    bit_depth: BitDepth = "24"
    loudness_lufs: float = Field(default=-16.0, ge=-40, le=-5, description="integrated LUFS")
    true_peak_dbtp: float = Field(default=-1.0, ge=-12, le=0, description="ceiling in dBTP")

    @field_validator("prompt")
    @classmethod
    def _prompt_has_text(cls, value: str) -> str:
        stripped = " ".join(value.split())
        if not stripped:
            raise ValueError("prompt is empty")
        return stripped

    @field_validator("key")
    @classmethod
    def _key_is_a_key(cls, value: str | None) -> str | None:
        return None if value is None else canonical_key(value)


@dataclass(frozen=True)
class AudioClip:
    """Float32 audio, shape ``[frames, channels]`` (soundfile's layout), values nominally in ±1."""

    samples: npt.NDArray[np.float32]
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.dtype != np.float32:  # engines may compute in float64
            object.__setattr__(self, "samples", self.samples.astype(np.float32))
        if self.samples.ndim != 2:
            raise ValueError(f"samples must be [frames, channels], got shape {self.samples.shape}")
        if self.sample_rate <= 0:
            raise ValueError("sample_rate must be positive")

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class Job:
    id: str
    status: JobStatus
    request: GenerationRequest
    seed: int | None
    priority: int
    progress: float
    stage: str | None
    attempts: int
    max_attempts: int
    lease_owner: str | None
    lease_expires_at: datetime | None
    heartbeat_at: datetime | None
    cancel_requested: bool
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    batch_id: str | None
    engine_used: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Track:
    id: str
    job_id: str
    path: str
    """Relative to the library root, POSIX separators."""
    format: str
    sample_rate: int
    channels: int
    duration: float
    bpm: float | None
    key: str | None
    lufs: float
    true_peak: float
    loudness_method: str
    size_bytes: int
    sha256: str
    prompt: str
    engine: str
    model: str | None
    seed: int
    created_at: datetime
    stems: dict[str, str] = field(default_factory=dict)
    midi_path: str | None = None
    bpm_confidence: float | None = None
    """0-1: how periodic the onsets are at the measured beat; None without a tempo."""
    key_confidence: float | None = None
    """0-1: how far the measured key's profile match stands above the next key's."""
    asked_bpm: float | None = None
    """The tempo the request or the prompt ("80 bpm") asked for, to compare with ``bpm``."""
    asked_key: str | None = None
    """The key the request or the prompt ("in A minor") asked for, to compare with ``key``."""
