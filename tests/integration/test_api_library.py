"""The library listing, uploads for analysis, engines, health and the OpenAPI document,
through the real app."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
import soundfile
from fastapi.testclient import TestClient

from dgx_music.service import GenerationService
from tests.support.api import PROBLEM, api_client, assert_problem, make_track

Api = tuple[TestClient, GenerationService]


@pytest.fixture
def api() -> Iterator[Api]:
    with api_client() as pair:
        yield pair


def ids(answer: object) -> list[str]:
    assert getattr(answer, "status_code", None) == 200, getattr(answer, "text", answer)
    return [track["id"] for track in answer.json()["items"]]  # type: ignore[attr-defined]


def test_track_filters_sorts_and_pages_match_the_cli(api: Api) -> None:
    client, service = api
    one = make_track(client, service, "warm pad one", duration=1.0)
    two = make_track(client, service, "cold lead two", duration=2.0)
    three = make_track(client, service, "warm bass three", duration=3.0)
    a, b, c = one["id"], two["id"], three["id"]
    get = lambda **params: client.get("/api/v1/tracks", params=params)  # noqa: E731

    assert ids(get()) == [c, b, a]
    assert ids(get(search="WARM")) == [c, a]
    assert ids(get(engine="tone", sort="duration", order="desc")) == [c, b, a]
    assert ids(get(sort="duration")) == [a, b, c]
    assert ids(get(duration_min=1.5, duration_max=2.5)) == [b]
    assert ids(get(key=one["key"], sort="created", order="asc"))[0] == a
    assert ids(get(since="2000-01-01", until="2999-12-31")) == [c, b, a]
    assert ids(get(until="2000-01-01")) == []
    assert ids(get(engine="musicgen")) == []

    first = get(limit=2).json()
    assert [t["id"] for t in first["items"]] == [c, b] and first["next_offset"] == 2
    last = get(limit=2, offset=2).json()
    assert [t["id"] for t in last["items"]] == [a] and last["next_offset"] is None

    assert "not a key" in assert_problem(get(key="H minor"), 400)["detail"]
    assert_problem(get(compatible=True), 400)
    assert_problem(get(bpm_min=130, bpm_max=120), 400)
    assert_problem(get(since="last tuesday"), 400)
    assert_problem(get(sort="colour"), 422)
    assert_problem(get(bpm_min="nan"), 422)
    assert client.get(f"/api/v1/tracks/{a[:6]}").json()["id"] == a  # prefixes work
    assert client.get(f"/api/v1/tracks/{one['job_id']}").json()["id"] == a  # and job ids


def _wav(seconds: float, rate: int = 44_100) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    clicks = (np.sin(2 * np.pi * 440 * t) * (np.mod(t, 0.5) < 0.05) * 0.5).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, np.stack([clicks, clicks], axis=1), rate, format="WAV")
    return buffer.getvalue()


def test_analyze_measures_an_upload_and_refuses_what_it_cannot(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _service = api
    upload = _wav(4.0)
    assert len(upload) > 65_536  # uploads have their own limit, not the JSON one
    answer = client.post("/api/v1/analyze", files={"file": ("clicks.wav", upload, "audio/wav")})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["duration"] == pytest.approx(4.0) and found["channels"] == 2
    assert found["sample_rate"] == 44_100 and found["lufs"] is not None
    assert found["bpm"] == pytest.approx(120, rel=0.05)

    junk = client.post("/api/v1/analyze", files={"file": ("x.wav", b"not audio" * 10, "audio/wav")})
    assert "/tmp" not in assert_problem(junk, 400)["detail"]
    assert_problem(client.post("/api/v1/analyze"), 422)

    monkeypatch.setenv("DGX_MUSIC_API_MAX_UPLOAD_BYTES", "4096")
    with api_client() as (small, _):
        big = small.post("/api/v1/analyze", files={"file": ("a.wav", upload, "audio/wav")})
        assert "4096 bytes" in assert_problem(big, 413)["detail"]


def test_engines_and_health_describe_the_installation(api: Api) -> None:
    client, _service = api
    engines = client.get("/api/v1/engines").json()
    by_name = {engine["name"]: engine for engine in engines["engines"]}
    assert {"auto", "musicgen", "symbolic", "tone"} <= set(by_name)
    assert by_name["symbolic"]["has_stems"] and by_name["symbolic"]["has_midi"]
    assert by_name["auto"]["chooses"] == "symbolic" and "weights" in by_name["auto"]["reason"]
    models = {model["name"]: model for model in by_name["musicgen"]["models"]}
    small = models["facebook/musicgen-small"]
    assert small["default"] and not small["on_disk"] and not small["loaded"]
    assert engines["device"]["setting"] == "auto"

    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["database"]["ok"]
    assert health["queue"] == {"queued": 0, "running": 0}
    assert health["workers"] == {"live": [], "in_process": 0}
    assert health["disk"]["free_bytes"] > 0
    assert client.get("/api/v1/health/live").json() == {"status": "alive"}
    ready = client.get("/api/v1/health/ready").json()
    assert ready["status"] == "ready" and ready["revision"] == health["database"]["revision"]


def test_a_worker_holding_a_lease_shows_in_health(api: Api) -> None:
    client, service = api
    client.post("/api/v1/generate", json={"prompt": "tone", "engine": "tone", "duration": 1})
    job = service.jobs.claim("box-2:123", 60)
    assert job is not None
    health = client.get("/api/v1/health").json()
    assert health["queue"] == {"queued": 0, "running": 1}
    assert [w["name"] for w in health["workers"]["live"]] == ["box-2:123"]
    assert health["workers"]["live"][0]["jobs"] == [job.id]


def test_openapi_declares_every_error_as_a_problem(api: Api) -> None:
    client, _service = api
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert {"Problem", "ValidationProblem"} <= set(schema["components"]["schemas"])
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) >= 20
    for operation in operations:
        responses = operation["responses"]
        assert "default" in responses, operation["operationId"]
        for status, response in responses.items():
            degraded_health = operation["operationId"].startswith("get_health") and status == "503"
            if (status == "default" or int(status) >= 400) and not degraded_health:
                assert list(response["content"]) == [PROBLEM], (operation["operationId"], status)
    audio = schema["paths"]["/api/v1/tracks/{track_id}/audio"]["get"]["responses"]
    assert {"200", "206", "416"} <= set(audio) and "audio/mpeg" in audio["200"]["content"]
    events = schema["paths"]["/api/v1/jobs/{job_id}/events"]["get"]["responses"]["200"]
    assert list(events["content"]) == ["text/event-stream"]
    assert client.get("/docs").status_code == 200


def test_the_api_and_its_list_routes_never_import_model_libraries() -> None:
    with api_client() as (client, service):
        track = make_track(client, service)  # so that the lists below have something to show
    script = """
import json, sys
from fastapi.testclient import TestClient
from dgx_music.api import create_app
client = TestClient(create_app())
for url in ("/api/v1/jobs", "/api/v1/tracks", "/api/v1/history", "/api/v1/engines",
            "/api/v1/health", "/api/v1/health/ready", "/openapi.json", sys.argv[1], sys.argv[2]):
    assert client.get(url).status_code == 200, url
heavy = ("torch", "transformers", "librosa", "scipy")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""
    urls = [f"/api/v1/tracks/{track['id']}", f"/api/v1/jobs/{track['job_id']}"]
    done = subprocess.run(
        [sys.executable, "-c", script, *urls],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
