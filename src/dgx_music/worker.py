"""The claim loop: take a job, keep its lease alive, run it, repeat.

Shutdown is graceful: the first ``stop()`` lets the running job finish and then returns; an
``abort()`` (a second SIGTERM/Ctrl-C) stops the engine at its next step and hands the job back to
the queue without counting the attempt.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from dgx_music.domain import Job
from dgx_music.runner import LeaseWatch, Outcome, run_job
from dgx_music.service import GenerationService

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(self, service: GenerationService, name: str | None = None) -> None:
        self.service = service
        self.name = name or worker_name()
        self._stopping = threading.Event()
        self._current: LeaseWatch | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Finish the running job, claim no more."""
        self._stopping.set()

    def abort(self) -> None:
        """Stop the running job at its next step and give it back to the queue."""
        self._stopping.set()
        watch = self._current
        if watch is not None:
            watch.shutdown.set()

    def claim_and_run(self, job_id: str | None = None) -> Outcome | None:
        """Run one job (the next in the queue, or ``job_id``); None when there was none."""
        settings = self.service.settings
        job = self.service.jobs.claim(self.name, settings.lease_seconds, job_id=job_id)
        if job is None:
            return None
        return self.run_claimed(job)

    def run_claimed(self, job: Job) -> Outcome:
        watch = LeaseWatch(self.service, job, self.name)
        self._current = watch
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(watch, done), daemon=True)
        beat.start()
        try:
            log.info("worker %s running job %s (attempt %d)", self.name, job.id, job.attempts)
            return run_job(self.service, job, self.name, watch)
        finally:
            done.set()
            beat.join()
            self._current = None

    def _heartbeat(self, watch: LeaseWatch, done: threading.Event) -> None:
        interval = self.service.settings.heartbeat_seconds
        while not done.wait(interval):
            try:
                watch.refresh()
            except Exception:  # a busy database must not kill the job; the next beat retries
                log.exception("heartbeat failed")

    def run_forever(self, max_jobs: int | None = None, until_idle: bool = False) -> int:
        """Claim and run jobs until stopped; returns how many jobs it ran."""
        ran = 0
        while not self._stopping.is_set() and (max_jobs is None or ran < max_jobs):
            outcome = self.claim_and_run()
            if outcome is None:
                if until_idle:
                    break
                self._stopping.wait(self.service.settings.poll_interval)
                continue
            ran += 1
        return ran
