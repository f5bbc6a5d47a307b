"""Real ``dgx-music worker`` processes on one PostgreSQL database, as DESIGN.md deploys them
across boxes: they drain a queue with each job run exactly once, and a killed worker's job
is finished by another after its lease runs out."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from dgx_music.domain import JobStatus
from tests.support.cli import run_cli
from tests.support.processes import (
    WorkerProcesses,
    drain_exactly_once,
    fast_leases_with_engine_log,
    library_files,
    open_store,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[WorkerProcesses]:
    spawner = WorkerProcesses(tmp_path)
    try:
        yield spawner
    finally:
        spawner.stop_all()


def test_three_worker_processes_drain_the_queue_exactly_once(
    on_postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: WorkerProcesses
) -> None:
    store = drain_exactly_once(tmp_path, monkeypatch, workers, jobs=30, processes=3, timeout=120)
    assert store.db.url.get_backend_name() == "postgresql"
    store.db.dispose()


def test_a_killed_workers_job_is_finished_once_elsewhere(
    on_postgres: str,
    isolated_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: WorkerProcesses,
) -> None:
    log = fast_leases_with_engine_log(tmp_path, monkeypatch)
    queued = run_cli(
        "generate", "crash test groove", "--engine", "tone", "--duration", "1", "--no-wait",
        "--json",
    )  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    job_id = str(json.loads(queued.stdout)[0]["id"])
    store = open_store()

    doomed = workers.start(env={"DGX_TEST_STEP_SECONDS": "0.5"})
    wait_for(lambda: store.get(job_id).progress > 0.2, 30, "the first worker to be mid-job")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    assert store.get(job_id).attempts == 1
    assert library_files(isolated_environment / "library") == []

    rescuer = workers.start("--max-jobs", "1")
    assert rescuer.wait(60) == 0, workers.log_of(rescuer)
    done = store.get(job_id)
    assert (done.status, done.attempts) == (JobStatus.COMPLETED, 2)
    assert log.read_text().count("crash test groove") == 1
    store.db.dispose()
