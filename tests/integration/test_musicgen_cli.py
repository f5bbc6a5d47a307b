"""Whole MusicGen jobs through the real CLI, on the tiny checkpoint the tests build."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import soundfile

from tests.support.cli import run_cli


def generate_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run_cli("generate", *args, "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_a_musicgen_job_from_prompt_to_library(tiny_musicgen: Path) -> None:
    env = {"DGX_MUSIC_MUSICGEN_MODEL": str(tiny_musicgen)}
    job = generate_json("lofi piano, dusty", "-e", "musicgen", "-d", "2", "--seed", "3", env=env)
    assert job["status"] == "completed" and job["engine_used"] == "musicgen"
    track = job["track"]
    assert track["engine"] == "musicgen" and track["model"] == str(tiny_musicgen)
    info = soundfile.info(track["absolute_path"])
    assert info.samplerate == 32_000 and abs(info.duration - 2.0) < 1e-3
    assert abs(track["lufs"] - -16.0) < 0.5
    notes = job["notes"]
    assert notes["decoding_steps"] == 2 * 50 + 3 and notes["steps_per_second"] > 0
    sidecar = json.loads(Path(track["absolute_path"]).with_suffix(".json").read_text())
    assert "--engine musicgen" in sidecar["regenerate"] and "--seed 3" in sidecar["regenerate"]

    again = generate_json("lofi piano, dusty", "-e", "musicgen", "-d", "2", "--seed", "3", env=env)
    assert again["track"]["sha256"] == track["sha256"]  # same seed, same device: same file


def test_auto_picks_musicgen_only_when_its_weights_are_on_disk(tiny_musicgen: Path) -> None:
    without = generate_json("jazz trio", "-d", "2", "--seed", "1")
    assert without["engine_used"] == "symbolic"
    assert "no weights for facebook/musicgen-small" in without["notes"]["engine_choice"]["reason"]

    env = {"DGX_MUSIC_MUSICGEN_MODEL": str(tiny_musicgen)}
    with_weights = generate_json("jazz trio", "-d", "2", "--seed", "1", env=env)
    assert with_weights["request"]["engine"] == "auto"
    assert with_weights["engine_used"] == "musicgen"
    assert with_weights["notes"]["engine_choice"]["reason"].startswith("weights for")


def test_continue_a_library_track_by_id(tiny_musicgen: Path) -> None:
    env = {"DGX_MUSIC_MUSICGEN_MODEL": str(tiny_musicgen)}
    first = generate_json("ambient pads", "-e", "musicgen", "-d", "2", env=env)
    track_id = first["track"]["id"]
    second = generate_json(
        "ambient pads", "-e", "musicgen", "-d", "1.5", "--continue", track_id[:8], env=env
    )
    assert second["status"] == "completed"
    assert second["request"]["continue_from"] == track_id  # the prefix, resolved at submission
    assert abs(second["track"]["duration"] - 1.5) < 1e-3


def test_missing_weights_are_a_clear_error_at_once() -> None:
    started = time.monotonic()
    result = run_cli("generate", "lofi", "--engine", "musicgen")
    assert result.returncode == 2
    assert "dgx-music models pull facebook/musicgen-small" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 20
    listed = run_cli("jobs", "list", "--json")
    assert json.loads(listed.stdout) == []  # nothing was queued


def test_bad_musicgen_inputs_are_exit_2(tiny_musicgen: Path, tmp_path: Path) -> None:
    env = {"DGX_MUSIC_MUSICGEN_MODEL": str(tiny_musicgen)}
    cases = [
        (["--continue", str(tmp_path / "missing.wav")], "neither an audio file nor a track"),
        (["--melody", str(tiny_musicgen / "config.json")], "needs a melody model"),
        (["--loop"], "does not take loop"),
        (["--top-p", "1.5"], "top_p"),
    ]
    for args, message in cases:
        result = run_cli("generate", "x", "-e", "musicgen", *args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr


def test_a_batch_shares_one_forward_pass(tiny_musicgen: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("lofi piano\ndark techno\n" + json.dumps({"prompt": "jazz", "seed": 4}))
    env = {"DGX_MUSIC_MUSICGEN_MODEL": str(tiny_musicgen)}
    result = run_cli("batch", str(prompts), "-e", "musicgen", "-d", "1", "--json", env=env)
    assert result.returncode == 0, result.stderr
    jobs = json.loads(result.stdout)
    assert [job["status"] for job in jobs] == ["completed"] * 3
    assert [job["notes"]["batch_size"] for job in jobs] == [3, 3, 3]
    assert len({job["track"]["sha256"] for job in jobs}) == 3
