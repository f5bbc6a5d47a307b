"""``GET /api/v1/metrics`` through the real app, parsed by prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from dgx_music.domain import JobStatus
from dgx_music.service import GenerationService
from dgx_music.storage.job_stats import count_by_status
from tests.support.access import GENERATE, app_client, bearer
from tests.support.api import assert_problem, run_queue

Api = tuple[TestClient, GenerationService]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with app_client(monkeypatch) as pair:
        yield pair


def scrape(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, list[Sample]]:
    answer = client.get("/api/v1/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {family.name: family.samples for family in text_string_to_metric_families(answer.text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert found, (name, labels)
    return sum(found)


def test_jobs_by_state_match_the_database(api: Api) -> None:
    client, service = api
    for _ in range(3):
        assert client.post("/api/v1/generate", json=GENERATE).status_code == 202
    assert run_queue(service) == 3
    queued = [client.post("/api/v1/generate", json=GENERATE).json() for _ in range(2)]
    assert client.delete(f"/api/v1/jobs/{queued[0]['id']}").status_code == 200

    jobs = scrape(client)["dgx_music_jobs"]
    in_database = count_by_status(service.db)
    assert in_database[JobStatus.COMPLETED] == 3 and in_database[JobStatus.CANCELLED] == 1
    for status in JobStatus:
        shown = value(jobs, "dgx_music_jobs", state=status.value)
        assert shown == in_database[status], status


def test_completed_jobs_feed_the_timing_histograms_once(api: Api) -> None:
    client, service = api
    families = scrape(client)  # before any job: empty histograms
    assert not [s for s in families["dgx_music_generation_seconds"] if s.name.endswith("_count")]
    for _ in range(2):
        client.post("/api/v1/generate", json=GENERATE)
    run_queue(service)

    families = scrape(client)
    for name in ("dgx_music_generation_seconds", "dgx_music_queue_wait_seconds"):
        assert value(families[name], f"{name}_count", engine="tone") == 2
        assert value(families[name], f"{name}_sum", engine="tone") > 0
    realtime = families["dgx_music_realtime_factor"]
    count = value(realtime, "dgx_music_realtime_factor_count", engine="tone")
    assert count == 2 and value(realtime, "dgx_music_realtime_factor_sum") > 0

    again = scrape(client)  # a second scrape does not count the same jobs again
    generation = again["dgx_music_generation_seconds"]
    assert value(generation, "dgx_music_generation_seconds_count", engine="tone") == 2


def test_http_latency_is_labelled_by_route_template_not_by_path(api: Api) -> None:
    client, _ = api
    for _ in range(3):
        job = client.post("/api/v1/generate", json=GENERATE).json()
        assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 200
    assert client.get("/api/v1/jobs/no-such-job").status_code == 404
    assert client.get("/no/such/route").status_code == 404

    http = scrape(client)["dgx_music_http_request_duration_seconds"]
    counts = [s for s in http if s.name.endswith("_count")]
    routes = {s.labels["route"] for s in counts}
    assert "/api/v1/jobs/{job_id}" in routes and "unmatched" in routes
    assert not any(job["id"] in route for route in routes)
    name = "dgx_music_http_request_duration_seconds_count"
    template = "/api/v1/jobs/{job_id}"
    assert value(http, name, route=template, method="GET", status="200") == 3
    assert value(http, name, route=template, status="404") == 1
    assert value(http, name, route="/api/v1/generate", method="POST", status="202") == 3


def test_metrics_need_a_key_when_keys_are_on_and_apps_keep_their_own(
    monkeypatch: pytest.MonkeyPatch, api: Api
) -> None:
    key = "metrics-scraper-key-0123456789"
    first, _ = api
    first.get("/api/v1/jobs")
    with app_client(monkeypatch, api_keys=key) as (second, _):
        assert_problem(second.get("/api/v1/metrics"), 401)
        http = scrape(second, bearer(key))["dgx_music_http_request_duration_seconds"]
        routes = {s.labels["route"] for s in http if s.name.endswith("_count")}
        assert "/api/v1/jobs" not in routes  # the first app's request is not in this one's
        assert value(http, "dgx_music_http_request_duration_seconds_count", status="401") == 1
