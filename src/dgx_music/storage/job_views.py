"""Read-side views of the job queue for clients: a job with its track, pages of jobs, what
changed since a moment, queue depth and live workers. Split from ``jobs`` (which owns every
state change) so each module keeps one job; ``JobStore`` inherits these."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from dgx_music.domain import Job, JobStatus
from dgx_music.storage.database import Database, find_one
from dgx_music.storage.job_rows import (
    WITH_TRACK,
    WITH_TRACK_NAMES,
    JobChanges,
    JobNotFound,
    job_from_row,
    jobs,
    utcnow,
)


@dataclasses.dataclass(frozen=True)
class LiveWorker:
    """A worker seen through the leases it holds: its name, its jobs, its latest heartbeat."""

    name: str
    job_ids: tuple[str, ...]
    heartbeat_at: datetime | None


@dataclasses.dataclass(frozen=True)
class QueueActivity:
    queued: int
    running: int
    workers: tuple[LiveWorker, ...]


class JobViews:
    db: Database

    def get_with_track(self, job_id: str) -> tuple[Job, str | None]:
        """Like :meth:`get`, with the id of the track the job made (None until completed):
        what a client polling a job wants, in one query rather than a job read and a track
        read (the full id, the common case; a prefix takes the usual two steps)."""
        found = self.db.rows(WITH_TRACK, {"job_id": job_id})
        if not found:
            with self.db.read() as conn:
                prefixed = find_one(conn, jobs, job_id)
            if prefixed is not None:
                found = self.db.rows(WITH_TRACK, {"job_id": prefixed.id})
        if not found:
            raise JobNotFound(f"no job with id {job_id!r}")
        row = dict(zip(WITH_TRACK_NAMES, found[0], strict=True))
        track_id: str | None = row.pop("track_id")
        return job_from_row(row), track_id

    def list(
        self,
        *,
        status: JobStatus | None = None,
        batch_id: str | None = None,
        engine: str | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 50,
    ) -> list[Job]:
        """Newest first, ties broken by id (descending), so that ``before`` — the
        ``(created_at, id)`` of the last job of a page — continues exactly where it stopped.

        ``engine`` matches the engine asked for or the one that ran (``auto`` jobs ran as
        another).
        """
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(jobs.c.status == status.value)
        if batch_id is not None:
            query = query.where(jobs.c.batch_id == batch_id)
        if engine is not None:
            query = query.where(or_(jobs.c.engine == engine, jobs.c.engine_used == engine))
        if before is not None:
            created, job_id = before
            query = query.where(
                or_(
                    jobs.c.created_at < created,
                    and_(jobs.c.created_at == created, jobs.c.id < job_id),
                )
            )
        with self.db.read() as conn:
            return [job_from_row(row) for row in conn.execute(query)]

    def changed_since(
        self, moment: datetime, *, after: tuple[datetime, str] | None = None, limit: int = 500
    ) -> JobChanges:
        """Jobs whose row changed at or after ``moment``, each with the time of its change,
        in ``(updated_at, id)`` order; ``after`` (the last pair of a previous page) pages on.

        What the all-jobs event stream polls: it looks back a few seconds each time, because a
        change is stamped before its transaction commits and may appear late.
        """
        query = (
            select(jobs)
            .where(jobs.c.updated_at >= moment)
            .order_by(jobs.c.updated_at, jobs.c.id)
            .limit(limit)
        )
        if after is not None:
            stamp, job_id = after
            query = query.where(
                or_(
                    jobs.c.updated_at > stamp,
                    and_(jobs.c.updated_at == stamp, jobs.c.id > job_id),
                )
            )
        with self.db.read() as conn:
            return [(job_from_row(row), row.updated_at) for row in conn.execute(query)]

    def activity(self) -> QueueActivity:
        """Queue depth and the workers that hold live leases, for health checks.

        Only lease holders show here; ``storage.workers`` knows the idle workers too.
        """
        now = utcnow()
        active = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
        with self.db.read() as conn:
            counts: dict[str, int] = dict(
                conn.execute(
                    select(jobs.c.status, func.count())
                    .where(jobs.c.status.in_(active))
                    .group_by(jobs.c.status)
                ).all()
            )
            leases = conn.execute(
                select(jobs.c.lease_owner, jobs.c.id, jobs.c.heartbeat_at)
                .where(jobs.c.status == JobStatus.RUNNING.value, jobs.c.lease_expires_at >= now)
                .order_by(jobs.c.lease_owner)
            ).all()
        held: dict[str, list[tuple[str, datetime | None]]] = {}
        for owner, job_id, beat in leases:
            held.setdefault(owner, []).append((job_id, beat))
        workers = tuple(
            LiveWorker(
                name=owner,
                job_ids=tuple(job_id for job_id, _ in pairs),
                heartbeat_at=max((beat for _, beat in pairs if beat is not None), default=None),
            )
            for owner, pairs in held.items()
        )
        return QueueActivity(
            queued=int(counts.get(JobStatus.QUEUED.value, 0)),
            running=int(counts.get(JobStatus.RUNNING.value, 0)),
            workers=workers,
        )
