"""The track catalogue: rows that describe files in the library."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, cast

from sqlalchemy import Row, Table, delete, select

from dgx_music.domain import Track
from dgx_music.storage.database import Database, find_one
from dgx_music.storage.models import TrackRow

tracks = cast(Table, TrackRow.__table__)


class TrackNotFound(LookupError):
    pass


def track_from_row(row: Row[Any]) -> Track:
    data = dict(row._mapping)
    data["stems"] = dict(data["stems"] or {})
    return Track(**data)


def track_values(track: Track) -> dict[str, Any]:
    return asdict(track)


class TrackRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, track_id: str) -> Track:
        """By full id, unique id prefix (≥4 characters) or the id of the job that made it."""
        with self.db.read() as conn:
            by_id_or_job = (tracks.c.id == track_id) | (tracks.c.job_id == track_id)
            row = find_one(conn, tracks, track_id, exact=by_id_or_job)
        if row is None:
            raise TrackNotFound(f"no track with id {track_id!r}")
        return track_from_row(row)

    def list(self, *, text: str | None = None, limit: int = 50) -> list[Track]:
        query = select(tracks).order_by(tracks.c.created_at.desc(), tracks.c.id).limit(limit)
        if text:
            query = query.where(tracks.c.prompt.contains(text, autoescape=True))
        with self.db.read() as conn:
            return [track_from_row(row) for row in conn.execute(query)]

    def delete(self, track_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(tracks).where(tracks.c.id == track_id))
