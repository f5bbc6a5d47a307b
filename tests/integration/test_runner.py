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


def test_the_engines_reading_of_the_prompt_is_on_the_job_before_it_generates(
    service: GenerationService,
) -> None:
    """A client watching the job (the web page, `jobs show`) sees how the prompt was read from
    the first progress report on, not only once the clip is made."""
    request = service.build_request("lofi hip hop, 84 bpm, in D minor", engine="symbolic", bars=1)
    job = service.submit([request]).jobs[0]
    claimed = service.jobs.claim("runner-test", 30, job_id=job.id)
    assert claimed is not None
    watch = LeaseWatch(service, claimed, "runner-test")
    seen: list[dict[str, object]] = []
    report = watch.engine_progress

    def engine_progress(stage: str, fraction: float) -> None:
        if not seen:
            seen.append(service.job(job.id).notes)
        report(stage, fraction)

    watch.engine_progress = engine_progress  # type: ignore[method-assign]
    outcome = run_job(service, service.job(job.id), "runner-test", watch)
    assert outcome.status is JobStatus.COMPLETED
    early = seen[0]
    assert early["bpm"] == 84.0 and early["key"] == "D minor", early
    assert early["interpretation"] == service.job(job.id).notes["interpretation"]
    assert service.job(job.id).engine_used == "symbolic"


def test_auto_describes_with_the_engine_it_will_choose(service: GenerationService) -> None:
    """With no MusicGen weights on disk (the test data dir has none) auto picks symbolic, and
    its early description says so and why, with the symbolic reading of the prompt."""
    request = service.build_request("techno, 128 bpm", engine="auto", bars=1)
    notes = service.engines.get("auto").describe(request)  # type: ignore[attr-defined]
    assert notes["engine_choice"]["engine"] == "symbolic"
    assert "no weights" in notes["engine_choice"]["reason"]
    assert notes["bpm"] == 128.0
