"""The track library's filters answer the same on PostgreSQL as on SQLite: the same rows go
into both, and every filter and sort must return the same tracks in the same order. Track
pages run through ``Database.rows``, whose SQLite path is pysqlite's cursor and whose
PostgreSQL path is SQLAlchemy's: this compares the two."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from dgx_music.domain import Track
from dgx_music.storage.database import Database
from dgx_music.storage.jobs import jobs
from dgx_music.storage.tracks import (
    TrackFilter,
    TrackNotFound,
    TrackRepository,
    track_values,
    tracks,
)
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres

START = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
ROWS = [  # prompt, bpm, key, duration, engine, model
    ("Techno one", 128.0, "A minor", 8.0, "symbolic", None),
    ("house two", 122.5, "C major", 12.0, "symbolic", None),
    ("techno 100% pure", 140.0, "D minor", 30.0, "musicgen", "small"),
    ("under_score beat", 90.0, "E minor", 8.0, "musicgen", "small"),
    ("slash/dub 50% off", 70.0, "F# major", 4.0, "tone", None),
    ("underXscore beat", None, None, 6.0, "tone", None),  # what an unescaped _ would match
    ("Ambient", 95.0, "E major", 60.0, "musicgen", "medium"),
    ("plain", None, "G major", 2.0, "symbolic", None),
    ("zz last", 128.0, "A minor", 8.0, "symbolic", None),  # ties on bpm and key with one
]


def _job_row(index: int, prompt: str, engine: str, created: datetime) -> dict[str, Any]:
    request = {"prompt": prompt, "engine": engine, "duration": 1.0, "seed": index}
    return {
        "id": f"job-{index:04d}", "status": "completed", "prompt": prompt, "engine": engine,
        "model": None, "duration": 1.0, "seed": index, "request": request, "priority": 0,
        "progress": 1.0, "attempts": 1, "max_attempts": 3, "cancel_requested": False,
        "notes": {}, "created_at": created, "updated_at": created,
    }  # fmt: skip


def _tracks() -> list[Track]:
    made = []
    for index, (prompt, bpm, key, duration, engine, model) in enumerate(ROWS):
        track = Track(
            id=f"{index:02d}{'abcdef'[index % 6]}0000-track", job_id=f"job-{index:04d}",
            path=f"2026/03/{index:02d}-{prompt.replace('/', '-')}.wav", format="wav",
            sample_rate=44100, channels=2, duration=duration, bpm=bpm, key=key,
            lufs=-14.0 - index, true_peak=-1.0, loudness_method="bs1770",
            size_bytes=1000 + index, sha256=f"{index:064d}", prompt=prompt, engine=engine,
            model=model, seed=index, created_at=START + timedelta(days=index, seconds=index),
            stems={"drums": f"stems/{index}-drums.wav"} if index % 2 else {},
            bpm_confidence=None if bpm is None else 0.5, asked_key=key,
        )  # fmt: skip
        made.append(track)
    return made


def _fill(db: Database) -> None:
    made = _tracks()
    with db.write() as conn:
        conn.execute(
            insert(jobs),
            [_job_row(i, t.prompt, t.engine, t.created_at) for i, t in enumerate(made)],
        )
        conn.execute(insert(tracks), [track_values(t) for t in made])


@contextmanager
def _filled(pg_url: str, directory: Path) -> Iterator[tuple[TrackRepository, TrackRepository]]:
    lite, pg = Database(f"sqlite:///{directory / 'tracks.db'}"), Database(pg_url)
    lite.upgrade()
    try:
        _fill(lite)
        _fill(pg)
        yield TrackRepository(lite), TrackRepository(pg)
    finally:
        lite.dispose()
        pg.dispose()


@pytest.fixture(scope="module")
def both(
    postgres_server: PostgresServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TrackRepository, TrackRepository]]:
    """One pair of filled catalogues for the module's read-only tests (filling a pair per
    test took half a second each)."""
    url = postgres_server.create_database(template=migrated_template)
    try:
        with _filled(url, tmp_path_factory.mktemp("tracks")) as pair:
            yield pair
    finally:
        postgres_server.drop_database(url)


def _at(day: int) -> datetime:
    return START + timedelta(days=day, seconds=day)


FILTERS = [
    TrackFilter(),
    TrackFilter(text="TECHNO"),  # case-insensitive on both
    TrackFilter(text="100%"),
    TrackFilter(text="%"),  # a literal percent sign, not "anything"
    TrackFilter(text="_"),
    TrackFilter(text="under_score"),  # not underXscore
    TrackFilter(text="slash/dub"),  # the escape character itself
    TrackFilter(text="/"),
    TrackFilter(text="nothing like it"),
    TrackFilter(bpm_min=90, bpm_max=128),
    TrackFilter(bpm_min=122.5),
    TrackFilter(bpm_max=95, sort="bpm"),
    TrackFilter(key="Am"),
    TrackFilter(key="A minor", compatible=True),
    TrackFilter(key="A minor", compatible=True, sort="bpm", descending=True),
    TrackFilter(key="Gb", compatible=True),
    TrackFilter(key="A minor", bpm_min=100),
    TrackFilter(engine="musicgen"),
    TrackFilter(engine="musicgen", model="small", sort="prompt"),
    TrackFilter(created_since=_at(2)),
    TrackFilter(created_before=_at(3)),
    TrackFilter(created_since=_at(1), created_before=_at(5), sort="created", descending=False),
    TrackFilter(created_since=_at(1) + timedelta(microseconds=1)),  # microseconds count
    TrackFilter(duration_min=8, duration_max=30),
    TrackFilter(duration_min=8, key="A minor", compatible=True, sort="duration"),
    *(TrackFilter(sort=sort) for sort in ("created", "bpm", "key", "duration", "lufs", "prompt")),
    *(
        TrackFilter(sort=sort, descending=not_natural)
        for sort in ("created", "bpm", "key", "duration", "lufs", "prompt")
        for not_natural in (True, False)
    ),
]


def _describe(where: TrackFilter) -> str:
    """The fields a filter sets, as a test id."""
    default = TrackFilter()
    changed = [
        f"{name}={getattr(where, name)}"
        for name in where.__dataclass_fields__
        if getattr(where, name) != getattr(default, name)
    ]
    return ",".join(changed) or "all"


@pytest.mark.parametrize("where", FILTERS, ids=[_describe(f) for f in FILTERS])
def test_every_filter_returns_the_same_tracks_on_both(
    both: tuple[TrackRepository, TrackRepository], where: TrackFilter
) -> None:
    lite, pg = both
    expected = lite.list(where, limit=100)
    found = pg.list(where, limit=100)
    assert [t.id for t in found] == [t.id for t in expected]
    assert found == expected  # every field, dates as aware UTC, stems as dicts
    assert not pg.db._driver_queries  # PostgreSQL pages took SQLAlchemy's path, not pysqlite's
    for offset in (0, 2, 5):  # pages (LIMIT/OFFSET as bound parameters)
        assert pg.list(where, limit=3, offset=offset) == expected[offset : offset + 3]


def test_the_filters_mean_what_they_say(
    both: tuple[TrackRepository, TrackRepository],
) -> None:
    """Spot checks that the shared answers are the right ones, not the same wrong ones."""
    _, pg = both

    def prompts(**fields: Any) -> list[str]:
        return [t.prompt for t in pg.list(TrackFilter(**fields), limit=100)]

    assert prompts(text="under_score") == ["under_score beat"]
    assert prompts(text="%") == ["slash/dub 50% off", "techno 100% pure"]
    assert prompts(text="TECHNO") == ["techno 100% pure", "Techno one"]
    assert prompts(sort="bpm")[-2:] == ["underXscore beat", "plain"]  # no bpm: last, by id
    assert prompts(sort="bpm", descending=True)[-2:] == ["plain", "underXscore beat"]
    assert prompts(key="A minor") == ["zz last", "Techno one"]
    assert prompts(sort="prompt")[:2] == ["Ambient", "Techno one"]  # byte order, as SQLite


def test_lookups_and_delete(migrated_url: str, tmp_path: Path) -> None:
    with _filled(migrated_url, tmp_path) as (lite, pg):
        _lookups_and_delete(lite, pg)


def _lookups_and_delete(lite: TrackRepository, pg: TrackRepository) -> None:
    first = _tracks()[3]
    assert pg.get(first.id) == lite.get(first.id) == first
    assert pg.get(first.job_id) == first  # by the job that made it
    assert pg.get(first.id[:6]) == first  # a unique prefix
    assert pg.find_by_file_name(Path(first.path).name) == first
    with pytest.raises(TrackNotFound):
        pg.find_by_file_name("%.wav")  # a LIKE wildcard is a character, not a pattern
    assert pg.ids_for_jobs([first.job_id, "job-9999"]) == {first.job_id: first.id}
    pg.delete(first.id)
    with pytest.raises(TrackNotFound):
        pg.get(first.id)
    assert len(pg.list(limit=100)) == len(ROWS) - 1
