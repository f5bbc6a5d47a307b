"""Several worker processes on one SQLite file: crashes, cancels and a 200-job drain."""

from __future__ import annotations

import json
import signal
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

pytestmark = pytest.mark.slow


def queue(prompt: str, *extra: str) -> str:
    result = run_cli(
        "generate", prompt, "--engine", "tone", "--duration", "1", "--no-wait", "--json", *extra
    )
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)[0]["id"])


def test_killed_worker_job_completes_exactly_once_elsewhere(
    isolated_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: WorkerProcesses,
) -> None:
    log = fast_leases_with_engine_log(tmp_path, monkeypatch)
    job_id = queue("crash test groove")
    store = open_store()

    doomed = workers.start(env={"DGX_TEST_STEP_SECONDS": "0.5"})
    wait_for(lambda: store.get(job_id).progress > 0.2, 30, "the first worker to be mid-job")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    running = store.get(job_id)
    assert running.status is JobStatus.RUNNING and running.attempts == 1
    library = isolated_environment / "library"
    assert library_files(library) == []  # killed mid-generation: nothing anywhere

    rescuer = workers.start("--max-jobs", "1")
    assert rescuer.wait(60) == 0, workers.log_of(rescuer)
    done = store.get(job_id)
    assert done.status is JobStatus.COMPLETED
    assert done.attempts == 2
    assert log.read_text().count("crash test groove") == 1
    files = library_files(library)
    assert [p.suffix for p in files] == [".json", ".wav"]
    assert not any(p.name.startswith(".") for p in files)


def test_cancel_reaches_a_running_job_in_another_process(
    isolated_environment: Path, monkeypatch: pytest.MonkeyPatch, workers: WorkerProcesses
) -> None:
    monkeypatch.setenv("DGX_TEST_STEP_SECONDS", "0.5")
    job_id = queue("cancel me")
    store = open_store()
    worker = workers.start("--max-jobs", "1")
    wait_for(lambda: store.get(job_id).progress > 0.1, 30, "the job to start")
    result = run_cli("jobs", "cancel", job_id[:8])
    assert result.returncode == 0, result.stderr
    assert "will stop" in result.stdout
    wait_for(lambda: store.get(job_id).status.is_final, 5, "the engine to stop")
    assert worker.wait(20) == 0
    final = store.get(job_id)
    assert final.status is JobStatus.CANCELLED
    assert final.progress < 1.0
    assert library_files(isolated_environment / "library") == []


def test_sigterm_lets_the_running_job_finish(
    monkeypatch: pytest.MonkeyPatch, workers: WorkerProcesses
) -> None:
    monkeypatch.setenv("DGX_TEST_STEP_SECONDS", "0.2")
    job_id = queue("finish before exit")
    store = open_store()
    worker = workers.start()
    wait_for(lambda: store.get(job_id).progress > 0.1, 30, "the job to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    assert store.get(job_id).status is JobStatus.COMPLETED


def test_four_workers_drain_two_hundred_jobs_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: WorkerProcesses
) -> None:
    drain_exactly_once(tmp_path, monkeypatch, workers, jobs=200, processes=4, timeout=300)
    ran_in = {line.split("\t")[1] for line in (tmp_path / "engine.log").read_text().splitlines()}
    assert len(ran_in) > 1, "the work should have been shared between processes"
