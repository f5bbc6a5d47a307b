"""The migrations build the models' schema on a fresh PostgreSQL database, and the code's
idea of the head matches what is recorded there."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dgx_music.storage.database import SCHEMA_REVISION, Database
from dgx_music.storage.models import Base

pytestmark = pytest.mark.postgres


def test_migrations_take_a_fresh_database_to_head_and_match_the_models(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        assert db.current_revision() is None  # no alembic_version yet (and no broken txn)
        assert db.upgrade() is None
        assert db.current_revision() == SCHEMA_REVISION
        with db.engine.connect() as conn:
            assert conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert differences == []
        assert db.upgrade() == SCHEMA_REVISION  # a second run changes nothing
    finally:
        db.dispose()


def test_upgrading_from_0002_backfills_what_old_tracks_asked_for(postgres_url: str) -> None:
    """0003 reads ``jobs.request`` back (JSON, which psycopg returns parsed) and fills the
    asked-for tempo and key: the one data migration, run here on PostgreSQL's JSON type."""
    import json

    import sqlalchemy as sa

    from tests.support.migrations import migrate_to

    db = Database(postgres_url)
    try:
        migrate_to(db, "0002")
        request = {"prompt": "dub at 90 bpm in E minor", "engine": "symbolic", "duration": 4.0}
        with db.write() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO jobs (id, status, prompt, engine, duration, seed, request,"
                    " priority, progress, attempts, max_attempts, cancel_requested, notes,"
                    " created_at, updated_at) VALUES ('j1', 'completed', :prompt, 'symbolic',"
                    " 4.0, 1, CAST(:request AS JSON), 0, 1.0, 1, 3, false, '{}', now(), now())"
                ),
                {"prompt": request["prompt"], "request": json.dumps(request)},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO tracks (id, job_id, path, format, sample_rate, channels,"
                    " duration, lufs, true_peak, loudness_method, size_bytes, sha256, prompt,"
                    " engine, seed, stems, created_at) VALUES ('t1', 'j1', 'a.wav', 'wav',"
                    " 44100, 2, 4.0, -14.0, -1.0, 'bs1770', 1, 'x', :prompt, 'symbolic', 1,"
                    " '{}', now())"
                ),
                {"prompt": request["prompt"]},
            )
        assert db.upgrade() == "0002"
        with db.read() as conn:
            row = conn.execute(sa.text("SELECT asked_bpm, asked_key FROM tracks")).one()
        assert tuple(row) == (90.0, "E minor")
    finally:
        db.dispose()
