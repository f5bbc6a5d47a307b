"""``dgx-music keys add|list|rm``: the API keys that ``dgx-music serve`` accepts.

Keys live in the keys file (``api_keys_file``, default ``<data dir>/api-keys``) as
``name:sha256`` lines. ``add`` prints the new key once, on stdout alone so that a script can
capture it; nothing can show it again. A running server notices changes without a restart.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dgx_music.cli.context import user_errors

keys_app = typer.Typer(help="API keys for `dgx-music serve`.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="who or what uses the key, e.g. studio-laptop")]


@keys_app.command("add")
def add(name: NameArg) -> None:
    """Make a key, store only its hash, and print the key (this once)."""
    from dgx_music.api_keys import add_key
    from dgx_music.config import load_settings

    with user_errors():
        settings = load_settings()
        key = add_key(settings.api_keys_path, name)
    typer.echo(key)
    typer.echo(
        f"key {name!r} added to {settings.api_keys_path}. It is shown only now: clients send "
        "`Authorization: Bearer <key>`.",
        err=True,
    )


@keys_app.command("list")
def list_keys() -> None:
    """The names of the keys the server accepts (the keys themselves are not stored)."""
    from dgx_music.api_keys import read_keys_file, setting_entries
    from dgx_music.config import load_settings

    with user_errors():
        settings = load_settings()
        entries = setting_entries(settings) + read_keys_file(settings.api_keys_path)
    for entry in entries:
        typer.echo(entry.name)
    if not entries:
        typer.echo("no API keys: the API is open to whoever can reach it", err=True)


@keys_app.command("rm")
def remove(name: NameArg) -> None:
    """Remove a key from the keys file; a running server refuses it from then on."""
    from dgx_music.api_keys import remove_key
    from dgx_music.config import load_settings

    with user_errors():
        settings = load_settings()
        remove_key(settings.api_keys_path, name)
    typer.echo(f"key {name!r} removed")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
