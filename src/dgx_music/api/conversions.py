"""Other formats and sample rates of a library clip, made once and kept in a cache.

The library holds one lossless master per clip; ``?format=mp3`` or ``?sample_rate=44100``
asks for a derived copy. It is encoded by the same code as ``tracks export`` into
``<data_dir>/cache/exports/`` under a name made of the track id, the master's hash and the
request, so a second request (or a seek: a player sends many range requests) is served from
the file, and a changed master can never be answered with a stale copy. Files are written
atomically, so two requests converting at once both end with a whole file.
"""

from __future__ import annotations

from pathlib import Path

from dgx_music.config import Settings
from dgx_music.domain import Track

EXPORT_DIR = "exports"


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
    if not target.is_file():
        export_file(master, target, fmt, sample_rate=sample_rate)
    return target


def forget(settings: Settings, track: Track) -> None:
    """Remove the cached conversions of a deleted track (its id is a UUID from the catalogue)."""
    directory = cache_dir(settings)
    if directory.is_dir():
        for path in directory.glob(f"{track.id}-*"):
            path.unlink(missing_ok=True)
