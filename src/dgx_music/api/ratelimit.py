"""Per-client rate limits: the generic cell rate algorithm (a token bucket).

Each client is one number, its *theoretical arrival time* (TAT): the moment its bucket would
be full again. A limit of ``rate`` a minute is a bucket of ``rate`` tokens refilled one every
``60 / rate`` seconds, so a client may send ``rate`` requests at once and then one per refill.
A request costing ``n`` tokens (a batch of ``n`` generations) moves the TAT on by ``n``
refills. When ``n`` exceeds the whole bucket it is still let in once the bucket is full, and
the client then waits off the debt: every batch the API accepts can pass, and the long-run
rate stays the limit.

Where the numbers live is the ``cells`` store's business. ``MemoryCells`` keeps them in this
process, bounded: a client whose TAT has passed has a full bucket, which is exactly what an
unknown client gets, so forgetting it changes nothing; idle clients are swept out as the table
grows, and past ``max_clients`` the least recently seen go first. ``storage.rate_limits``
keeps them in the database, shared by every API process (with the wall clock, which they
share, instead of a monotonic one).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

Clock = Callable[[], float]
"""Seconds; monotonic for one process, the wall clock for a store shared between processes;
tests pass a fake one."""

Step = Callable[[float | None], float | None]
"""From a client's TAT (None: unknown, a full bucket) to its new one (None: unchanged)."""


class Cells(Protocol):
    def update(self, client: str, step: Step, now: float) -> None:
        """Apply ``step`` to ``client``'s TAT atomically."""

    def __len__(self) -> int: ...


class MemoryCells:
    """TATs in this process's memory; thread-safe and bounded (module docstring)."""

    def __init__(self, window: float, max_clients: int = 100_000) -> None:
        self.window = window
        self.max_clients = max_clients
        self._tat: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._swept = float("-inf")

    def update(self, client: str, step: Step, now: float) -> None:
        with self._lock:
            changed = step(self._tat.get(client))
            if changed is None:
                return
            self._tat[client] = changed
            self._tat.move_to_end(client)
            if len(self._tat) > self.max_clients or now - self._swept >= self.window:
                self._evict(now)

    def _evict(self, now: float) -> None:
        """Forget full buckets (at most once a window, or when the table is full), then, if
        still over the bound, the least recently seen clients."""
        self._swept = now
        for client in [client for client, tat in self._tat.items() if tat <= now]:
            del self._tat[client]
        while len(self._tat) > self.max_clients * 3 // 4:
            self._tat.popitem(last=False)

    def __len__(self) -> int:
        return len(self._tat)


class RateLimiter:
    """``rate`` tokens a minute per client, kept in ``cells`` (default: this process's
    memory)."""

    def __init__(
        self,
        rate_per_minute: int,
        *,
        clock: Clock = time.monotonic,
        max_clients: int = 100_000,
        cells: Cells | None = None,
    ) -> None:
        if rate_per_minute < 1:
            raise ValueError("a rate limiter needs a rate of at least one a minute")
        self.rate = rate_per_minute
        self.interval = 60.0 / rate_per_minute
        self.burst = 60.0  # the whole bucket, in seconds of refill
        self.clock = clock
        self.cells: Cells = cells if cells is not None else MemoryCells(self.burst, max_clients)

    def take(self, client: str, cost: int = 1) -> float | None:
        """Spend ``cost`` tokens of ``client``'s bucket: None when allowed, else the seconds
        until the request would be allowed (nothing is spent then)."""
        now = self.clock()
        needed = min(cost, self.rate) * self.interval
        refused: list[float] = []

        def spend(tat: float | None) -> float | None:
            refused.clear()  # a store may retry the step
            start = max(now if tat is None else tat, now)
            wait = start + needed - now - self.burst
            if wait > 1e-6:  # float dust must not refuse a full bucket
                refused.append(wait)
                return None
            return start + cost * self.interval

        self.cells.update(client, spend, now)
        return refused[0] if refused else None

    def refund(self, client: str, cost: int = 1) -> None:
        """Give back what an accepted request spent when the request came to nothing."""
        self.cells.update(
            client, lambda tat: None if tat is None else tat - cost * self.interval, self.clock()
        )

    def __len__(self) -> int:
        return len(self.cells)


def retry_after(wait: float) -> str:
    """A ``Retry-After`` value: whole seconds, rounded up, at least one."""
    return str(max(1, math.ceil(wait)))
