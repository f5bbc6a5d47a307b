"""The pieces of API access control that need no app: the token bucket, forwarded-for
parsing, the keys file format and constant-time key matching."""

from __future__ import annotations

import pytest

from dgx_music.api.clients import TrustedProxies, parse_address
from dgx_music.api.ratelimit import RateLimiter, retry_after
from dgx_music.api_keys import KeyEntry, generate_key, match_key, parse_keys
from dgx_music.config import digest_api_key


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_lets_the_rate_through_at_once_then_one_per_refill() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock)
    assert all(limiter.take("a") is None for _ in range(10))
    wait = limiter.take("a")
    assert wait == pytest.approx(6.0)
    clock.now += 5.9
    assert limiter.take("a") is not None  # a refused request spends nothing
    clock.now += 0.1
    assert limiter.take("a") is None
    assert limiter.take("b") is None  # another client has its own bucket


def test_a_cost_counts_as_that_many_and_a_cost_over_the_bucket_runs_into_debt() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock)
    assert limiter.take("a", 4) is None
    assert limiter.take("a", 7) == pytest.approx(6.0)  # 6 left, 7 asked: one refill short
    assert limiter.take("a", 25) == pytest.approx(24.0)  # needs the whole bucket back first
    clock.now += 24.0
    assert limiter.take("a", 25) is None  # let in when full, then the debt is waited off
    assert limiter.take("a") == pytest.approx(150.0 - 60.0 + 6.0)
    clock.now += 96.0
    assert limiter.take("a") is None


def test_a_refund_gives_back_what_was_spent() -> None:
    limiter = RateLimiter(2, clock=FakeClock())
    assert limiter.take("a", 2) is None
    assert limiter.take("a") is not None
    limiter.refund("a", 2)
    assert limiter.take("a", 2) is None


def test_memory_is_bounded_and_idle_clients_are_forgotten() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock, max_clients=100)
    for number in range(1000):
        assert limiter.take(f"client-{number}") is None
        assert len(limiter) <= 100
    clock.now += 2.0  # every bucket refilled: all idle
    limiter.take("late")
    assert len(limiter) <= 100
    clock.now += 61.0
    limiter.take("later")
    assert len(limiter) == 1  # the sweep forgot every full bucket


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.5, "60")])
def test_retry_after_is_whole_seconds_rounded_up(wait: float, header: str) -> None:
    assert retry_after(wait) == header


PROXIES = TrustedProxies(["10.0.0.0/8", "192.0.2.7", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # untrusted peer: header ignored
        ("10.1.2.3", [], "10.1.2.3"),  # trusted peer, no header: the peer
        ("10.1.2.3", ["198.51.100.1"], "198.51.100.1"),
        ("10.1.2.3", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # client-written part ignored
        ("10.1.2.3", ["6.6.6.6, 198.51.100.1, 192.0.2.7"], "198.51.100.1"),  # two proxies
        ("10.1.2.3", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # several headers
        ("10.1.2.3", ["10.9.9.9, 10.8.8.8"], "10.9.9.9"),  # nothing but proxies
        ("10.1.2.3", ["garbage, 198.51.100.1"], "198.51.100.1"),
        ("10.1.2.3", ["198.51.100.1, garbage"], "10.1.2.3"),  # the proxy wrote no address
        ("10.1.2.3", ["[2001:db8::1]:4711"], "2001:db8::1"),
        ("::ffff:10.0.0.1", ["198.51.100.1:80"], "198.51.100.1"),  # v4-mapped peer
        ("testclient", ["198.51.100.1"], "testclient"),
        (None, ["198.51.100.1"], "unknown"),
    ],
)
def test_forwarded_for_is_read_from_the_right_and_only_from_trusted_proxies(
    peer: str | None, forwarded: list[str], client: str
) -> None:
    assert PROXIES.client_address(peer, forwarded) == client


def test_no_trusted_proxies_means_the_peer_always() -> None:
    assert TrustedProxies([]).client_address("10.1.2.3", ["198.51.100.1"]) == "10.1.2.3"
    assert parse_address("not an address") is None


def test_keys_file_lines_comments_and_malformed_lines(caplog: pytest.LogCaptureFixture) -> None:
    digest = "a" * 64
    text = f"# a comment\n\nalice:{digest}\n  bob : {digest.upper()}\nbroken line\neve:short\n"
    assert parse_keys(text, "keys") == [KeyEntry("alice", digest), KeyEntry("bob", digest)]
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [f"keys line {n} is not `name:sha256-hex`; ignored" for n in (5, 6)]


def test_a_key_matches_by_digest_and_only_its_own_entry() -> None:
    first, second = generate_key(), generate_key()
    assert first.startswith("dgxm_") and len(first) > 40 and first != second
    entries = [KeyEntry("one", digest_api_key(first)), KeyEntry("two", digest_api_key(second))]
    assert match_key(first, entries) == "one"
    assert match_key(second, entries) == "two"
    assert match_key(first + "x", entries) is None
    assert match_key("", entries) is None
