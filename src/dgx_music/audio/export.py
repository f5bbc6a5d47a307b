"""Writing and reading audio files, crash-safely.

Every file the service produces is written to a hidden temp file next to its destination,
fsynced, renamed over the destination and the directory fsynced. A reader (the library scan,
a download, a sidecar hash check) therefore sees either the old file or the complete new one,
never a truncated WAV whose header promises frames that are not there; a crash or a failed write
leaves at most a ``.*.tmp`` file that a cleanup pass can recognise.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import soundfile

from dgx_music.domain import AudioClip

__all__ = [
    "AudioFileError",
    "read_audio",
    "sha256_file",
    "write_audio",
    "write_bytes_atomic",
]

_SUBTYPES: dict[tuple[str, str], str] = {
    ("wav", "16"): "PCM_16",
    ("wav", "24"): "PCM_24",
    ("wav", "32f"): "FLOAT",
    ("flac", "16"): "PCM_16",
    ("flac", "24"): "PCM_24",
}
_FORMATS = {"wav": "WAV", "flac": "FLAC"}
_HASH_CHUNK = 1 << 20


class AudioFileError(ValueError):
    """A file that cannot be used as audio: missing, unreadable, empty or not an audio format."""


def _fsync_directory(directory: Path) -> None:
    """Persist a rename. Best effort: some platforms and file systems cannot open or fsync a
    directory, and by now the file itself is complete and in place."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    with contextlib.suppress(OSError):
        fd = os.open(directory, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _atomic_target(path: Path) -> Iterator[BinaryIO]:
    """Yield a binary file that becomes ``path`` only if the ``with`` block completes.

    The temp file is created with O_EXCL and mode 0o666 so the final file gets the usual
    umask-derived permissions (mkstemp would make it 0600). The parent directory must exist.
    """
    path = Path(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(path.parent)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Atomically write ``data`` to ``path`` (MIDI files, JSON sidecars); returns ``path``.

    On any error nothing is left at ``path`` that was not there before, and the temp file is
    removed. The parent directory must already exist.
    """
    with _atomic_target(path) as handle:
        handle.write(data)
    return Path(path)


def write_audio(
    path: Path,
    clip: AudioClip,
    fmt: Literal["wav", "flac"],
    bit_depth: Literal["16", "24", "32f"],
) -> Path:
    """Atomically encode ``clip`` to ``path`` as WAV (16/24-bit PCM or 32-bit float) or FLAC
    (16/24-bit); returns ``path``.

    PCM output is clipped to [-1, 1] first: libsndfile's float-to-integer conversion does not
    clip by default, and an overshoot would wrap to full-scale of the opposite sign. Raises
    ValueError for FLAC at 32f (FLAC has no float samples), an unknown format, an empty clip or
    NaN/inf samples; errors from the encoder or the file system propagate after cleanup.
    """
    if fmt not in _FORMATS:
        raise ValueError(f"unsupported audio format {fmt!r}; use 'wav' or 'flac'")
    subtype = _SUBTYPES.get((fmt, bit_depth))
    if subtype is None:
        if fmt == "flac" and bit_depth == "32f":
            raise ValueError("FLAC cannot store 32-bit float samples; use bit depth 16 or 24")
        raise ValueError(f"unsupported bit depth {bit_depth!r} for {fmt}; use '16', '24' or '32f'")
    if clip.frames == 0:
        raise ValueError("refusing to write an empty clip (0 frames)")
    if not np.all(np.isfinite(clip.samples)):
        raise ValueError("audio contains NaN or infinite samples")
    data = np.asarray(clip.samples, dtype=np.float32)
    if subtype != "FLOAT":
        data = np.clip(data, -1.0, 1.0)
    with _atomic_target(path) as handle:
        soundfile.write(handle, data, clip.sample_rate, subtype=subtype, format=_FORMATS[fmt])
    return Path(path)


def read_audio(path: Path) -> AudioClip:
    """Decode an audio file to a float32 clip of shape ``[frames, channels]``.

    Raises AudioFileError (a ValueError) with a one-line message for a missing, unreadable,
    empty or non-audio file, so callers can report it to the user as-is.
    """
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"audio file not found: {path}")
    if not path.is_file():
        raise AudioFileError(f"not a regular file: {path}")
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError, OSError, ValueError, TypeError) as exc:
        # soundfile raises LibsndfileError (a RuntimeError) for undecodable data; its message can
        # span lines, so it is flattened.
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise AudioFileError(f"cannot read audio from {path}: {reason}") from exc
    if samples.shape[0] == 0:
        raise AudioFileError(f"audio file has no frames: {path}")
    return AudioClip(samples=np.ascontiguousarray(samples, dtype=np.float32), sample_rate=int(rate))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks so large files cost no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
