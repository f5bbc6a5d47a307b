"""Rate limits through the real app, on a clock the tests move: 429 with Retry-After and
recovery, batches counting per generation, refused requests costing nothing, one bucket per
key, and X-Forwarded-For believed only from trusted proxies."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.access import GENERATE, FakeClock, app_client, bearer
from tests.support.api import assert_problem

ALICE = "alice-key-0123456789abcdef"
BOB = "bob-key-0123456789abcdefgh"


def generate(client: TestClient, headers: dict[str, str] | None = None) -> int:
    return client.post("/api/v1/generate", json=GENERATE, headers=headers).status_code


def test_the_eleventh_generation_in_a_minute_waits_and_then_goes_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    with app_client(monkeypatch, clock=clock) as (client, _):
        assert [generate(client) for _ in range(10)] == [202] * 10
        refused = client.post("/api/v1/generate", json=GENERATE)
        body = assert_problem(refused, 429)
        assert body["type"].endswith(":rate-limited")
        assert "10 generations a minute per client address" in body["detail"]
        assert refused.headers["retry-after"] == "6"
        assert client.get("/api/v1/jobs").status_code == 200  # other routes are not limited
        clock.advance(5)
        assert generate(client) == 429
        clock.advance(1)
        assert generate(client) == 202
        assert generate(client) == 429
        clock.advance(60)
        assert [generate(client) for _ in range(10)] == [202] * 10


def test_a_batch_counts_each_request_and_refused_requests_cost_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    with app_client(monkeypatch, clock=clock, api_generate_rate_per_minute="4") as (client, _):
        for _ in range(3):  # refused further on: 422, 400, 400
            assert_problem(client.post("/api/v1/generate", json={"engine": "tone"}), 422)
            assert_problem(client.post("/api/v1/generate", json={**GENERATE, "engine": "x"}), 400)
            bad_batch = {"requests": [GENERATE, {**GENERATE, "duration": -1}]}
            assert client.post("/api/v1/generate/batch", json=bad_batch).status_code in (400, 422)
        batch = {"requests": [GENERATE] * 3}
        assert client.post("/api/v1/generate/batch", json=batch).status_code == 202
        assert generate(client) == 202
        assert generate(client) == 429
        clock.advance(45)  # three refills: a batch of 3 fits again, 4 does not
        big = client.post("/api/v1/generate/batch", json={"requests": [GENERATE] * 4})
        assert_problem(big, 429)
        assert big.headers["retry-after"] == "15"
        assert client.post("/api/v1/generate/batch", json=batch).status_code == 202


def test_a_batch_larger_than_the_limit_passes_once_the_bucket_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    with app_client(monkeypatch, clock=clock, api_generate_rate_per_minute="2") as (client, _):
        batch = {"requests": [GENERATE] * 5}
        answer = client.post("/api/v1/generate/batch", json=batch)
        assert answer.status_code == 202 and len(answer.json()["jobs"]) == 5
        refused = client.post("/api/v1/generate", json=GENERATE)
        assert refused.headers["retry-after"] == "120"  # 5 × 30 s of refill, less the bucket
        clock.advance(120)
        assert generate(client) == 202


def test_each_key_has_its_own_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {"api_keys": f"{ALICE},{BOB}", "api_generate_rate_per_minute": "2"}
    with app_client(monkeypatch, clock=FakeClock(), **settings) as (client, _):
        assert [generate(client, bearer(ALICE)) for _ in range(3)] == [202, 202, 429]
        refused = client.post("/api/v1/generate", json=GENERATE, headers=bearer(ALICE))
        assert "per API key" in refused.json()["detail"]
        assert [generate(client, bearer(BOB)) for _ in range(3)] == [202, 202, 429]
        assert_problem(client.post("/api/v1/generate", json=GENERATE), 401)  # not a 429


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = {"api_generate_rate_per_minute": "3", "trusted_proxies": "10.0.0.0/8"}
    peer = ("203.0.113.50", 40000)
    with app_client(monkeypatch, clock=FakeClock(), peer=peer, **limit) as (client, _):
        statuses = [
            generate(client, {"X-Forwarded-For": f"198.51.100.{number}"}) for number in range(6)
        ]
        assert statuses == [202, 202, 202, 429, 429, 429]


def test_a_trusted_proxy_is_believed_about_its_client_but_not_about_what_came_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = {"api_generate_rate_per_minute": "2", "trusted_proxies": "10.0.0.0/8"}
    proxy = ("10.0.0.2", 40000)
    with app_client(monkeypatch, clock=FakeClock(), peer=proxy, **limit) as (client, _):
        first = {"X-Forwarded-For": "198.51.100.1"}
        assert [generate(client, first) for _ in range(3)] == [202, 202, 429]
        # The same client writing a fake hop in front of what the proxy appended: still itself.
        spoofed = {"X-Forwarded-For": "6.6.6.6, 198.51.100.1"}
        assert generate(client, spoofed) == 429
        # Another client behind the same proxy, or behind a second trusted hop, has its own.
        assert generate(client, {"X-Forwarded-For": "198.51.100.2"}) == 202
        chained = {"X-Forwarded-For": "198.51.100.3, 10.20.30.40"}
        assert [generate(client, chained) for _ in range(3)] == [202, 202, 429]


def test_zero_means_unlimited_and_the_general_limit_counts_every_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits = {"api_generate_rate_per_minute": "0", "api_request_rate_per_minute": "5"}
    with app_client(monkeypatch, clock=FakeClock(), **limits) as (client, _):
        assert [generate(client) for _ in range(3)] == [202] * 3
        assert client.get("/api/v1/jobs").status_code == 200
        assert client.get("/api/v1/engines").status_code == 200
        refused = client.get("/api/v1/jobs")
        assert "5 requests a minute" in assert_problem(refused, 429)["detail"]
        assert client.get("/api/v1/health/live").status_code == 200  # health is never limited


def test_api_processes_on_one_database_share_a_clients_allowance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two apps over one data directory (as ``serve --processes 2`` runs them): the buckets
    live in the database, so a client cannot get twice the limit by landing on both."""
    clock = FakeClock()
    with (
        app_client(monkeypatch, clock=clock) as (first, _),
        app_client(monkeypatch, clock=clock) as (second, _),
    ):
        assert [generate(first) for _ in range(6)] == [202] * 6
        assert [generate(second) for _ in range(4)] == [202] * 4
        assert generate(first) == 429
        assert generate(second) == 429
        clock.advance(6)
        assert generate(second) == 202
        assert generate(first) == 429
        clock.advance(6)
        bad = second.post("/api/v1/generate", json={**GENERATE, "engine": "no-such-engine"})
        assert_problem(bad, 400)  # refunded: the next good one still goes through
        assert generate(first) == 202
