"""The migrations build exactly the schema the models describe, and the code knows the head."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from dgx_music.storage.database import MIGRATIONS_DIR, SCHEMA_REVISION, Database
from dgx_music.storage.models import Base


def test_schema_revision_is_the_migrations_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_migrated_database_matches_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    assert db.upgrade() is None
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
    assert db.upgrade() == SCHEMA_REVISION  # second run is a no-op


def test_upgrading_to_0003_backfills_what_old_tracks_asked_for(tmp_path: Path) -> None:
    """Tracks from before revision 0003 get asked-for tempo and key from their job's request."""
    import json

    import sqlalchemy as sa

    from tests.support.migrations import migrate_to

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    migrate_to(db, "0002")
    requests = {
        "j1": {"prompt": "lofi hip hop, 80 bpm, A minor", "duration": 8.0},
        "j2": {"prompt": "ambient wash", "duration": 8.0, "key": "Db major"},
        "j3": {"prompt": "no words about tempo", "duration": 8.0},
    }
    with db.write() as conn:
        for job_id, request in requests.items():
            conn.execute(
                sa.text(
                    "INSERT INTO jobs (id, status, prompt, engine, duration, seed, request, "
                    "priority, progress, attempts, max_attempts, cancel_requested, notes, "
                    "created_at, updated_at) VALUES (:id, 'completed', 'p', 'symbolic', 8.0, 1, "
                    ":request, 0, 1.0, 1, 3, 0, '{}', '2026-01-01 00:00:00', "
                    "'2026-01-01 00:00:00')"
                ),
                {"id": job_id, "request": json.dumps(request)},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO tracks (id, job_id, path, format, sample_rate, channels, "
                    "duration, lufs, true_peak, loudness_method, size_bytes, sha256, prompt, "
                    "engine, seed, stems, created_at) VALUES (:id, :job, :path, 'wav', 44100, 2, "
                    "8.0, -14.0, -1.0, 'gain', 1, 'x', 'p', 'symbolic', 1, '{}', "
                    "'2026-01-01 00:00:00')"
                ),
                {"id": "t" + job_id, "job": job_id, "path": job_id + ".wav"},
            )
    assert db.upgrade() == "0002"
    with db.read() as conn:
        rows = conn.execute(sa.text("SELECT id, asked_bpm, asked_key FROM tracks ORDER BY id"))
        assert [tuple(row) for row in rows] == [
            ("tj1", 80.0, "A minor"),
            ("tj2", None, "C# major"),
            ("tj3", None, None),
        ]
    db.dispose()
