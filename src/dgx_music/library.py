"""Where a track's files live on disk, and how they get there without ever being half-written.

Layout: ``<root>/YYYY/MM/DD/<prompt-slug>-<job id8>.<ext>`` plus, beside it, a ``.json`` sidecar,
a ``.mid`` file and a ``.stems/`` folder when the engine made them. Files are first written as
hidden ``.staging`` files (each one atomically, fsynced) and renamed into place only once the
job's completion is being committed, so a crashed or cancelled job leaves nothing at any final
path.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

SLUG_MAX = 48
STAGING_SUFFIX = ".staging"


def slugify(text: str, max_length: int = SLUG_MAX) -> str:
    """ASCII, lower-case, hyphenated; never empty, never a path separator."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "clip"


@dataclass
class StagedFiles:
    """Files written under staging names, waiting to be renamed to their final paths."""

    moves: list[tuple[Path, Path]] = field(default_factory=list)

    def add(self, final: Path) -> Path:
        staging = final.with_name(f".{final.name}{STAGING_SUFFIX}")
        self.moves.append((staging, final))
        return staging

    def publish(self) -> None:
        directories = set()
        for staging, final in self.moves:
            os.replace(staging, final)
            directories.add(final.parent)
        for directory in directories:
            _fsync_directory(directory)

    def discard(self) -> None:
        for staging, _final in self.moves:
            staging.unlink(missing_ok=True)
        for _staging, final in self.moves:
            if final.parent.name.endswith(".stems"):
                _remove_if_empty(final.parent)


class Library:
    def __init__(self, root: Path) -> None:
        self.root = root

    def track_base(self, prompt: str, job_id: str, when: datetime) -> PurePosixPath:
        """Relative path of a track without extension, e.g. ``2026/11/27/lofi-hip-hop-1a2b3c4d``."""
        return PurePosixPath(f"{when:%Y/%m/%d}") / f"{slugify(prompt)}-{job_id[:8]}"

    def absolute(self, relative: str | PurePosixPath) -> Path:
        path = (self.root / str(relative)).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"{relative} is outside the library")
        return path

    def delete_files(self, relative_paths: list[str]) -> None:
        """Remove a track's files; folders left empty are removed up to the library root."""
        for relative in relative_paths:
            path = self.absolute(relative)
            path.unlink(missing_ok=True)
            parent = path.parent
            while parent != self.root.resolve() and parent.is_relative_to(self.root.resolve()):
                if not _remove_if_empty(parent):
                    break
                parent = parent.parent


def copy_atomic(source: Path, destination: Path) -> Path:
    """Copy a finished file to a user-chosen path without exposing a partial copy there."""
    destination = destination.expanduser()
    if destination.is_dir():
        destination = destination / source.name
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.tmp-{os.getpid()}")
    try:
        shutil.copyfile(source, temporary)
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
    return destination


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_if_empty(directory: Path) -> bool:
    try:
        directory.rmdir()
    except OSError:
        return False
    return True
