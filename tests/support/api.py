"""The real API app over a real service in the test's data directory, and a way to run its
queue: what the API tests share."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from dgx_music.api import create_app
from dgx_music.config import load_settings
from dgx_music.service import GenerationService
from dgx_music.worker import Worker, WorkerThreads

PROBLEM = "application/problem+json"


@contextmanager
def api_client() -> Iterator[tuple[TestClient, GenerationService]]:
    """A client of the whole app (middleware, handlers, routers) and the service behind it."""
    service = GenerationService(load_settings())
    try:
        with TestClient(create_app(service=service)) as client:
            yield client, service
    finally:
        service.close()


def run_queue(service: GenerationService) -> int:
    """Run every queued job in this process, as a worker would; returns how many ran."""
    return Worker(service).run_forever(until_idle=True)


def make_track(
    client: TestClient, service: GenerationService, prompt: str = "tone", **fields: Any
) -> dict[str, Any]:
    """Queue one clip through the API (the fast tone engine unless told), run it, return
    the track's JSON."""
    body = {"prompt": prompt, "engine": "tone", "duration": 1.0, "seed": 3, **fields}
    answer = client.post("/api/v1/generate", json=body)
    assert answer.status_code == 202, answer.text
    run_queue(service)
    job = client.get(answer.headers["location"]).json()
    assert job["status"] == "completed", job
    track = client.get(job["links"]["track"])
    assert track.status_code == 200, track.text
    result: dict[str, Any] = track.json()
    return result


def assert_problem(answer: Any, status: int) -> dict[str, Any]:
    """``answer`` is an RFC 9457 problem with ``status``; returns its body."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM), answer.headers
    body: dict[str, Any] = answer.json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status and body["detail"], body
    return body


def live_workers(client: TestClient) -> list[dict[str, object]]:
    """The workers ``/health`` lists as live (asserting the report itself is healthy)."""
    health = client.get("/api/v1/health")
    assert health.status_code == 200, health.text
    body = health.json()
    assert body["database"]["ok"] and body["status"] == "ok", body
    live: list[dict[str, object]] = body["workers"]["live"]
    return live


def workers_seen_while_running(
    client: TestClient, service: GenerationService, name: str
) -> list[list[dict[str, object]]]:
    """Run the queued job with a worker called ``name`` and return what ``/health`` listed as
    live at the moment the job started, just after the worker's heartbeat."""
    worker = Worker(service, name=name)
    seen: list[list[dict[str, object]]] = []
    real_run = worker.run_claimed

    def run_and_look(jobs: list[object]) -> object:
        worker.beat()
        seen.append(live_workers(client))
        return real_run(jobs)  # type: ignore[arg-type]

    worker.run_claimed = run_and_look  # type: ignore[method-assign]
    assert worker.run_forever(until_idle=True) == 1
    return seen


def first_live_workers(client: TestClient, timeout: float = 10.0) -> list[dict[str, object]]:
    """The live workers ``/health`` lists once it lists any (empty after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not (live := live_workers(client)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return live


def assert_idle_worker_listed_until_it_stops(
    client: TestClient, service: GenerationService
) -> None:
    """One idle worker thread: ``/health`` lists it (no jobs, its start and heartbeat times)
    while it runs and drops it once it stops -- on whichever database ``service`` uses."""
    assert live_workers(client) == []
    threads = WorkerThreads(service, 1)
    threads.start()
    try:
        live = first_live_workers(client)
        assert [w["name"] for w in live] == [threads.workers[0].name]
        assert live[0]["jobs"] == [] and live[0]["started_at"] and live[0]["heartbeat_at"]
    finally:
        threads.stop(5.0)
    assert live_workers(client) == []
