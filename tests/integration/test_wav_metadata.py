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


def test_a_clip_without_asked_tempo_carries_the_measured_one_and_no_loop() -> None:
    result = run_cli("generate", "techno, 128 bpm", "-e", "symbolic", "-d", "8", "--json")
    assert result.returncode == 0, result.stderr
    track = json.loads(result.stdout)["track"]
    meta = read_wav_metadata(Path(track["absolute_path"]))
    assert meta.bpm is not None and abs(meta.bpm - track["bpm"]) < 0.01
    assert not meta.is_loop and "smpl" not in meta.chunk_ids
    assert meta.root_note == track["key"].split()[0]
