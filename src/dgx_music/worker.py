"""The claim loop: take a job, keep its lease alive, run it, repeat.

Shutdown is graceful: the first ``stop()`` lets the running job finish and then returns; an
``abort()`` (a second SIGTERM/Ctrl-C) stops the engine at its next step and hands the job back to
the queue without counting the attempt.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Sequence

from dgx_music.domain import Job, JobStatus
from dgx_music.runner import LeaseWatch, Outcome, run_jobs
from dgx_music.service import GenerationService
from dgx_music.storage.job_rows import utcnow
from dgx_music.storage.workers import WorkerRegistry

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


LOW_NICENESS = 10


def lower_cpu_priority(priority: str, *, whole_process: bool) -> None:
    """Run the calling thread (or, with ``whole_process``, this process) at the
    ``worker_priority`` setting: ``low`` (nice 10), ``idle`` (SCHED_IDLE) or ``normal``.

    Generation is batch work and the API is interactive: on a box where both want the CPU (the
    symbolic engine, MusicGen's CPU fallback, resampling and analysis are all CPU work) a poll
    should not wait behind a render. Nice 10 gives the render a tenth of a contended core, but
    the scheduler may still let it finish its slice before a woken API process runs; SCHED_IDLE
    yields at once (``benchmarks/api_load.py``, a render running on a 2-core box: p99 of a job
    lookup at 500/s 77 ms at nice 10, 16-62 ms over four runs idle), at the price of pausing
    generation whenever anything else keeps the CPU busy. Linux keeps both per thread, so the
    worker threads that ``dgx-music serve`` runs can go below the API's event loop in the same
    process; threads they start (torch's pools, the lease heartbeat) inherit them. Elsewhere
    only a whole worker process is lowered, and only by nice. Only ever lowered: a value
    already lower (set with ``nice`` by the operator) is kept.
    """
    if priority == "normal" or not hasattr(os, "setpriority"):
        return
    if not whole_process and sys.platform != "linux":
        return
    target = 0 if whole_process else threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, target) < LOW_NICENESS:
            os.setpriority(os.PRIO_PROCESS, target, LOW_NICENESS)
        if priority == "idle" and hasattr(os, "SCHED_IDLE"):
            os.sched_setscheduler(target, os.SCHED_IDLE, os.sched_param(0))
    except OSError as exc:  # a sandbox without the permission: run as we are
        log.warning("could not lower the worker's CPU priority (%s): %s", priority, exc)


class Worker:
    def __init__(self, service: GenerationService, name: str | None = None) -> None:
        self.service = service
        self.name = name or worker_name()
        self._stopping = threading.Event()
        self._current: list[LeaseWatch] = []
        self.registry = WorkerRegistry(service.db)
        self.started_at = utcnow()
        self._beaten_at = float("-inf")

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Finish the running job, claim no more."""
        self._stopping.set()

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the worker is stopped meanwhile."""
        self._stopping.wait(seconds)

    def abort(self) -> None:
        """Stop the running job at its next step and give it back to the queue."""
        self._stopping.set()
        for watch in list(self._current):
            watch.shutdown.set()

    def claim_and_run(
        self, job_id: str | None = None, mates: Sequence[str] | None = None
    ) -> list[Outcome] | None:
        """Run the next job (or ``job_id``), sharing its pass with compatible queued jobs
        (only those in ``mates`` when given); None when there was nothing to claim."""
        settings = self.service.settings
        job = self.service.jobs.claim(self.name, settings.lease_seconds, job_id=job_id)
        if job is None:
            return None
        return self.run_claimed([job, *self._claim_mates(job, mates)])

    def _claim_mates(self, job: Job, mates: Sequence[str] | None) -> list[Job]:
        """Queued jobs that can join ``job``'s forward pass: same engine and batch key."""
        engines = self.service.engines
        try:
            engine = engines.get(job.request.engine)
        except Exception:  # an unknown engine fails in run_claimed, with the job's own error
            return []
        key_of = getattr(engine, "batch_key", None)
        limit = self.service.settings.musicgen_max_batch - 1
        if key_of is None or limit <= 0 or not hasattr(engine, "generate_batch"):
            return []
        key = key_of(job.request)
        if key is None:
            return []
        queued = self.service.jobs.list(status=JobStatus.QUEUED, limit=500)
        candidates = sorted(
            (
                other
                for other in queued
                if (mates is None or other.id in mates)
                and other.request.engine == job.request.engine
                and key_of(other.request) == key
            ),
            key=lambda other: (-other.priority, other.created_at),
        )
        claimed: list[Job] = []
        for other in candidates:
            if len(claimed) >= limit:
                break
            taken = self.service.jobs.claim(
                self.name, self.service.settings.lease_seconds, job_id=other.id
            )
            if taken is not None:
                claimed.append(taken)
        return claimed

    def run_claimed(self, jobs: list[Job]) -> list[Outcome]:
        watches = [LeaseWatch(self.service, job, self.name) for job in jobs]
        self._current = watches
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(watches, done), daemon=True)
        beat.start()
        try:
            for job in jobs:
                log.info("worker %s running job %s (attempt %d)", self.name, job.id, job.attempts)
            if len(jobs) > 1:
                log.info("worker %s: %d jobs share one pass", self.name, len(jobs))
            return run_jobs(self.service, jobs, self.name, watches)
        finally:
            done.set()
            beat.join()
            self._current = []

    def _heartbeat(self, watches: list[LeaseWatch], done: threading.Event) -> None:
        interval = self.service.settings.heartbeat_seconds
        while not done.wait(interval):
            for watch in watches:
                try:
                    watch.refresh()
                except Exception:  # a busy database must not kill the job; the next beat retries
                    log.exception("heartbeat failed")
            self.beat()

    def beat(self) -> None:
        """Tell the registry this worker is alive (health checks list it, idle or busy)."""
        self._beaten_at = time.monotonic()
        try:
            self.registry.beat(self.name, self.started_at)
        except Exception:  # as for leases: the next beat retries
            log.exception("worker heartbeat failed")

    def _beat_when_due(self) -> None:
        if time.monotonic() - self._beaten_at >= self.service.settings.heartbeat_seconds:
            self.beat()

    def run_forever(self, max_jobs: int | None = None, until_idle: bool = False) -> int:
        """Claim and run jobs until stopped; returns how many jobs it ran. The worker is in
        the registry of live workers meanwhile."""
        ran = 0
        try:
            while not self._stopping.is_set() and (max_jobs is None or ran < max_jobs):
                self._beat_when_due()
                outcomes = self.claim_and_run()
                if outcomes is None:
                    if until_idle:
                        break
                    self._stopping.wait(self.service.settings.poll_interval)
                    continue
                ran += len(outcomes)
        finally:
            try:
                self.registry.leave(self.name)
            except Exception:  # stopping anyway; the row goes stale on its own
                log.exception("could not leave the worker registry")
        return ran


class WorkerThreads:
    """``count`` workers on threads of this process, sharing one service: the workers that
    ``dgx-music serve`` runs beside the API, so that one command is a whole installation.

    Sharing the service means sharing its engines, so MusicGen is loaded once however many
    threads there are. A worker thread survives an unexpected error (it logs it and claims
    again after a pause), because a dead thread in a server is a queue that silently stops.
    """

    RESTART_PAUSE = 5.0
    """Seconds a worker waits after an unexpected error before it claims again."""

    def __init__(self, service: GenerationService, count: int) -> None:
        base = worker_name()
        self.workers = [Worker(service, name=f"{base}/{index}") for index in range(count)]
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index, worker in enumerate(self.workers):
            thread = threading.Thread(
                target=self._run, args=(worker,), name=f"dgx-music-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run(self, worker: Worker) -> None:
        lower_cpu_priority(worker.service.settings.worker_priority, whole_process=False)
        log.info("worker %s started", worker.name)
        while not worker.stopping:
            try:
                worker.run_forever()
            except Exception:
                log.exception("worker %s: unexpected error; claiming again shortly", worker.name)
                worker.pause(self.RESTART_PAUSE)
        log.info("worker %s stopped", worker.name)

    def alive(self) -> list[str]:
        """Names of the workers whose threads are running."""
        return [w.name for w, t in zip(self.workers, self._threads, strict=False) if t.is_alive()]

    def stop(self, grace: float) -> None:
        """Let running jobs finish for up to ``grace`` seconds, then hand what is still running
        back to the queue (without spending an attempt) and wait for the threads to end."""
        import time

        for worker in self.workers:
            worker.stop()
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        for worker, thread in zip(self.workers, self._threads, strict=False):
            if thread.is_alive():
                log.info("worker %s: releasing its job back to the queue", worker.name)
                worker.abort()
        for thread in self._threads:
            thread.join(30)
