"""One job through the runner on a real database: progress, cancel, shutdown, failure."""

from __future__ import annotations

import pytest

from dgx_music.config import load_settings
from dgx_music.domain import JobStatus
from dgx_music.runner import LeaseWatch, run_job
from dgx_music.service import GenerationService
from dgx_music.storage.jobs import LeaseState


@pytest.fixture
def service() -> GenerationService:
    return GenerationService(load_settings())


def claim(service: GenerationService, prompt: str = "tone test") -> tuple[LeaseWatch, str]:
    request = service.build_request(prompt, engine="tone", duration=1.0, seed=4)
    job = service.submit([request]).jobs[0]
    claimed = service.jobs.claim("runner-test", 30, job_id=job.id)
    assert claimed is not None
    return LeaseWatch(service, claimed, "runner-test"), job.id


def test_engine_progress_fills_the_generating_share_and_never_runs_backwards(
    service: GenerationService,
) -> None:
    watch, job_id = claim(service)
    watch.engine_progress("rendering", 1.0)
    watch.refresh()
    job = service.job(job_id)
    assert job.progress == pytest.approx(0.85) and job.stage == "generating: rendering"
    watch.report("post-processing", 0.0)  # starts at 0.85: not a step back
    watch.engine_progress("rendering", 0.5)  # a late engine report cannot lower it either
    watch.refresh()
    assert service.job(job_id).progress == pytest.approx(0.85)


def test_a_completed_run_records_the_engine_and_its_track(service: GenerationService) -> None:
    watch, job_id = claim(service)
    outcome = run_job(service, service.job(job_id), "runner-test", watch)
    assert outcome.status is JobStatus.COMPLETED and outcome.track is not None
    job = service.job(job_id)
    assert job.engine_used == "tone" and job.notes["tone_hz"] > 0
    assert service.library.absolute(outcome.track.path).is_file()


def test_cancel_request_stops_the_engine_and_leaves_no_files(service: GenerationService) -> None:
    watch, job_id = claim(service)
    service.cancel(job_id)
    assert watch.should_cancel()
    assert watch.state is LeaseState.CANCEL_REQUESTED
    outcome = run_job(service, service.job(job_id), "runner-test", watch)
    assert outcome.status is JobStatus.CANCELLED
    assert service.job(job_id).status is JobStatus.CANCELLED
    root = service.library.root
    assert (list(root.rglob("*")) if root.exists() else []) == []


def test_shutdown_hands_the_job_back_without_spending_an_attempt(
    service: GenerationService,
) -> None:
    watch, job_id = claim(service)
    watch.shutdown.set()
    outcome = run_job(service, service.job(job_id), "runner-test", watch)
    assert outcome.status is None
    job = service.job(job_id)
    assert job.status is JobStatus.QUEUED and job.attempts == 0


def test_engine_exception_fails_the_job_with_its_message(service: GenerationService) -> None:
    watch, job_id = claim(service, "fail: out of polyphony")
    outcome = run_job(service, service.job(job_id), "runner-test", watch)
    assert outcome.status is JobStatus.FAILED
    job = service.job(job_id)
    assert job.status is JobStatus.FAILED and job.error == "RuntimeError: out of polyphony"
