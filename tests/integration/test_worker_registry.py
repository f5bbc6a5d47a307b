"""Workers report themselves alive, idle or busy, and ``/health`` lists them; a worker that
stops leaves, one that died goes stale."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from dgx_music.storage.job_rows import utcnow
from dgx_music.storage.workers import WorkerRegistry, workers
from tests.support.api import (
    api_client,
    assert_idle_worker_listed_until_it_stops,
    live_workers,
    workers_seen_while_running,
)


def test_an_idle_worker_is_listed_until_it_stops() -> None:
    with api_client() as (client, service):
        assert_idle_worker_listed_until_it_stops(client, service)


def test_a_worker_that_went_silent_is_not_listed() -> None:
    with api_client() as (client, service):
        registry = WorkerRegistry(service.db)
        registry.beat("crashed:1:abc", utcnow() - timedelta(hours=1))
        registry.beat("alive:2:def", utcnow())
        silent_for = timedelta(seconds=service.settings.lease_seconds + 1)
        with service.db.write() as conn:
            conn.execute(
                update(workers)
                .where(workers.c.name == "crashed:1:abc")
                .values(heartbeat_at=utcnow() - silent_for)
            )
        assert [w["name"] for w in live_workers(client)] == ["alive:2:def"]


def test_a_busy_worker_shows_its_job_and_keeps_beating() -> None:
    with api_client() as (client, service):
        answer = client.post("/api/v1/generate", json={"prompt": "tone", "engine": "tone"})
        job_id = answer.json()["id"]
        seen = workers_seen_while_running(client, service, "box:7:busy")
        assert [(w["name"], w["jobs"]) for w in seen[0]] == [("box:7:busy", [job_id])]
        assert live_workers(client) == []  # it left when it stopped
