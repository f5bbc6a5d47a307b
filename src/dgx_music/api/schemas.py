"""The JSON the API takes and gives for jobs and tracks, as pydantic models.

Declared models rather than dicts so that the OpenAPI schema says exactly what each response
holds — the web page and schema-driven tests rely on it. Values JSON cannot hold (the −∞
loudness of digital silence) are null, and the schema says so.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import Response

from dgx_music.domain import MAX_SEED, GenerationRequest, Job, JobStatus, Track

API_PREFIX = "/api/v1"


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


STRICT_BODY = ConfigDict(extra="forbid", strict=True)
"""Request bodies take exactly the types the schema names: no ``"5"`` for an integer, no
``"true"`` for a boolean. Lax coercion would accept bodies the published schema calls invalid,
and a client relying on it would break against any other implementation of the schema."""


def integral(value: object) -> object:
    """``3.0`` as ``3``: JSON Schema's ``integer`` is any number without a fraction, and JSON
    encoders (JavaScript's among them) may write one that way; strict mode alone refuses it.
    A validator rather than an annotated type, which would garble the fields' JSON schema."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class GenerateBody(BaseModel):
    """What ``POST /generate`` takes; unset fields come from the server's settings."""

    model_config = STRICT_BODY

    prompt: str = Field(min_length=1, max_length=2000, examples=["lofi hip hop, 80 bpm, A minor"])
    engine: str | None = Field(default=None, max_length=64, description="auto, musicgen, …")
    model: str | None = Field(default=None, max_length=256, description="MusicGen checkpoint")
    duration: float | None = Field(default=None, gt=0, le=3600, description="seconds")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    temperature: float | None = Field(default=None, gt=0, le=10)
    top_k: int | None = Field(default=None, ge=0, le=10000)
    top_p: float | None = Field(default=None, ge=0, le=1)
    guidance_scale: float | None = Field(default=None, ge=0, le=30)
    bpm: float | None = Field(default=None, ge=40, le=240, description="beats the prompt")
    key: str | None = Field(default=None, max_length=32, description="e.g. 'A minor', 'Bbm'")
    bars: int | None = Field(default=None, ge=1, le=512, description="4/4 bars; replaces duration")
    loop: bool | None = Field(default=None, description="seamless loop of whole bars")
    instruments: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=16
    )
    continue_from: str | None = Field(
        default=None, max_length=64, description="id of a library track this clip continues"
    )
    melody: str | None = Field(
        default=None, max_length=64, description="id of a library track whose melody to follow"
    )
    output_format: Literal["wav", "flac"] | None = None
    bit_depth: Literal["16", "24", "32f"] | None = None
    loudness_lufs: float | None = Field(default=None, ge=-40, le=-5)
    true_peak_dbtp: float | None = Field(default=None, ge=-12, le=0)
    priority: int = Field(default=0, ge=-1000, le=1000, description="higher runs first")

    _integral = field_validator("seed", "top_k", "bars", "priority", mode="before")(integral)

    def parameters(self) -> dict[str, Any]:
        """The request fields other than the prompt, as ``build_request`` takes them."""
        values = self.model_dump(exclude={"prompt", "priority"}, exclude_none=True)
        if "instruments" in values:
            values["instruments"] = tuple(values["instruments"])
        return values


class BatchBody(BaseModel):
    model_config = STRICT_BODY

    requests: list[GenerateBody] = Field(min_length=1, description="validated all before any")
    priority: int = Field(default=0, ge=-1000, le=1000, description="for every job of the batch")

    _integral = field_validator("priority", mode="before")(integral)


class JobLinks(BaseModel):
    self: str
    events: str
    track: str | None = Field(default=None, description="the finished clip, once completed")


class JobOut(BaseModel):
    id: str
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    stage: str | None
    request: GenerationRequest
    seed: int | None
    priority: int
    attempts: int
    max_attempts: int
    cancel_requested: bool
    error: str | None
    batch_id: str | None
    engine_used: str | None = Field(description="the engine that ran (auto chooses one)")
    worker: str | None = Field(description="the worker holding the job while it runs")
    notes: dict[str, Any] = Field(description="what the engine understood and chose")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    track_id: str | None = Field(description="the clip this job made, once completed")
    links: JobLinks

    @classmethod
    def of(cls, job: Job, track_id: str | None = None) -> JobOut:
        base = f"{API_PREFIX}/jobs/{job.id}"
        return cls(
            id=job.id,
            status=job.status,
            progress=job.progress,
            stage=job.stage,
            request=job.request,
            seed=job.seed,
            priority=job.priority,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            cancel_requested=job.cancel_requested,
            error=job.error,
            batch_id=job.batch_id,
            engine_used=job.engine_used,
            worker=job.lease_owner,
            notes=job.notes,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            heartbeat_at=job.heartbeat_at,
            track_id=track_id,
            links=JobLinks(
                self=base,
                events=f"{base}/events",
                track=f"{API_PREFIX}/tracks/{track_id}" if track_id else None,
            ),
        )


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: last")


