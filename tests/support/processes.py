"""Helpers for tests that run several real ``dgx-music`` processes against one database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from dgx_music.config import load_settings
from dgx_music.domain import Job, JobStatus
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


FAST_LEASE = {
    "DGX_MUSIC_LEASE_SECONDS": "2",
    "DGX_MUSIC_HEARTBEAT_SECONDS": "0.4",
    "DGX_MUSIC_POLL_INTERVAL": "0.1",
}
"""Leases short enough that a killed worker's job is taken over within seconds."""


def fast_leases_with_engine_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Set ``FAST_LEASE`` and point the tone engine's call log (which the crash tests read to
    see which process rendered what) at a file in ``tmp_path``; returns that file."""
    log = tmp_path / "engine.log"
    for name, value in {**FAST_LEASE, "DGX_TEST_ENGINE_LOG": str(log)}.items():
        monkeypatch.setenv(name, value)
    return log


def drain_exactly_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: WorkerProcesses,
    *,
    jobs: int,
    processes: int,
    timeout: float,
) -> JobStore:
    """Queue ``jobs`` tone clips with the batch CLI, let ``processes`` workers drain the queue
    (``--until-idle``), and check that every job completed on its first attempt and every
    prompt was generated exactly once, into a file the library lists. Returns the store."""
    from tests.support.cli import run_cli

    log = tmp_path / "engine.log"
    monkeypatch.setenv("DGX_TEST_ENGINE_LOG", str(log))
    prompts = [f"drain prompt {i:03d}" for i in range(jobs)]
    batch_file = tmp_path / "prompts.txt"
    batch_file.write_text("\n".join(prompts) + "\n")
    queued = run_cli(
        "batch", str(batch_file), "--engine", "tone", "--duration", "0.5", "--no-wait", "--json"
    )
    assert queued.returncode == 0, queued.stderr
    assert len(json.loads(queued.stdout)) == jobs
    drainers = [workers.start("--until-idle") for _ in range(processes)]
    for worker in drainers:
        assert worker.wait(timeout) == 0, workers.log_of(worker)
    store = open_store()
    found = store.list(limit=jobs + 100)
    assert Counter(job.status for job in found) == {JobStatus.COMPLETED: jobs}
    assert all(job.attempts == 1 for job in found)
    lines = log.read_text().splitlines()
    assert Counter(line.split("\t")[0] for line in lines) == Counter(prompts)
    listed = run_cli("tracks", "list", "--limit", str(jobs + 100), "--json")
    assert listed.returncode == 0, listed.stderr
    tracks = json.loads(listed.stdout)
    assert len({t["job_id"] for t in tracks}) == jobs
    assert all(os.path.exists(t["absolute_path"]) for t in tracks)
    return store


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
