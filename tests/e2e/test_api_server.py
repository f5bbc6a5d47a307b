"""``dgx-music serve`` as a user runs it: a real uvicorn process with its in-process worker,
spoken to over a real socket — live progress as Server-Sent Events, byte ranges, shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from dgx_music.config import load_settings
from dgx_music.domain import JobStatus
from dgx_music.service import GenerationService
from tests.support.server import free_port, wait_until_live

pytestmark = pytest.mark.slow


@contextmanager
def serving(tmp_path: Path, workers: int = 1, processes: int = 1, **settings: str) -> Iterator[str]:
    """``dgx-music serve`` on a free loopback port with ``settings`` in its environment;
    yields its base URL, and checks that it shuts down cleanly."""
    port = free_port()
    env = {
        **os.environ,
        "DGX_MUSIC_API_EVENT_INTERVAL": "0.1",
        "DGX_MUSIC_POLL_INTERVAL": "0.1",
        "DGX_TEST_STEP_SECONDS": "0.15",  # the tone engine takes 1.5 s: progress to watch
        **{f"DGX_MUSIC_{name.upper()}": value for name, value in settings.items()},
    }
    log = (tmp_path / "serve.log").open("wb")
    command = ["serve", "--port", str(port), "--workers", str(workers)]
    command += ["--processes", str(processes)]
    process = subprocess.Popen(
        [sys.executable, "-m", "dgx_music", *command],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_live(base, process, tmp_path / "serve.log")
        yield base
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down cleanly, then re-raises the signal so the exit status tells
        # a supervisor what stopped it.
        assert process.wait(20) in (0, -signal.SIGTERM)
        output = (tmp_path / "serve.log").read_text()
        assert "Application shutdown complete" in output, output
        assert "stopped" in output or not workers, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path) as base:
        yield base


def events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of an event stream, comments and retry hints skipped."""
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data += line.removeprefix("data:").strip()
        elif line == "" and data:
            yield name, json.loads(data)
            name, data = "message", ""


def test_progress_streams_until_the_job_ends_then_the_audio_serves_ranges(server: str) -> None:
    with httpx.Client(base_url=server, timeout=20) as client:
        with client.stream("GET", "/api/v1/events") as everything:
            assert everything.headers["content-type"].startswith("text/event-stream")
            answer = client.post(
                "/api/v1/generate", json={"prompt": "tone", "engine": "tone", "duration": 1.0}
            )
            assert answer.status_code == 202
            job_id = answer.json()["id"]

            with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as one:
                seen = list(events(one))  # ends by itself when the job does
            names = [name for name, _ in seen]
            assert names[-1] == "end" and set(names[:-1]) == {"progress"}
            fractions = [data["progress"] for _, data in seen]
            assert fractions == sorted(fractions) and len(set(fractions)) >= 3
            assert any(data["eta_seconds"] is not None for _, data in seen)
            final = seen[-1][1]
            assert final["status"] == "completed" and final["track_id"]

            for name, data in events(everything):  # the all-jobs stream saw it end too
                if name == "end" and data["id"] == job_id:
                    assert data["track_id"] == final["track_id"]
                    break

        after = client.get(f"/api/v1/jobs/{job_id}/events")  # already over: one event, closed
        assert after.text.count("event: end") == 1

        url = f"/api/v1/tracks/{final['track_id']}/audio"
        whole = client.get(url).content
        part = client.get(url, headers={"Range": "bytes=44-1043"})
        assert part.status_code == 206 and part.content == whole[44:1044]
        assert part.headers["content-range"] == f"bytes 44-1043/{len(whole)}"
        past = client.get(url, headers={"Range": f"bytes={len(whole) + 5}-"})
        assert past.status_code == 416
        assert past.headers["content-type"].startswith("application/problem+json")

        health = client.get("/api/v1/health").json()
        assert health["workers"]["in_process"] == 1


def test_serve_refuses_a_network_address_without_protection() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dgx_music", "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "refusing to listen on 0.0.0.0" in done.stderr


