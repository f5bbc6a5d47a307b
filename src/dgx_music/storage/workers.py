"""Which workers are alive: each one renews a row (``workers`` table) every heartbeat, idle or
busy, and removes it when it stops; a worker that died leaves a row that simply goes stale.

Leases (``jobs.lease_owner``) say which worker holds which job; this says which workers exist.
Health checks need both: a box whose only worker crashed and one whose worker waits for work
both have no leases.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, insert, select, update

from dgx_music.storage.database import Database
from dgx_music.storage.job_rows import utcnow
from dgx_music.storage.models import WorkerRow

workers = cast(Table, WorkerRow.__table__)

FORGET_AFTER = timedelta(days=1)
"""Rows of workers silent this long are deleted as others beat: long enough to read about a
crash the next morning in ``/health``'s history, short enough that the table stays small."""


class WorkerRegistry:
    def __init__(self, db: Database) -> None:
        self.db = db

    def beat(self, name: str, started_at: datetime) -> None:
        """``name`` is alive now (inserted on its first beat)."""
        now = utcnow()
        with self.db.write() as conn:
            here = workers.c.name == name
            changed = conn.execute(update(workers).where(here).values(heartbeat_at=now))
            if changed.rowcount == 0:
                values = {"name": name, "started_at": started_at, "heartbeat_at": now}
                conn.execute(insert(workers).values(**values))
            conn.execute(delete(workers).where(workers.c.heartbeat_at < now - FORGET_AFTER))

    def leave(self, name: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(workers).where(workers.c.name == name))

    def alive(self, within: timedelta) -> list[tuple[str, datetime, datetime]]:
        """(name, started_at, heartbeat_at) of the workers heard from ``within`` until now."""
        since = utcnow() - within
        with self.db.read() as conn:
            rows = conn.execute(
                select(workers.c.name, workers.c.started_at, workers.c.heartbeat_at)
                .where(workers.c.heartbeat_at >= since)
                .order_by(workers.c.name)
            ).all()
        return [(name, started, beat) for name, started, beat in rows]
