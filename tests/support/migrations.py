"""Move a test database to a given schema revision, as an old installation would have it."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from dgx_music.storage.database import MIGRATIONS_DIR, Database


def migrate_to(db: Database, revision: str, *, down: bool = False) -> None:
    """Upgrade (or with ``down``, downgrade) ``db`` to exactly ``revision``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.write() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
