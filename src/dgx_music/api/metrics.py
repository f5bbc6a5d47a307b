"""Prometheus metrics for ``GET /metrics``, in a registry of the app's own.

Each app gets its own ``CollectorRegistry`` rather than prometheus_client's global one, so
that several apps in one process (tests) never collide and one app's numbers are its own.

Where each figure comes from, and why:

- ``dgx_music_jobs{state}``: counted in the job store at scrape time (one ``GROUP BY`` on an
  index). Workers may run in other processes or on other machines, so only the store knows.
- ``dgx_music_generation_seconds``, ``dgx_music_realtime_factor`` (seconds of audio per
  second of work) and ``dgx_music_queue_wait_seconds``, by engine: observed, at each scrape,
  from the jobs that completed since the previous one, read from the store. Recording them in
  the workers instead would miss every job run by a ``dgx-music worker`` elsewhere. The
  histograms start empty when the process starts (a counter reset, to Prometheus), and since
  they describe the shared store, every API process reports the same jobs: scrape one of them,
  or aggregate across instances with ``max``, not ``sum``. Generation seconds run from the
  claim to completion: the engine and the post-processing (loudness, analysis, filing).
- ``dgx_music_http_request_duration_seconds{method,route,status}``: this process's requests,
  timed to the start of the response (so an event stream counts its time to first byte, not
  its whole life). ``route`` is the route's template (``/api/v1/jobs/{job_id}``), never the
  raw path, so the number of series stays bounded whatever clients send.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from dgx_music.domain import JobStatus
from dgx_music.storage.database import Database
from dgx_music.storage.job_stats import completions_since, count_by_status
from dgx_music.storage.jobs import utcnow

LOOK_BACK = timedelta(seconds=60)
"""How far before the previous scrape each scrape looks again: a completion is stamped just
before its transaction commits, so it can become visible a little after its time."""

COMPLETIONS_PER_SCRAPE = 10_000
GENERATION_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600)
REALTIME_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)
QUEUE_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 14400)


class JobStoreCollector:
    """Job figures read from the store when Prometheus scrapes (see the module docstring)."""

    def __init__(self, db: Database, *, since: datetime | None = None) -> None:
        self.db = db
        self._floor = since or utcnow()
        self._cursor = self._floor
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self.generation = Histogram(
            "dgx_music_generation_seconds",
            "Seconds from a job's claim to its completion (engine and post-processing)",
            ["engine"],
            buckets=GENERATION_BUCKETS,
            registry=None,
        )
        self.realtime = Histogram(
            "dgx_music_realtime_factor",
            "Seconds of audio made per second of generation (above 1: faster than real time)",
            ["engine"],
            buckets=REALTIME_BUCKETS,
            registry=None,
        )
        self.queue_wait = Histogram(
            "dgx_music_queue_wait_seconds",
            "Seconds a completed job waited between submission and its claim",
            ["engine"],
            buckets=QUEUE_BUCKETS,
            registry=None,
        )

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            counts = count_by_status(self.db)
            self._observe_completions()
            found: list[Metric] = [self._jobs_gauge(counts)]
            for histogram in (self.generation, self.realtime, self.queue_wait):
                found.extend(histogram.collect())
        return found

    @staticmethod
    def _jobs_gauge(counts: dict[JobStatus, int]) -> Metric:
        gauge = GaugeMetricFamily(
            "dgx_music_jobs", "Jobs in the job store by state", labels=["state"]
        )
        for status, count in counts.items():
            gauge.add_metric([status.value], count)
        return gauge

    def _observe_completions(self) -> None:
        now = utcnow()
        start = max(self._floor, self._cursor - LOOK_BACK)
        found = completions_since(self.db, start, limit=COMPLETIONS_PER_SCRAPE)
        for done in found:
            if done.job_id in self._seen:
                continue
            self._seen[done.job_id] = done.finished_at
            self.generation.labels(done.engine).observe(done.run_seconds)
            self.queue_wait.labels(done.engine).observe(done.queue_wait)
            if done.run_seconds > 0:
                self.realtime.labels(done.engine).observe(done.clip_seconds / done.run_seconds)
        # A full page means more are waiting: the next scrape goes on from the last one read.
        full = len(found) == COMPLETIONS_PER_SCRAPE
        self._cursor = found[-1].finished_at + LOOK_BACK if full else now
        oldest = self._cursor - LOOK_BACK
        self._seen = {job: moment for job, moment in self._seen.items() if moment >= oldest}


class ApiMetrics:
    """The app's registry and the metrics the app itself records."""

    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(JobStoreCollector(db))
        self.http = Histogram(
            "dgx_music_http_request_duration_seconds",
            "Seconds from a request's arrival to the start of its response",
            ["method", "route", "status"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)
