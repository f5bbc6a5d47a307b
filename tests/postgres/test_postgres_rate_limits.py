"""The generation limit's buckets in PostgreSQL (``storage/rate_limits.py``): two API
processes (two Database objects) share one allowance, a decision is a row lock, and two
first requests of a new client at once meet at the unique key and retry."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from dgx_music.api.ratelimit import RateLimiter
from dgx_music.storage.database import Database
from dgx_music.storage.rate_limits import DatabaseCells

pytestmark = pytest.mark.postgres


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_two_processes_share_one_allowance_and_refuse_with_the_wait(
    pg_db: Database, second_db: Database
) -> None:
    clock = Clock()
    first = RateLimiter(5, clock=clock, cells=DatabaseCells(pg_db, "generate"))
    second = RateLimiter(5, clock=clock, cells=DatabaseCells(second_db, "generate"))
    assert [first.take("addr:1") for _ in range(3)] == [None] * 3
    assert [second.take("addr:1") for _ in range(2)] == [None] * 2
    wait = first.take("addr:1")
    assert wait == pytest.approx(12.0)  # a 429 with Retry-After 12: one token per 12 s
    assert second.take("addr:1") == pytest.approx(12.0)
    assert second.take("addr:2") is None  # another client has its own bucket
    clock.now += 12
    assert second.take("addr:1") is None
    assert first.take("addr:1") == pytest.approx(12.0)
    first.refund("addr:1")  # a request that came to nothing gives its token back
    assert second.take("addr:1") is None
    assert second.take("addr:1", cost=3) == pytest.approx(36.0)  # nothing spent when refused
    assert len(first) == len(second) == 2
    clock.now += 61  # both buckets full again: the next sweep deletes their rows
    DatabaseCells(second_db, "generate").update("addr:3", lambda tat: None, clock.now)
    assert len(first) == 0


def test_concurrent_requests_across_processes_never_exceed_the_limit(
    pg_db: Database, second_db: Database
) -> None:
    clock = Clock()
    limiters = [
        RateLimiter(5, clock=clock, cells=DatabaseCells(db, "generate"))
        for db in (pg_db, second_db, pg_db, second_db)
    ]
    start = threading.Barrier(len(limiters))
    answers: list[float | None] = []
    lock = threading.Lock()

    def burst(limiter: RateLimiter) -> None:
        start.wait()
        for _ in range(5):
            answer = limiter.take("key:shared")
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=burst, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 20
    assert answers.count(None) == 5  # exactly the allowance, however the requests interleave


def test_two_first_requests_at_once_meet_at_the_unique_key_and_retry(
    pg_db: Database, second_db: Database
) -> None:
    """Both look before either inserts (no row, so nothing to lock), both insert: the second
    insert waits for the first transaction and fails with a unique violation, and
    ``DatabaseCells.update`` runs its step again on the row that now exists."""
    both_looked = threading.Barrier(2)
    seen: dict[str, list[float | None]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def add_one(name: str, db: Database) -> None:
        def step(tat: float | None) -> float | None:
            seen[name].append(tat)
            if len(seen[name]) == 1:
                both_looked.wait(10)
            return (tat or 0.0) + 1.0

        try:
            DatabaseCells(db, "generate").update("addr:new", step, now=0.0)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=add_one, args=(name, db))
        for name, db in (("a", pg_db), ("b", second_db))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    retried = [name for name, looks in seen.items() if len(looks) == 2]
    assert len(retried) == 1, seen  # one lost the race and looked again
    assert seen[retried[0]] == [None, 1.0]
    with pg_db.read() as conn:
        assert conn.execute(text("SELECT tat FROM rate_limits")).scalars().all() == [2.0]
