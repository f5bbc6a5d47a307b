"""What the Ardour export takes from a library track (tempo for the session's grid)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from dgx_music.config import load_settings
from dgx_music.daw.export import load_clips
from dgx_music.runner import LeaseWatch, run_job
from dgx_music.service import GenerationService
from dgx_music.storage.models import TrackRow


@pytest.fixture
def service() -> GenerationService:
    return GenerationService(load_settings())


def test_an_ardour_grid_follows_the_measured_tempo_not_the_asked_one(
    service: GenerationService,
) -> None:
    """MusicGen only approximates an asked-for tempo: the session's grid must follow the audio
    (the WAV's ACID label may still carry the asked value where the two agree within 4 %)."""
    request = service.build_request("tone test", engine="tone", duration=1.0, seed=4)
    job_id = service.submit([request]).jobs[0].id
    claimed = service.jobs.claim("daw-test", 30, job_id=job_id)
    assert claimed is not None
    watch = LeaseWatch(service, claimed, "daw-test")
    outcome = run_job(service, service.job(job_id), "daw-test", watch)
    assert outcome.track is not None
    with service.db.engine.begin() as conn:
        conn.execute(
            update(TrackRow)
            .where(TrackRow.id == outcome.track.id)
            .values(bpm=118.5, asked_bpm=120.0)
        )
    (clip,) = load_clips(service, [outcome.track.id])
    assert clip.bpm == pytest.approx(118.5)
