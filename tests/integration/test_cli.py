"""The real command line on a real SQLite file and a real library directory."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile

from tests.support.cli import run_cli
from tests.support.processes import library_files, open_store

PROMPT = "lofi hip hop, dusty piano, 80 bpm, A minor"


def test_generate_files_a_normalised_clip_that_matches_its_row(tmp_path: Path) -> None:
    out = tmp_path / "export" / "clip.wav"
    result = run_cli(
        "generate",
        PROMPT,
        "--duration",
        "8",
        "--seed",
        "7",
        "--loudness",
        "-14",
        "--out",
        str(out),
        "--json",
        env={"CI": "true"},  # pyfluidsynth prints to stdout under $CI unless muted
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "completed" and report["seed"] == 7
    track = report["track"]
    path = Path(track["absolute_path"])
    assert path.is_file() and path.suffix == ".wav"
    assert "/lofi-hip-hop-dusty-piano-80-bpm-a-minor-" in str(path)

    audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    assert rate == track["sample_rate"] == 44100
    assert audio.shape[1] == track["channels"] == 2
    assert len(audio) / rate == pytest.approx(track["duration"], abs=1e-3)
    assert track["duration"] == pytest.approx(8.0, abs=0.01)
    measured = pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64))
    assert measured == pytest.approx(-14.0, abs=0.5)
    assert track["lufs"] == pytest.approx(measured, abs=0.1)
    assert track["true_peak"] <= -1.0 + 0.05
    assert hashlib.sha256(path.read_bytes()).hexdigest() == track["sha256"]
    assert path.stat().st_size == track["size_bytes"]
    assert track["bpm"] is not None and track["key"] is not None

    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["request"]["prompt"] == PROMPT and sidecar["seed"] == 7
    assert set(track["stems"]) == {"drums", "bass", "chords", "lead"}
    summed = np.zeros_like(audio)
    for stem in track["stems"].values():
        stem_audio, stem_rate = soundfile.read(path.parents[3] / stem, dtype="float32")
        assert stem_rate == rate and stem_audio.shape == audio.shape
        summed += stem_audio
    residual = np.sqrt(np.mean((summed - audio) ** 2)) / np.sqrt(np.mean(audio**2))
    assert 20 * np.log10(residual) < -60  # the stored stems sum to the stored mix
    assert (path.parents[3] / track["midi_path"]).is_file()
    assert out.read_bytes() == path.read_bytes()


def test_generate_prints_where_and_what_was_measured() -> None:
    result = run_cli("generate", "techno, 128 bpm", "--duration", "4", "--seed", "3")
    assert result.returncode == 0, result.stderr
    for label in ("file", "duration", "bpm", "key", "LUFS", "dBTP", "normalised by"):
        assert label in result.stdout
    listed = json.loads(run_cli("tracks", "list", "--json").stdout)
    assert len(listed) == 1 and listed[0]["prompt"] == "techno, 128 bpm"
    shown = run_cli("tracks", "show", listed[0]["id"][:8])
    assert shown.returncode == 0 and listed[0]["path"] in shown.stdout


def test_tracks_rm_removes_the_files_and_the_row(isolated_environment: Path) -> None:
    result = run_cli("generate", "ambient pad", "--duration", "3", "--json")
    track = json.loads(result.stdout)["track"]
    library = isolated_environment / "library"
    assert len(library_files(library)) >= 3
    removed = run_cli("tracks", "rm", track["id"])
    assert removed.returncode == 0, removed.stderr
    assert library_files(library) == []
    assert json.loads(run_cli("tracks", "list", "--json").stdout) == []
    again = run_cli("tracks", "rm", track["id"])
    assert again.returncode == 2 and "no track" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", ""], "prompt"),
        (["generate", "   "], "prompt is empty"),
        (["generate", "x" * 1001], "limit is 1000"),
        (["generate", "jazz", "--duration", "0"], "duration"),
        (["generate", "jazz", "--duration", "900"], "outside the symbolic engine's range"),
        (["generate", "jazz", "--engine", "nope"], "unknown engine 'nope'"),
        (["generate", "jazz", "--format", "flac", "--bit-depth", "32f"], "FLAC"),
        (["generate", "jazz", "--seed", "-1"], "seed"),
        (["generate", "jazz", "--no-wait", "--out", "x.wav"], "--no-wait"),
        (["generate", "jazz", "--engine", "tone", "--bpm", "100"], "does not take bpm"),
        (["generate", "jazz", "--key", "H minor"], "is not a key"),
        (["generate", "jazz", "--bpm", "500"], "bpm"),
        (["jobs", "show", "does-not-exist"], "no job"),
        (["jobs", "cancel", "does-not-exist"], "no job"),
    ],
)
def test_bad_input_is_one_clear_line_exit_2_and_nothing_written(
    isolated_environment: Path, args: list[str], message: str
) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert library_files(isolated_environment / "library") == []
    assert open_store().list() == []


def test_batch_with_one_bad_line_queues_nothing(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text('lofi beat\n{"prompt": "house", "duration": 5}\n{"prompt": "x", "bpm": "?"}\n')
    result = run_cli("batch", str(batch), "--no-wait")
    assert result.returncode == 2
    assert "batch.jsonl:3" in result.stderr
    assert open_store().list() == []


def test_batch_runs_every_line_with_its_parameters(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        '# two clips\nhouse groove\n{"prompt": "trap beat", "duration": 2, "seed": 5}\n'
    )
    result = run_cli("batch", str(batch), "--engine", "tone", "--duration", "1", "--json")
    assert result.returncode == 0, result.stderr
    reports = json.loads(result.stdout)
    assert [r["status"] for r in reports] == ["completed", "completed"]
    assert reports[1]["track"]["duration"] == pytest.approx(2.0)
    assert reports[0]["batch_id"] == reports[1]["batch_id"] is not None


def test_queued_job_cancel_and_retry(isolated_environment: Path) -> None:
    queued = json.loads(
        run_cli(
            "generate",
            "drum and bass",
            "--engine",
            "tone",
            "--duration",
            "1",
            "--no-wait",
            "--json",
        ).stdout
    )[0]
    cancelled = run_cli("jobs", "cancel", queued["id"], "--json")
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    assert run_cli("jobs", "list", "--status", "cancelled", "--json").stdout.count(queued["id"])
    retried = run_cli("jobs", "retry", queued["id"], "--json")
    assert json.loads(retried.stdout)["status"] == "queued"
    worker = run_cli("worker", "--until-idle")
    assert worker.returncode == 0, worker.stderr
    shown = json.loads(run_cli("jobs", "show", queued["id"], "--json").stdout)
    assert shown["status"] == "completed" and shown["engine_used"] == "tone"
    assert run_cli("jobs", "retry", queued["id"]).returncode == 2


def test_analyze_reports_each_file_and_rejects_non_audio(tmp_path: Path) -> None:
    rate = 48000
    t = np.arange(rate * 4) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    soundfile.write(tmp_path / "a.flac", tone, rate)
    soundfile.write(tmp_path / "b.wav", np.stack([tone, tone], axis=1), rate, subtype="FLOAT")
    result = run_cli("analyze", str(tmp_path / "a.flac"), str(tmp_path / "b.wav"), "--json")
    assert result.returncode == 0, result.stderr
    first, second = json.loads(result.stdout)
    assert first["sample_rate"] == 48000 and first["channels"] == 1
    assert second["channels"] == 2 and second["duration"] == pytest.approx(4.0)
    assert first["true_peak"] == pytest.approx(-6.02, abs=0.1)

    (tmp_path / "notes.wav").write_text("not audio at all")
    bad = run_cli("analyze", str(tmp_path / "a.flac"), str(tmp_path / "notes.wav"))
    assert bad.returncode == 2 and "notes.wav" in bad.stderr and "Traceback" not in bad.stderr
    assert bad.stdout == ""  # nothing printed for the good file either
    missing = run_cli("analyze", str(tmp_path / "missing.wav"))
    assert missing.returncode == 2


def test_engine_failure_fails_the_job_with_its_reason(isolated_environment: Path) -> None:
    result = run_cli(
        "generate", "fail: the synth caught fire", "--engine", "tone", "--duration", "1"
    )
    assert result.returncode == 1
    assert "the synth caught fire" in result.stdout
    assert "Traceback" not in result.stderr
    job = open_store().list()[0]
    assert job.status.value == "failed" and job.error is not None and "caught fire" in job.error
    assert library_files(isolated_environment / "library") == []


def test_loop_is_whole_bars_at_the_tempo_and_joins_seamlessly() -> None:
    result = run_cli(
        "generate", "house groove", "--bpm", "120", "--bars", "4", "--loop", "--seed", "2",
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["request"]["loop"] is True and report["request"]["bpm"] == 120
    track = report["track"]
    audio, rate = soundfile.read(track["absolute_path"], dtype="float64", always_2d=True)
    assert len(audio) == 4 * 4 * 60 / 120 * rate  # exactly four bars of 4/4 at 120 BPM
    steps = np.abs(np.diff(audio, axis=0))
    joint = np.abs(audio[0] - audio[-1])
    assert np.all(joint <= np.percentile(steps, 99, axis=0))
    interpretation = report["notes"]["interpretation"]
    assert interpretation["tempo"]["source"] == "request"
