"""Progress as Server-Sent Events, by polling the job store.

Jobs are run by workers that may live in other processes or on other machines, so the job
row is the only place progress is known: each stream looks at it every
``api_event_interval`` seconds (a primary-key read for one job, an indexed ``updated_at``
range for all jobs) and sends an event only when something a client shows has changed.
A comment line goes out after ``api_keepalive_seconds`` of silence so that proxies and
browsers keep the connection open.

Events: ``progress`` (data: :class:`ProgressEvent` JSON) while a job moves, ``end`` with the
same data once it has completed, failed or been cancelled. The one-job stream closes after its
``end``; the all-jobs stream runs until the client leaves.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

import anyio.to_thread

from dgx_music.api.schemas import ProgressEvent
from dgx_music.domain import Job, JobStatus
from dgx_music.service import GenerationService
from dgx_music.storage.jobs import utcnow

KEEPALIVE = b": keep-alive\n\n"
RECONNECT_MS = 2000
"""How long a browser's EventSource waits before reconnecting after a drop."""
MIN_PROGRESS_FOR_ETA = 0.02
"""Below this the pace says too little about the rest."""
LOOK_BACK = timedelta(seconds=10)
"""How far into the past each look of the all-jobs stream reaches (see ``all_jobs``)."""
PAGE = 500
MAX_CHANGES = 5000
"""A bound on one look's work: more jobs than this changing within ``LOOK_BACK`` (a huge
batch queued at once) are not all reported."""

Disconnected = Callable[[], Awaitable[bool]]


def eta_seconds(job: Job, now: datetime) -> float | None:
    """Time left at the pace so far: elapsed × (1 − p) / p, for a running job."""
    if job.status is not JobStatus.RUNNING or job.started_at is None:
        return None
    if job.progress < MIN_PROGRESS_FOR_ETA:
        return None
    elapsed = max((now - job.started_at).total_seconds(), 0.0)
    return round(elapsed * (1.0 - job.progress) / job.progress, 1)


def progress_of(job: Job, track_id: str | None = None) -> ProgressEvent:
    return ProgressEvent(
        id=job.id,
        status=job.status,
        stage=job.stage,
        progress=job.progress,
        eta_seconds=eta_seconds(job, utcnow()),
        error=job.error,
        track_id=track_id,
    )


def encode(event: str, data: ProgressEvent) -> bytes:
    payload = json.dumps(data.model_dump(mode="json"), separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n".encode()


def _shown(job: Job) -> tuple[object, ...]:
    """What a client displays; a change in anything else (a heartbeat) sends nothing."""
    return (job.status, job.stage, round(job.progress, 3), job.error)


async def _final_event(service: GenerationService, job: Job) -> bytes:
    track_id = None
    if job.status is JobStatus.COMPLETED:
        found = await anyio.to_thread.run_sync(service.tracks.ids_for_jobs, [job.id])
        track_id = found.get(job.id)
    return encode("end", progress_of(job, track_id))


async def one_job(
    service: GenerationService,
    job_id: str,
    disconnected: Disconnected,
    *,
    interval: float,
    keepalive: float,
) -> AsyncIterator[bytes]:
    """Events of one job until it ends; ``job_id`` must be its full id."""
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    last: tuple[object, ...] | None = None
    quiet_since = time.monotonic()
    while True:
        job = await anyio.to_thread.run_sync(service.jobs.get, job_id)
        if job.status.is_final:
            yield await _final_event(service, job)
            return
        if _shown(job) != last:
            last = _shown(job)
            quiet_since = time.monotonic()
            yield encode("progress", progress_of(job))
        elif time.monotonic() - quiet_since >= keepalive:
            quiet_since = time.monotonic()
            yield KEEPALIVE
        await anyio.sleep(interval)
        if await disconnected():
            return


def _active_jobs(service: GenerationService) -> list[Job]:
    running = service.jobs.list(status=JobStatus.RUNNING, limit=PAGE)
    return running + service.jobs.list(status=JobStatus.QUEUED, limit=PAGE)


def _recent_changes(service: GenerationService, since: datetime) -> list[tuple[Job, datetime]]:
    """Every job changed at or after ``since``, page by page (at most ``MAX_CHANGES``)."""
    changes: list[tuple[Job, datetime]] = []
    after: tuple[datetime, str] | None = None
    while len(changes) < MAX_CHANGES:
        page = service.jobs.changed_since(since, after=after, limit=PAGE)
        changes += page
        if len(page) < PAGE:
            break
        after = (page[-1][1], page[-1][0].id)
    return changes


async def all_jobs(
    service: GenerationService,
    disconnected: Disconnected,
    *,
    interval: float,
    keepalive: float,
) -> AsyncIterator[bytes]:
    """Events of every job that changes from now on, after one for each active job.

    Each look reaches ``LOOK_BACK`` into the past, since a change is stamped before its
    transaction commits (a writer may wait for the lock) and other machines' clocks drift;
    what was already sent is recognised and not sent again.
    """
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    sent: dict[str, tuple[datetime, tuple[object, ...]]] = {}
    for job in await anyio.to_thread.run_sync(_active_jobs, service):
        sent[job.id] = (utcnow(), _shown(job))
        yield encode("progress", progress_of(job))
    quiet_since = time.monotonic()
    while True:
        since = utcnow() - LOOK_BACK
        changed = await anyio.to_thread.run_sync(_recent_changes, service, since)
        for job, updated_at in changed:
            previous = sent.get(job.id)
            sent[job.id] = (max(updated_at, previous[0]) if previous else updated_at, _shown(job))
            if previous is not None and previous[1] == _shown(job):
                continue
            quiet_since = time.monotonic()
            if job.status.is_final:
                yield await _final_event(service, job)
            else:
                yield encode("progress", progress_of(job))
        # Rows changed before ``since`` are not read again; their memory can go.
        sent = {key: value for key, value in sent.items() if value[0] >= since}
        if time.monotonic() - quiet_since >= keepalive:
            quiet_since = time.monotonic()
            yield KEEPALIVE
        await anyio.sleep(interval)
        if await disconnected():
            return
