"""Comparing the track catalogue with the files on disk, and repairing what is safe to repair.

Rows and files drift apart only through crashes (``delete_track`` removes the row before the
files; a killed worker leaves hidden staging files) or hands on the library folder. A repair
never destroys audio that has no row: such a file is either put back in the catalogue (its
sidecar still holds the row) or moved to ``lost+found/``. Anything a running job may still be
writing is left alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dgx_music.domain import Track
    from dgx_music.service import GenerationService

AUDIO_EXTENSIONS = (".wav", ".flac")
LOST_AND_FOUND = "lost+found"
STALE_AFTER_SECONDS = 3600.0
"""A hidden file this old is an interrupted write; younger ones may belong to a live job."""


@dataclass
class Finding:
    kind: str
    """missing-audio, missing-file, orphan, size-mismatch, sha-mismatch or stale-temp."""
    path: str
    track_id: str | None
    detail: str
    action: str | None = None
    """What ``--repair`` did about it; None while it is still a problem."""


@dataclass
class Report:
    tracks: int = 0
    files: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Finding]:
        return [f for f in self.findings if f.action is None]


def check_library(
    service: GenerationService, *, repair: bool = False, verify: bool = True
) -> Report:
    """Walk the files first and read the rows afterwards: a job publishes its files before its
    row commits, so a file seen in the walk either has a committed row or a running job by the
    time the rows are read, and is never taken for an orphan while it is being finished."""
    root = service.library.root
    now = time.time()
    stale_after = max(STALE_AFTER_SECONDS, service.settings.lease_seconds)
    files, hidden = _walk(root)
    running = _running_job_prefixes(service)
    tracks = _all_tracks(service)
    report = Report(tracks=len(tracks), files=len(files))

    referenced: set[str] = set()
    for track in tracks:
        referenced.update(_track_files(track))
        report.findings.extend(_check_track(service, track, verify=verify, repair=repair))

    for relative in hidden:
        if _job_prefix(relative) in running:
            continue
        try:
            age = now - (root / relative).stat().st_mtime
        except FileNotFoundError:  # published or discarded since the walk
            continue
        if age < stale_after:
            continue
        finding = Finding(
            "stale-temp", relative, None, f"left by an interrupted write {age:.0f} s ago"
        )
        if repair:
            (root / relative).unlink(missing_ok=True)
            finding.action = "deleted"
        report.findings.append(finding)

    orphans = [f for f in files if f not in referenced]
    groups: dict[str, list[str]] = {}
    for relative in orphans:
        groups.setdefault(_base_of(relative), []).append(relative)
    for base, members in groups.items():
        report.findings.extend(_orphan_group(service, base, members, running, repair=repair))
    return report


def _check_track(
    service: GenerationService, track: Track, *, verify: bool, repair: bool
) -> list[Finding]:
    from dgx_music.service import sidecar_of

    library = service.library
    audio = library.absolute(track.path)
    findings: list[Finding] = []
    if not audio.is_file():
        finding = Finding("missing-audio", track.path, track.id, "the row's audio file is gone")
        if repair:
            service.tracks.delete(track.id)
            library.delete_files(_track_files(track))
            finding.action = "deleted the row and its remaining files"
        return [finding]
    side = [*track.stems.values(), *([track.midi_path] if track.midi_path else [])]
    for relative in [*side, sidecar_of(track.path)]:
        if not library.absolute(relative).is_file():
            findings.append(Finding("missing-file", relative, track.id, "listed by the row"))
    size = audio.stat().st_size
    if size != track.size_bytes:
        detail = f"{size} bytes on disk, {track.size_bytes} in the row"
        findings.append(Finding("size-mismatch", track.path, track.id, detail))
    elif verify and (digest := _sha256(audio)) != track.sha256:
        detail = f"sha256 {digest[:12]}… on disk, {track.sha256[:12]}… in the row"
        findings.append(Finding("sha-mismatch", track.path, track.id, detail))
    return findings


def _orphan_group(
    service: GenerationService,
    base: str,
    members: list[str],
    running: set[str],
    *,
    repair: bool,
) -> list[Finding]:
    """Files of one ``<slug>-<job8>`` base that no row lists, repaired together."""
    findings = [Finding("orphan", m, None, "no track row lists this file") for m in members]
    if not repair:
        return findings
    if _job_prefix(base) in running:
        for finding in findings:
            finding.detail += "; its job is still running, left alone"
        return findings
    restored: set[str] = set()
    audio = [m for m in members if m.endswith(AUDIO_EXTENSIONS) and _base_of(m) == base]
    if len(audio) == 1 and (track := _restorable(service, audio[0])) is not None:
        restored = set(_track_files(track))
    for finding in findings:
        if finding.path in restored:
            finding.action = "restored the row from its sidecar"
        else:
            finding.action = (
                f"moved to {_move_to_lost_and_found(service.library.root, finding.path)}"
            )
    return findings


def _restorable(service: GenerationService, relative: str) -> Track | None:
    """Put the row back when the sidecar names this very file, its hash still matches and the
    job that made it still exists; otherwise None, and the caller keeps the files aside."""
    from sqlalchemy import insert, or_, select

    from dgx_music.domain import Track
    from dgx_music.service import sidecar_of
    from dgx_music.storage.jobs import jobs
    from dgx_music.storage.tracks import track_values, tracks

    library = service.library
    sidecar = library.absolute(sidecar_of(relative))
    try:
        data: dict[str, Any] = dict(json.loads(sidecar.read_text())["track"])
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        for name in ("lufs", "true_peak"):  # digital silence: -inf was written as null
            data[name] = float("-inf") if data[name] is None else data[name]
        track = Track(**data)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    audio = library.absolute(relative)
    if track.path != relative or audio.stat().st_size != track.size_bytes:
        return None
    if _sha256(audio) != track.sha256:
        return None
    with service.db.write() as conn:
        if conn.execute(select(jobs.c.id).where(jobs.c.id == track.job_id)).first() is None:
            return None
        clash = or_(
            tracks.c.id == track.id, tracks.c.job_id == track.job_id, tracks.c.path == track.path
        )
        if conn.execute(select(tracks.c.id).where(clash)).first() is not None:
            return None
        conn.execute(insert(tracks).values(**track_values(track)))
    return track


def _move_to_lost_and_found(root: Path, relative: str) -> str:
    target = Path(LOST_AND_FOUND) / relative
    suffix = 1
    while (root / target).exists():
        target = Path(LOST_AND_FOUND) / f"{relative}.{suffix}"
        suffix += 1
    (root / target).parent.mkdir(parents=True, exist_ok=True)
    os.replace(root / relative, root / target)
    parent = (root / relative).parent
    while parent != root and parent.is_relative_to(root):
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
    return target.as_posix()


def _walk(root: Path) -> tuple[list[str], list[str]]:
    """Visible files and hidden (staging, temp) files, relative to the root, POSIX style."""
    files: list[str] = []
    hidden: list[str] = []
    if not root.is_dir():
        return files, hidden
    for directory, subdirs, names in os.walk(root):
        here = Path(directory).relative_to(root)
        if here == Path("."):
            subdirs[:] = [d for d in subdirs if d != LOST_AND_FOUND]
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        for name in names:
            relative = (here / name).as_posix()
            (hidden if name.startswith(".") else files).append(relative)
    return sorted(files), sorted(hidden)


def _all_tracks(service: GenerationService) -> list[Track]:
    from sqlalchemy import select

    from dgx_music.storage.tracks import track_from_row, tracks

    with service.db.read() as conn:
        return [track_from_row(row) for row in conn.execute(select(tracks))]


def _running_job_prefixes(service: GenerationService) -> set[str]:
    from sqlalchemy import select

    from dgx_music.domain import JobStatus
    from dgx_music.storage.jobs import jobs

    query = select(jobs.c.id).where(jobs.c.status == JobStatus.RUNNING.value)
    with service.db.read() as conn:
        return {job_id[:8] for (job_id,) in conn.execute(query)}


def _track_files(track: Track) -> list[str]:
    from dgx_music.service import sidecar_of

    paths = [track.path, *track.stems.values(), sidecar_of(track.path)]
    return paths + ([track.midi_path] if track.midi_path else [])


def _base_of(relative: str) -> str:
    """``2026/01/02/slug-1a2b3c4d`` for the audio, sidecar, MIDI and stems of one track."""
    parts = relative.split("/")
    for index, part in enumerate(parts[:-1]):
        if part.endswith(".stems"):
            return "/".join([*parts[:index], part.removesuffix(".stems")])
    name = parts[-1].lstrip(".").removesuffix(".staging")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return "/".join([*parts[:-1], stem])


def _job_prefix(relative: str) -> str:
    """The job id's first 8 characters, which end every track's file name."""
    return _base_of(relative).rsplit("-", 1)[-1]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
