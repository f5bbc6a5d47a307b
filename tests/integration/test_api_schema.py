"""Schemathesis against the app's own OpenAPI document: no input makes the server fail, and
every answer — status code, content type, headers, body — is one the document declares.

Each operation gets 100 generated examples, valid and invalid (Schemathesis's positive and
negative modes), plus its coverage phase's boundary cases, sent through the real ASGI app over
a database seeded with tracks and jobs in every state. An operation with nothing to vary (a GET
without parameters) has only about ten distinct requests, its other methods included, and
Hypothesis stops there. Operations that take an id are also sent each distinct generated
request with seeded ids, and the file routes with valid and unsatisfiable byte ranges, so that
their success paths (files, ranges, conversions, state changes) are checked too, not only
their 404s.

Checks are all of Schemathesis's defaults, with one setting made: a schema-valid request may be
refused with a 400 (see ``CONFIG``). The event streams are tested like the rest: Schemathesis
reads a stream until it has enough events or a deadline passes, then validates each event.
Examples are random on each run; a failure prints the request that reproduces it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi

from dgx_music.api import create_app
from dgx_music.api.schemas import ProgressEvent
from dgx_music.config import Settings, load_settings
from dgx_music.service import GenerationService
from tests.conftest import TONE_PLUGIN
from tests.support.api import api_client, assert_problem, run_queue

STREAM_DEADLINE = 0.3
"""Seconds an event stream is read for (the one-job stream of a queued job, or the all-jobs
stream, never end by themselves)."""

RANGES: list[dict[str, str]] = [
    {},
    {"range": "bytes=0-99"},  # 206
    {"range": "bytes=-10"},  # 206, the last 10 bytes
    {"range": "bytes=1000000000-"},  # 416
    {"range": "bytes=0-9", "if-range": '"an old etag"'},  # 200, the whole file
]
"""Range headers sent with seeded ids to the file routes: generated ones are rarely valid."""

CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # The document says what a well-formed request looks like; some requests are well
            # formed and still refused with 400 by design: an engine this server does not have,
            # a cursor it never gave out, a bpm_min above bpm_max, a date that is not a date,
            # bytes that are not audio. The document declares that 400 on each such route.
            # Anything else (notably a 422 for a schema-valid request, which would mean the
            # document and the validation disagree) still fails the check.
            # 404, 409: a valid id of nothing, a transition that does not apply; 413: a valid
            # batch over the body limit, an upload that decodes to too many samples.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "404", "409", "413"],
            },
        },
        "max-stream-events": 20,
    }
)


SETTINGS: dict[str, Any] = {
    "api_event_interval": 0.05,
    # Hundreds of generation requests a minute: a rate limit would answer most with 429.
    "api_generate_rate_per_minute": 0,
}
"""Settings the app under test runs with (on top of the test suite's isolated defaults); the
document depends on some of them (a rate limit adds 429 answers), so both use these."""


def _document() -> dict[str, Any]:
    """The app's OpenAPI document, built at import from the routes alone: a service over an
    unopened in-memory database, no settings read from anywhere. The fixture checks that the
    app under test serves the same document.

    Collection needs the document (one test per operation); Schemathesis's lazy loader
    (``schemathesis.pytest.from_fixture``) would defer it to a fixture but does not run on
    pytest 9.2 (it sets ``request.node._nodeid``, which pytest no longer has)."""
    service = GenerationService(
        Settings.model_construct(
            database_url="sqlite://", data_dir=Path("/nonexistent"), **SETTINGS
        ),
        upgrade=False,
    )
    try:
        document: dict[str, Any] = create_app(service=service).openapi()
        return document
    finally:
        service.close()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


class Seeded:
    """What the database holds before Schemathesis starts: ids for each id-taking route."""

    def __init__(self, app: Any, path_parameters: dict[str, list[dict[str, str]]]) -> None:
        self.app = app
        self.path_parameters = path_parameters
        self.sent: set[str] = set()
        """Requests already sent with seeded ids: each is sent once, not once per example."""


def _seed(service: GenerationService) -> dict[str, list[dict[str, str]]]:
    """Tracks (one symbolic with stems and MIDI, one tone without) and jobs in every state."""

    def submit(prompt: str, engine: str = "tone", **fields: Any) -> str:
        request = service.build_request(prompt, engine=engine, duration=1.0, seed=1, **fields)
        return service.submit([request]).jobs[0].id

    symbolic_job = submit("boom bap, 90 bpm, D minor", engine="symbolic")
    tone_job = submit("tone")
    failed_job = submit("fail: out of polyphony")
    spare_jobs = [submit(f"tone to delete {n}") for n in range(3)]
    run_queue(service)
    cancelled_job = submit("tone, cancelled")
    service.cancel(cancelled_job)
    running_job = submit("tone, running")
    claimed = service.jobs.claim("schema-test", lease_seconds=3600, job_id=running_job)
    assert claimed is not None
    queued_job = submit("tone, queued")

    symbolic = service.track_for_job(symbolic_job)
    tone = service.track_for_job(tone_job)
    assert symbolic.stems and symbolic.midi_path, symbolic
    jobs = [symbolic_job, tone_job, failed_job, cancelled_job, running_job, queued_job]
    tracks = [symbolic.id, tone.id, symbolic_job, tone.id[:8]]
    spare_tracks = [service.track_for_job(job).id for job in spare_jobs]
    stem = sorted(symbolic.stems)[0]
    return {
        "/api/v1/jobs/{job_id}": [{"job_id": j} for j in jobs],
        "/api/v1/jobs/{job_id}/retry": [{"job_id": j} for j in jobs],
        "/api/v1/jobs/{job_id}/events": [{"job_id": j} for j in jobs],
        "/api/v1/tracks/{track_id}": [{"track_id": t} for t in tracks],
        "/api/v1/tracks/{track_id}/audio": [{"track_id": t} for t in tracks],
        "/api/v1/tracks/{track_id}/midi": [{"track_id": t} for t in tracks],
        "/api/v1/tracks/{track_id}/waveform": [{"track_id": t} for t in tracks],
        "/api/v1/tracks/{track_id}/stems/{name}": [
            {"track_id": symbolic.id, "name": stem},
            {"track_id": tone.id, "name": stem},
        ],
        "/api/v1/files/{name}": [
            {"name": symbolic.path.rpartition("/")[2]},
            {"name": tone.id},
        ],
        # Deleting uses tracks of its own, so that the routes after it still find theirs.
        "DELETE /api/v1/tracks/{track_id}": [{"track_id": t} for t in spare_tracks],
    }


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The real app over a fresh, seeded data directory, with the test suite's isolation."""
    root = tmp_path_factory.mktemp("schema")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("DGX_MUSIC_", "DGX_TEST_")):
                patch.delenv(name)
        patch.setenv("DGX_MUSIC_DATA_DIR", str(root / "data"))
        patch.setenv("XDG_CONFIG_HOME", str(root / "config"))
        patch.setenv("DGX_MUSIC_ENGINE_PLUGINS", TONE_PLUGIN)
        patch.setenv("DGX_MUSIC_MODELS_DIR", str(root / "hf-cache"))
        patch.setenv("HF_HOME", str(root / "hf-home"))
        service = GenerationService(load_settings(**SETTINGS))
        try:
            parameters = _seed(service)
            app = create_app(service=service)
            # The document the cases were generated from is the one this app serves.
            with asgi.get_client(app) as client:
                assert client.get("/openapi.json").json() == DOCUMENT
            yield Seeded(app, parameters)
        finally:
            asgi.shutdown_lifespans()
            service.close()