class BatchOut(BaseModel):
    batch_id: str
    jobs: list[JobOut]


class TrackLinks(BaseModel):
    audio: str
    waveform: str
    midi: str | None
    stems: dict[str, str] = Field(description="stem name → its audio")


class TrackOut(BaseModel):
    id: str
    job_id: str
    file_name: str = Field(description="the audio file's name; /files/{file_name} serves it")
    format: str
    sample_rate: int
    channels: int
    duration: float = Field(description="seconds")
    bpm: float | None
    bpm_confidence: float | None
    key: str | None
    key_confidence: float | None
    asked_bpm: float | None
    asked_key: str | None
    disagreements: list[str] = Field(description="how the measured tempo/key differ from asked")
    lufs: float | None = Field(description="integrated loudness; null for digital silence")
    true_peak: float | None = Field(description="dBTP; null for digital silence")
    loudness_method: str
    size_bytes: int
    sha256: str
    prompt: str
    engine: str
    model: str | None
    seed: int
    created_at: datetime
    stems: list[str]
    has_midi: bool
    links: TrackLinks

    @classmethod
    def of(cls, track: Track) -> TrackOut:
        return cls.model_validate(track_fields(track))


def track_fields(track: Track) -> dict[str, Any]:
    """What ``TrackOut`` says about ``track``, as plain values: a page of them is validated in
    one call (``TrackPage.response``), which pydantic-core does faster than one model each."""
    from dgx_music.agreement import disagreements

    base = f"{API_PREFIX}/tracks/{track.id}"
    stems = sorted(track.stems)
    return {
        "id": track.id,
        "job_id": track.job_id,
        "file_name": track.path.rpartition("/")[2],
        "format": track.format,
        "sample_rate": track.sample_rate,
        "channels": track.channels,
        "duration": track.duration,
        "bpm": track.bpm,
        "bpm_confidence": track.bpm_confidence,
        "key": track.key,
        "key_confidence": track.key_confidence,
        "asked_bpm": track.asked_bpm,
        "asked_key": track.asked_key,
        "disagreements": disagreements(track),
        "lufs": _finite(track.lufs),
        "true_peak": _finite(track.true_peak),
        "loudness_method": track.loudness_method,
        "size_bytes": track.size_bytes,
        "sha256": track.sha256,
        "prompt": track.prompt,
        "engine": track.engine,
        "model": track.model,
        "seed": track.seed,
        "created_at": track.created_at,
        "stems": stems,
        "has_midi": track.midi_path is not None,
        "links": {
            "audio": f"{base}/audio",
            "waveform": f"{base}/waveform",
            "midi": f"{base}/midi" if track.midi_path else None,
            "stems": {name: f"{base}/stems/{name}" for name in stems},
        },
    }


class TrackPage(BaseModel):
    items: list[TrackOut]
    next_offset: int | None = Field(description="pass as ?offset= for the next page; null: last")

    @classmethod
    def response(cls, tracks: list[Track], next_offset: int | None) -> Response:
        """The page as a JSON response, serialised straight from plain values by pydantic-core.

        Not validated again: every value comes from a typed ``Track`` through
        ``track_fields``, the mapping ``TrackOut.of`` validates for each single track, and a
        test holds a page's bytes equal to the validated model's. Validating 50 tracks again
        cost 0.3 ms, as much as serialising them (0.5 ms against 0.2 ms for a page)."""
        items = [track_fields(track) for track in tracks]
        body = pydantic_core.to_json({"items": items, "next_offset": next_offset})
        return Response(body, media_type="application/json")


class ProgressEvent(BaseModel):
    """The data of each ``progress`` and ``end`` event of the event streams."""

    id: str
    status: JobStatus
    stage: str | None
    progress: float = Field(ge=0, le=1)
    eta_seconds: float | None = Field(description="estimated from the pace so far")
    error: str | None
    track_id: str | None


class AnalysisOut(BaseModel):
    duration: float = Field(description="seconds")
    sample_rate: int
    channels: int
    bpm: float | None
    bpm_confidence: float | None
    key: str | None
    key_confidence: float | None
    lufs: float | None = Field(description="integrated loudness; null for silence")
    true_peak: float | None = Field(description="dBTP; null for silence")


class WaveformOut(BaseModel):
    """Lowest and highest sample value (all channels) in each of ``points`` equal buckets."""

    points: int
    duration: float = Field(description="seconds")
    sample_rate: int
    bucket_seconds: float
    min: list[float]
    max: list[float]


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` as the JSON body of a response, serialised once by pydantic.

    For the hot read routes: a route that returns a model has FastAPI validate it against the
    ``response_model`` again and, for a plain ``def`` route, do that in a second trip through
    the thread pool. The models here are validated when built, so that second pass only costs
    (a third of ``GET /jobs/{id}``'s time). The routes still declare ``response_model`` for
    the OpenAPI document, and the schema tests check what they send against it.
    """
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")
