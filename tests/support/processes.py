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


def start_worker(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dgx_music", "worker", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def open_store() -> JobStore:
    """The queue the processes share, opened the way they open it (from the environment)."""
    settings = load_settings()
    return JobStore(Database(settings.effective_database_url))


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
