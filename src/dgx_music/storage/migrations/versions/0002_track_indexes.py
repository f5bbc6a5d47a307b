"""Indexes for filtering and sorting the track catalogue.

Without them every ``tracks list`` with a sort other than creation time, or a bpm, key or
engine filter, sorts or scans the whole table; at 100,000 tracks that is a visible pause.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES: dict[str, list[str]] = {
    "ix_tracks_bpm": ["bpm", "id"],
    "ix_tracks_key": ["key", "created_at"],
    "ix_tracks_engine": ["engine", "created_at"],
    "ix_tracks_duration": ["duration", "id"],
    "ix_tracks_lufs": ["lufs", "id"],
    "ix_tracks_prompt": ["prompt", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "tracks", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="tracks")
