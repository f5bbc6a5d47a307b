"""Confidence of the measured tempo and key, and the tempo and key that were asked for.

Tracks made before this revision get the asked-for values back from their job's request (the
request's own ``bpm``/``key`` fields or, as the runner now does, an explicit "80 bpm" or
"A minor" in the prompt), so ``tracks show`` can flag old clips too. Their confidences stay
empty: they were never measured, and re-reading every file in a migration would make an
upgrade take minutes on a large library.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("bpm_confidence", sa.Float()),
    ("key_confidence", sa.Float()),
    ("asked_bpm", sa.Float()),
    ("asked_key", sa.String(16)),
)


def upgrade() -> None:
    with op.batch_alter_table("tracks") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind))
    from dgx_music.agreement import asked_tempo_and_key
    from dgx_music.domain import GenerationRequest

    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT tracks.id, jobs.request FROM tracks JOIN jobs ON jobs.id = tracks.job_id")
    ).all()
    update = sa.text("UPDATE tracks SET asked_bpm = :bpm, asked_key = :key WHERE id = :id")
    for track_id, raw in rows:
        data: Any = json.loads(raw) if isinstance(raw, str) else raw
        try:
            request = GenerationRequest.model_validate(data)
        except ValueError:
            continue  # a request this version cannot read: leave the track unflagged
        bpm, key = asked_tempo_and_key(request)
        if bpm is not None or key is not None:
            conn.execute(update, {"bpm": bpm, "key": key, "id": track_id})


def downgrade() -> None:
    with op.batch_alter_table("tracks") as batch:
        for name, _kind in reversed(COLUMNS):
            batch.drop_column(name)
