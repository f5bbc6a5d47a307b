"""Reads on the API's event loop get a work budget; past it they move to the read lane.

``Database.work_budget`` is tested on a real SQLite file with enough rows that a table walk
is far over budget and a lookup far under it; the API side checks that a read which runs over
answers exactly as one that does not, from the lane.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from dgx_music.api import reads
from dgx_music.storage import database
from dgx_music.storage.database import Database, OverBudget
from tests.support.api import api_client, make_track

ROWS = 200_000
WALK = text("SELECT count(*) FROM numbers WHERE value = -1")
LOOKUP = text("SELECT value FROM numbers WHERE rowid = 4242")


@pytest.fixture
def numbers(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'budget.db'}")
    with db.write() as conn:
        conn.execute(text("CREATE TABLE numbers (value INTEGER)"))
        conn.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
                "INSERT INTO numbers SELECT i FROM n"
            ),
            {"rows": ROWS},
        )
    yield db
    db.dispose()


def test_a_table_walk_is_stopped_at_its_budget_and_a_lookup_is_not(numbers: Database) -> None:
    with pytest.raises(OverBudget), numbers.work_budget(5), numbers.read() as conn:
        conn.execute(WALK).scalar()
    with numbers.work_budget(5), numbers.read() as conn:
        assert conn.execute(LOOKUP).scalar() == 4242
    # the connection that was stopped went back to the pool in working order, unbudgeted
    with numbers.read() as conn:
        assert conn.execute(WALK).scalar() == 0


def test_a_budget_binds_only_its_own_thread(numbers: Database) -> None:
    counted: list[Any] = []

    def walk_elsewhere() -> None:
        with numbers.read() as conn:
            counted.append(conn.execute(WALK).scalar())

    with pytest.raises(OverBudget), numbers.work_budget(5):
        other = threading.Thread(target=walk_elsewhere)
        other.start()
        other.join()
        with numbers.read() as conn:
            conn.execute(WALK).scalar()
    assert counted == [0]


def test_reads_over_budget_answer_the_same_from_the_lane(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lane_uses: list[int] = []
    real_limiter = reads._limiter

    def counting_limiter(request: Any) -> Any:
        lane_uses.append(1)
        return real_limiter(request)

    monkeypatch.setattr(reads, "_limiter", counting_limiter)
    # A test library is too small for any read to reach the real budget: count every SQLite
    # instruction as a unit, then set the budget high (all inline) and at nothing (all moved).
    monkeypatch.setattr(database, "_PROGRESS_STEPS", 1)
    monkeypatch.setattr(reads, "INLINE_BUDGET", 10**9)
    with api_client() as (client, service):
        tracks = [make_track(client, service, seed=seed) for seed in (1, 2, 3)]
        paths = [
            f"/api/v1/jobs/{tracks[0]['job_id']}",
            f"/api/v1/tracks/{tracks[1]['id']}",
            "/api/v1/tracks?limit=2&sort=duration",
            "/api/v1/jobs?limit=2",
        ]
        inline = [client.get(path) for path in paths]
        assert lane_uses == [], "quick reads should not have left the event loop"
        monkeypatch.setattr(reads, "INLINE_BUDGET", 0)
        moved = [client.get(path) for path in paths]
        assert len(lane_uses) == len(paths)
        for first, second in zip(inline, moved, strict=True):
            assert first.status_code == second.status_code == 200
            assert first.json() == second.json()
        big_page = client.get(f"/api/v1/tracks?limit={reads.INLINE_MAX_ROWS}")
        assert big_page.status_code == 200 and len(lane_uses) == len(paths) + 1
        missing = client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404  # a problem raised on the lane is still a problem


def test_an_id_prefix_is_found_through_the_index_in_either_case() -> None:
    """A prefix lookup ranges over the primary-key index: within a budget that a table walk
    of a few thousand jobs would overrun by far, whichever case the prefix was typed in."""
    with api_client() as (_client, service):
        request = service.build_request("tone", engine="tone", duration=1.0)
        queued = service.submit([request] * 3000).jobs
        with service.db.read() as conn:
            conn.execute(text("SELECT count(*) FROM jobs")).scalar()  # pages in the cache
        wanted = queued[1234].id
        prefix = next(
            wanted[:n]
            for n in range(4, 37)
            if sum(j.id.startswith(wanted[:n]) for j in queued) == 1
        )
        for typed in (prefix, prefix.upper()):
            with service.db.work_budget(3):
                assert service.jobs.get(typed).id == wanted
        with pytest.raises(OverBudget), service.db.work_budget(3), service.db.read() as conn:
            conn.execute(text("SELECT count(*) FROM jobs WHERE prompt = 'nothing'")).scalar()
