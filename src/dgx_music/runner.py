"""Run one claimed job: engine → fades → loudness → analysis → files → track row.

The lease is the source of truth for who may finish a job. ``LeaseWatch`` renews it, records
progress, and turns a cancel request, a lost lease or a worker shutdown into ``should_cancel()``
so the engine stops within one step.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dgx_music import __version__
from dgx_music.agreement import asked_tempo_and_key, labelled_tempo_and_key
from dgx_music.domain import AudioClip, GenerationRequest, Job, JobStatus, Track
from dgx_music.engines.base import Engine, GenerationCancelled, GenerationResult
from dgx_music.library import StagedFiles
from dgx_music.regenerate import regenerate_command
from dgx_music.serialization import to_jsonable
from dgx_music.service import GenerationService, sidecar_of
from dgx_music.storage.jobs import LeaseLost, LeaseState, utcnow
from dgx_music.storage.tracks import track_values

if TYPE_CHECKING:
    from dgx_music.audio.analysis import Analysis

log = logging.getLogger(__name__)

# Share of the job's progress bar given to each stage (generation dominates).
STAGES = {
    "generating": (0.0, 0.85),
    "post-processing": (0.85, 0.92),
    "analysing": (0.92, 0.96),
    "writing": (0.96, 1.0),
}
PROGRESS_WRITE_INTERVAL = 0.1  # seconds; progress is also the cancel check, so keep it short


class LeaseWatch:
    """Thread-safe view of this worker's hold on one job."""

    def __init__(self, service: GenerationService, job: Job, owner: str) -> None:
        self._service = service
        self._job_id = job.id
        self._owner = owner
        self._lock = threading.Lock()
        self._state = LeaseState.HELD
        self._last_write = 0.0
        self._stage = "starting"
        self._progress = 0.0
        self.shutdown = threading.Event()

    @property
    def state(self) -> LeaseState:
        return self._state

    def refresh(self) -> LeaseState:
        """Renew the lease now (the heartbeat thread calls this on a timer)."""
        with self._lock:
            if self._state is not LeaseState.LOST:
                self._state = self._service.jobs.heartbeat(
                    self._job_id,
                    self._owner,
                    self._service.settings.lease_seconds,
                    stage=self._stage,
                    progress=self._progress,
                )
            self._last_write = time.monotonic()
            return self._state

    def report(self, stage: str, fraction: float) -> None:
        """Record progress of a pipeline ``stage`` (0..1 within it) as overall progress."""
        start, end = STAGES[stage]
        self._record(stage, start + (end - start) * min(max(fraction, 0.0), 1.0))

    def engine_progress(self, step: str, fraction: float) -> None:
        """The engine's own progress callback: its steps share the "generating" part of the bar."""
        start, end = STAGES["generating"]
        self._record(f"generating: {step}", start + (end - start) * min(max(fraction, 0.0), 1.0))

    def _record(self, stage: str, progress: float) -> None:
        self._stage = stage
        self._progress = max(progress, self._progress)  # the bar never runs backwards
        if time.monotonic() - self._last_write >= PROGRESS_WRITE_INTERVAL:
            self.refresh()

    def should_cancel(self) -> bool:
        if time.monotonic() - self._last_write >= PROGRESS_WRITE_INTERVAL:
            self.refresh()
        return self.shutdown.is_set() or self._state is not LeaseState.HELD


@dataclass(frozen=True)
class Outcome:
    status: JobStatus | None
    """None when the job was released or its lease lost: someone else will finish it."""
    track: Track | None = None
    error: str | None = None


def run_job(service: GenerationService, job: Job, owner: str, watch: LeaseWatch) -> Outcome:
    """Execute a job this worker has claimed; never raises for a failure of the job itself."""
    return run_jobs(service, [job], owner, [watch])[0]


