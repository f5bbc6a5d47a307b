"""What every front end (CLI now, API later) asks of the system: submit, look up, cancel, retry.

Front ends never touch storage or engines directly; they hold one ``GenerationService``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from dgx_music.config import Settings
from dgx_music.domain import GenerationRequest, Job, Track
from dgx_music.engines.base import EngineError
from dgx_music.engines.registry import EngineRegistry, UnknownEngine
from dgx_music.library import Library
from dgx_music.storage.database import Database
from dgx_music.storage.jobs import JobStore
from dgx_music.storage.tracks import TrackRepository

CONTROLS = ("bpm", "key", "bars", "loop", "instruments", "continue_from", "melody")
"""Musical controls an engine must declare in its capabilities before a request may use them."""


AUDIO_INPUTS = ("continue_from", "melody")
"""Request fields naming audio: a library track id (or unique prefix) or a file path."""


class InvalidRequest(ValueError):
    """Bad input from a user; the message says what to change."""


@dataclass(frozen=True)
class Submission:
    batch_id: str | None
    jobs: list[Job]


class GenerationService:
    def __init__(self, settings: Settings, *, upgrade: bool = True) -> None:
        self.settings = settings
        self.db = Database(settings.effective_database_url, settings.sqlite_busy_timeout)
        if upgrade:
            self.db.upgrade()
        self.jobs = JobStore(self.db)
        self.tracks = TrackRepository(self.db)
        self.library = Library(settings.library_root)

    @cached_property
    def engines(self) -> EngineRegistry:
        return EngineRegistry(self.settings)

    def close(self) -> None:
        self.db.dispose()

    def build_request(self, prompt: str, **params: Any) -> GenerationRequest:
        """Fill unset parameters from the settings, validate, and check the engine's limits."""
        values: dict[str, Any] = {
            "engine": self.settings.default_engine,
            "duration": self.settings.default_duration,
            "output_format": self.settings.output_format,
            "bit_depth": self.settings.bit_depth,
            "loudness_lufs": self.settings.loudness_lufs,
            "true_peak_dbtp": self.settings.true_peak_dbtp,
        }
        values.update({key: value for key, value in params.items() if value is not None})
        for name in AUDIO_INPUTS:
            if values.get(name) is not None:
                values[name] = self._audio_reference(name, str(values[name]))
        limit = self.settings.max_prompt_length
        if len(prompt) > limit:
            raise InvalidRequest(f"prompt is {len(prompt)} characters; the limit is {limit}")
        try:
            request = GenerationRequest(prompt=prompt, **values)
        except ValidationError as exc:
            raise InvalidRequest(_describe(exc)) from None
        if request.output_format == "flac" and request.bit_depth == "32f":
            raise InvalidRequest("FLAC stores 16- or 24-bit integers; use --bit-depth 16 or 24")
        self._check_engine_limits(request)
        return request

    def _audio_reference(self, field: str, reference: str) -> str:
        """A file becomes its absolute path, a track its full id; anything else is an error."""
        from pathlib import Path

        from dgx_music.storage.tracks import TrackNotFound

        path = Path(reference).expanduser()
        if path.is_file():
            return str(path.resolve())
        try:
            return self.tracks.get(reference).id
        except TrackNotFound:
            raise InvalidRequest(
                f"{field}: {reference!r} is neither an audio file nor a track in the library"
            ) from None

    def resolve_audio_inputs(self, request: GenerationRequest) -> GenerationRequest:
        """The request with track ids replaced by their files' paths, for the engine."""
        from pathlib import Path

        updates = {}
        for name in AUDIO_INPUTS:
            reference = getattr(request, name)
            if reference is not None and not Path(reference).is_absolute():
                track = self.tracks.get(reference)
                updates[name] = str(self.library.absolute(track.path))
        return request.model_copy(update=updates) if updates else request

    def _check_engine_limits(self, request: GenerationRequest) -> None:
        try:
            engine = self.engines.get(request.engine)
        except UnknownEngine as exc:
            raise InvalidRequest(str(exc)) from None
        choose = getattr(engine, "choose", None)
        if choose is not None:  # auto: check against the engine it would pick
            engine = choose(request)[0]
        validate = getattr(engine, "validate", None)
        if validate is not None:
            try:
                validate(request)
            except EngineError as exc:
                raise InvalidRequest(str(exc)) from None
        capabilities = engine.capabilities()
        asked = {name for name in CONTROLS if getattr(request, name) not in (None, False)}
        unsupported = sorted(asked - capabilities.controls)
        if unsupported:
            raise InvalidRequest(
                f"the {engine.name} engine does not take {', '.join(unsupported)}; "
                "describe it in the prompt instead"
            )
        if request.bars is not None and request.bpm is not None:
            seconds = request.bars * 4 * 60 / request.bpm
            if seconds > capabilities.max_duration:
                raise InvalidRequest(
                    f"{request.bars} bars at {request.bpm:g} BPM last {seconds:.0f} s; the "
                    f"{engine.name} engine's limit is {capabilities.max_duration:g} s"
                )
        elif request.bars is None and not (
            capabilities.min_duration <= request.duration <= capabilities.max_duration
        ):
            raise InvalidRequest(
                f"duration {request.duration:g} s is outside the {engine.name} engine's range "
                f"{capabilities.min_duration:g}–{capabilities.max_duration:g} s"
            )
        if (
            request.model is not None
            and capabilities.models
            and (request.model not in capabilities.models)
        ):
            raise InvalidRequest(
                f"unknown model {request.model!r} for engine {engine.name}; "
                f"available: {', '.join(capabilities.models)}"
            )

    def submit(
        self,
        requests: Sequence[GenerationRequest],
        *,
        priority: int = 0,
        as_batch: bool = False,
    ) -> Submission:
        """Queue the requests, choosing and recording a seed for each that has none."""
        seeded = [
            r if r.seed is not None else r.model_copy(update={"seed": secrets.randbelow(2**31)})
            for r in requests
        ]
        batch_id = str(uuid.uuid4()) if as_batch else None
        jobs = self.jobs.submit(
            seeded, max_attempts=self.settings.max_attempts, priority=priority, batch_id=batch_id
        )
        return Submission(batch_id=batch_id, jobs=jobs)

    def job(self, job_id: str) -> Job:
        return self.jobs.get(job_id)

    def track_for_job(self, job_id: str) -> Track:
        return self.tracks.get(job_id)

    def cancel(self, job_id: str) -> Job:
        return self.jobs.request_cancel(job_id)

    def retry(self, job_id: str) -> Job:
        return self.jobs.retry(job_id)

    def delete_track(self, track_id: str) -> Track:
        """Remove the row, then the files: a crash in between leaves files a check can find,
        never a row pointing at nothing."""
        track = self.tracks.get(track_id)
        self.tracks.delete(track.id)
        paths = [track.path, *track.stems.values()]
        if track.midi_path:
            paths.append(track.midi_path)
        paths.append(str(sidecar_of(track.path)))
        self.library.delete_files(paths)
        return track


def sidecar_of(relative: str) -> str:
    stem, _, _ext = relative.rpartition(".")
    return f"{stem}.json"


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "request"
        parts.append(f"{field}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)
