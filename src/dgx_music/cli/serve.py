"""``dgx-music serve``: the REST API and, by default, one worker, in one process.

FastAPI and uvicorn are imported inside the command, so that ``dgx-music --help`` and every
other command stay as fast as before.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated

import typer

from dgx_music.cli.context import fail, user_errors

if TYPE_CHECKING:
    from dgx_music.config import Settings

SHUTDOWN_SECONDS = 5
"""How long open connections (event streams) may linger once the server is told to stop."""


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def is_loopback(host: str) -> bool:
    """Whether ``host`` can only be reached from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def refuse_unsafe_bind(host: str, settings: Settings) -> str | None:
    """Why listening on ``host`` is refused, or None when it is allowed.

    Loopback is always allowed. Any other address is allowed when API keys are configured
    (the ``api_keys`` setting or the keys file), since every route but the health checks then
    needs one, or when ``allow_insecure_bind`` says the network is trusted. Otherwise anyone
    on the network could queue jobs and delete tracks.
    """
    from dgx_music.api_keys import configured_keys

    if is_loopback(host) or settings.allow_insecure_bind or configured_keys(settings):
        return None
    return (
        f"refusing to listen on {host} without API keys: anyone on the network could queue "
        "jobs and delete tracks. Make a key with `dgx-music keys add NAME` (clients then send "
        "`Authorization: Bearer <key>`), listen on 127.0.0.1 behind a proxy, or set "
        "DGX_MUSIC_ALLOW_INSECURE_BIND=true on a network you trust"
    )


def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=0, max=64, help="worker threads in this process (0: API only)"
        ),
    ] = 1,
) -> None:
    """Serve the REST API (docs at /docs) and run queued jobs in this process.

    Ctrl-C or SIGTERM stops taking requests, lets running jobs finish for a few seconds and
    hands any still running back to the queue.
    """
    import logging

    from dgx_music.config import load_settings

    with user_errors():
        settings = load_settings()
        refusal = refuse_unsafe_bind(host, settings)
    if refusal is not None:
        fail(refusal)
    import uvicorn

    from dgx_music.api import create_app

    with user_errors():
        app = create_app(settings, workers=workers)
    # After the app (and its schema upgrade) exists, as `worker` does: migrations stay quiet.
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        # X-Forwarded-For is read by the app itself, and only from `trusted_proxies`
        # (api/clients.py); uvicorn must not rewrite the client address before it looks.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
    )