def run_jobs(
    service: GenerationService, jobs: Sequence[Job], owner: str, watches: Sequence[LeaseWatch]
) -> list[Outcome]:
    """Execute claimed jobs; several (equal engine, model, length, sampling) share one pass.

    Generation stops for all of them when any is cancelled or this worker shuts down: the
    cancelled job ends cancelled, the others go back to the queue (attempt not counted).
    """
    engine = service.engines.get(jobs[0].request.engine)
    try:
        requests = [service.resolve_audio_inputs(job.request) for job in jobs]
        for job, request, watch in zip(jobs, requests, watches, strict=True):
            _announce(service, job, owner, engine, request)
            watch.report("generating", 0.0)
        if len(jobs) == 1:
            results = [
                engine.generate(requests[0], watches[0].engine_progress, watches[0].should_cancel)
            ]
        else:

            def progress(stage: str, fraction: float) -> None:
                for watch in watches:
                    watch.engine_progress(stage, fraction)

            def cancelled() -> bool:
                return any([watch.should_cancel() for watch in watches])  # ask every lease

            results = engine.generate_batch(requests, progress, cancelled)  # type: ignore[attr-defined]
    except (GenerationCancelled, LeaseLost):
        return [_stop(service, job, owner, watch) for job, watch in zip(jobs, watches, strict=True)]
    except Exception as exc:
        return [_fail(service, job, owner, exc) for job in jobs]
    return [
        _deliver(service, job, owner, watch, result.engine or engine.name, result)
        for job, watch, result in zip(jobs, watches, results, strict=True)
    ]


def _announce(
    service: GenerationService, job: Job, owner: str, engine: Engine, request: GenerationRequest
) -> None:
    """Put what the engine makes of the request (``describe``, where it has one) on the job
    before generating, so a client sees the reading of its prompt from the start; the full
    notes replace it when the engine is done. A description that fails is left out: the
    generation itself then says what is wrong."""
    describe = getattr(engine, "describe", None)
    try:
        notes: dict[str, Any] = {} if describe is None else describe(request)
    except Exception as exc:
        log.debug("job %s: no description from %s: %s", job.id, engine.name, exc)
        return
    if notes:
        chosen = (notes.get("engine_choice") or {}).get("engine", engine.name)
        service.jobs.set_notes(job.id, owner, str(chosen), notes)


def _fail(service: GenerationService, job: Job, owner: str, exc: Exception) -> Outcome:
    message = f"{type(exc).__name__}: {exc}"
    # The reason goes on the job; the traceback only when an operator asks for DEBUG logs.
    log.error("job %s failed: %s", job.id, message, exc_info=log.isEnabledFor(logging.DEBUG))
    service.jobs.finish(job.id, owner, JobStatus.FAILED, error=message)
    return Outcome(JobStatus.FAILED, error=message)


def _deliver(
    service: GenerationService,
    job: Job,
    owner: str,
    watch: LeaseWatch,
    engine_name: str,
    result: GenerationResult,
) -> Outcome:
    staged = StagedFiles()
    try:
        track = _finish_audio(service, job, owner, watch, engine_name, result, staged)
    except (GenerationCancelled, LeaseLost):
        staged.discard()
        return _stop(service, job, owner, watch)
    except Exception as exc:
        staged.discard()
        return _fail(service, job, owner, exc)
    return Outcome(JobStatus.COMPLETED, track=track)


def _stop(service: GenerationService, job: Job, owner: str, watch: LeaseWatch) -> Outcome:
    if watch.state is LeaseState.LOST:
        return Outcome(None, error="lease lost")
    if watch.state is LeaseState.CANCEL_REQUESTED:
        service.jobs.finish(job.id, owner, JobStatus.CANCELLED, error="cancelled on request")
        return Outcome(JobStatus.CANCELLED)
    service.jobs.release(job.id, owner)
    return Outcome(None, error="released")


def _finish_audio(
    service: GenerationService,
    job: Job,
    owner: str,
    watch: LeaseWatch,
    engine_name: str,
    result: GenerationResult,
    staged: StagedFiles,
) -> Track:
    from dgx_music.audio import analyse, apply_fades, normalise_loudness

    request, settings = job.request, service.settings
    service.jobs.set_notes(job.id, owner, engine_name, result.notes)
    _raise_if_stopping(watch)

    watch.report("post-processing", 0.0)
    # A loop must join seamlessly end to start, so it gets no fades; stems get exactly what the
    # mix got (fades, then its gain curve), so they still sum to the finished mix.
    fade_in, fade_out = (0.0, 0.0) if request.loop else (settings.fade_in, settings.fade_out)
    loud = normalise_loudness(
        apply_fades(result.mix, fade_in, fade_out), request.loudness_lufs, request.true_peak_dbtp
    )
    stems = {
        name: loud.apply_to(apply_fades(stem, fade_in, fade_out))
        for name, stem in result.stems.items()
    }
    _raise_if_stopping(watch)

    watch.report("analysing", 0.0)
    analysis = analyse(loud.clip)
    _raise_if_stopping(watch)

    watch.report("writing", 0.0)
    track = _stage_files(
        service,
        job=job,
        engine_name=engine_name,
        result=result,
        mix=loud.clip,
        stems=stems,
        analysis=analysis,
        loudness_method=loud.method,
        staged=staged,
    )
    _raise_if_stopping(watch)
    service.jobs.complete(job.id, owner, track_values(track), staged.publish)
    return track


