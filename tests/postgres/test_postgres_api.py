"""The whole service on PostgreSQL through the real app (``DGX_MUSIC_DATABASE_URL``): a job
from POST to a deleted track, the health report with its worker registry, and the shared
generation limit between two app processes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dgx_music.storage.database import Database
from dgx_music.storage.job_rows import utcnow
from dgx_music.storage.workers import WorkerRegistry
from tests.support.access import GENERATE, FakeClock, app_client
from tests.support.api import (
    api_client,
    assert_idle_worker_listed_until_it_stops,
    assert_problem,
    run_queue,
    workers_seen_while_running,
)

pytestmark = pytest.mark.postgres


def test_a_job_from_post_to_deleted_track(on_postgres: str) -> None:
    with api_client() as (client, service):
        assert service.db.url.get_backend_name() == "postgresql"
        body = {"prompt": "tone at 90 bpm", "engine": "tone", "duration": 1.0, "seed": 3}
        answer = client.post("/api/v1/generate", json=body)
        assert answer.status_code == 202, answer.text
        job = answer.json()
        assert job["status"] == "queued" and answer.headers["location"].endswith(job["id"])
        assert client.get(answer.headers["location"]).json()["links"].get("track") is None

        assert run_queue(service) == 1
        done = client.get(answer.headers["location"]).json()  # get_with_track on PostgreSQL
        assert done["status"] == "completed" and done["attempts"] == 1, done
        assert done["engine_used"] == "tone" and done["progress"] == 1.0
        assert client.get(f"/api/v1/jobs/{job['id'][:8]}").json()["id"] == job["id"]

        track = client.get(done["links"]["track"]).json()
        assert track["job_id"] == job["id"] and track["duration"] == pytest.approx(1.0, abs=0.01)
        audio = client.get(track["links"]["audio"])
        assert audio.status_code == 200 and len(audio.content) == track["size_bytes"]

        listed = client.get("/api/v1/tracks", params={"search": "TONE", "sort": "created"})
        assert listed.status_code == 200, listed.text
        assert [t["id"] for t in listed.json()["items"]] == [track["id"]]
        assert client.get("/api/v1/tracks", params={"search": "90%"}).json()["items"] == []
        jobs = client.get("/api/v1/jobs").json()
        assert [j["id"] for j in jobs["items"]] == [job["id"]]
        metrics = client.get("/api/v1/metrics")  # job_stats' figures, read from PostgreSQL
        assert metrics.status_code == 200, metrics.text
        assert 'dgx_music_jobs{state="completed"} 1.0' in metrics.text

        assert client.delete(f"/api/v1/tracks/{track['id']}").status_code == 204
        assert_problem(client.get(f"/api/v1/tracks/{track['id']}"), 404)
        assert client.get("/api/v1/tracks").json()["items"] == []


def test_health_lists_idle_and_busy_workers_from_the_registry(on_postgres: str) -> None:
    with api_client() as (client, service):
        assert_idle_worker_listed_until_it_stops(client, service)

        job_id = client.post("/api/v1/generate", json=GENERATE).json()["id"]
        seen = workers_seen_while_running(client, service, "box:7:busy")
        assert [(w["name"], w["jobs"]) for w in seen[0]] == [("box:7:busy", [job_id])]
        health = client.get("/api/v1/health").json()
        assert health["queue"] == {"queued": 0, "running": 0}


def test_the_worker_registry(pg_db: Database) -> None:
    registry = WorkerRegistry(pg_db)
    started = utcnow()
    registry.beat("a:1:x", started)
    registry.beat("a:1:x", started)  # an update, not a second row
    registry.beat("ancient:2:y", started - timedelta(days=2))  # started long ago, beats now
    alive = registry.alive(timedelta(minutes=1))
    [(_, since, beat)] = [row for row in alive if row[0] == "a:1:x"]
    assert since == started and beat >= started and beat.tzinfo is not None
    assert [row[0] for row in registry.alive(timedelta(minutes=1))] == ["a:1:x", "ancient:2:y"]
    registry.leave("a:1:x")
    assert [row[0] for row in registry.alive(timedelta(minutes=1))] == ["ancient:2:y"]


def test_two_app_processes_share_the_generation_limit(
    on_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    with (
        app_client(monkeypatch, clock=clock) as (first, _),
        app_client(monkeypatch, clock=clock) as (second, _),
    ):
        codes = [first.post("/api/v1/generate", json=GENERATE).status_code for _ in range(6)]
        codes += [second.post("/api/v1/generate", json=GENERATE).status_code for _ in range(4)]
        assert codes == [202] * 10
        refused = assert_problem(first.post("/api/v1/generate", json=GENERATE), 429)
        assert "10 generations a minute" in refused["detail"]
        answer = second.post("/api/v1/generate", json=GENERATE)
        assert answer.status_code == 429 and answer.headers["retry-after"] == "6"
        clock.advance(6)
        assert second.post("/api/v1/generate", json=GENERATE).status_code == 202
