"""Catalogue reads on a small thread lane of their own.

The routes clients poll — a job, the job list, the track list, a track, the health check —
are short, bounded SQLite reads followed by building and serialising a response. Run as plain
``def`` routes they went through Starlette's shared pool of 40 threads, and under load 40
threads took turns at the GIL: pysqlite releases it for every row it steps, and each thread
then waited for the others to hand it back. At 50 concurrent clients that convoy cut
``GET /tracks`` to a third of what one thread does alone (``benchmarks/api_load.py``).

So these reads run on ``READ_THREADS`` threads per app instead: enough that one slow read (a
text search, a deep offset) does not stall the rest, few enough that they do not fight over
the GIL. Everything else — writes that may wait on SQLite's lock, uploads, conversions,
waveform peaks — stays on the shared pool, so a long conversion never holds up a poll.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Request

READ_THREADS = 2

T = TypeVar("T")


def _limiter(request: Request) -> CapacityLimiter:
    """The app's read lane, made on first use inside the app's event loop (tests run many apps,
    each in a loop of its own)."""
    limiter: CapacityLimiter | None = getattr(request.app.state, "read_lane", None)
    if limiter is None:
        limiter = CapacityLimiter(READ_THREADS)
        request.app.state.read_lane = limiter
    return limiter


async def read(request: Request, function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` on the read lane; its exceptions reach the problem handlers as a
    plain route's would."""
    return await anyio.to_thread.run_sync(function, *args, limiter=_limiter(request))
