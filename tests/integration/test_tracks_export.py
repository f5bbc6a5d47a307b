"""``dgx-music tracks export``: real tracks from the tone engine, real files read back.

Exports are decoded again with soundfile rather than trusting the command's report, because the
point of an export is that other software can open it with the right rate, length and content.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile

from dgx_music.audio.encode import resample
from dgx_music.domain import AudioClip
from tests.support.cli import run_cli

SOURCE_RATE = 16_000  # the tone engine's rate
# Lossy decoders may return a little more or less than was encoded (encoder delay, frame
# padding); one MP3 frame is 1152 samples and Opus pre-skip is 312 at 48 kHz.
LOSSY_FRAME_SLACK = 2048


def _generate() -> dict[str, Any]:
    done = run_cli("generate", "x", "--engine", "tone", "--duration", "2", "--json")
    assert done.returncode == 0, done.stderr
    payload: dict[str, Any] = json.loads(done.stdout)
    return payload


def _export(track_id: str, *args: str) -> dict[str, Any]:
    done = run_cli("tracks", "export", track_id, *args, "--json")
    assert done.returncode == 0, done.stderr
    payload: dict[str, Any] = json.loads(done.stdout)
    return payload


def _peaks(samples: npt.NDArray[Any], rate: int, count: int = 3) -> list[float]:
    """The ``count`` strongest spectral lines of the first channel, in Hz, lowest first."""
    spectrum = np.abs(np.fft.rfft(samples[:, 0] * np.hanning(samples.shape[0])))
    freqs = np.fft.rfftfreq(samples.shape[0], 1 / rate)
    local_max = np.flatnonzero((spectrum[1:-1] > spectrum[:-2]) & (spectrum[1:-1] > spectrum[2:]))
    strongest = local_max[np.argsort(spectrum[local_max + 1])[-count:]] + 1
    return sorted(float(freqs[i]) for i in strongest)


def _rms_db(samples: npt.NDArray[Any]) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))))


def test_every_format_reads_back_with_the_right_rate_length_and_samples(tmp_path: Path) -> None:
    generated = _generate()
    track = generated["track"]
    source = Path(track["absolute_path"])
    src_int, rate = soundfile.read(source, dtype="int32", always_2d=True)
    src_float, _ = soundfile.read(source, dtype="float32", always_2d=True)
    assert rate == SOURCE_RATE
    out = tmp_path / "out"
    out.mkdir()

    cases: list[tuple[str, tuple[str, ...], str]] = [
        ("wav", (), "a24.wav"),
        ("flac", (), "a24.flac"),
        ("wav", ("--bit-depth", "32f"), "a32.wav"),
        ("wav", ("--bit-depth", "16"), "a16.wav"),
        ("flac", ("--bit-depth", "16"), "a16.flac"),
        ("mp3", (), "a.mp3"),
        ("ogg", (), "a.ogg"),
    ]
    for fmt, extra, name in cases:
        report = _export(track["id"], "--format", fmt, *extra, "--out", str(out / name))
        path = out / name
        assert report["path"] == str(path)
        assert report["size_bytes"] == path.stat().st_size > 0
        info = soundfile.info(str(path))
        assert info.samplerate == SOURCE_RATE, name
        assert info.channels == src_int.shape[1], name
        if fmt in ("wav", "flac"):
            assert info.frames == src_int.shape[0], name
        else:
            assert abs(info.frames - src_int.shape[0]) <= LOSSY_FRAME_SLACK, name
            decoded, _ = soundfile.read(path, dtype="float32", always_2d=True)
            # A lossy copy of the same music: same loudness within a dB, same spectral lines.
            assert abs(_rms_db(decoded) - _rms_db(src_float)) < 1.0, name
            assert _peaks(decoded, SOURCE_RATE) == pytest.approx(
                _peaks(src_float, SOURCE_RATE), abs=1.0
            ), name

    # Lossless: the master is 24-bit PCM, so 24-bit and float copies are sample-exact and a
    # 16-bit copy is the master rounded to 16 bits (at most one 16-bit step away).
    for name in ("a24.wav", "a24.flac"):
        copy, _ = soundfile.read(out / name, dtype="int32", always_2d=True)
        assert np.array_equal(copy, src_int), name
        assert soundfile.info(str(out / name)).subtype == "PCM_24"
    as_float, _ = soundfile.read(out / "a32.wav", dtype="float32", always_2d=True)
    assert soundfile.info(str(out / "a32.wav")).subtype == "FLOAT"
    assert np.array_equal(as_float, src_float)
    for name in ("a16.wav", "a16.flac"):
        assert soundfile.info(str(out / name)).subtype == "PCM_16"
        copy16, _ = soundfile.read(out / name, dtype="int16", always_2d=True)
        error = np.abs(copy16.astype(np.int64) * 65536 - src_int.astype(np.int64))
        assert error.max() <= 65536, name

    # Opus into a directory: named after the library file, and always 48 kHz.
    report = _export(track["id"], "--format", "opus", "--out", str(out))
    opus = out / f"{source.stem}.opus"
    assert report["path"] == str(opus)
    assert report["sample_rate"] == 48_000
    assert report["resampled_from"] == SOURCE_RATE
    info = soundfile.info(str(opus))
    assert (info.samplerate, info.channels) == (48_000, 2)
    assert abs(info.frames - src_int.shape[0] * 3) <= LOSSY_FRAME_SLACK
    decoded, _ = soundfile.read(opus, dtype="float32", always_2d=True)
    assert abs(_rms_db(decoded) - _rms_db(src_float)) < 1.0
    assert _peaks(decoded, 48_000) == pytest.approx(_peaks(src_float, SOURCE_RATE), abs=1.0)

    # The human-readable report names the file, format and rate.
    done = run_cli("tracks", "export", track["id"][:8], "-o", str(out / "b.flac"))
    assert done.returncode == 0, done.stderr
    assert str(out / "b.flac") in done.stdout
    assert "flac, 16000 Hz, 24-bit" in done.stdout
    assert soundfile.info(str(out / "b.flac")).format == "FLAC"  # format from the suffix


def test_resampled_wav_has_the_right_length_and_keeps_its_pitch(tmp_path: Path) -> None:
    generated = _generate()
    track = generated["track"]
    base = generated["notes"]["tone_hz"]
    src, _ = soundfile.read(track["absolute_path"], dtype="float32", always_2d=True)
    expected = sorted(base * ratio for ratio in (1.0, 1.25, 1.5))
    assert _peaks(src, SOURCE_RATE) == pytest.approx(expected, abs=1.0)

    for rate in (48_000, 44_100):
        path = tmp_path / f"r{rate}.wav"
        report = _export(track["id"], "-f", "wav", "--sample-rate", str(rate), "-o", str(path))
        assert report["sample_rate"] == rate
        out, got_rate = soundfile.read(path, dtype="float32", always_2d=True)
        assert got_rate == rate
        assert out.shape == (round(src.shape[0] * rate / SOURCE_RATE), src.shape[1])
        assert _peaks(out, rate) == pytest.approx(expected, abs=1.0)
        assert abs(_rms_db(out) - _rms_db(src)) < 0.1


def test_a_1khz_tone_stays_at_1khz_through_the_resampler() -> None:
    rate = 44_100
    t = np.arange(rate) / rate
    tone = np.stack([0.5 * np.sin(2 * np.pi * 1000.0 * t)] * 2, axis=1).astype(np.float32)
    out = resample(AudioClip(tone, rate), 48_000)
    assert out.sample_rate == 48_000
    assert out.samples.shape == (48_000, 2)
    assert _peaks(out.samples, 48_000, count=1) == pytest.approx([1000.0], abs=1.0)
    # No level change and no audible images: the middle of the clip is still a clean sine.
    middle = out.samples[4_000:-4_000, 0]
    assert float(np.max(np.abs(middle))) == pytest.approx(0.5, abs=0.005)


def _assert_refused(args: list[str], out: Path, message: str) -> None:
    before = sorted(out.iterdir())
    done = run_cli("tracks", "export", *args)
    assert done.returncode == 2, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert sorted(out.iterdir()) == before  # nothing written, no temp file left behind


def test_bad_requests_exit_2_with_one_line_and_write_nothing(tmp_path: Path) -> None:
    track_id = _generate()["track"]["id"]
    out = tmp_path / "out"
    out.mkdir()
    existing = out / "taken.wav"
    existing.write_bytes(b"keep me")
    to = ["--out", str(out)]

    _assert_refused(["nosuchtrack", "-f", "wav", *to], out, "nosuchtrack")
    _assert_refused([track_id, "-f", "aiff", *to], out, "unknown format")
    _assert_refused([track_id, "-f", "wav", "--sample-rate", "22050", *to], out, "22050")
    _assert_refused([track_id, "-f", "mp3", "--bit-depth", "16", *to], out, "lossy")
    _assert_refused([track_id, "-f", "flac", "--bit-depth", "32f", *to], out, "FLAC")
    _assert_refused([track_id, "-f", "wav", "--bit-depth", "8", *to], out, "bit depth")
    _assert_refused([track_id, "-f", "opus", "--sample-rate", "44100", *to], out, "48000")
    _assert_refused([track_id, "-o", str(out / "noext")], out, "--format")
    _assert_refused([track_id, "-f", "wav", "-o", str(out / "no" / "x.wav")], out, "directory")
    _assert_refused([track_id, "-f", "wav", "-o", str(existing)], out, "--force")
    assert existing.read_bytes() == b"keep me"

    done = run_cli("tracks", "export", track_id, "-f", "wav", "-o", str(existing), "--force")
    assert done.returncode == 0, done.stderr
    assert soundfile.info(str(existing)).samplerate == SOURCE_RATE
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []
