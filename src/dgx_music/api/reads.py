"""Catalogue reads: on the event loop when they are quick, on a small thread lane when not.

The routes clients poll — a job, the job list, the track list, a track — are short SQLite
reads followed by building and serialising a response. Measured on ``benchmarks/api_load.py``
with 50 concurrent clients:

* Run as plain ``def`` routes they went through Starlette's shared pool of 40 threads, and 40
  threads took turns at the GIL (pysqlite releases it for every row it steps): ``GET /tracks``
  fell to a third of what one thread does alone.
* On a lane of two threads, handing each read over still cost about 0.8 ms of CPU per request
  in GIL hand-offs between the event loop and the lane, more than looking a job up and
  serialising it (0.3 ms) — and a thread buys nothing for work that holds the GIL anyway.

So a read runs on the event loop first, with a work budget (``Database.work_budget``: SQLite
stops the statement once it has done ``INLINE_BUDGET`` units of work). Lookups by id and
indexed pages finish well inside it. A filter that matches almost nothing (SQLite then walks
every row, a quarter of a second at 100,000 tracks), a text search or a deep offset runs
over, is stopped, and runs again on ``READ_THREADS`` lane threads, where SQLite's scanning
releases the GIL and the loop goes on answering. Pages of more than ``INLINE_MAX_ROWS`` rows
go to the lane at once: turning hundreds of rows into JSON would hold the loop for tens of
milliseconds. PostgreSQL reads always use the lane (a network round trip is no work for the
loop to wait on).
Everything else — writes that may wait on SQLite's lock, uploads, conversions, waveform peaks —
stays on Starlette's pool, so a long conversion never holds up a poll.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Request

from dgx_music.storage.database import Database, OverBudget

READ_THREADS = 2
INLINE_BUDGET = 20
"""SQLite work (thousands of instructions) a read may do on the event loop before it moves to
the lane: about 8 ms of SQL on the 2-core test machine. Measured at 100,000 tracks: a job by
id 0-1 units, an indexed 50-track page 4-12, a text search 33, a filter matching nothing 610."""
INLINE_MAX_ROWS = 100

T = TypeVar("T")


def _limiter(request: Request) -> CapacityLimiter:
    """The app's read lane, made on first use inside the app's event loop (tests run many apps,
    each in a loop of its own)."""
    limiter: CapacityLimiter | None = getattr(request.app.state, "read_lane", None)
    if limiter is None:
        limiter = CapacityLimiter(READ_THREADS)
        request.app.state.read_lane = limiter
    return limiter


async def read(request: Request, function: Callable[..., T], *args: object, rows: int = 1) -> T:
    """``function(*args)``, a read of at most ``rows`` rows: on the loop within the budget,
    else on the read lane (module docstring). Its exceptions reach the problem handlers as a
    plain route's would."""
    db: Database = request.app.state.service.db
    if rows <= INLINE_MAX_ROWS and db.supports_work_budget:
        with contextlib.suppress(OverBudget), db.work_budget(INLINE_BUDGET):
            return function(*args)
    return await anyio.to_thread.run_sync(function, *args, limiter=_limiter(request))
