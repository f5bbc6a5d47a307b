"""The job queue on PostgreSQL: concurrent claims through ``FOR UPDATE SKIP LOCKED``, leases
that expire and are taken over, the attempt limit, and the read views."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select, text, update

from dgx_music.domain import GenerationRequest, Job, JobStatus
from dgx_music.storage.database import Database
from dgx_music.storage.jobs import JobNotFound, JobStore, LeaseLost, LeaseState, jobs, utcnow

pytestmark = pytest.mark.postgres


def request(prompt: str = "house groove", seed: int = 1) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, engine="tone", duration=1.0, seed=seed)


def claim_concurrently(stores: dict[str, JobStore]) -> dict[str, list[Job]]:
    """Every store's worker (named by its key) claims until the queue is empty, all starting
    at once on their own threads; the jobs each one claimed, in order."""
    claimed: dict[str, list[Job]] = {name: [] for name in stores}
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            start.wait()
            while (job := stores[name].claim(name, 60)) is not None:
                claimed[name].append(job)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return claimed


def test_two_workers_claim_every_job_exactly_once(pg_db: Database, second_db: Database) -> None:
    store = JobStore(pg_db)
    queued = store.submit([request(f"job {i}", seed=i) for i in range(40)], max_attempts=3)
    stores = {"w1": JobStore(pg_db), "w2": JobStore(second_db)}
    jobs_of = claim_concurrently(stores)
    for name, taken in jobs_of.items():
        assert all(job.lease_owner == name and job.attempts == 1 for job in taken)
    claimed = {name: [job.id for job in taken] for name, taken in jobs_of.items()}
    everything = claimed["w1"] + claimed["w2"]
    assert len(everything) == len(set(everything)) == len(queued)  # none twice, none missed
    assert set(everything) == {job.id for job in queued}
    assert claimed["w1"] and claimed["w2"], claimed  # both took part
    with pg_db.read() as conn:
        owners = dict(conn.execute(select(jobs.c.id, jobs.c.lease_owner)).all())
    for name, ids in claimed.items():
        assert {owners[job_id] for job_id in ids} == {name}


def test_a_row_another_transaction_has_locked_is_skipped_not_waited_for(
    pg_db: Database, second_db: Database
) -> None:
    store = JobStore(pg_db)
    first, second = store.submit([request("first"), request("second")], max_attempts=3)
    with second_db.engine.connect() as holder, holder.begin():
        # Another worker mid-claim: it holds the oldest row's lock until its transaction ends.
        locked = text("SELECT id FROM jobs WHERE id = :id FOR UPDATE")
        assert holder.execute(locked, {"id": first.id}).scalar() == first.id
        with pg_db.engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '2s'"))  # a blocked claim would fail, not hang
            conn.commit()
        taken = store.claim("w2", 60)
        assert taken is not None and taken.id == second.id
        assert store.claim("w3", 60) is None  # the only other row is locked: nothing to take
    again = store.claim("w3", 60)
    assert again is not None and again.id == first.id


def _expire(db: Database, job_id: str) -> None:
    with db.write() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def test_an_expired_lease_is_taken_over_and_attempts_are_bounded(
    pg_db: Database, second_db: Database
) -> None:
    one, other = JobStore(pg_db), JobStore(second_db)
    job = one.submit([request()], max_attempts=2)[0]
    first = one.claim("w1", 60)
    assert first is not None and first.attempts == 1
    assert other.claim("w2", 60) is None  # a live lease is not claimable
    _expire(pg_db, job.id)  # w1 stopped answering

    second = other.claim("w2", 60)
    assert second is not None and second.id == job.id
    assert (second.attempts, second.lease_owner, second.status) == (2, "w2", JobStatus.RUNNING)
    assert second.started_at is not None and second.started_at.tzinfo == UTC
    assert one.heartbeat(job.id, "w1", 60) == LeaseState.LOST
    with pytest.raises(LeaseLost):
        one.complete(job.id, "w1", {}, lambda: None)
    assert not one.finish(job.id, "w1", JobStatus.FAILED, "late")
    assert other.heartbeat(job.id, "w2", 60, stage="rendering", progress=0.5) == LeaseState.HELD

    _expire(pg_db, job.id)  # w2 dies too: the second attempt was the last
    assert one.claim("w3", 60) is None
    failed = one.get(job.id)
    assert failed.status == JobStatus.FAILED and failed.attempts == 2
    assert failed.error is not None and "attempt limit reached" in failed.error

    retried = other.retry(job.id[:8])  # a prefix finds it (LIKE on PostgreSQL)
    assert retried.status == JobStatus.QUEUED and retried.attempts == 0
    again = one.claim("w4", 60)
    assert again is not None and again.attempts == 1


def test_cancel_release_and_the_read_views(pg_db: Database) -> None:
    store = JobStore(pg_db)
    older = store.submit([request("a")], max_attempts=3)[0]
    newer, queued = store.submit([request("b"), request("c")], max_attempts=3)
    assert store.request_cancel(queued.id).status == JobStatus.CANCELLED
    running = store.claim("w1", 60)
    assert running is not None and running.id == older.id  # the oldest first
    assert store.request_cancel(older.id).cancel_requested
    assert store.heartbeat(older.id, "w1", 60) == LeaseState.CANCEL_REQUESTED
    assert store.release(older.id, "w1")
    assert store.get(older.id).attempts == 0

    activity = store.activity()
    assert (activity.queued, activity.running, activity.workers) == (2, 0, ())
    job, track_id = store.get_with_track(newer.id)  # Database.rows' SQLAlchemy path
    assert (job.id, job.request.prompt, track_id) == (newer.id, "b", None)
    assert job.created_at.tzinfo == UTC and job.status == JobStatus.QUEUED
    assert store.get_with_track(newer.id[:6])[0].id == newer.id
    with pytest.raises(JobNotFound):
        store.get_with_track("ffffffff-no-such-job")

    page = store.list(limit=2)
    rest = store.list(limit=2, before=(page[-1].created_at, page[-1].id))
    listed = [job.id for job in page + rest]
    assert sorted(listed) == sorted({older.id, newer.id, queued.id}) and len(listed) == 3
    assert [j.id for j in store.list(status=JobStatus.CANCELLED)] == [queued.id]
    changed = store.changed_since(utcnow() - timedelta(minutes=1))
    assert {j.id for j, _ in changed} == {older.id, newer.id, queued.id}


def test_two_workers_take_over_expired_leases_once_and_settle_the_rest(
    pg_db: Database, second_db: Database
) -> None:
    """A dead worker's jobs, reclaimed by two workers at once: each job that may run again is
    taken by exactly one of them (attempt 2), those out of attempts fail and those whose
    cancel was asked for end cancelled, both settled while the other worker claims."""
    store = JobStore(pg_db)
    again = store.submit([request(f"again {i}", seed=i) for i in range(20)], max_attempts=3)
    spent = store.submit([request("spent")] * 4, max_attempts=1)
    for _ in range(len(again) + len(spent)):
        assert store.claim("dead", 60) is not None
    cancelled = again[:3]
    for job in cancelled:
        store.request_cancel(job.id)
    with pg_db.write() as conn:
        conn.execute(update(jobs).values(lease_expires_at=utcnow() - timedelta(seconds=1)))

    stores = {"w1": JobStore(pg_db), "w2": JobStore(second_db)}
    claimed = {
        name: [(job.id, job.attempts) for job in taken]
        for name, taken in claim_concurrently(stores).items()
    }
    taken = claimed["w1"] + claimed["w2"]
    assert sorted(job_id for job_id, _ in taken) == sorted(job.id for job in again[3:])
    assert {attempts for _, attempts in taken} == {2}
    assert {store.get(job.id).status for job in spent} == {JobStatus.FAILED}
    assert {store.get(job.id).status for job in cancelled} == {JobStatus.CANCELLED}