def _raise_if_stopping(watch: LeaseWatch) -> None:
    if watch.should_cancel():
        raise GenerationCancelled


def _stage_files(
    service: GenerationService,
    *,
    job: Job,
    engine_name: str,
    result: GenerationResult,
    mix: AudioClip,
    stems: dict[str, AudioClip],
    analysis: Analysis,
    loudness_method: str,
    staged: StagedFiles,
) -> Track:
    from dgx_music.audio import sha256_file, write_audio, write_bytes_atomic
    from dgx_music.audio.riff import add_wav_metadata

    request = job.request
    library = service.library
    created = utcnow()
    base = library.track_base(request.prompt, job.id, created)
    ext = request.output_format
    relative = f"{base}.{ext}"
    final = library.absolute(relative)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging_mix = staged.add(final)
    write_audio(staging_mix, mix, request.output_format, request.bit_depth)
    asked_bpm, asked_key = asked_tempo_and_key(request)
    labelled = labelled_tempo_and_key(
        (asked_bpm, asked_key), (analysis.bpm, analysis.key), result.notes
    )
    tags = _daw_tags(request, labelled, engine_name, job.seed)
    if ext == "wav":
        add_wav_metadata(staging_mix, **tags)

    stem_paths: dict[str, str] = {}
    for name, stem in stems.items():
        stem_relative = f"{base}.stems/{name}.{ext}"
        stem_final = library.absolute(stem_relative)
        stem_final.parent.mkdir(parents=True, exist_ok=True)
        staging_stem = staged.add(stem_final)
        write_audio(staging_stem, stem, request.output_format, request.bit_depth)
        if ext == "wav":
            add_wav_metadata(staging_stem, **{**tags, "title": f"{request.prompt} ({name})"})
        stem_paths[name] = stem_relative
    midi_relative = None
    if result.midi is not None:
        midi_relative = f"{base}.mid"
        write_bytes_atomic(staged.add(library.absolute(midi_relative)), result.midi)

    track = Track(
        id=str(uuid.uuid4()),
        job_id=job.id,
        path=relative,
        format=ext,
        sample_rate=mix.sample_rate,
        channels=mix.channels,
        duration=mix.duration,
        bpm=analysis.bpm,
        key=analysis.key,
        lufs=analysis.lufs,
        true_peak=analysis.true_peak,
        loudness_method=loudness_method,
        size_bytes=staging_mix.stat().st_size,
        sha256=sha256_file(staging_mix),
        prompt=request.prompt,
        engine=engine_name,
        model=request.model or result.notes.get("model"),
        seed=job.seed if job.seed is not None else 0,
        created_at=created,
        stems=stem_paths,
        midi_path=midi_relative,
        bpm_confidence=analysis.bpm_confidence,
        key_confidence=analysis.key_confidence,
        asked_bpm=asked_bpm,
        asked_key=asked_key,
    )
    sidecar = {
        "dgx_music_version": __version__,
        "request": request.model_dump(mode="json"),
        "seed": track.seed,
        "engine": engine_name,
        "engine_notes": result.notes,
        "track": track_values(track),
        "regenerate": regenerate_command(request, track.seed, engine_name, track.model),
    }
    sidecar_path = library.absolute(sidecar_of(relative))
    sidecar_json = json.dumps(to_jsonable(sidecar), indent=2, allow_nan=False)
    write_bytes_atomic(staged.add(sidecar_path), sidecar_json.encode())
    return track


def _daw_tags(
    request: GenerationRequest,
    labelled: tuple[float | None, str | None],
    engine: str,
    seed: int | None,
) -> dict[str, Any]:
    """What a DAW reads from the WAV: tempo and root (ACID), loop points, title and comment;
    ``labelled`` is the tempo and key from ``agreement.labelled_tempo_and_key``."""
    bpm, key = labelled
    comment = f"{engine}, seed {seed}" + (f", {key}" if key else "")
    return {
        "bpm": bpm,
        "key": key,
        "beats": None,
        "loop": request.loop,
        "title": request.prompt,
        "comment": comment,
        "software": f"dgx-music {__version__}",
    }
