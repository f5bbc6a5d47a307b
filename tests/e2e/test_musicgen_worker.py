"""A real worker process running MusicGen jobs: shared forward passes, cancel inside a batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dgx_music.domain import JobStatus
from tests.support.cli import run_cli
from tests.support.processes import WorkerProcesses, open_store, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def musicgen_env(tiny_musicgen: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DGX_MUSIC_MUSICGEN_MODEL", str(tiny_musicgen))
    monkeypatch.setenv("DGX_MUSIC_POLL_INTERVAL", "0.1")


def queue(prompt: str, *extra: str) -> str:
    result = run_cli("generate", prompt, "-e", "musicgen", "--no-wait", "--json", *extra)
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)[0]["id"])


@pytest.mark.usefixtures("musicgen_env")
def test_queued_jobs_with_equal_settings_share_one_pass(workers: WorkerProcesses) -> None:
    together = [queue(prompt, "-d", "1") for prompt in ("lofi", "techno", "jazz")]
    alone = queue("ambient", "-d", "2")  # another length: its own pass
    worker = workers.start("--until-idle", "--preload")
    assert worker.wait(240) == 0, workers.log_of(worker)
    store = open_store()
    jobs = {job_id: store.get(job_id) for job_id in [*together, alone]}
    assert all(job.status is JobStatus.COMPLETED for job in jobs.values())
    assert [jobs[job_id].notes["batch_size"] for job_id in together] == [3, 3, 3]
    assert jobs[alone].notes["batch_size"] == 1
    log = workers.log_of(worker)
    assert "preloaded" in log and "3 jobs share one pass" in log


@pytest.mark.usefixtures("musicgen_env")
def test_cancelling_one_job_of_a_pass_requeues_the_others(workers: WorkerProcesses) -> None:
    cancelled, kept = queue("lofi", "-d", "30"), queue("techno", "-d", "30")
    store = open_store()
    worker = workers.start("--until-idle")
    wait_for(lambda: store.get(kept).progress > 0.05, 120, "the shared pass to start")
    assert run_cli("jobs", "cancel", cancelled).returncode == 0
    wait_for(lambda: store.get(cancelled).status.is_final, 20, "the cancel to land")
    assert store.get(cancelled).status is JobStatus.CANCELLED
    assert worker.wait(400) == 0, workers.log_of(worker)
    final = store.get(kept)
    assert final.status is JobStatus.COMPLETED and final.notes["batch_size"] == 1