def test_keys_and_the_generation_limit_over_real_http(tmp_path: Path) -> None:
    key = "e2e-studio-key-0123456789"
    with (
        serving(tmp_path, workers=0, api_keys=key, api_generate_rate_per_minute="2") as base,
        httpx.Client(base_url=base, timeout=20) as client,
    ):
        assert client.get("/api/v1/health/live").status_code == 200
        refused = client.get("/api/v1/jobs")
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith(
            "Bearer"
        )
        assert refused.headers["content-type"].startswith("application/problem+json")
        signed = {"Authorization": f"Bearer {key}"}
        body = {"prompt": "tone", "engine": "tone", "duration": 1.0}
        statuses = [
            client.post("/api/v1/generate", json=body, headers=signed).status_code for _ in range(3)
        ]
        assert statuses == [202, 202, 429]
        limited = client.post("/api/v1/generate", json=body, headers=signed)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        metrics = client.get("/api/v1/metrics", headers=signed)
        assert 'dgx_music_jobs{state="queued"} 2.0' in metrics.text


def _children(port: int) -> list[int]:
    """Process ids of the children of the ``dgx-music serve`` listening on ``port``."""
    marker = f"--port\0{port}\0".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes()
            if marker in line and b"--processes" in line:
                tasks = (entry / "task").iterdir()
                return [int(c) for t in tasks for c in (t / "children").read_text().split()]
        except OSError:
            continue
    raise AssertionError(f"no serve process on port {port}")


def test_several_api_processes_are_one_service(tmp_path: Path) -> None:
    """``serve --processes 2``: two API processes and a worker process; a client gets one
    generation allowance whichever process answers; jobs run; a dead worker is replaced; all
    of it stops with the server."""
    with serving(tmp_path, workers=1, processes=2, api_generate_rate_per_minute="3") as base:
        port = int(base.rsplit(":", 1)[1])
        children = _children(port)
        kinds = sorted(_cmdline(pid) for pid in children)
        api_processes = [line for line in kinds if line.endswith(b"--reuse-port")]
        workers = [line for line in kinds if line.endswith(b"dgx_music worker")]
        assert (len(api_processes), len(workers)) == (2, 1), kinds
        body = {"prompt": "tone", "engine": "tone", "duration": 1.0}
        statuses = []
        for _ in range(4):  # a new connection each time: the kernel picks the process
            with httpx.Client(base_url=base, timeout=20) as fresh:
                statuses.append(fresh.post("/api/v1/generate", json=body).status_code)
        assert statuses == [202, 202, 202, 429]
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=base, timeout=20) as client:
            while time.monotonic() < deadline:
                jobs = client.get("/api/v1/jobs").json()["items"]
                if [job["status"] for job in jobs] == ["completed"] * 3:
                    break
                time.sleep(0.2)
            assert [job["status"] for job in jobs] == ["completed"] * 3
        worker = next(pid for pid in children if _cmdline(pid).endswith(b"dgx_music worker"))
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replaced = [pid for pid in _children(port) if pid not in children]
            if replaced:
                break
            time.sleep(0.2)
        assert replaced and _cmdline(replaced[0]).endswith(b"dgx_music worker")
        everyone = [*children, *replaced]
        # the replacement works the queue (queued past the API: the client's allowance is spent)
        service = GenerationService(load_settings())
        try:
            request = service.build_request("tone", engine="tone", duration=1.0)
            late = service.submit([request]).jobs[0]
            deadline = time.monotonic() + 60
            while service.job(late.id).status is not JobStatus.COMPLETED:
                assert time.monotonic() < deadline, service.job(late.id)
                time.sleep(0.2)
        finally:
            service.close()
    for pid in everyone:  # the server's exit took its children with it
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), pid


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def test_the_processes_of_a_killed_server_stop_too(tmp_path: Path) -> None:
    """``serve --processes``' children watch their parent: killed outright (no chance to pass
    on a signal), it still leaves no API or worker process behind."""
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    command = ["serve", "--port", str(port), "--processes", "2", "--workers", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "dgx_music", *command], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until_live(f"http://127.0.0.1:{port}", process, tmp_path / "serve.log")
        deadline = time.monotonic() + 30
        while len(children := _children(port)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(children) == 3, children
        process.kill()
        process.wait(10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            left = [
                pid for pid in children if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)
            ]
            if not left:
                break
            time.sleep(0.2)
        assert not left, [_cmdline(pid) for pid in left]
        assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
