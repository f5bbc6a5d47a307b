"""``TrackRepository.list`` on 100,000 tracks, with and without the indexes of migration 0002.

Both databases hold the same rows (one built, then copied with the 0002 indexes dropped), and
each query is timed on both in the same process, so the ratio does not depend on the machine.
Neither database is ANALYZEd: the app never runs ANALYZE, so the planner sees what it would
see in use. Text search is a substring match (``LIKE '%word%'``), which no B-tree index can
serve; its row shows what the indexes do (nothing) rather than hiding it.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from dgx_music.storage.database import Database
from dgx_music.storage.tracks import TrackFilter, TrackRepository
from synthetic_library import START, fill_database

LIMIT = 50
GOAL_MS = 50.0

QUERIES: list[tuple[str, TrackFilter]] = [
    ("no filter, newest 50", TrackFilter()),
    ("bpm 120-130, sort by bpm", TrackFilter(bpm_min=120, bpm_max=130, sort="bpm")),
    ("key A minor --compatible", TrackFilter(key="A minor", compatible=True)),
    ("text 'melancholic dub'", TrackFilter(text="melancholic dub")),
    (
        "engine musicgen, 30 days",
        TrackFilter(
            engine="musicgen",
            created_since=START + timedelta(days=300),
            created_before=START + timedelta(days=330),
        ),
    ),
    (
        "duration 60-90 s, longest first",
        TrackFilter(duration_min=60, duration_max=90, sort="duration", descending=True),
    ),
    ("sort by prompt", TrackFilter(sort="prompt")),
]


def _build(path: Path, count: int) -> None:
    db = Database(f"sqlite:///{path}")
    fill_database(db, count, seed=0)
    db.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _without_0002_indexes(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    with sqlite3.connect(target) as raw:
        names = [
            row[1]
            for row in raw.execute("PRAGMA index_list(tracks)")
            if row[1].startswith("ix_tracks_") and row[1] != "ix_tracks_created"
        ]
        for name in names:
            raw.execute(f"DROP INDEX {name}")
        raw.execute("VACUUM")


def _median_ms(repo: TrackRepository, where: TrackFilter, repeats: int) -> tuple[float, int]:
    found = repo.list(where, limit=LIMIT)  # warm the page cache and the statement cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        repo.list(where, limit=LIMIT)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        indexed, bare = Path(tmp) / "indexed.db", Path(tmp) / "bare.db"
        t0 = time.perf_counter()
        _build(indexed, args.tracks)
        _without_0002_indexes(indexed, bare)
        print(
            f"built {args.tracks:,} tracks in {time.perf_counter() - t0:.1f} s "
            f"(sqlite {sqlite3.sqlite_version}); median of {args.repeats}, limit {LIMIT}"
        )
        dbs = {
            name: Database(f"sqlite:///{path}")
            for name, path in (("indexed", indexed), ("bare", bare))
        }
        repos = {name: TrackRepository(db) for name, db in dbs.items()}
        print(
            f"{'query':34} {'rows':>4} {'0001 only ms':>12} {'with 0002 ms':>12} "
            f"{'speed-up':>8}  goal <{GOAL_MS:.0f} ms"
        )
        for label, where in QUERIES:
            bare_ms, _ = _median_ms(repos["bare"], where, args.repeats)
            fast_ms, rows = _median_ms(repos["indexed"], where, args.repeats)
            verdict = "ok" if fast_ms < GOAL_MS else "MISSED"
            print(
                f"{label:34} {rows:>4} {bare_ms:>12.2f} {fast_ms:>12.2f} "
                f"{bare_ms / fast_ms:>7.1f}x  {verdict}"
            )
        for db in dbs.values():
            db.dispose()


if __name__ == "__main__":
    main()
