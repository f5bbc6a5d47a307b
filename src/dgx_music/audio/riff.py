"""Tempo, key, loop and title metadata inside WAV files, where DAWs and samplers look for it.

Sidecar JSON is invisible to a DAW: dropped into Ableton, FL Studio, Reaper or a hardware sampler,
a generated loop should arrive at its tempo, in its key and looping. Those programs read three RIFF
chunks: ``acid`` (Sony ACID's tempo/beats/root-note chunk), ``smpl`` (the sampler loop chunk of the
1994 RIFF spec) and ``LIST``/``INFO`` (title, comment, software). No Python library writes ``acid``
or ``smpl``: soundfile exposes only libsndfile's INFO strings, and the ``wave`` module writes no
chunks beyond ``fmt``/``data``. Hence this small chunk rewriter.

The rewrite copies every existing chunk body (``fmt``, ``data``, ``fact``, ``PEAK``…) byte for
byte, drops the chunks it manages so they are never duplicated, appends fresh ones after them and
replaces the file atomically, so a concurrent reader sees the old or the new file, never a mix.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dgx_music.audio.export import AudioFileError, _atomic_target
from dgx_music.domain import PITCH_CLASSES, canonical_key

__all__ = ["WavMetadata", "add_wav_metadata", "read_wav_metadata"]

# acid chunk, 24-byte body, little-endian. Layout from libsndfile's wav_read_acid_chunk
# (libsndfile/libsndfile src/wav.c, quoted with its comment in audacity/audacity
# libraries/lib-import-export/EditRiffTags.cpp): flags u32, root note u16 (0x30 = C … 0x3B = B;
# 0x3C-based when flag 0x10 is set), unknown u16 (always 0x8000), unknown f32 (0), beats u32,
# meter denominator u16, meter numerator u16, tempo f32.
_ACID = struct.Struct("<IHHfIHHf")
_ACID_ONE_SHOT = 0x01
_ACID_ROOT_SET = 0x02
_ACID_STRETCH = 0x04
_ACID_ROOT_C = 0x30
# smpl chunk: nine u32 header fields, then one 24-byte record per loop. Layout from the RIFF
# spec as documented at https://www.recordingblogs.com/wiki/sample-chunk-of-a-wave-file and
# https://wavref.til.cafe/chunk/smpl: manufacturer, product, sample period (ns), MIDI unity note
# (60 = middle C), pitch fraction, SMPTE format, SMPTE offset, loop count, sampler-data bytes;
# per loop: cue id, type (0 = forward), start frame, end frame (inclusive), fraction, play count
# (0 = forever).
_SMPL = struct.Struct("<9I")
_SMPL_LOOP = struct.Struct("<6I")
_MIDDLE_C = 60
_INFO_FIELDS = {b"INAM": "title", b"ICMT": "comment", b"ISFT": "software"}
_MANAGED = {b"acid", b"smpl"}
_MAX_RIFF = 0xFFFFFFFF
_COPY_BLOCK = 1 << 20


@dataclass(frozen=True)
class WavMetadata:
    """What a DAW would read from the file; ``None`` where the file says nothing."""

    bpm: float | None = None
    root_note: str | None = None
    beats: int | None = None
    is_loop: bool = False
    loop_start: int | None = None
    loop_end: int | None = None
    unity_note: int | None = None
    title: str | None = None
    comment: str | None = None
    software: str | None = None
    chunk_ids: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Chunk:
    cid: bytes
    offset: int  # of the body
    size: int


def _walk(handle: BinaryIO, path: Path) -> list[_Chunk]:
    """Chunk table of a RIFF/WAVE file; raises AudioFileError for anything else.

    RF64 and files past 4 GiB are refused: their sizes do not fit the 32-bit RIFF fields.
    """
    handle.seek(0, 2)
    file_size = handle.tell()
    if file_size > _MAX_RIFF:
        raise AudioFileError(f"WAV file over 4 GiB cannot carry RIFF metadata: {path}")
    handle.seek(0)
    header = handle.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise AudioFileError(f"not a RIFF/WAVE file: {path}")
    chunks: list[_Chunk] = []
    pos = 12
    while pos + 8 <= file_size:
        handle.seek(pos)
        cid, size = struct.unpack("<4sI", handle.read(8))
        if pos + 8 + size > file_size:
            raise AudioFileError(f"truncated {cid!r} chunk in WAV file: {path}")
        chunks.append(_Chunk(cid, pos + 8, size))
        pos += 8 + size + (size & 1)
    ids = {c.cid for c in chunks}
    if b"fmt " not in ids or b"data" not in ids:
        raise AudioFileError(f"WAV file lacks a fmt or data chunk: {path}")
    return chunks


def _body(handle: BinaryIO, chunk: _Chunk) -> bytes:
    handle.seek(chunk.offset)
    return handle.read(chunk.size)


def _find(chunks: list[_Chunk], cid: bytes) -> _Chunk | None:
    return next((c for c in chunks if c.cid == cid), None)


def _is_info(handle: BinaryIO, chunk: _Chunk) -> bool:
    if chunk.cid != b"LIST" or chunk.size < 4:
        return False
    handle.seek(chunk.offset)
    return handle.read(4) == b"INFO"


def _info_entries(body: bytes) -> list[tuple[bytes, bytes]]:
    """``(id, raw value)`` pairs of a LIST/INFO body, in order; stops at a malformed entry."""
    entries, pos = [], 4
    while pos + 8 <= len(body):
        sid, size = struct.unpack_from("<4sI", body, pos)
        if pos + 8 + size > len(body):
            break
        entries.append((sid, body[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return entries


def _chunk_bytes(cid: bytes, body: bytes) -> bytes:
    """A chunk with its pad byte: RIFF chunks start on even offsets, the size excludes the pad."""
    return cid + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)


def _root_pitch(key: str) -> int:
    return PITCH_CLASSES.index(canonical_key(key).split()[0])


def add_wav_metadata(
    path: Path,
    *,
    bpm: float | None,
    key: str | None,
    beats: int | None,
    loop: bool,
    title: str | None,
    comment: str | None,
    software: str | None,
) -> None:
    """Give the WAV at ``path`` an ``acid``, (if ``loop``) a ``smpl`` and a ``LIST/INFO`` chunk.

    The call states the whole managed metadata: an older ``acid``/``smpl`` chunk is replaced, a
    ``smpl`` chunk is removed when ``loop`` is false, and INAM/ICMT/ISFT follow the arguments
    (``None`` removes them) while other INFO entries such as IART survive. ACID stores only a
    root note, so a minor key's mode is lost unless the caller writes it into ``comment``.
    ``beats=None`` with a ``bpm`` is derived from the length, as Audacity does. Raises
    AudioFileError for a non-WAV or oversized file, ValueError for a bad key, bpm or beats.
    """
    path = Path(path)
    if bpm is not None and not (math.isfinite(bpm) and bpm > 0):
        raise ValueError(f"bpm must be a positive number, got {bpm!r}")
    if beats is not None and not 0 <= beats <= _MAX_RIFF:
        raise ValueError(f"beats must be a non-negative integer, got {beats!r}")
    root = _root_pitch(key) if key is not None else None
    with path.open("rb") as src:
        chunks = _walk(src, path)
        fmt = _body(src, _find(chunks, b"fmt ") or chunks[0])
        data = _find(chunks, b"data")
        assert data is not None  # _walk guarantees it
        if len(fmt) < 16:
            raise AudioFileError(f"WAV fmt chunk too short: {path}")
        rate, block_align = (
            struct.unpack_from("<I", fmt, 4)[0],
            struct.unpack_from("<H", fmt, 12)[0],
        )
        frames = data.size // block_align if block_align else 0
        if beats is None and bpm is not None and rate:
            beats = round(bpm * frames / rate / 60)

        kept: list[_Chunk] = []
        info: list[tuple[bytes, bytes]] = []
        for chunk in chunks:
            if chunk.cid in _MANAGED:
                continue
            if _is_info(src, chunk):
                info += [e for e in _info_entries(_body(src, chunk)) if e[0] not in _INFO_FIELDS]
                continue
            kept.append(chunk)
        for sid, value in ((b"INAM", title), (b"ICMT", comment), (b"ISFT", software)):
            if value:
                info.append((sid, value.replace("\0", "").encode("utf-8") + b"\0"))

        flags = (0 if loop else _ACID_ONE_SHOT) | (_ACID_STRETCH if loop and bpm else 0)
        if root is not None:
            flags |= _ACID_ROOT_SET
        note = _ACID_ROOT_C + (root or 0)
        extra = _chunk_bytes(
            b"acid", _ACID.pack(flags, note, 0x8000, 0.0, beats or 0, 4, 4, bpm or 0.0)
        )
        if loop:
            unity = _MIDDLE_C + (root or 0)
            period = round(1e9 / rate) if rate else 0
            smpl = _SMPL.pack(0, 0, period, unity, 0, 0, 0, 1, 0)
            extra += _chunk_bytes(
                b"smpl", smpl + _SMPL_LOOP.pack(0, 0, 0, max(frames - 1, 0), 0, 0)
            )
        if info:
            extra += _chunk_bytes(b"LIST", b"INFO" + b"".join(_chunk_bytes(s, v) for s, v in info))

        riff_size = 4 + sum(8 + c.size + (c.size & 1) for c in kept) + len(extra)
        if riff_size > _MAX_RIFF:
            raise AudioFileError(f"WAV file would exceed 4 GiB with metadata: {path}")
        with _atomic_target(path) as dst:
            dst.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE")
            for chunk in kept:
                dst.write(chunk.cid + struct.pack("<I", chunk.size))
                _copy(src, dst, chunk.offset, chunk.size)
                if chunk.size & 1:
                    dst.write(b"\0")
            dst.write(extra)


def _copy(src: BinaryIO, dst: BinaryIO, offset: int, size: int) -> None:
    """Stream a chunk body: the data chunk of a long track is too big to hold twice in memory."""
    src.seek(offset)
    while size > 0:
        block = src.read(min(size, _COPY_BLOCK))
        if not block:
            raise AudioFileError("WAV file shrank while metadata was being added")
        dst.write(block)
        size -= len(block)


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace") or None


def read_wav_metadata(path: Path) -> WavMetadata:
    """Parse the metadata chunks independently of the writer, for tests and ``tracks show``."""
    path = Path(path)
    with path.open("rb") as handle:
        chunks = _walk(handle, path)
        values: dict[str, object] = {"chunk_ids": tuple(c.cid.decode("latin-1") for c in chunks)}
        acid = _find(chunks, b"acid")
        if acid is not None and acid.size >= _ACID.size:
            flags, note, _, _, beats, _, _, tempo = _ACID.unpack(_body(handle, acid)[: _ACID.size])
            values["bpm"] = float(tempo) if tempo > 0 else None
            values["beats"] = beats or None
            values["is_loop"] = not flags & _ACID_ONE_SHOT
            if flags & _ACID_ROOT_SET:
                values["root_note"] = PITCH_CLASSES[(note - _ACID_ROOT_C) % 12]
        smpl = _find(chunks, b"smpl")
        if smpl is not None and smpl.size >= _SMPL.size:
            body = _body(handle, smpl)
            header = _SMPL.unpack_from(body)
            values["unity_note"] = header[3]
            if header[7] and len(body) >= _SMPL.size + _SMPL_LOOP.size:
                loop = _SMPL_LOOP.unpack_from(body, _SMPL.size)
                values.update(is_loop=True, loop_start=loop[2], loop_end=loop[3])
        for chunk in chunks:
            if _is_info(handle, chunk):
                for sid, raw in _info_entries(_body(handle, chunk)):
                    if sid in _INFO_FIELDS:
                        values[_INFO_FIELDS[sid]] = _text(raw)
    return WavMetadata(**values)  # type: ignore[arg-type]
