"""Atomic audio/bytes writing, decoding errors and hashing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import soundfile

from dgx_music.audio.export import (
    AudioFileError,
    read_audio,
    sha256_file,
    write_audio,
    write_bytes_atomic,
)
from dgx_music.domain import AudioClip

SR = 44100


def _ramp_clip(frames: int = 4410, channels: int = 2) -> AudioClip:
    ramp = np.linspace(-0.9, 0.9, frames)
    samples = np.stack([ramp * (c + 1) / channels for c in range(channels)], 1)
    return AudioClip(samples.astype(np.float32), SR)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize(
    ("fmt", "bit_depth", "subtype", "tolerance"),
    [
        ("wav", "16", "PCM_16", 2.0**-14),
        ("wav", "24", "PCM_24", 2.0**-22),
        ("wav", "32f", "FLOAT", 0.0),
        ("flac", "16", "PCM_16", 2.0**-14),
        ("flac", "24", "PCM_24", 2.0**-22),
    ],
)
def test_write_round_trips_with_right_subtype(
    tmp_path: Path,
    fmt: Literal["wav", "flac"],
    bit_depth: Literal["16", "24", "32f"],
    subtype: str,
    tolerance: float,
) -> None:
    clip = _ramp_clip()
    path = tmp_path / f"out.{fmt}"
    assert write_audio(path, clip, fmt, bit_depth) == path
    info = soundfile.info(str(path))
    assert (info.format, info.subtype) == (fmt.upper(), subtype)
    assert (info.frames, info.samplerate, info.channels) == (clip.frames, SR, clip.channels)
    back = read_audio(path)
    assert back.samples.dtype == np.float32
    assert back.samples.shape == clip.samples.shape
    assert back.sample_rate == SR
    np.testing.assert_allclose(back.samples, clip.samples, rtol=0, atol=tolerance)
    assert _leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_mono_reads_back_two_dimensional(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "m.wav", _ramp_clip(channels=1), "wav", "24")
    assert read_audio(path).samples.shape == (4410, 1)


def test_overshoot_is_clipped_not_wrapped(tmp_path: Path) -> None:
    samples = np.array([[1.5], [-1.5], [1.0], [-1.0]], np.float32)
    path = write_audio(tmp_path / "c.wav", AudioClip(samples, SR), "wav", "16")
    back = read_audio(path).samples[:, 0]
    assert back[0] > 0.999
    assert back[1] <= -0.999
    assert back[2] > 0.999


def test_float_wav_keeps_overshoot(tmp_path: Path) -> None:
    samples = np.array([[1.5], [-1.5]], np.float32)
    path = write_audio(tmp_path / "f.wav", AudioClip(samples, SR), "wav", "32f")
    np.testing.assert_array_equal(read_audio(path).samples, samples)


def test_flac_float_is_rejected_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "x.flac"
    with pytest.raises(ValueError, match="FLAC"):
        write_audio(path, _ramp_clip(), "flac", "32f")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("samples", [np.zeros((0, 2)), np.full((10, 1), np.nan)])
def test_empty_or_non_finite_clip_is_rejected(tmp_path: Path, samples: Any) -> None:
    with pytest.raises(ValueError):
        write_audio(tmp_path / "x.wav", AudioClip(samples.astype(np.float32), SR), "wav", "24")
    assert list(tmp_path.iterdir()) == []


def _boom(*_args: Any, **_kwargs: Any) -> None:
    raise RuntimeError("disk on fire")


def test_encoder_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(soundfile, "write", _boom)
    path = tmp_path / "x.wav"
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_audio(path, _ramp_clip(), "wav", "24")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_previous_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_audio(tmp_path / "x.wav", _ramp_clip(), "wav", "16")
    before = path.read_bytes()
    monkeypatch.setattr(soundfile, "write", _boom)
    with pytest.raises(RuntimeError):
        write_audio(path, _ramp_clip(frames=100), "wav", "24")
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_fsync_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(_fd: int) -> None:
        raise OSError("EIO")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    path = tmp_path / "sidecar.json"
    with pytest.raises(OSError, match="EIO"):
        write_bytes_atomic(path, b"{}")
    assert list(tmp_path.iterdir()) == []


def test_temp_file_is_hidden_and_in_the_same_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append(str(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_bytes_atomic(tmp_path / "a.mid", b"MThd")
    (temp,) = seen
    assert Path(temp).parent == tmp_path
    assert Path(temp).name.startswith(".")
    assert ".tmp" in Path(temp).name


def test_write_bytes_atomic_writes_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    assert write_bytes_atomic(path, b"first") == path
    write_bytes_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    assert _leftovers(tmp_path) == []


def test_written_file_gets_umask_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    path = write_bytes_atomic(tmp_path / "p.bin", b"x")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_missing_directory_raises_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_bytes_atomic(tmp_path / "nope" / "x.bin", b"x")
    assert list(tmp_path.iterdir()) == []


# --- reading ---------------------------------------------------------------------------------


def _one_line_error(path: Path) -> str:
    with pytest.raises(AudioFileError) as info:
        read_audio(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_text_file_named_wav_is_an_audio_file_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples\nat all\n")
    _one_line_error(path)


def test_missing_empty_and_directory_are_audio_file_errors(tmp_path: Path) -> None:
    assert "not found" in _one_line_error(tmp_path / "missing.wav")
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    _one_line_error(empty)
    _one_line_error(tmp_path)


def test_zero_frame_wav_is_an_audio_file_error(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    soundfile.write(str(path), np.zeros((0, 2), np.float32), SR, subtype="PCM_16")
    assert "no frames" in _one_line_error(path)


def test_audio_file_error_is_a_value_error() -> None:
    assert issubclass(AudioFileError, ValueError)


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # spans several read chunks
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
