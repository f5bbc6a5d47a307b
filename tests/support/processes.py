"""Helpers for tests that run several real ``dgx-music`` processes against one database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from dgx_music.config import load_settings
from dgx_music.domain import Job
from dgx_music.storage.database import Database
from dgx_music.storage.jobs import JobStore


class WorkerProcesses:
    """Starts ``dgx-music worker`` processes and makes sure none outlives the test."""

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self._running: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = self._log_dir / f"worker-{len(self._running)}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "dgx_music", "worker", *args],
                env={**os.environ, **(env or {})},
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        self._running.append((process, log))
        return process

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        return next(log.read_text() for p, log in self._running if p is process)

    def stop_all(self) -> None:
        for process, _log in self._running:
            if process.poll() is None:
                process.kill()
            process.wait(10)


def open_store() -> JobStore:
    """The queue the processes share, opened the way they open it (from the environment)."""
    settings = load_settings()
    database = Database(settings.effective_database_url)
    database.upgrade()
    return JobStore(database)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def job_state(store: JobStore, job_id: str) -> Job:
    return store.get(job_id)


def library_files(library_root: Path) -> list[Path]:
    """Every file under the library, hidden staging files included."""
    if not library_root.exists():
        return []
    return sorted(p for p in library_root.rglob("*") if p.is_file())
