"""``dgx-music export ardour TRACK_ID... --out DIR``: library clips → an Ardour 7 session.

The ``export`` group is for whole projects in a DAW's own format (a single clip in another
audio format is ``tracks export``). The session code is imported inside the command, so
``dgx-music --help`` never pays for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from dgx_music.daw import ExportedSession

export_app = typer.Typer(help="Export library clips as a DAW session.", no_args_is_help=True)


@export_app.command("ardour")
def export_ardour(
    track_ids: Annotated[
        list[str], typer.Argument(help="track ids (or unique prefixes), in timeline order")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="folder to put the session folder in")],
    name: Annotated[
        str | None, typer.Option("--name", help="session name (default: from the prompt)")
    ] = None,
    stack: Annotated[
        bool, typer.Option("--stack", help="all clips at 0:00 on their own tracks")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="replace an Ardour session of the same name")
    ] = False,
    sample_rate: Annotated[
        int | None,
        typer.Option("--sample-rate", help="session rate (default: the clips' most common)"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Write an Ardour 7 session with the clips on tracks (stems and MIDI on their own).

    Clips go one after another, each on a bar line under its own tempo (or all at 0:00 with
    --stack); open the .ardour file in Ardour 7 or later.
    """
    from dgx_music.cli.context import fail, open_service
    from dgx_music.cli.output import print_json
    from dgx_music.daw import ArdourExportError, export_ardour_session

    with open_service() as service:
        try:
            exported = export_ardour_session(
                service,
                track_ids,
                out,
                name=name,
                stack=stack,
                force=force,
                sample_rate=sample_rate,
            )
        except ArdourExportError as exc:
            fail(str(exc))
    if json_output:
        print_json(_summary(exported))
        return
    _print_summary(exported)


def _summary(exported: ExportedSession) -> dict[str, object]:
    plan = exported.plan
    rate = plan.sample_rate
    return {
        "session": str(exported.session_file),
        "folder": str(exported.folder),
        "name": plan.title,
        "sample_rate": rate,
        "duration": plan.end / rate,
        "tempos": [{"bpm": t.bpm, "meter": str(t.meter), "bar": t.bar} for t in plan.tempos],
        "tracks": [
            {
                "name": lane.route,
                "kind": "audio",
                "channels": len(lane.files),
                "start": lane.start / rate,
                "group": lane.group,
            }
            for lane in plan.audio
        ]
        + [
            {"name": lane.route, "kind": "midi", "start": lane.start / rate, "group": lane.group}
            for lane in plan.midi
        ],
        "markers": [{"name": m.name, "at": m.start / rate} for m in plan.markers],
        "loop": None
        if plan.loop is None
        else [plan.loop.start / rate, (plan.loop.end or 0) / rate],
        "resampled": list(exported.resampled),
    }


def _print_summary(exported: ExportedSession) -> None:
    plan = exported.plan
    rate = plan.sample_rate
    tempos = ", ".join(f"{t.bpm:g} BPM {t.meter} from bar {t.bar}" for t in plan.tempos)
    typer.echo(f"Ardour session: {exported.session_file}")
    typer.echo(f"  {rate} Hz, {plan.end / rate:.1f} s; tempo {tempos}")
    for lane in plan.audio:
        group = f"  [{lane.group}]" if lane.group else ""
        typer.echo(f"  audio  {lane.route:<24} at {lane.start / rate:7.2f} s{group}")
    for midi in plan.midi:
        group = f"  [{midi.group}]" if midi.group else ""
        typer.echo(f"  MIDI   {midi.route:<24} at {midi.start / rate:7.2f} s{group}")
    if plan.markers:
        typer.echo("  markers: " + ", ".join(m.name for m in plan.markers))
    if plan.loop is not None and plan.loop.end is not None:
        typer.echo(f"  loop range: {plan.loop.start / rate:.2f}–{plan.loop.end / rate:.2f} s")
    if exported.resampled:
        typer.echo(f"  resampled to {rate} Hz: {', '.join(i[:8] for i in exported.resampled)}")
    typer.echo(f'open it in Ardour 7: ardour "{exported.session_file}"')


def register(app: typer.Typer) -> None:
    """Add the ``export`` group to the main app."""
    app.add_typer(export_app, name="export")
