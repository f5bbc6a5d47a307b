"""``dgx-music library check [--repair] [--quick] [--json]``: do the rows and the files agree?

Exit 0 when nothing is wrong (or everything found was repaired), 1 when problems remain.
"""

from __future__ import annotations

from typing import Annotated

import typer

library_app = typer.Typer(help="The library folder as a whole.", no_args_is_help=True)


@library_app.command("check")
def check(
    repair: Annotated[
        bool, typer.Option("--repair", help="fix what is safe to fix; say what was left")
    ] = False,
    quick: Annotated[
        bool, typer.Option("--quick", help="compare sizes only, skip hashing the audio")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Find rows without files, files without rows, changed audio and interrupted writes."""
    from dataclasses import asdict

    from dgx_music.cli.context import EXIT_JOB_FAILED, open_service
    from dgx_music.cli.output import print_json
    from dgx_music.library_check import check_library

    with open_service() as service:
        report = check_library(service, repair=repair, verify=not quick)
    unresolved = report.unresolved
    if json_output:
        print_json(
            {
                "ok": not unresolved,
                "tracks": report.tracks,
                "files": report.files,
                "findings": [asdict(finding) for finding in report.findings],
                "repaired": len(report.findings) - len(unresolved),
                "unresolved": len(unresolved),
            }
        )
    elif not report.findings:
        typer.echo(f"library OK: {report.tracks} tracks, {report.files} files")
    else:
        for finding in report.findings:
            owner = f" (track {finding.track_id[:8]})" if finding.track_id else ""
            outcome = f" → {finding.action}" if finding.action else ""
            typer.echo(f"{finding.kind:<14} {finding.path}{owner}: {finding.detail}{outcome}")
        repaired = len(report.findings) - len(unresolved)
        found = len(report.findings)
        noun = "problem" if found == 1 else "problems"
        summary = f"{found} {noun}, {repaired} repaired, {len(unresolved)} left"
        if not repair and unresolved:
            summary += "; run with --repair to fix the safe ones"
        typer.echo(summary)
    if unresolved:
        raise typer.Exit(EXIT_JOB_FAILED)


def register(app: typer.Typer) -> None:
    """Add the library commands to the main app."""
    app.add_typer(library_app, name="library")
