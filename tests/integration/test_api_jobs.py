"""Jobs through the real app: submit, follow, cancel, retry, batch, page, and the errors."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import soundfile
from fastapi.testclient import TestClient

from dgx_music.service import GenerationService
from tests.support.api import api_client, assert_problem, run_queue

Api = tuple[TestClient, GenerationService]


@pytest.fixture
def api() -> Iterator[Api]:
    with api_client() as pair:
        yield pair


def submit(client: TestClient, prompt: str = "tone", **fields: object) -> dict[str, object]:
    body = {"prompt": prompt, "engine": "tone", "duration": 1.0, **fields}
    answer = client.post("/api/v1/generate", json=body)
    assert answer.status_code == 202, answer.text
    job: dict[str, object] = answer.json()
    return job


def test_a_symbolic_job_from_post_to_downloaded_audio_stems_and_midi(api: Api) -> None:
    client, service = api
    answer = client.post(
        "/api/v1/generate",
        json={"prompt": "boom bap, 90 bpm, D minor", "engine": "symbolic", "duration": 2.5},
    )
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert job["status"] == "queued" and job["request"]["duration"] == 2.5
    assert isinstance(job["seed"], int)  # chosen at submission, so the clip can be made again

    assert run_queue(service) == 1
    done = client.get(answer.headers["location"]).json()
    assert done["status"] == "completed" and done["progress"] == 1.0
    assert done["engine_used"] == "symbolic" and done["notes"]["interpretation"]
    track = client.get(done["links"]["track"]).json()
    assert track["job_id"] == job["id"] and track["engine"] == "symbolic"
    assert track["duration"] == pytest.approx(2.5, abs=0.01)

    audio = client.get(track["links"]["audio"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert int(audio.headers["content-length"]) == len(audio.content) == track["size_bytes"]
    samples, rate = soundfile.read(io.BytesIO(audio.content))
    assert rate == track["sample_rate"] and len(samples) / rate == pytest.approx(2.5, abs=0.01)

    assert track["stems"] and set(track["links"]["stems"]) == set(track["stems"])
    for name, url in track["links"]["stems"].items():
        stem = client.get(url)
        assert stem.status_code == 200, name
        assert soundfile.info(io.BytesIO(stem.content)).frames == len(samples)
    midi = client.get(track["links"]["midi"])
    assert midi.status_code == 200 and midi.content.startswith(b"MThd")
    assert midi.headers["content-type"] == "audio/midi"


def test_cancel_a_queued_job_then_retry_it_to_completion(api: Api) -> None:
    client, service = api
    job = submit(client)
    cancelled = client.delete(f"/api/v1/jobs/{job['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.delete(f"/api/v1/jobs/{job['id']}").json()["status"] == "cancelled"
    assert run_queue(service) == 0

    retried = client.post(f"/api/v1/jobs/{job['id']}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    assert (
        "only failed or cancelled"
        in assert_problem(client.post(f"/api/v1/jobs/{job['id']}/retry"), 409)["detail"]
    )
    assert run_queue(service) == 1
    assert client.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "completed"
    assert_problem(client.delete(f"/api/v1/jobs/{job['id']}"), 409)  # completed: nothing to stop


def test_a_failed_job_reports_its_error_and_can_be_retried(api: Api) -> None:
    client, service = api
    job = submit(client, "fail: out of polyphony")
    run_queue(service)
    failed = client.get(f"/api/v1/jobs/{job['id']}").json()
    assert failed["status"] == "failed" and "out of polyphony" in failed["error"]
    stream = client.get(failed["links"]["events"])  # already over: one `end`, then it closes
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.text.count("event: end") == 1 and "out of polyphony" in stream.text
    again = client.post(f"/api/v1/jobs/{str(job['id'])[:8]}/retry")  # a prefix is enough
    assert again.status_code == 200
    assert again.json()["status"] == "queued" and again.json()["error"] is None


def test_batch_queues_every_request_together_and_checks_all_first(api: Api) -> None:
    client, _service = api
    items = [{"prompt": f"tone {n}", "engine": "tone", "duration": 1.0} for n in range(3)]
    answer = client.post("/api/v1/generate/batch", json={"requests": items, "priority": 2})
    assert answer.status_code == 202, answer.text
    batch = answer.json()
    assert len(batch["jobs"]) == 3
    assert {j["batch_id"] for j in batch["jobs"]} == {batch["batch_id"]}
    assert {j["priority"] for j in batch["jobs"]} == {2}
    listed = client.get("/api/v1/jobs", params={"batch": batch["batch_id"]}).json()["items"]
    assert {j["id"] for j in listed} == {j["id"] for j in batch["jobs"]}

    bad = [*items, {"prompt": "tone", "engine": "tone", "duration": 0.1}]
    problem = assert_problem(client.post("/api/v1/generate/batch", json={"requests": bad}), 400)
    assert problem["detail"].startswith("requests[3]: duration 0.1 s is outside")
    assert len(client.get("/api/v1/jobs").json()["items"]) == 3  # nothing of it was queued
    assert_problem(client.post("/api/v1/generate/batch", json={"requests": []}), 422)


def test_a_batch_over_the_configured_size_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DGX_MUSIC_API_MAX_BATCH", "2")
    with api_client() as (client, _service):
        items = [{"prompt": "tone", "engine": "tone", "duration": 1.0}] * 3
        problem = assert_problem(
            client.post("/api/v1/generate/batch", json={"requests": items}), 400
        )
        assert "at most 2 requests" in problem["detail"]


def test_jobs_page_newest_first_by_cursor_and_filter(api: Api) -> None:
    client, _service = api
    ids = [str(submit(client, f"tone {n}")["id"]) for n in range(5)]
    seen: list[str] = []
    url, params = "/api/v1/jobs", {"limit": 2}
    while True:
        page = client.get(url, params=params).json()
        seen += [job["id"] for job in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": page["next_cursor"]}
    assert seen == ids[::-1]

    client.delete(f"/api/v1/jobs/{ids[0]}")
    cancelled = client.get("/api/v1/jobs", params={"status": "cancelled"}).json()["items"]
    assert [j["id"] for j in cancelled] == [ids[0]]
    assert client.get("/api/v1/jobs", params={"engine": "symbolic"}).json()["items"] == []
    assert len(client.get("/api/v1/jobs", params={"engine": "tone"}).json()["items"]) == 5
    assert_problem(client.get("/api/v1/jobs", params={"cursor": "not-a-cursor"}), 400)
    assert_problem(client.get("/api/v1/jobs", params={"status": "sleeping"}), 422)
    assert_problem(client.get("/api/v1/jobs", params={"limit": 100_000}), 422)


def test_refusals_are_problems_that_say_what_to_change(api: Api) -> None:
    client, _service = api
    unknown = assert_problem(
        client.post("/api/v1/generate", json={"prompt": "x", "engine": "nope"}), 400
    )
    assert "unknown engine 'nope'" in unknown["detail"] and "symbolic" in unknown["detail"]
    no_weights = assert_problem(
        client.post("/api/v1/generate", json={"prompt": "x", "engine": "musicgen"}), 400
    )
    assert "models pull" in no_weights["detail"]
    model = assert_problem(
        client.post("/api/v1/generate", json={"prompt": "x", "engine": "musicgen", "model": "x/y"}),
        400,
    )
    assert "x/y" in model["detail"]
    long_prompt = assert_problem(client.post("/api/v1/generate", json={"prompt": "a" * 1500}), 400)
    assert "limit is 1000" in long_prompt["detail"]
    control = assert_problem(
        client.post("/api/v1/generate", json={"prompt": "x", "engine": "tone", "bpm": 90}), 400
    )
    assert "does not take bpm" in control["detail"]
    path = assert_problem(
        client.post("/api/v1/generate", json={"prompt": "x", "continue_from": "/etc/passwd"}), 400
    )
    assert "no track" in path["detail"]
    server_dir = assert_problem(
        client.post(
            "/api/v1/generate", json={"prompt": "x", "engine": "musicgen", "model": "/etc"}
        ),
        400,
    )
    assert "operator" in server_dir["detail"] and "/etc" not in server_dir["detail"]

    invalid = assert_problem(
        client.post("/api/v1/generate", json={"prompt": "", "duration": -1, "colour": "red"}), 422
    )
    fields = {error["field"] for error in invalid["errors"]}
    assert {"body.prompt", "body.duration", "body.colour"} <= fields
    assert_problem(
        client.post(
            "/api/v1/generate", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
    )
    assert_problem(client.get("/api/v1/jobs/0000-no-such-job"), 404)
    assert_problem(client.post("/api/v1/jobs/0000-no-such-job/retry"), 404)
    assert_problem(client.get("/api/v1/no/such/route"), 404)
    assert_problem(client.put("/api/v1/jobs"), 405)


def test_oversized_bodies_are_refused_before_they_are_read(api: Api) -> None:
    client, _service = api
    big = {"prompt": "x", "engine": "tone", "instruments": ["a" * 1000] * 70}
    problem = assert_problem(client.post("/api/v1/generate", json=big), 413)
    assert "65536 bytes" in problem["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"prompt": "'
        for _ in range(80):
            yield b"a" * 1024
        yield b'"}'

    assert_problem(
        client.post(
            "/api/v1/generate", content=chunks(), headers={"content-type": "application/json"}
        ),
        413,
    )
    assert_problem(client.post("/api/v1/generate/batch", content=b"x" * 70_000), 413)
