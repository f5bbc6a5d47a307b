"""Library WAVs carry what a DAW reads: tempo and root (ACID), loop points, title."""

from __future__ import annotations

import json
from pathlib import Path

import soundfile

from dgx_music.audio.riff import read_wav_metadata
from tests.support.cli import run_cli


def test_a_loop_carries_tempo_root_loop_points_and_prompt() -> None:
    result = run_cli(
        "generate", "deep house groove", "--engine", "symbolic", "--bpm", "120",
        "--key", "D minor", "--bars", "4", "--loop", "--seed", "2", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    track = json.loads(result.stdout)["track"]
    path = Path(track["absolute_path"])
    meta = read_wav_metadata(path)
    assert meta.bpm == 120.0 and meta.root_note == "D"
    assert meta.beats == 16 and meta.is_loop
    frames = soundfile.info(path).frames
    assert (meta.loop_start, meta.loop_end) == (0, frames - 1)
    assert meta.title == "deep house groove"
    assert meta.software is not None and meta.software.startswith("dgx-music")
    library_root = Path(track["absolute_path"].removesuffix(track["path"]))
    stem = read_wav_metadata(library_root / track["stems"]["drums"])
    assert stem.bpm == 120.0 and stem.title == "deep house groove (drums)"


def test_the_tempo_the_engine_played_is_written_and_agrees_with_the_measurement() -> None:
    result = run_cli("generate", "techno, 128 bpm", "-e", "symbolic", "-d", "8", "--json")
    assert result.returncode == 0, result.stderr
    track = json.loads(result.stdout)["track"]
    meta = read_wav_metadata(Path(track["absolute_path"]))
    assert meta.bpm == 128.0  # what the symbolic engine played, not the 127.96 it measured
    assert abs(track["bpm"] / 128.0 - 1.0) < 0.04
    assert track["asked_bpm"] == 128.0 and track["disagreements"] == []
    assert 0.0 < track["bpm_confidence"] <= 1.0 and 0.0 < track["key_confidence"] <= 1.0
    assert not meta.is_loop and "smpl" not in meta.chunk_ids
    assert meta.root_note == track["key"].split()[0]


def test_a_clip_that_misses_what_was_asked_is_flagged_and_tagged_as_measured() -> None:
    # The test engine plays a steady A major chord (seed 0) whatever the prompt asks for.
    result = run_cli(
        "generate", "drone, 90 bpm, in D minor", "-e", "tone", "-d", "4", "--seed", "0", "--json"
    )
    assert result.returncode == 0, result.stderr
    track = json.loads(result.stdout)["track"]
    assert (track["asked_bpm"], track["asked_key"]) == (90.0, "D minor")
    assert track["bpm"] is None and track["key"] == "A major"
    assert track["disagreements"] == [
        "tempo: asked 90 BPM, no steady pulse measured",
        "key: asked D minor, measured A major",
    ]
    meta = read_wav_metadata(Path(track["absolute_path"]))
    assert meta.bpm == 90.0  # nothing measured contradicts the asked tempo
    assert meta.root_note == "A"  # the measured key contradicts the asked one: the audio wins

    shown = run_cli("tracks", "show", track["id"])
    assert shown.returncode == 0, shown.stderr
    assert "no steady pulse measured" in shown.stdout
    assert "asked D minor, measured A major" in shown.stdout
    listed = run_cli("tracks", "list")
    assert "A major!" in listed.stdout and "differs from what was asked" in listed.stdout
