"""Hot reads bypass SQLAlchemy's result layer on SQLite (``Database.rows``) and track pages
skip a second validation (``TrackPage.response``): both must give exactly what the ordinary
path gives, value for value and byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dgx_music.api.schemas import TrackPage, track_fields
from dgx_music.storage import database
from dgx_music.storage.database import OverBudget
from dgx_music.storage.job_rows import WITH_TRACK
from dgx_music.storage.tracks import TrackFilter
from tests.support.api import api_client, make_track


def test_driver_rows_equal_sqlalchemy_rows_with_dates_json_and_booleans() -> None:
    with api_client() as (client, service):
        made = [make_track(client, service, seed=seed) for seed in (1, 2, 3)]
        service.submit([service.build_request("tone", engine="tone", duration=1.0)])
        since = datetime.fromisoformat(made[1]["created_at"])
        filters = [
            TrackFilter(),
            TrackFilter(created_since=since),  # a bound date goes through its processor
            TrackFilter(created_since=since - timedelta(days=1), sort="duration"),
            TrackFilter(created_before=datetime(2000, 1, 1, tzinfo=UTC)),
        ]
        for where in filters:
            for offset in (0, 1):
                query, values = where.statement(limit=10, offset=offset)
                with service.db.read() as conn:
                    expected = [tuple(row) for row in conn.execute(query, values)]
                assert service.db.rows(query, values) == expected
        assert len(service.db.rows(*filters[1].statement(limit=10, offset=0))) == 2
        assert service.db.rows(*filters[3].statement(limit=10, offset=0)) == []

        for job_id in [track["job_id"] for track in made] + [service.jobs.list()[0].id]:
            with service.db.read() as conn:
                expected = [tuple(row) for row in conn.execute(WITH_TRACK, {"job_id": job_id})]
            found = service.db.rows(WITH_TRACK, {"job_id": job_id})
            assert found == expected and len(found) == 1
            job, track_id = service.jobs.get_with_track(job_id)
            assert job.id == job_id and isinstance(job.cancel_requested, bool)
            assert isinstance(job.created_at, datetime) and job.created_at.tzinfo is not None
            assert track_id == next((t["id"] for t in made if t["job_id"] == job_id), None)


def test_a_driver_read_is_stopped_by_the_work_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "_PROGRESS_STEPS", 1)  # a tiny library's read counts too
    with api_client() as (client, service):
        make_track(client, service)
        query, values = TrackFilter().statement(limit=10, offset=0)
        with pytest.raises(OverBudget), service.db.work_budget(0):
            service.db.rows(query, values)
        assert len(service.db.rows(query, values)) == 1  # the connection still works


def test_a_track_page_is_byte_for_byte_the_validated_model() -> None:
    with api_client() as (client, service):
        for seed in (1, 2):
            make_track(client, service, seed=seed)
        make_track(client, service, prompt="120 bpm in A minor", seed=4)
        tracks = service.tracks.list(TrackFilter())
        for following in (None, 3):
            sent = TrackPage.response(tracks, following).body
            items = [track_fields(track) for track in tracks]
            model = TrackPage.model_validate({"items": items, "next_offset": following})
            assert sent == model.model_dump_json().encode()


def test_a_driver_read_of_a_broken_database_is_a_503_problem() -> None:
    """pysqlite's own errors leave ``Database.rows`` as SQLAlchemy's, which the API answers
    as "database unavailable", never as a 500."""
    with api_client() as (client, service):
        make_track(client, service)
        with service.db.write() as conn:
            conn.exec_driver_sql("ALTER TABLE tracks RENAME TO tracks_elsewhere")
        answer = client.get("/api/v1/tracks")
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