def _with_seeded_ids(case: schemathesis.Case, seeded: Seeded) -> Iterator[schemathesis.Case]:
    """The generated request again with each seeded id in its path, unless that request was
    already sent (checked for server errors and conformance; not for acceptance, since the
    request is no longer what was generated)."""
    operation = case.operation
    key = f"{operation.method.upper()} {operation.path}"
    choices = seeded.path_parameters.get(key) or seeded.path_parameters.get(operation.path, [])
    takes_ranges = any(p.name == "range" for p in operation.headers)
    for parameters in choices:
        for extra in RANGES if takes_ranges else [{}]:
            again = operation.Case(
                path_parameters=parameters,
                query=case.query,
                headers={**(case.headers or {}), **extra},
                body=case.body,
                media_type=case.media_type,
            )
            request = repr((key, parameters, again.query, again.headers, again.body))
            if request not in seeded.sent:
                seeded.sent.add(request)
                yield again


@pytest.mark.slow  # about a minute on a 2-core machine: 24 operations, 100+ requests each
@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    database=None,  # nothing written into the work tree; a failure prints its reproduction
    # conftest's autouse isolated_environment is function-scoped, so Hypothesis warns that it
    # is not reset between examples; the examples do not use it (the app under test has its
    # own data directory and settings from the module-scoped ``seeded``).
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_every_answer_conforms_to_the_document(case: schemathesis.Case, seeded: Seeded) -> None:
    stream = case.path.endswith("/events")
    options: dict[str, Any] = {"app": seeded.app}
    if stream:
        options["timeout"] = STREAM_DEADLINE
    case.call_and_validate(**options)
    for again in _with_seeded_ids(case, seeded):
        again.call_and_validate(**options)


