"""``dgx-music jobs …`` and ``dgx-music tracks …``: look at and act on what is stored."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import typer

from dgx_music.cli.context import open_service

jobs_app = typer.Typer(help="Queued, running and finished jobs.", no_args_is_help=True)
tracks_app = typer.Typer(help="Finished clips in the library.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, max=10_000)]
IdArg = Annotated[str, typer.Argument(help="id or a unique prefix of it")]


class StatusFilter(enum.StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


@jobs_app.command("list")
def jobs_list(
    status: Annotated[StatusFilter | None, typer.Option("--status")] = None,
    batch: Annotated[str | None, typer.Option("--batch", help="batch id")] = None,
    limit: LimitOpt = 50,
    json_output: JsonOpt = False,
) -> None:
    """Newest jobs first."""
    from rich.console import Console
    from rich.table import Table

    from dgx_music.cli.output import job_dict, print_json
    from dgx_music.domain import JobStatus

    with open_service() as service:
        found = service.jobs.list(
            status=JobStatus(status.value) if status else None, batch_id=batch, limit=limit
        )
    if json_output:
        print_json([job_dict(job) for job in found])
        return
    table = Table()
    for column in ("id", "status", "done", "engine", "length", "created"):
        table.add_column(column, no_wrap=True)
    table.add_column("prompt", overflow="fold", min_width=14)
    for job in found:
        table.add_row(
            job.id[:8],
            job.status.value,
            f"{job.progress:.0%}",
            job.request.engine,
            f"{job.request.duration:g} s",
            f"{job.created_at:%Y-%m-%d}",
            job.request.prompt[:60],
        )
    Console().print(table)


@jobs_app.command("show")
def jobs_show(job_id: IdArg, json_output: JsonOpt = False) -> None:
    """Everything recorded about one job, including what the engine understood."""
    from rich.console import Console

    from dgx_music.cli.output import job_dict, print_job, print_json

    with open_service() as service:
        job = service.job(job_id)
    if json_output:
        print_json(job_dict(job))
    else:
        print_job(Console(), job)


@jobs_app.command("cancel")
def jobs_cancel(job_id: IdArg, json_output: JsonOpt = False) -> None:
    """Cancel a queued job now, or ask a running one to stop at its next step."""
    from dgx_music.cli.output import job_dict, print_json

    with open_service() as service:
        job = service.cancel(job_id)
    if json_output:
        print_json(job_dict(job))
    elif job.status.value == "cancelled":
        typer.echo(f"job {job.id} cancelled")
    else:
        typer.echo(f"job {job.id} is running; it will stop at its next step")


@jobs_app.command("retry")
def jobs_retry(job_id: IdArg, json_output: JsonOpt = False) -> None:
    """Queue a failed or cancelled job again (a worker or `generate` runs it)."""
    from dgx_music.cli.output import job_dict, print_json

    with open_service() as service:
        job = service.retry(job_id)
    if json_output:
        print_json(job_dict(job))
    else:
        typer.echo(f"job {job.id} queued again")


@tracks_app.command("list")
def tracks_list(
    search: Annotated[str | None, typer.Option("--search", "-s", help="text in the prompt")] = None,
    bpm_min: Annotated[float | None, typer.Option("--bpm-min", help="lowest tempo")] = None,
    bpm_max: Annotated[float | None, typer.Option("--bpm-max", help="highest tempo")] = None,
    key: Annotated[str | None, typer.Option("--key", help="e.g. 'A minor' or 'Am'")] = None,
    compatible: Annotated[
        bool,
        typer.Option(
            "--compatible", help="with --key: also its relative and the keys a fifth away"
        ),
    ] = False,
    engine: Annotated[
        str | None, typer.Option("--engine", "-e", help="engine that made it")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="model that made it")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="created on or after (ISO date or time, UTC)")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="created on or before (a date includes the day)")
    ] = None,
    duration_min: Annotated[
        float | None, typer.Option("--duration-min", help="shortest, seconds")
    ] = None,
    duration_max: Annotated[
        float | None, typer.Option("--duration-max", help="longest, seconds")
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", help="created, bpm, key, duration, lufs or prompt")
    ] = "created",
    descending: Annotated[
        bool | None,
        typer.Option("--desc/--asc", help="default: newest first for created, ascending otherwise"),
    ] = None,
    limit: LimitOpt = 50,
    json_output: JsonOpt = False,
) -> None:
    """Clips, newest first unless --sort says otherwise; every filter narrows the list."""
    from dgx_music.cli.context import fail
    from dgx_music.storage.tracks import InvalidTrackFilter, TrackFilter

    try:
        where = TrackFilter(
            text=search,
            bpm_min=bpm_min,
            bpm_max=bpm_max,
            key=key,
            compatible=compatible,
            engine=engine,
            model=model,
            created_since=None if since is None else _moment(since, "--since", end=False),
            created_before=None if until is None else _moment(until, "--until", end=True),
            duration_min=duration_min,
            duration_max=duration_max,
            sort=sort,  # type: ignore[arg-type]  # checked by TrackFilter
            descending=descending,
        )
    except InvalidTrackFilter as exc:
        fail(str(exc))
    from rich.console import Console
    from rich.table import Table

    from dgx_music.cli.output import print_json, track_dict

    with open_service() as service:
        found = service.tracks.list(where, limit=limit)
        root = str(service.library.root)
    if json_output:
        print_json([track_dict(track, root) for track in found])
        return
    from dgx_music.agreement import disagreements

    flagged = {t.id: " ".join(note.split(":")[0] for note in disagreements(t)) for t in found}
    caption = "! measured tempo or key differs from what was asked: see 'tracks show'"
    table = Table(caption=caption if any(flagged.values()) else None)
    for column in ("id", "length", "bpm", "key", "LUFS", "created"):
        table.add_column(column, no_wrap=True)
    table.add_column("prompt", overflow="fold", min_width=14)
    for t in found:
        flags = flagged[t.id]
        table.add_row(
            t.id[:8],
            f"{t.duration:.1f} s",
            ("–" if t.bpm is None else f"{t.bpm:.1f}") + ("!" if "tempo" in flags else ""),
            (t.key or "–") + ("!" if "key" in flags else ""),
            f"{t.lufs:.1f}",
            f"{t.created_at:%Y-%m-%d}",
            t.prompt[:60],
        )
    Console().print(table)


def _moment(text: str, option: str, *, end: bool) -> datetime:
    """``--since``/``--until`` as an aware UTC instant (see ``parse_moment``)."""
    from dgx_music.cli.context import fail
    from dgx_music.storage.tracks import InvalidTrackFilter, parse_moment

    try:
        return parse_moment(text, end=end)
    except InvalidTrackFilter as exc:
        fail(f"{option} {exc}")


@tracks_app.command("show")
def tracks_show(track_id: IdArg, json_output: JsonOpt = False) -> None:
    """One clip: its file, measurements, stems and MIDI."""
    from rich.console import Console

    from dgx_music.cli.output import print_json, print_track, track_dict

    with open_service() as service:
        track = service.tracks.get(track_id)
        absolute = service.library.absolute(track.path)
    if json_output:
        print_json(track_dict(track, str(service.library.root)))
    else:
        print_track(Console(), track, str(absolute))


@tracks_app.command("rm")
def tracks_rm(track_id: IdArg, json_output: JsonOpt = False) -> None:
    """Delete a clip: its row and all its files together."""
    from dgx_music.cli.output import print_json

    with open_service() as service:
        track = service.delete_track(track_id)
    if json_output:
        print_json({"deleted": track.id, "path": track.path})
    else:
        typer.echo(f"deleted track {track.id} ({track.path})")


@tracks_app.command("export")
def tracks_export(
    track_id: IdArg,
    out: Annotated[str, typer.Option("--out", "-o", help="a file, or a directory to put it in")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="wav, flac, mp3, ogg or opus (default: --out's suffix)"
        ),
    ] = None,
    bit_depth: Annotated[
        str | None, typer.Option("--bit-depth", help="16, 24 or 32f; wav/flac only")
    ] = None,
    sample_rate: Annotated[
        int | None, typer.Option("--sample-rate", help="44100 or 48000 (default: the clip's)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Write a copy of a clip in another format or sample rate; the library file is untouched.

    Opus is always written at 48000 Hz (the only rate the codec runs at), resampling if needed.
    """
    from pathlib import Path

    from dgx_music.audio.encode import (
        EXTENSIONS,
        EncodeError,
        check_request,
        export_file,
        resolve_destination,
    )
    from dgx_music.audio.export import AudioFileError
    from dgx_music.cli.context import fail
    from dgx_music.cli.output import print_json

    if fmt is None:
        suffix = Path(out).suffix.lower()
        fmt = next((name for name, ext in EXTENSIONS.items() if ext == suffix), None)
        if fmt is None:
            fail("pass --format (wav, flac, mp3, ogg or opus)")
    fmt = fmt.lower()
    try:
        check_request(fmt, bit_depth, sample_rate)
    except EncodeError as exc:
        fail(str(exc))
    with open_service() as service:
        track = service.tracks.get(track_id)
        source = service.library.absolute(track.path)
    try:
        target = resolve_destination(Path(out), Path(track.path).stem, fmt, force=force)
        result = export_file(source, target, fmt, bit_depth=bit_depth, sample_rate=sample_rate)
    except (EncodeError, AudioFileError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    resampled = result.sample_rate != track.sample_rate
    if json_output:
        print_json(
            {
                "track": track.id,
                **result.as_dict(),
                "resampled_from": (track.sample_rate if resampled else None),
            }
        )
        return
    depth = f", {result.bit_depth}-bit" if result.bit_depth else ""
    typer.echo(
        f"{result.path}  {result.format}, {result.sample_rate} Hz{depth}, "
        f"{result.size_bytes / 1024:.1f} KiB"
    )
    if resampled:
        why = " (Opus is always 48000 Hz)" if fmt == "opus" and sample_rate is None else ""
        typer.echo(f"resampled from {track.sample_rate} Hz{why}")
