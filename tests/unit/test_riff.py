"""RIFF metadata chunks: DAW-readable fields round-trip and the audio stays untouched."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dgx_music.audio.export import AudioFileError
from dgx_music.audio.riff import WavMetadata, add_wav_metadata, read_wav_metadata

RATE = 48_000


def _write(path: Path, subtype: str, channels: int, frames: int = 4_801, **kw: str) -> Path:
    rng = np.random.default_rng(7)
    shape = (frames,) if channels == 1 else (frames, channels)
    data = rng.uniform(-0.8, 0.8, size=shape).astype(np.float32)
    with soundfile.SoundFile(
        path, "w", samplerate=RATE, channels=channels, subtype=subtype, format="WAV"
    ) as f:
        for name, value in kw.items():
            setattr(f, name, value)
        f.write(data)
    return path


def _walk(path: Path) -> list[tuple[bytes, int, bytes]]:
    """An independent RIFF walk that insists on exact sizes: a DAW would choke on less."""
    raw = path.read_bytes()
    assert raw[:4] == b"RIFF"
    assert raw[8:12] == b"WAVE"
    assert struct.unpack_from("<I", raw, 4)[0] == len(raw) - 8
    pos, out = 12, []
    while pos < len(raw):
        cid, size = struct.unpack_from("<4sI", raw, pos)
        out.append((cid, size, raw[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    assert pos == len(raw)
    return out


def _add(path: Path, **overrides: object) -> None:
    args: dict[str, object] = {
        "bpm": 120.0,
        "key": "A minor",
        "beats": 8,
        "loop": True,
        "title": "Night drive",
        "comment": "A minor; synthwave",
        "software": "dgx-music",
    }
    args.update(overrides)
    add_wav_metadata(path, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2])
def test_round_trip_keeps_audio_identical(tmp_path: Path, subtype: str, channels: int) -> None:
    path = _write(tmp_path / "a.wav", subtype, channels)
    before_audio, _ = soundfile.read(path, dtype="float64", always_2d=True)
    before = {cid: body for cid, _, body in _walk(path)}

    _add(path)

    meta = read_wav_metadata(path)
    assert meta.bpm == 120.0
    assert meta.root_note == "A"
    assert meta.beats == 8
    assert meta.is_loop
    assert (meta.loop_start, meta.loop_end) == (0, 4_800)
    assert meta.unity_note == 69  # A4
    assert meta.title == "Night drive"
    assert meta.comment == "A minor; synthwave"
    assert meta.software == "dgx-music"
    after = {cid: body for cid, _, body in _walk(path)}
    assert after[b"fmt "] == before[b"fmt "]
    assert after[b"data"] == before[b"data"]
    info = soundfile.info(path)
    assert (info.frames, info.samplerate, info.channels) == (4_801, RATE, channels)
    after_audio, _ = soundfile.read(path, dtype="float64", always_2d=True)
    np.testing.assert_array_equal(after_audio, before_audio)
    with soundfile.SoundFile(path) as f:
        assert (f.title, f.comment, f.software) == (
            "Night drive",
            "A minor; synthwave",
            "dgx-music",
        )


def test_libsndfile_parses_acid_and_smpl(tmp_path: Path) -> None:
    """libsndfile logs every chunk it understands: a second, independent reader of our bytes."""
    path = _write(tmp_path / "a.wav", "PCM_24", 2)
    _add(path, key="G# minor", bpm=128.0, beats=16)
    with soundfile.SoundFile(path) as f:
        log = f.extra_info
    assert re.search(r"Flags\s*:\s*0x0006 \(Loop,RootNoteValid,StretchOn", log), log
    assert re.search(r"Root note\s*:\s*0x38", log)
    assert re.search(r"Beats\s*:\s*16", log)
    assert re.search(r"Tempo\s*:\s*128\.0", log)
    assert re.search(r"Midi Note\s*:\s*68", log)
    assert re.search(r"Loop Count\s*:\s*1", log)


def test_acid_and_smpl_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.wav", "PCM_16", 2)
    _add(path, key="C# major", bpm=93.5, beats=None)
    chunks = {cid: body for cid, _, body in _walk(path)}
    flags, root, q1, q2, beats, den, num, tempo = struct.unpack("<IHHfIHHf", chunks[b"acid"])
    assert flags == 0x02 | 0x04  # loop, root set, stretch
    assert root == 0x31
    assert (q1, q2, den, num) == (0x8000, 0.0, 4, 4)
    assert beats == round(93.5 * 4_801 / RATE / 60)
    assert tempo == pytest.approx(93.5)
    smpl = chunks[b"smpl"]
    assert len(smpl) == 36 + 24
    header = struct.unpack_from("<9I", smpl)
    assert header[2] == round(1e9 / RATE)
    assert header[3] == 61
    assert header[7] == 1
    assert struct.unpack_from("<6I", smpl, 36) == (0, 0, 0, 4_800, 0, 0)


def test_twice_does_not_duplicate_and_replaces(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.wav", "FLOAT", 2)
    _add(path)
    _add(path, bpm=140.0, title="Second")
    ids = [cid for cid, _, _ in _walk(path)]
    for cid in (b"acid", b"smpl", b"LIST", b"data", b"fmt "):
        assert ids.count(cid) == 1, ids
    meta = read_wav_metadata(path)
    assert meta.bpm == 140.0
    assert meta.title == "Second"
    assert meta.chunk_ids == tuple(cid.decode() for cid in ids)


def test_existing_info_from_soundfile_is_merged(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.wav", "PCM_24", 1, title="Old", artist="Someone")
    _add(path, title="New")
    lists = [body for cid, _, body in _walk(path) if cid == b"LIST"]
    assert len(lists) == 1
    assert lists[0].count(b"INAM") == 1
    assert read_wav_metadata(path).title == "New"
    assert soundfile.SoundFile(path).artist == "Someone"


def test_odd_strings_are_padded(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.wav", "PCM_16", 1)
    _add(path, title="abc", comment="abcd", software=None)  # 4 and 5 bytes with the NUL
    (body,) = [b for cid, _, b in _walk(path) if cid == b"LIST"]
    assert body[:4] == b"INFO"
    pos, seen = 4, {}
    while pos < len(body):
        sid, size = struct.unpack_from("<4sI", body, pos)
        seen[sid] = body[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
        assert pos % 2 == 0
    assert pos == len(body)
    assert seen == {b"INAM": b"abc\0", b"ICMT": b"abcd\0"}
    meta = read_wav_metadata(path)
    assert (meta.title, meta.comment, meta.software) == ("abc", "abcd", None)


def test_one_shot_writes_no_smpl_and_removes_old(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.wav", "PCM_16", 2)
    _add(path)
    _add(path, loop=False, key=None, bpm=None, beats=None, title=None, comment=None, software=None)
    ids = [cid for cid, _, _ in _walk(path)]
    assert b"smpl" not in ids
    assert b"LIST" not in ids
    meta = read_wav_metadata(path)
    assert meta == WavMetadata(chunk_ids=meta.chunk_ids)


def test_odd_sized_foreign_chunk_survives(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.wav", "PCM_16", 1)
    raw = bytearray(path.read_bytes())
    raw += b"junk" + struct.pack("<I", 3) + b"xyz\0"
    struct.pack_into("<I", raw, 4, len(raw) - 8)
    path.write_bytes(bytes(raw))
    _add(path)
    chunks = {cid: body for cid, _, body in _walk(path)}
    assert chunks[b"junk"] == b"xyz"


def test_rejects_non_wav(tmp_path: Path) -> None:
    path = tmp_path / "a.flac"
    soundfile.write(path, np.zeros(100, dtype=np.float32), RATE, format="FLAC")
    original = path.read_bytes()
    with pytest.raises(AudioFileError, match="not a RIFF/WAVE"):
        _add(path)
    with pytest.raises(AudioFileError):
        read_wav_metadata(path)
    assert path.read_bytes() == original
    assert list(tmp_path.iterdir()) == [path]


def test_rejects_over_4_gib(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.wav", "PCM_16", 1)
    with path.open("r+b") as f:
        f.truncate(2**32 + 16)  # sparse on the usual file systems
    with pytest.raises(AudioFileError, match="4 GiB"):
        _add(path)


def test_bad_arguments(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.wav", "PCM_16", 1)
    with pytest.raises(ValueError, match="not a key"):
        _add(path, key="H dorian")
    with pytest.raises(ValueError, match="bpm"):
        _add(path, bpm=float("nan"))
    assert b"acid" not in [cid for cid, _, _ in _walk(path)]


def test_stdlib_wave_still_reads_pcm(tmp_path: Path) -> None:
    import wave

    path = _write(tmp_path / "a.wav", "PCM_16", 2)
    _add(path)
    with wave.open(str(path), "rb") as w:
        assert (w.getnframes(), w.getframerate(), w.getnchannels()) == (4_801, RATE, 2)


def test_rejects_truncated_wav(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.wav", "PCM_16", 1)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(AudioFileError, match="truncated"):
        _add(path)
