"""The job queue: submit, claim with a lease, heartbeat, finish, cancel, retry.

Every state change is one guarded UPDATE, so two processes can never both move the same job:
a claim takes the oldest, highest-priority queued job (or one whose lease expired) inside a
``BEGIN IMMEDIATE`` transaction with ``UPDATE … RETURNING``; a finishing write succeeds only
for the worker that still holds the lease. On PostgreSQL the same sub-select becomes
``FOR UPDATE SKIP LOCKED`` (see ``_claimable``).
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, and_, bindparam, func, insert, or_, select, update

from dgx_music.domain import GenerationRequest, Job, JobStatus
from dgx_music.storage.database import Database, find_one
from dgx_music.storage.models import JobRow, TrackRow

jobs = cast(Table, JobRow.__table__)
_tracks = cast(Table, TrackRow.__table__)
_WITH_TRACK = (
    select(jobs, _tracks.c.id.label("track_id"))
    .select_from(jobs.outerjoin(_tracks, _tracks.c.job_id == jobs.c.id))
    .where(jobs.c.id == bindparam("job_id"))
)
"""A job by its full id with the id of its track (null until completed): one indexed join,
built once, for the lookup the API answers most."""

JobChanges = list[tuple[Job, datetime]]
"""Jobs with the time their row last changed (``JobStore.list`` shadows ``list`` in the class)."""


class JobNotFound(LookupError):
    pass


class InvalidTransition(ValueError):
    """A cancel or retry that does not apply to the job's current state."""


class LeaseLost(RuntimeError):
    """This worker no longer holds the job: its lease expired and someone else may run it."""


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


class LeaseState(enum.Enum):
    HELD = "held"
    CANCEL_REQUESTED = "cancel_requested"
    LOST = "lost"


def utcnow() -> datetime:
    return datetime.now(UTC)


JOB_FIELDS = tuple(field.name for field in dataclasses.fields(Job))


