"""The queue's guarantees on a real SQLite file: atomic claims, leases, limits, cancel, retry."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from dgx_music.domain import GenerationRequest, JobStatus
from dgx_music.storage.database import SCHEMA_REVISION, Database
from dgx_music.storage.jobs import InvalidTransition, JobStore, LeaseLost, LeaseState


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    db = Database(f"sqlite:///{tmp_path / 'queue.db'}")
    db.upgrade()
    return JobStore(db)


def request(prompt: str = "house groove", seed: int = 1) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, engine="tone", duration=1.0, seed=seed)


def test_sqlite_is_tuned_for_a_shared_queue(store: JobStore) -> None:
    with store.db.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    assert store.db.current_revision() == SCHEMA_REVISION


def test_claim_takes_highest_priority_then_oldest(store: JobStore) -> None:
    low = store.submit([request("first")], max_attempts=3)[0]
    store.submit([request("second")], max_attempts=3)
    urgent = store.submit([request("urgent")], max_attempts=3, priority=5)[0]
    first = store.claim("w1", 30)
    assert first is not None and first.id == urgent.id
    claimed = store.claim("w1", 30)
    assert claimed is not None and claimed.id == low.id
    assert claimed.status is JobStatus.RUNNING and claimed.attempts == 1
    assert claimed.lease_owner == "w1" and claimed.lease_expires_at is not None


def test_concurrent_claims_never_share_a_job(store: JobStore) -> None:
    store.submit([request(f"p{i}", seed=i) for i in range(60)], max_attempts=3)
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while (job := store.claim(name, 30)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 60
    assert len(set(claimed)) == 60


def test_expired_lease_is_claimed_again_then_fails_at_the_limit(store: JobStore) -> None:
    job = store.submit([request()], max_attempts=2)[0]
    assert store.claim("dead-worker", 0.05) is not None
    assert store.claim("other", 30) is None  # lease still valid
    time.sleep(0.1)
    again = store.claim("other", 0.05)
    assert again is not None and again.id == job.id and again.attempts == 2
    # The first worker wakes up: its heartbeat and completion are refused.
    assert store.heartbeat(job.id, "dead-worker", 30) is LeaseState.LOST
    with pytest.raises(LeaseLost):
        store.complete(job.id, "dead-worker", {}, lambda: None)
    time.sleep(0.1)
    assert store.claim("third", 30) is None
    final = store.get(job.id)
    assert final.status is JobStatus.FAILED
    assert final.error is not None and "attempt limit" in final.error


def test_heartbeat_reports_cancel_and_records_progress(store: JobStore) -> None:
    job = store.submit([request()], max_attempts=3)[0]
    store.claim("w", 30)
    assert store.heartbeat(job.id, "w", 30, stage="generating", progress=0.4) is LeaseState.HELD
    assert store.get(job.id).progress == pytest.approx(0.4)
    store.request_cancel(job.id)
    assert store.heartbeat(job.id, "w", 30) is LeaseState.CANCEL_REQUESTED
    with pytest.raises(LeaseLost):  # a cancelled job cannot complete
        store.complete(job.id, "w", {}, lambda: None)
    assert store.finish(job.id, "w", JobStatus.CANCELLED)
    assert store.get(job.id).status is JobStatus.CANCELLED


def test_cancel_queued_is_immediate_and_final_jobs_refuse(store: JobStore) -> None:
    job = store.submit([request()], max_attempts=3)[0]
    assert store.request_cancel(job.id).status is JobStatus.CANCELLED
    assert store.claim("w", 30) is None
    retried = store.retry(job.id)
    assert retried.status is JobStatus.QUEUED and retried.attempts == 0
    claimed = store.claim("w", 30)
    assert claimed is not None
    store.finish(job.id, "w", JobStatus.FAILED, error="boom")
    assert store.retry(job.id[:8]).status is JobStatus.QUEUED  # by prefix, too
    store.claim("w", 30)
    store.complete(job.id, "w", _track_row(job.id), lambda: None)
    with pytest.raises(InvalidTransition):
        store.retry(job.id)
    with pytest.raises(InvalidTransition):
        store.request_cancel(job.id)


def test_release_returns_the_job_without_spending_an_attempt(store: JobStore) -> None:
    job = store.submit([request()], max_attempts=1)[0]
    store.claim("w", 30)
    assert store.release(job.id, "w")
    again = store.claim("w2", 30)
    assert again is not None and again.attempts == 1


def test_jobs_survive_reopening_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    first = Database(url)
    first.upgrade()
    job = JobStore(first).submit([request()], max_attempts=3)[0]
    first.dispose()
    reopened = JobStore(Database(url))
    assert reopened.get(job.id).request == job.request
    assert reopened.claim("w", 30) is not None


def _track_row(job_id: str) -> dict[str, object]:
    from datetime import UTC, datetime

    return {
        "id": "t-" + job_id[:30],
        "job_id": job_id,
        "path": f"x/{job_id}.wav",
        "format": "wav",
        "sample_rate": 16000,
        "channels": 2,
        "duration": 1.0,
        "bpm": None,
        "key": None,
        "lufs": -16.0,
        "true_peak": -1.0,
        "loudness_method": "gain",
        "size_bytes": 1,
        "sha256": "0" * 64,
        "prompt": "p",
        "engine": "tone",
        "model": None,
        "seed": 1,
        "stems": {},
        "midi_path": None,
        "created_at": datetime.now(UTC),
    }
