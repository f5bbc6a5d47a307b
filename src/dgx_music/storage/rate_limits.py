"""Rate-limit buckets kept in the database (table ``rate_limits``), one row per client and
limit: what lets several ``dgx-music serve`` processes, on one box or on several sharing
PostgreSQL, hold a client to one limit instead of one each.

Each change is one short write transaction (``BEGIN IMMEDIATE`` on SQLite, a row lock on
PostgreSQL), so two processes deciding about the same client at the same moment take turns.
Rows whose time has passed describe a full bucket, which is what a missing row means too, so
they are deleted now and then without changing any decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dgx_music.storage.database import Database
from dgx_music.storage.models import RateLimitRow

rate_limits = cast(Table, RateLimitRow.__table__)

SWEEP_SECONDS = 60.0
"""How often (at most) a store deletes the rows of full buckets."""


class DatabaseCells:
    """The theoretical arrival times of one limit (``scope``) for every client."""

    def __init__(self, db: Database, scope: str) -> None:
        self.db = db
        self.scope = scope
        self._swept_at = float("-inf")

    def update(self, client: str, step: Callable[[float | None], float | None], now: float) -> None:
        """Apply ``step`` to ``client``'s time (None: no row) atomically; it returns the new
        time, or None to leave the row as it is."""
        for attempt in range(2):
            try:
                self._update(client, step, now)
                return
            except IntegrityError:
                # PostgreSQL: another process inserted this client's first row between our
                # look and our insert (no row, nothing to lock); the second look sees it.
                if attempt:
                    raise

    def _update(
        self, client: str, step: Callable[[float | None], float | None], now: float
    ) -> None:
        here = (rate_limits.c.scope == self.scope) & (rate_limits.c.client == client)
        with self.db.write() as conn:
            query = select(rate_limits.c.tat).where(here)
            if not self.db.is_sqlite:
                query = query.with_for_update()
            current = conn.execute(query).scalar_one_or_none()
            changed = step(current)
            if changed is not None:
                if current is None:
                    values = {"scope": self.scope, "client": client, "tat": changed}
                    conn.execute(insert(rate_limits).values(**values))
                else:
                    conn.execute(update(rate_limits).where(here).values(tat=changed))
            if now - self._swept_at >= SWEEP_SECONDS:
                self._swept_at = now
                conn.execute(
                    delete(rate_limits).where(
                        (rate_limits.c.scope == self.scope) & (rate_limits.c.tat <= now)
                    )
                )

    def __len__(self) -> int:
        with self.db.read() as conn:
            query = select(rate_limits.c.client).where(rate_limits.c.scope == self.scope)
            return len(conn.execute(query).all())
