"""Real ``dgx-music worker`` processes on one PostgreSQL database, as DESIGN.md deploys them
across boxes: they drain a queue with each job run exactly once, and a killed worker's job
is finished by another after its lease runs out."""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from dgx_music.domain import JobStatus
from tests.support.cli import run_cli
from tests.support.processes import WorkerProcesses, library_files, open_store, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FAST_LEASE = {
    "DGX_MUSIC_LEASE_SECONDS": "2",
    "DGX_MUSIC_HEARTBEAT_SECONDS": "0.4",
    "DGX_MUSIC_POLL_INTERVAL": "0.1",
}


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
    log = tmp_path / "engine.log"
    monkeypatch.setenv("DGX_TEST_ENGINE_LOG", str(log))
    prompts = [f"drain prompt {i:02d}" for i in range(30)]
    batch_file = tmp_path / "prompts.txt"
    batch_file.write_text("\n".join(prompts) + "\n")
    queued = run_cli(
        "batch", str(batch_file), "--engine", "tone", "--duration", "0.5", "--no-wait", "--json"
    )
    assert queued.returncode == 0, queued.stderr
    assert len(json.loads(queued.stdout)) == 30

    drainers = [workers.start("--until-idle") for _ in range(3)]
    for worker in drainers:
        assert worker.wait(120) == 0, workers.log_of(worker)

    store = open_store()
    assert store.db.url.get_backend_name() == "postgresql"
    jobs = store.list(limit=100)
    assert Counter(job.status for job in jobs) == {JobStatus.COMPLETED: 30}
    assert all(job.attempts == 1 for job in jobs)
    runs = Counter(line.split("\t")[0] for line in log.read_text().splitlines())
    assert runs == Counter(prompts)  # each prompt generated exactly once
    listed = run_cli("tracks", "list", "--limit", "100", "--json")
    assert listed.returncode == 0, listed.stderr
    tracks = json.loads(listed.stdout)
    assert len({t["job_id"] for t in tracks}) == 30
    assert all(os.path.exists(t["absolute_path"]) for t in tracks)
    store.db.dispose()


def test_a_killed_workers_job_is_finished_once_elsewhere(
    on_postgres: str,
    isolated_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: WorkerProcesses,
) -> None:
    log = tmp_path / "engine.log"
    for name, value in {**FAST_LEASE, "DGX_TEST_ENGINE_LOG": str(log)}.items():
        monkeypatch.setenv(name, value)
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
