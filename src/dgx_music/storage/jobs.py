"""The job queue: submit, claim with a lease, heartbeat, finish, cancel, retry.

Every state change is one guarded UPDATE, so two processes can never both move the same job:
a claim takes the oldest, highest-priority queued job (or one whose lease expired) inside a
``BEGIN IMMEDIATE`` transaction with ``UPDATE … RETURNING``; a finishing write succeeds only
for the worker that still holds the lease. On PostgreSQL the same sub-select becomes
``FOR UPDATE SKIP LOCKED`` (see ``_claimable``).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, insert, or_, select, update

from dgx_music.domain import GenerationRequest, Job, JobStatus
from dgx_music.storage.database import Database, find_one
from dgx_music.storage.job_rows import JobNotFound, job_from_row, jobs, utcnow
from dgx_music.storage.job_views import JobViews, LiveWorker, QueueActivity

__all__ = [
    "InvalidTransition",
    "JobNotFound",
    "JobStore",
    "LeaseLost",
    "LeaseState",
    "LiveWorker",
    "QueueActivity",
    "job_from_row",
    "jobs",
    "utcnow",
]


class InvalidTransition(ValueError):
    """A cancel or retry that does not apply to the job's current state."""


class LeaseLost(RuntimeError):
    """This worker no longer holds the job: its lease expired and someone else may run it."""


class LeaseState(enum.Enum):
    HELD = "held"
    CANCEL_REQUESTED = "cancel_requested"
    LOST = "lost"


class JobStore(JobViews):
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
