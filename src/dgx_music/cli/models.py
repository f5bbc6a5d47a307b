"""``dgx-music models list|pull`` and ``dgx-music doctor``: weights on disk, and a fit GPU box.

Everything heavy (huggingface_hub, torch) is imported inside the commands, so that
``dgx-music --help`` stays instant on machines with or without the musicgen extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from dgx_music.cli.context import EXIT_BAD_INPUT, EXIT_JOB_FAILED, fail, user_errors

if TYPE_CHECKING:
    from dgx_music.config import Settings

models_app = typer.Typer(
    help="MusicGen checkpoints: what exists, what is on disk.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
INSTALL_HINT = "pip install 'dgx-music[musicgen]'"


def register(app: typer.Typer) -> None:
    """Add the model and health commands to the main app."""
    app.add_typer(models_app, name="models")
    app.command("doctor")(doctor)


def _settings() -> Settings:
    from dgx_music.config import load_settings

    with user_errors():
        return load_settings()


@models_app.command("list")
def models_list(json_output: JsonOpt = False) -> None:
    """Every known MusicGen checkpoint (and the configured one), and which are on disk."""
    from dgx_music.cli.output import print_json
    from dgx_music.engines.musicgen import catalog
    from dgx_music.engines.musicgen.health import human_size

    settings = _settings()
    configured = catalog.canonical_name(settings.musicgen_model)
    try:
        found = catalog.statuses(extra=(configured,), cache_dir=settings.models_dir)
    except ImportError as exc:
        fail(f"cannot look for weights ({exc}): {INSTALL_HINT}", EXIT_JOB_FAILED)
    rows: list[dict[str, Any]] = [
        {
            "name": status.name,
            "default": status.name == configured,
            "parameters": status.info.parameters if status.info else None,
            "stereo": status.info.stereo if status.info else None,
            "melody": status.info.melody if status.info else None,
            "on_disk": status.path is not None,
            "size_bytes": status.size_bytes,
            "size": human_size(status.size_bytes) if status.size_bytes is not None else None,
            "path": str(status.path) if status.path is not None else None,
        }
        for status in found
    ]
    if json_output:
        print_json(rows)
        return
    _print_models_table(rows, settings)


def _print_models_table(rows: list[dict[str, Any]], settings: Settings) -> None:
    from rich.console import Console
    from rich.table import Table

    cache = settings.models_dir or "the Hugging Face cache"
    table = Table(title=f"MusicGen models (cache: {cache}; * = DGX_MUSIC_MUSICGEN_MODEL)")
    for column in ("", "name", "decoder", "stereo", "melody", "on disk", "size"):
        table.add_column(column, no_wrap=True)
    table.add_column("path", overflow="fold", min_width=14)

    def flag(value: bool | None) -> str:
        return "–" if value is None else ("yes" if value else "no")

    for row in rows:
        table.add_row(
            "*" if row["default"] else "",
            row["name"],
            row["parameters"] or "–",
            flag(row["stereo"]),
            flag(row["melody"]),
            "[green]yes[/]" if row["on_disk"] else "no",
            row["size"] or "–",
            row["path"] or "–",
        )
    Console().print(table)


@models_app.command("pull")
def models_pull(
    name: Annotated[
        str, typer.Argument(help="e.g. small, musicgen-medium, facebook/musicgen-large")
    ],
) -> None:
    """Download a checkpoint into the model cache (DGX_MUSIC_MODELS_DIR); resumes if cut off."""
    from dgx_music.engines.musicgen import catalog
    from dgx_music.engines.musicgen.health import human_size

    settings = _settings()
    name = catalog.canonical_name(name)
    if catalog.is_local_path(name):
        fail(
            f"{name} is a local path, not a Hub repo id: nothing to pull; set "
            "DGX_MUSIC_MUSICGEN_MODEL to a checkpoint directory to use one"
        )
    if name not in catalog.KNOWN_MODELS and "/" not in name:
        known = ", ".join(catalog.KNOWN_MODELS)
        fail(f"unknown model {name!r}; known models: {known} (or any Hub repo id, owner/name)")
    try:
        path = catalog.locate(name, settings.models_dir)
    except ImportError as exc:
        fail(f"cannot download weights ({exc}): {INSTALL_HINT}", EXIT_JOB_FAILED)
    if path is not None:
        size = human_size(catalog.size_on_disk(path))
        typer.echo(f"{name} is already on disk: {path} ({size})")
        return
    try:
        path = catalog.pull(name, settings.models_dir)
    except KeyboardInterrupt:
        fail("interrupted; run the same command again to resume the download", 130)
    except Exception as exc:
        message, code = _download_error(name, exc)
        if message is None:
            raise
        fail(message, code)
    size = human_size(catalog.size_on_disk(path))
    typer.echo(f"{name}: {size} in {path}")
    if name != catalog.canonical_name(settings.musicgen_model):
        typer.echo(f"to use it: export DGX_MUSIC_MUSICGEN_MODEL={name}")


def _download_error(name: str, exc: Exception) -> tuple[str | None, int]:
    """One line a user can act on, or None for an error that is a bug and needs its traceback."""
    from huggingface_hub import constants, errors

    from dgx_music.engines.musicgen.catalog import ModelNotFound

    offline = (
        f"cannot download {name}: offline mode is on (HF_HUB_OFFLINE=1); unset it, or copy a "
        "checkpoint to this machine and set DGX_MUSIC_MUSICGEN_MODEL to its directory"
    )
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return offline, EXIT_JOB_FAILED
    if isinstance(exc, errors.GatedRepoError):
        return (
            f"{name} is gated: accept its terms on the Hub, then log in with `hf auth login`",
            EXIT_JOB_FAILED,
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        return f"no repository {name} on the Hugging Face Hub (or it is private)", EXIT_BAD_INPUT
    if isinstance(exc, errors.LocalEntryNotFoundError):
        if constants.HF_HUB_OFFLINE:
            return offline, EXIT_JOB_FAILED
        cause = exc.__cause__ or exc.__context__
        why = _one_line(cause) if cause is not None else "no connection"
        return (
            f"cannot download {name}: the Hugging Face Hub ({constants.ENDPOINT}) is unreachable "
            f"({why}); check the network or proxy settings and try again",
            EXIT_JOB_FAILED,
        )
    if isinstance(exc, ModelNotFound):
        return str(exc), EXIT_JOB_FAILED
    if isinstance(exc, (errors.HfHubHTTPError, OSError, ConnectionError, TimeoutError)):
        return f"download of {name} failed: {_one_line(exc)}", EXIT_JOB_FAILED
    if type(exc).__module__.startswith(("httpx", "requests", "urllib3")):
        return f"download of {name} failed: {_one_line(exc)}", EXIT_JOB_FAILED
    return None, EXIT_JOB_FAILED


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def doctor(json_output: JsonOpt = False) -> None:
    """Check that this machine can run MusicGen: torch, CUDA, GPU, memory, disk, weights."""
    from dgx_music.cli.output import print_json
    from dgx_music.engines.musicgen.health import run_checks

    settings = _settings()
    checks = run_checks(settings)
    if json_output:
        print_json([check.as_dict() for check in checks])
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="dgx-music doctor")
        table.add_column("check", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("detail", overflow="fold")
        style = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]"}
        for check in checks:
            table.add_row(check.name, style[check.status.value], check.detail)
        Console().print(table)
    failed = [check for check in checks if not check.ok]
    for check in failed:
        typer.echo(f"error: {check.name}: {check.detail}", err=True)
    if failed:
        raise typer.Exit(EXIT_JOB_FAILED)
