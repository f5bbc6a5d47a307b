"""``dgx-music serve``: the REST API and, by default, one worker, in one process — or, with
``--processes N``, N API processes on one port beside ``--workers`` worker processes.

One process is the simple installation: the API's event loop and the job threads (run at a
lower CPU priority) share it. It answers from one CPU core, though, and Python runs one thread
at a time, so on a box that takes many clients ``--processes`` starts several API processes
(each binding the port with SO_REUSEPORT, the kernel spreading connections between them) and
runs the workers as ``dgx-music worker`` processes of their own, all watched and replaced
when one dies (``supervise.py``). Everything they share is in the database: the queue, the
library and the generation rate limits (``storage/rate_limits.py``), so a client sees one
service.

FastAPI and uvicorn are imported inside the command, so that ``dgx-music --help`` and every
other command stay as fast as before.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Annotated

import typer

from dgx_music.cli.context import fail, user_errors

if TYPE_CHECKING:
    from dgx_music.config import Settings

SHUTDOWN_SECONDS = 5
"""How long open connections (event streams) may linger once the server is told to stop."""
WORKER_GRACE_SECONDS = 10.0
"""At shutdown, how long worker processes may finish their jobs before they hand them back."""

log = logging.getLogger(__name__)


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
            "--workers",
            min=0,
            max=64,
            help="workers running queued jobs (0: API only; run `dgx-music worker` elsewhere)",
        ),
    ] = 1,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            max=64,
            help="API processes sharing the port; with more than one, each worker is a "
            "process of its own",
        ),
    ] = 1,
    reuse_port: Annotated[
        bool, typer.Option("--reuse-port", hidden=True, help="one of --processes' children")
    ] = False,
) -> None:
    """Serve the REST API (docs at /docs) and run queued jobs beside it.

    Ctrl-C or SIGTERM stops taking requests, lets running jobs finish for a few seconds and
    hands any still running back to the queue.
    """
    from dgx_music.config import load_settings

    with user_errors():
        settings = load_settings()
        refusal = refuse_unsafe_bind(host, settings)
    if refusal is not None:
        fail(refusal)
    if processes > 1:
        _supervise(settings, host, port, processes, workers)
        return
    import gc

    import uvicorn

    from dgx_music.api import create_app

    with user_errors():
        app = create_app(settings, workers=0 if reuse_port else workers)
    # After the app (and its schema upgrade) exists, as `worker` does: migrations stay quiet.
    _log_like_worker(settings)
    config = uvicorn.Config(
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
    server = uvicorn.Server(config)
    # The app, its routes and every module loaded so far live as long as the process; frozen,
    # the garbage collector stops re-scanning them. A full collection of those ~100,000
    # objects took 65-95 ms on the 2-core test machine: a pause every open request waits
    # through, the size of the load benchmark's p99 goals.
    gc.freeze()
    if not reuse_port:
        server.run()
        return
    from dgx_music.cli.supervise import reuse_port_socket, stop_with_supervisor

    stop_with_supervisor()
    server.run(sockets=[reuse_port_socket(host, port)])


def _supervise(settings: Settings, host: str, port: int, processes: int, workers: int) -> None:
    """``processes`` API processes, each binding ``host``:``port`` with SO_REUSEPORT, and
    ``workers`` worker processes, until SIGTERM or Ctrl-C (``supervise.py``)."""
    import signal

    from dgx_music.cli.supervise import Children, reuse_port_socket, wait_for_stop_signal
    from dgx_music.service import GenerationService

    with user_errors():  # upgrade the schema once, before any process opens the database
        GenerationService(settings).close()
    try:
        reuse_port_socket(host, port).close()  # taken by another program: say so here, once
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    _log_like_worker(settings)
    api = Children("API", ["serve", "--host", host, "--port", str(port), "--reuse-port"], processes)
    crew = Children("worker", ["worker"], workers)
    crew.start()
    api.start()
    log.info(
        "serving on http://%s:%d with %d API processes and %d workers",
        host,
        port,
        processes,
        workers,
    )
    stopped_by = wait_for_stop_signal()
    log.info("%s: stopping the API processes, then the workers", stopped_by.name)
    api.stop(SHUTDOWN_SECONDS + 5.0, then=signal.SIGKILL)
    crew.stop(WORKER_GRACE_SECONDS, then=signal.SIGTERM)


def _log_like_worker(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
