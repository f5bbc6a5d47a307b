"""Library tracks → an Ardour 7 session folder (CLI) or a zip of one (REST API).

Everything is checked before anything is written (the tracks exist, their files are there, the
target is free or ``force`` may replace it), then the session is built in a hidden folder
beside its destination and renamed into place only when complete. A failure at any point —
a bad id, a full disk, a file that vanished — leaves nothing behind but what was there before.
``force`` replaces an existing folder only if it is an Ardour session of that name, so a
mistyped ``--name`` can never wipe an unrelated folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dgx_music.daw.ardour_xml import session_document
from dgx_music.daw.build import Clip, clamp_bpm, session_rate, write_session_files
from dgx_music.daw.naming import display_name, file_safe
from dgx_music.daw.plan import SessionPlan

if TYPE_CHECKING:
    from dgx_music.domain import GenerationRequest, Track
    from dgx_music.service import GenerationService

MAX_CLIPS = 32
SAMPLE_RATES = (22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000)
"""Rates a session may be asked for: those audio interfaces (and Ardour's engine) run at."""


class ArdourExportError(ValueError):
    """Bad input for an export (target taken, unwritable, bad name); the message says why."""


class TargetNotWritable(ArdourExportError):
    """The file system refused a write (permissions, a full disk, a name too long)."""


class MissingTrackFile(ArdourExportError):
    """A track's audio, stem or MIDI file is not in the library (deleted or moved by hand)."""


@dataclass(frozen=True)
class ExportedSession:
    folder: Path
    session_file: Path
    plan: SessionPlan
    resampled: tuple[str, ...]
    """Ids of the tracks whose audio was resampled to the session's rate."""


@dataclass(frozen=True)
class ZippedSession:
    path: Path
    filename: str
    workdir: Path
    """Delete this folder (it holds ``path``) once the zip has been sent."""


def export_ardour_session(
    service: GenerationService,
    track_ids: Sequence[str],
    out_dir: Path,
    *,
    name: str | None = None,
    stack: bool = False,
    force: bool = False,
    sample_rate: int | None = None,
) -> ExportedSession:
    """Write ``<out_dir>/<name>/<name>.ardour`` and its files for the tracks, in order.

    Raises TrackNotFound for an unknown id and ArdourExportError for any other bad input or a
    target that cannot be written; in both cases nothing has been written.
    """
    clips = load_clips(service, track_ids)
    title, folder_name = session_names(name, clips)
    if sample_rate is not None and sample_rate not in SAMPLE_RATES:
        rates = ", ".join(str(r) for r in SAMPLE_RATES)
        raise ArdourExportError(f"sample rate {sample_rate} Hz is not one of {rates}")
    rate = sample_rate or session_rate(clips)
    out_dir = out_dir.expanduser().absolute()
    target = out_dir / folder_name
    _check_target(out_dir, target, force)
    created = _first_missing(out_dir)
    partial = out_dir / f".{folder_name}.partial-{secrets.token_hex(4)}"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        partial.mkdir()
        plan = write_session_files(
            clips,
            partial,
            folder_name,
            name=folder_name,
            title=title,
            rate=rate,
            stack=stack,
            description=_description(clips),
            comment=f"{len(clips)} clip(s) from the dgx-music library",
        )
        session_document(plan).write(
            partial / f"{folder_name}.ardour", encoding="UTF-8", xml_declaration=True
        )
        _publish(partial, target, force)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            raise TargetNotWritable(f"cannot write the session into {out_dir}: {reason}") from exc
        raise
    resampled = tuple(c.track.id for c in clips if c.track.sample_rate != rate)
    return ExportedSession(target, target / f"{folder_name}.ardour", plan, resampled)


def ardour_session_zip(
    service: GenerationService,
    track_ids: Sequence[str],
    *,
    name: str | None = None,
    stack: bool = False,
    sample_rate: int | None = None,
) -> ZippedSession:
    """The session as a zip (one top-level folder) in a fresh work folder under the cache;
    the caller removes ``workdir`` once it has sent the file.

    The folder is the server's own, so a write it refuses is the server's failure (OSError),
    not a bad request.
    """
    parent = service.settings.cache_root / "ardour"
    parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(os.path.realpath(_mkdtemp(parent)))
    try:
        exported = export_ardour_session(
            service, track_ids, workdir, name=name, stack=stack, sample_rate=sample_rate
        )
        filename = f"{exported.folder.name}.zip"
        archive = workdir / f"session-{secrets.token_hex(4)}.zip"
        zip_folder(exported.folder, archive)
        shutil.rmtree(exported.folder)
    except TargetNotWritable as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise OSError(str(exc)) from exc
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return ZippedSession(archive, filename, workdir)


def zip_folder(folder: Path, archive: Path) -> None:
    """``folder`` under its own name in ``archive``, empty subfolders included (Ardour expects
    them); WAVs stored as they are, since float audio barely compresses."""
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(folder, f"{folder.name}/")
        for path in sorted(folder.rglob("*")):
            name = f"{folder.name}/{path.relative_to(folder).as_posix()}"
            if path.is_dir():
                bundle.write(path, f"{name}/")
            else:
                method = zipfile.ZIP_STORED if path.suffix == ".wav" else zipfile.ZIP_DEFLATED
                bundle.write(path, name, compress_type=method)


def load_clips(service: GenerationService, track_ids: Sequence[str]) -> list[Clip]:
    """The tracks with their files and their jobs' notes; every file must be on disk."""
    from dgx_music.agreement import labelled_tempo_and_key
    from dgx_music.storage.jobs import JobNotFound

    if not track_ids:
        raise ArdourExportError("name at least one track to export")
    if len(track_ids) > MAX_CLIPS:
        raise ArdourExportError(f"{len(track_ids)} tracks; a session takes at most {MAX_CLIPS}")
    tracks = [service.tracks.get(track_id) for track_id in track_ids]
    clips = []
    for track in tracks:
        try:
            job = service.jobs.get(track.job_id)
            notes, request = dict(job.notes), job.request
        except JobNotFound:
            notes, request = {}, None
        # The grid follows the audio: the measured tempo, or the exact one the engine played
        # where it knows it (symbolic). Not the asked-for one, which the WAV's ACID label may
        # carry: MusicGen only approximates it, and a 120 grid over 118.5 drifts 0.4 s in 30 s.
        bpm, key = labelled_tempo_and_key((None, None), (track.bpm, track.key), notes)
        clips.append(
            Clip(
                track=track,
                audio=_existing(service, track, track.path),
                stems={n: _existing(service, track, p) for n, p in track.stems.items()},
                midi=_existing(service, track, track.midi_path) if track.midi_path else None,
                notes=notes,
                loop=bool(request.loop if request is not None else notes.get("loop")),
                bpm=clamp_bpm(bpm),
                key=key,
                details=_details(track, request, clamp_bpm(bpm), key),
            )
        )
    return clips


def session_names(name: str | None, clips: Sequence[Clip]) -> tuple[str, str]:
    """(title as given, folder and snapshot name safe on any file system)."""
    if name is None:
        first = display_name(clips[0].track.prompt, 40)
        title = first if len(clips) == 1 else f"{first} + {len(clips) - 1} more"
    else:
        title = display_name(name, 100)
        if not title:
            raise ArdourExportError(f"the session name {name!r} has no usable characters")
    return title, file_safe(title)


def _existing(service: GenerationService, track: Track, relative: str) -> Path:
    path = service.library.absolute(relative)
    if not path.is_file():
        raise MissingTrackFile(
            f"track {track.id[:8]}: {relative} is missing from the library "
            "(dgx-music library check finds and repairs such tracks)"
        )
    return path


def _check_target(out_dir: Path, target: Path, force: bool) -> None:
    for parent in (out_dir, *out_dir.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ArdourExportError(f"cannot write into {out_dir}: {parent} is not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ArdourExportError(f"cannot write into {out_dir}: permission denied")
            break
    if not target.exists() and not target.is_symlink():
        return
    if not force:
        raise ArdourExportError(f"{target} already exists; pass --force to replace it")
    if not (target.is_dir() and (target / f"{target.name}.ardour").is_file()):
        raise ArdourExportError(
            f"{target} exists and is not an Ardour session named {target.name!r}; "
            "--force only replaces a session, so choose another --name or --out"
        )


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (removed again on failure)."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _publish(partial: Path, target: Path, force: bool) -> None:
    if not force or not target.exists():
        if target.exists():
            raise FileExistsError(17, "appeared while exporting", str(target))
        os.rename(partial, target)
        return
    old = target.with_name(f".{target.name}.replaced-{secrets.token_hex(4)}")
    os.rename(target, old)
    try:
        os.rename(partial, target)
    except OSError:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _mkdtemp(parent: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="export-", dir=parent)


def _details(track: Track, request: GenerationRequest | None, bpm: float, key: str | None) -> str:
    """The prompt and everything needed to make the clip again, for notes and comments."""
    words = [track.engine + (f" ({track.model})" if track.model else ""), f"seed {track.seed}"]
    words += [f"{track.duration:.2f} s", f"{bpm:g} BPM"]
    if key:
        words.append(key)
    if request is not None and request.loop:
        words.append("loop")
    lines = [f'"{track.prompt}"', ", ".join(words), f"track {track.id}"]
    if request is not None:
        from dgx_music.regenerate import regenerate_command

        lines.append(regenerate_command(request, track.seed, track.engine, track.model))
    return "\n".join(lines)


def _description(clips: Sequence[Clip]) -> str:
    entries = [f"{number}. {clip.details}" for number, clip in enumerate(clips, 1)]
    return "Clips from dgx-music, in timeline order:\n\n" + "\n\n".join(entries)
