"""Read-only figures about the queue for monitoring: jobs by state, and recent completions.

Two cheap queries, each on an index: ``GROUP BY status`` reads ``ix_jobs_claim`` (status
first) without touching the table, and completions since a moment are a range of
``ix_jobs_updated`` (a job's row last changes when it completes).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select

from dgx_music.domain import JobStatus
from dgx_music.storage.database import Database
from dgx_music.storage.models import JobRow, TrackRow

jobs = cast(Table, JobRow.__table__)
tracks = cast(Table, TrackRow.__table__)


@dataclasses.dataclass(frozen=True)
class Completion:
    """One completed job's timings: seconds it waited, seconds it ran, seconds of audio."""

    job_id: str
    engine: str
    finished_at: datetime
    queue_wait: float
    run_seconds: float
    clip_seconds: float


def count_by_status(db: Database) -> dict[JobStatus, int]:
    """How many jobs are in each state (every state present, zero included)."""
    with db.read() as conn:
        rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)).all()
    counts = dict.fromkeys(JobStatus, 0)
    for status, count in rows:
        counts[JobStatus(status)] = int(count)
    return counts


def completions_since(db: Database, moment: datetime, *, limit: int = 10_000) -> list[Completion]:
    """Jobs that completed at or after ``moment``, oldest first (at most ``limit``)."""
    query = (
        select(
            jobs.c.id,
            func.coalesce(jobs.c.engine_used, jobs.c.engine),
            jobs.c.created_at,
            jobs.c.started_at,
            jobs.c.finished_at,
            func.coalesce(tracks.c.duration, jobs.c.duration),
        )
        .select_from(jobs.outerjoin(tracks, tracks.c.job_id == jobs.c.id))
        .where(
            jobs.c.updated_at >= moment,
            jobs.c.finished_at >= moment,
            jobs.c.status == JobStatus.COMPLETED.value,
        )
        .order_by(jobs.c.updated_at)
        .limit(limit)
    )
    with db.read() as conn:
        rows = conn.execute(query).all()
    found = []
    for job_id, engine, created, started, finished, clip in rows:
        if started is None or finished is None:
            continue
        found.append(
            Completion(
                job_id=job_id,
                engine=str(engine),
                finished_at=finished,
                queue_wait=max((started - created).total_seconds(), 0.0),
                run_seconds=max((finished - started).total_seconds(), 0.0),
                clip_seconds=float(clip),
            )
        )
    return found