# What Schemathesis found, each pinned by a plain test.


def test_a_405_allows_every_method_of_the_resource() -> None:
    """Starlette named only the first matching route's methods: ``Allow: GET`` for a
    resource that also takes DELETE."""
    with api_client() as (client, _service):
        for method, path, expected in [
            ("PUT", "/api/v1/jobs/some-id", {"GET", "DELETE"}),
            ("OPTIONS", "/api/v1/tracks/some-id", {"GET", "DELETE"}),
            ("DELETE", "/api/v1/jobs", {"GET"}),
            ("GET", "/api/v1/generate", {"POST"}),
        ]:
            answer = client.request(method, path)
            assert_problem(answer, 405)
            assert set(answer.headers["allow"].split(", ")) - {"HEAD"} == expected, path


def test_bodies_take_the_schemas_types_and_no_others() -> None:
    """Lax coercion took ``"5"`` for an integer and ``"true"`` for a boolean, which the
    schema calls invalid; JSON Schema's integers (``3.0``) are still taken."""
    with api_client() as (client, _service):
        body = {"prompt": "tone", "engine": "tone", "duration": 1.0}
        for field, value in [("priority", "5"), ("seed", True), ("loop", "true"), ("bars", 2.5)]:
            problem = assert_problem(
                client.post("/api/v1/generate", json={**body, field: value}), 422
            )
            assert f"body.{field}" in problem["detail"]
        batch = {"requests": [body], "priority": "1"}
        assert_problem(client.post("/api/v1/generate/batch", json=batch), 422)
        answer = client.post("/api/v1/generate", json={**body, "seed": 3.0, "priority": 2.0})
        assert answer.status_code == 202, answer.text
        assert answer.json()["seed"] == 3 and answer.json()["priority"] == 2


@pytest.mark.parametrize("model", ["é" * 200, "a\x00b", "x" * 256])
def test_a_model_name_no_file_can_have_is_refused_not_a_server_error(model: str) -> None:
    """Looking for a checkpoint directory of that name raised ENAMETOOLONG (or ValueError for
    a NUL byte) out of ``Path.is_dir``: a 500."""
    with api_client() as (client, _service):
        answer = client.post("/api/v1/generate", json={"prompt": "x", "model": model})
        assert_problem(answer, 400)


def test_the_event_streams_describe_each_event() -> None:
    """Each event's data is documented as a ProgressEvent (it was "a string"), and what the
    stream sends fits it."""
    for path in ("/api/v1/events", "/api/v1/jobs/{job_id}/events"):
        content = DOCUMENT["paths"][path]["get"]["responses"]["200"]["content"]
        data = content["text/event-stream"]["itemSchema"]["properties"]["data"]
        assert data["contentSchema"] == {"$ref": "#/components/schemas/ProgressEvent"}
    assert "ProgressEvent" in DOCUMENT["components"]["schemas"]
    with api_client() as (client, service):
        job = client.post(
            "/api/v1/generate", json={"prompt": "tone", "engine": "tone", "duration": 1.0}
        ).json()
        run_queue(service)
        stream = client.get(job["links"]["events"]).text
    events = [block for block in stream.split("\n\n") if "data:" in block]
    assert len(events) == 1 and events[0].startswith("event: end\ndata: ")
    ProgressEvent.model_validate_json(events[0].partition("data: ")[2])
