"""Other formats and sample rates of a library clip, made once and kept in a cache.

The library holds one lossless master per clip; ``?format=mp3`` or ``?sample_rate=44100``
asks for a derived copy. It is encoded by the same code as ``tracks export`` into
``<data_dir>/cache/exports/`` under a name made of the track id, the master's hash and the
request, so a second request (or a seek: a player sends many range requests) is served from
the file, and a changed master can never be answered with a stale copy. Files are written
atomically, so two requests converting at once both end with a whole file.

The cache is bounded (``api_conversion_cache_bytes``): each hit marks its file as used (its
modification time), and each new conversion deletes the least recently used files until the
rest fit. A file used in the last ``IN_USE_SECONDS`` is never deleted, so a response still
being sent (or a player's next range request) always finds its file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from dgx_music.config import Settings
from dgx_music.domain import Track

EXPORT_DIR = "exports"
IN_USE_SECONDS = 300.0


def cache_dir(settings: Settings) -> Path:
    return settings.cache_root / EXPORT_DIR


def converted(
    settings: Settings, track: Track, master: Path, fmt: str, sample_rate: int | None
) -> Path:
    """The clip as ``fmt`` at ``sample_rate`` (None: the master's): the master itself when
    nothing changes, else a cached conversion. Raises EncodeError for impossible requests."""
    from dgx_music.audio.encode import EXTENSIONS, OPUS_RATE, check_request, export_file

    check_request(fmt, None, sample_rate)
    rate = OPUS_RATE if fmt == "opus" else (sample_rate or track.sample_rate)
    if fmt == track.format and rate == track.sample_rate:
        return master
    directory = cache_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{track.id}-{track.sha256[:16]}-{rate}{EXTENSIONS[fmt]}"
    if not _mark_used(target):
        export_file(master, target, fmt, sample_rate=sample_rate)
        prune(directory, settings.api_conversion_cache_bytes, keep=target)
    return target


def _mark_used(path: Path) -> bool:
    """Mark a cached file as just used; False when there is none."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def _used_since(path: Path, moment: float) -> bool:
    """Looked at again right before deleting: another request may have just used it."""
    try:
        return path.stat().st_mtime >= moment
    except OSError:
        return False


def prune(directory: Path, limit: int, keep: Path | None = None) -> int:
    """Delete the least recently used conversions until the folder holds ``limit`` bytes or
    only files in use remain; returns how many bytes were freed."""
    entries = []
    for path in directory.iterdir():
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    recent = time.time() - IN_USE_SECONDS
    freed = 0
    for used, size, path in sorted(entries):
        if total - freed <= limit:
            break
        if used >= recent or path == keep or _used_since(path, recent):
            continue
        path.unlink(missing_ok=True)
        freed += size
    return freed


def forget(settings: Settings, track: Track) -> None:
    """Remove the cached conversions of a deleted track (its id is a UUID from the catalogue)."""
    directory = cache_dir(settings)
    if directory.is_dir():
        for path in directory.glob(f"{track.id}-*"):
            path.unlink(missing_ok=True)
