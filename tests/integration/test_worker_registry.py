"""Workers report themselves alive, idle or busy, and ``/health`` lists them; a worker that
stops leaves, one that died goes stale."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from dgx_music.storage.job_rows import utcnow
from dgx_music.storage.workers import WorkerRegistry, workers
from dgx_music.worker import Worker, WorkerThreads
from tests.support.api import api_client


def _live(client: TestClient) -> list[dict[str, object]]:
    health = client.get("/api/v1/health").json()
    live: list[dict[str, object]] = health["workers"]["live"]
    return live


def test_an_idle_worker_is_listed_until_it_stops() -> None:
    with api_client() as (client, service):
        assert _live(client) == []
        threads = WorkerThreads(service, 1)
        threads.start()
        try:
            deadline = time.monotonic() + 10
            while not (live := _live(client)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [w["name"] for w in live] == [threads.workers[0].name]
            assert live[0]["jobs"] == [] and live[0]["started_at"] and live[0]["heartbeat_at"]
        finally:
            threads.stop(5.0)
        assert _live(client) == []


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
        assert [w["name"] for w in _live(client)] == ["alive:2:def"]


def test_a_busy_worker_shows_its_job_and_keeps_beating() -> None:
    with api_client() as (client, service):
        answer = client.post("/api/v1/generate", json={"prompt": "tone", "engine": "tone"})
        job_id = answer.json()["id"]
        worker = Worker(service, name="box:7:busy")
        seen: list[list[dict[str, object]]] = []
        real_run = worker.run_claimed

        def run_and_look(jobs: list[object]) -> object:
            worker.beat()
            seen.append(_live(client))
            return real_run(jobs)  # type: ignore[arg-type]

        worker.run_claimed = run_and_look  # type: ignore[method-assign]
        assert worker.run_forever(until_idle=True) == 1
        assert [(w["name"], w["jobs"]) for w in seen[0]] == [("box:7:busy", [job_id])]
        assert _live(client) == []  # it left when it stopped
