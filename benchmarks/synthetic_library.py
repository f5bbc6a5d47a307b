"""A synthetic library for the benchmarks: completed jobs, each with its track, written straight
into a database the way the service stores them (schema upgraded, requests validated), with
tempos, keys, prompts, engines, durations and dates drawn from a seeded generator. Shared by
``api_load.py`` and ``track_listing.py`` so that both measure the same kind of catalogue."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from dgx_music.storage.database import Database

PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEYS = [f"{pitch} {mode}" for pitch in PITCHES for mode in ("major", "minor")]
GENRES = ["techno", "house", "lofi", "ambient", "dub", "trap", "jazz", "drum and bass", "disco"]
MOODS = ["dark", "warm", "bright", "melancholic", "driving", "dreamy", "gritty", "uplifting"]
START = datetime(2025, 1, 1, tzinfo=UTC)
"""The first job's earliest date; the rest spread over the two years after it."""


def _request(prompt: str, engine: str, duration: float, seed: int) -> dict[str, Any]:
    """A stored job's request as the service writes it (validated, all fields present)."""
    from dgx_music.domain import GenerationRequest

    return GenerationRequest(prompt=prompt, engine=engine, duration=duration, seed=seed).model_dump(
        mode="json"
    )


def fill_database(db: Database, count: int, seed: int) -> list[str]:
    """``count`` completed jobs, each with its track, in ``db`` (schema upgraded as the server
    would); returns the job ids."""
    from sqlalchemy import insert

    from dgx_music.storage.models import JobRow, TrackRow

    rng = random.Random(seed)
    db.upgrade()
    job_ids: list[str] = []
    templates = {engine: _request("x", engine, 30.0, 0) for engine in ("symbolic", "musicgen")}
    batch = 10_000
    with db.write() as conn:
        for start in range(0, count, batch):
            jobs: list[dict[str, Any]] = []
            tracks: list[dict[str, Any]] = []
            for n in range(start, min(start + batch, count)):
                job_id, track_id = str(uuid.UUID(int=rng.getrandbits(128))), str(uuid.uuid4())
                created = START + timedelta(seconds=rng.uniform(0, 2 * 365 * 86400))
                engine = "musicgen" if rng.random() < 0.3 else "symbolic"
                model = "facebook/musicgen-small" if engine == "musicgen" else None
                prompt = f"{rng.choice(MOODS)} {rng.choice(GENRES)} #{n}"
                duration = round(rng.uniform(5, 300), 2)
                request = {
                    **templates[engine],
                    "prompt": prompt,
                    "duration": duration,
                    "seed": n,
                    "model": model,
                }
                finished = created + timedelta(seconds=rng.uniform(2, 200))
                jobs.append(
                    {
                        "id": job_id,
                        "status": "completed",
                        "prompt": prompt,
                        "engine": engine,
                        "model": model,
                        "duration": duration,
                        "seed": n,
                        "request": request,
                        "priority": 0,
                        "progress": 1.0,
                        "stage": "done",
                        "attempts": 1,
                        "max_attempts": 3,
                        "cancel_requested": False,
                        "engine_used": engine,
                        "notes": {"interpretation": prompt},
                        "created_at": created,
                        "updated_at": finished,
                        "started_at": created,
                        "finished_at": finished,
                        "heartbeat_at": finished,
                    }
                )
                tracks.append(
                    {
                        "id": track_id,
                        "job_id": job_id,
                        "path": f"{created:%Y/%m/%d}/{track_id}.wav",
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
                        "model": model,
                        "seed": n,
                        "stems": {},
                        "midi_path": None,
                        "created_at": finished,
                    }
                )
                job_ids.append(job_id)
            conn.execute(insert(JobRow.__table__), jobs)
            conn.execute(insert(TrackRow.__table__), tracks)
    return job_ids
