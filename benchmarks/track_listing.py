"""``TrackRepository.list`` on 100,000 tracks, with and without the indexes of migration 0002.

Both databases hold the same rows (one built, then copied with the 0002 indexes dropped), and
each query is timed on both in the same process, so the ratio does not depend on the machine.
Neither database is ANALYZEd: the app never runs ANALYZE, so the planner sees what it would
see in use. Text search is a substring match (``LIKE '%word%'``), which no B-tree index can
serve; its row shows what the indexes do (nothing) rather than hiding it.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from dgx_music.domain import PITCH_CLASSES
from dgx_music.storage.database import Database
from dgx_music.storage.models import JobRow, TrackRow
from dgx_music.storage.tracks import TrackFilter, TrackRepository

KEYS = [f"{pitch} {mode}" for pitch in PITCH_CLASSES for mode in ("major", "minor")]
GENRES = ["techno", "house", "lofi", "ambient", "dub", "trap", "jazz", "drum and bass", "disco"]
MOODS = ["dark", "warm", "bright", "melancholic", "driving", "dreamy", "gritty", "uplifting"]
ENGINES = ["symbolic"] * 6 + ["musicgen"] * 3 + ["tone"]
START = datetime(2025, 1, 1, tzinfo=UTC)
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


def _rows(count: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    jobs: list[dict[str, Any]] = []
    tracks: list[dict[str, Any]] = []
    for n in range(count):
        job_id, track_id = str(uuid.UUID(int=rng.getrandbits(128))), str(uuid.uuid4())
        created = START + timedelta(seconds=rng.uniform(0, 2 * 365 * 86400))
        engine = rng.choice(ENGINES)
        prompt = f"{rng.choice(MOODS)} {rng.choice(GENRES)} #{n}"
        duration = rng.uniform(5, 300)
        jobs.append(
            {
                "id": job_id,
                "status": "completed",
                "prompt": prompt,
                "engine": engine,
                "model": None,
                "duration": duration,
                "seed": n,
                "request": {},
                "priority": 0,
                "progress": 1.0,
                "attempts": 1,
                "max_attempts": 3,
                "cancel_requested": False,
                "notes": {},
                "created_at": created,
                "updated_at": created,
            }
        )
        tracks.append(
            {
                "id": track_id,
                "job_id": job_id,
                "path": f"tracks/{track_id}.wav",
                "format": "wav",
                "sample_rate": 44100,
                "channels": 2,
                "duration": duration,
                "bpm": None if rng.random() < 0.05 else round(rng.uniform(60, 180), 1),
                "key": None if rng.random() < 0.05 else rng.choice(KEYS),
                "lufs": rng.uniform(-20, -10),
                "true_peak": -1.0,
                "loudness_method": "bs1770",
                "size_bytes": 1_000_000,
                "sha256": "0" * 64,
                "prompt": prompt,
                "engine": engine,
                "model": "facebook/musicgen-small" if engine == "musicgen" else None,
                "seed": n,
                "stems": {},
                "midi_path": None,
                "created_at": created,
            }
        )
    return jobs, tracks


def _build(path: Path, count: int) -> None:
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    jobs, tracks = _rows(count, seed=0)
    with db.write() as conn:
        for start in range(0, count, 10_000):
            conn.execute(insert(JobRow.__table__), jobs[start : start + 10_000])
            conn.execute(insert(TrackRow.__table__), tracks[start : start + 10_000])
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
