"""Small parts of the API that need no app: range parsing, ETAs, the bind check, the body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dgx_music.api.events import eta_seconds
from dgx_music.api.media import parse_range
from dgx_music.api.problems import ApiProblem
from dgx_music.api.schemas import GenerateBody
from dgx_music.cli.serve import is_loopback, refuse_unsafe_bind
from dgx_music.config import Settings
from dgx_music.domain import GenerationRequest, Job, JobStatus


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 100)),
        ("bytes=10-", (10, 1000)),
        ("bytes=-100", (900, 1000)),
        ("bytes=-5000", (0, 1000)),
        ("bytes=990-5000", (990, 1000)),
        (" bytes = 0 - 0 ", (0, 1)),
        ("bytes=0-1,3-4", None),
        ("bytes=5-2", None),
        ("bytes=-", None),
        ("items=0-1", None),
        ("bytes=x-y", None),
    ],
)
def test_parse_range(header: str, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_ranges_are_416_with_the_size(header: str) -> None:
    with pytest.raises(ApiProblem) as raised:
        parse_range(header, 1000)
    assert raised.value.status == 416
    assert raised.value.headers == {"Content-Range": "bytes */1000"}


def _job(status: JobStatus, progress: float, started_ago: float | None) -> Job:
    now = datetime.now(UTC)
    return Job(
        id="j", status=status, request=GenerationRequest(prompt="x"), seed=1, priority=0,
        progress=progress, stage=None, attempts=1, max_attempts=3, lease_owner=None,
        lease_expires_at=None, heartbeat_at=None, cancel_requested=False, error=None,
        created_at=now, finished_at=None, batch_id=None,
        started_at=None if started_ago is None else now - timedelta(seconds=started_ago),
    )  # fmt: skip


def test_eta_follows_the_pace_so_far_and_only_for_running_jobs() -> None:
    now = datetime.now(UTC)
    assert eta_seconds(_job(JobStatus.RUNNING, 0.25, 10.0), now) == pytest.approx(30.0, abs=0.2)
    assert eta_seconds(_job(JobStatus.RUNNING, 0.01, 10.0), now) is None  # too early to tell
    assert eta_seconds(_job(JobStatus.QUEUED, 0.0, None), now) is None
    assert eta_seconds(_job(JobStatus.COMPLETED, 1.0, 10.0), now) is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("studio.local", False),
    ],
)
def test_only_loopback_addresses_are_served_without_protection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    settings = Settings()
    assert (refuse_unsafe_bind(host, settings) is None) is loopback
    assert refuse_unsafe_bind(host, Settings(allow_insecure_bind=True)) is None


def test_generate_body_offers_every_request_field() -> None:
    """A field added to GenerationRequest must be added to the API's body too."""
    offered = set(GenerateBody.model_fields) - {"priority"}
    assert offered == set(GenerationRequest.model_fields)