def job_from_row(row: Row[Any]) -> Job:
    data = dict(row._mapping)
    data.update(
        status=JobStatus(data["status"]),
        request=GenerationRequest.model_validate(data["request"]),
        cancel_requested=bool(data["cancel_requested"]),
        notes=dict(data["notes"] or {}),
    )
    return Job(**{name: data[name] for name in JOB_FIELDS})


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def submit(
        self,
        requests: Sequence[GenerationRequest],
        *,
        max_attempts: int,
        priority: int = 0,
        batch_id: str | None = None,
    ) -> list[Job]:
        """Queue one job per request (in one transaction); each request's seed must be fixed."""
        now = utcnow()
        rows = []
        for request in requests:
            if request.seed is None:
                raise ValueError("the seed must be chosen before a job is queued")
            rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "status": JobStatus.QUEUED.value,
                    "prompt": request.prompt,
                    "engine": request.engine,
                    "model": request.model,
                    "duration": request.duration,
                    "seed": request.seed,
                    "request": request.model_dump(mode="json"),
                    "priority": priority,
                    "progress": 0.0,
                    "attempts": 0,
                    "max_attempts": max_attempts,
                    "cancel_requested": False,
                    "notes": {},
                    "batch_id": batch_id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        with self.db.write() as conn:
            conn.execute(insert(jobs), rows)
            found = conn.execute(select(jobs).where(jobs.c.id.in_([r["id"] for r in rows])))
            by_id = {row.id: job_from_row(row) for row in found}
        return [by_id[r["id"]] for r in rows]

    def get(self, job_id: str) -> Job:
        """Find a job by full id or by a unique prefix (see ``find_one``)."""
        with self.db.read() as conn:
            row = find_one(conn, jobs, job_id)
        if row is None:
            raise JobNotFound(f"no job with id {job_id!r}")
        return job_from_row(row)

    def get_with_track(self, job_id: str) -> tuple[Job, str | None]:
        """Like :meth:`get`, with the id of the track the job made (None until completed):
        what a client polling a job wants, in one query rather than a job read and a track
        read (the full id, the common case; a prefix takes the usual two steps)."""
        with self.db.read() as conn:
            row = conn.execute(_WITH_TRACK, {"job_id": job_id}).first()
            if row is None:
                row = find_one(conn, jobs, job_id)
                if row is not None:
                    row = conn.execute(_WITH_TRACK, {"job_id": row.id}).first()
        if row is None:
            raise JobNotFound(f"no job with id {job_id!r}")
        track_id: str | None = row.track_id
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

        A worker shows up here only while it runs a job: idle workers leave no row behind.
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

    def _claimable(self, now: datetime, job_id: str | None) -> Any:
        runnable = or_(
            jobs.c.status == JobStatus.QUEUED.value,
            and_(jobs.c.status == JobStatus.RUNNING.value, jobs.c.lease_expires_at < now),
        )
        query = (
            select(jobs.c.id)
            .where(runnable, jobs.c.cancel_requested.is_(False))
            .where(jobs.c.attempts < jobs.c.max_attempts)
            .order_by(jobs.c.priority.desc(), jobs.c.created_at, jobs.c.id)
            .limit(1)
        )
        if job_id is not None:
            query = query.where(jobs.c.id == job_id)
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        return query.scalar_subquery()

    def _settle_expired(self, conn: Connection, now: datetime) -> None:
        """Jobs whose lease ran out and may not run again: cancelled or failed for good."""
        expired = and_(jobs.c.status == JobStatus.RUNNING.value, jobs.c.lease_expires_at < now)
        conn.execute(
            update(jobs)
            .where(expired, jobs.c.cancel_requested.is_(True))
            .values(
                status=JobStatus.CANCELLED.value,
                finished_at=now,
                updated_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        conn.execute(
            update(jobs)
            .where(expired, jobs.c.attempts >= jobs.c.max_attempts)
            .values(
                status=JobStatus.FAILED.value,
                error="attempt limit reached: the worker running this job stopped answering "
                "(lease expired) on every attempt",
                finished_at=now,
                updated_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
        )

    def claim(self, owner: str, lease_seconds: float, job_id: str | None = None) -> Job | None:
        """Atomically take the next runnable job (or ``job_id`` only) and lease it to ``owner``."""
        now = utcnow()
        with self.db.write() as conn:
            self._settle_expired(conn, now)
            row = conn.execute(
                update(jobs)
                .where(jobs.c.id == self._claimable(now, job_id))
                .values(
                    status=JobStatus.RUNNING.value,
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    heartbeat_at=now,
                    attempts=jobs.c.attempts + 1,
                    progress=0.0,
                    stage="starting",
                    started_at=now,
                    updated_at=now,
                )
                .returning(*jobs.c)
            ).first()
        return None if row is None else job_from_row(row)

    def _held(self, job_id: str, owner: str) -> Any:
        return and_(
            jobs.c.id == job_id,
            jobs.c.lease_owner == owner,
            jobs.c.status == JobStatus.RUNNING.value,
        )

    def heartbeat(
        self,
        job_id: str,
        owner: str,
        lease_seconds: float,
        *,
        stage: str | None = None,
        progress: float | None = None,
    ) -> LeaseState:
        """Renew the lease (and record progress); says whether to go on, stop, or give up."""
        now = utcnow()
        values: dict[str, Any] = {
            "heartbeat_at": now,
            "lease_expires_at": now + timedelta(seconds=lease_seconds),
            "updated_at": now,
        }
        if stage is not None:
            values["stage"] = stage
        if progress is not None:
            values["progress"] = min(max(progress, 0.0), 1.0)
        with self.db.write() as conn:
            row = conn.execute(
                update(jobs)
                .where(self._held(job_id, owner), jobs.c.lease_expires_at >= now)
                .values(**values)
                .returning(jobs.c.cancel_requested)
            ).first()
        if row is None:
            return LeaseState.LOST
        return LeaseState.CANCEL_REQUESTED if row[0] else LeaseState.HELD

    def set_notes(self, job_id: str, owner: str, engine_used: str, notes: dict[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(jobs)
                .where(self._held(job_id, owner))
                .values(engine_used=engine_used, notes=notes, updated_at=utcnow())
            )

    def complete(
        self,
        job_id: str,
        owner: str,
        track_values: dict[str, Any],
        publish_files: Callable[[], None],
    ) -> None:
        """Mark the job completed and insert its track in one transaction.

        ``publish_files`` (renaming finished temp files into place) runs inside the transaction,
        after the lease check: a worker that lost its lease never publishes anything.
        """
        from dgx_music.storage.models import TrackRow

        now = utcnow()
        with self.db.write() as conn:
            result = conn.execute(
                update(jobs)
                .where(self._held(job_id, owner), jobs.c.cancel_requested.is_(False))
                .values(
                    status=JobStatus.COMPLETED.value,
                    progress=1.0,
                    stage="done",
                    finished_at=now,
                    updated_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            if result.rowcount != 1:
                raise LeaseLost(f"job {job_id} is no longer held by {owner}")
            conn.execute(insert(cast(Table, TrackRow.__table__)).values(**track_values))
            publish_files()

    def finish(self, job_id: str, owner: str, status: JobStatus, error: str | None = None) -> bool:
        """End a held job as failed or cancelled; False when the lease was already lost."""
        if status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise ValueError(f"finish() ends jobs as failed or cancelled, not {status}")
        now = utcnow()
        with self.db.write() as conn:
            result = conn.execute(
                update(jobs)
                .where(self._held(job_id, owner))
                .values(
                    status=status.value,
                    error=error,
                    finished_at=now,
                    updated_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
        return result.rowcount == 1

    def release(self, job_id: str, owner: str) -> bool:
        """Give a held job back to the queue without counting the attempt (clean shutdown)."""
        now = utcnow()
        with self.db.write() as conn:
            result = conn.execute(
                update(jobs)
                .where(self._held(job_id, owner))
                .values(
                    status=JobStatus.QUEUED.value,
                    attempts=jobs.c.attempts - 1,
                    lease_owner=None,
                    lease_expires_at=None,
                    progress=0.0,
                    stage="released",
                    updated_at=now,
                )
            )
        return result.rowcount == 1

    def request_cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once; ask a running one to stop at its next step."""
        job = self.get(job_id)
        now = utcnow()
        with self.db.write() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job.id, jobs.c.status == JobStatus.QUEUED.value)
                .values(
                    status=JobStatus.CANCELLED.value,
                    cancel_requested=True,
                    finished_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job.id, jobs.c.status == JobStatus.RUNNING.value)
                .values(cancel_requested=True, updated_at=now)
            )
        updated = self.get(job.id)
        if updated.status.is_final and updated.status != JobStatus.CANCELLED:
            raise InvalidTransition(f"job {job.id} is already {updated.status.value}")
        return updated

    def retry(self, job_id: str) -> Job:
        """Queue a failed or cancelled job again with a fresh attempt budget."""
        job = self.get(job_id)
        now = utcnow()
        with self.db.write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == job.id)
                .where(jobs.c.status.in_([JobStatus.FAILED.value, JobStatus.CANCELLED.value]))
                .values(
                    status=JobStatus.QUEUED.value,
                    attempts=0,
                    error=None,
                    progress=0.0,
                    stage=None,
                    cancel_requested=False,
                    finished_at=None,
                    started_at=None,
                    updated_at=now,
                )
            )
        if result.rowcount != 1:
            raise InvalidTransition(
                f"job {job.id} is {job.status.value}; only failed or cancelled jobs can be retried"
            )
        return self.get(job.id)
