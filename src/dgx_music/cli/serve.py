"""``dgx-music serve``: the REST API and, by default, one worker, in one process — or, with
``--processes N``, N API processes on one port beside ``--workers`` worker processes.

One process is the simple installation: the API's event loop and the job threads (run at a
lower CPU priority) share it. It answers from one CPU core, though, and Python runs one thread
at a time, so on a box that takes many clients ``--processes`` starts several API processes
(uvicorn's supervisor, the kernel spreading connections between them, a dead one replaced)
and runs the workers as ``dgx-music worker`` processes of their own, watched and restarted by
this command. Everything they share is in the database: the queue, the library and the
generation rate limits (``storage/rate_limits.py``), so a client sees one service.

FastAPI and uvicorn are imported inside the command, so that ``dgx-music --help`` and every
other command stay as fast as before.
"""

from __future__ import annotations

import ipaddress
import logging
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dgx_music.cli.context import fail, user_errors

if TYPE_CHECKING:
    from dgx_music.config import Settings

SHUTDOWN_SECONDS = 5
"""How long open connections (event streams) may linger once the server is told to stop."""
WORKER_GRACE_SECONDS = 10.0
"""At shutdown, how long worker processes may finish their jobs before they hand them back."""
RESTART_PAUSE_SECONDS = 5.0
"""How long a worker process that died is left down before it is started again."""

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
    import uvicorn

    from dgx_music.api import create_app

    def run(target: Any, **more: Any) -> None:
        uvicorn.run(
            target,
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            # X-Forwarded-For is read by the app itself, and only from `trusted_proxies`
            # (api/clients.py); uvicorn must not rewrite the client address before it looks.
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=SHUTDOWN_SECONDS,
            **more,
        )

    if processes == 1:
        with user_errors():
            app = create_app(settings, workers=workers)
        # After the app (and its schema upgrade) exists, as `worker` does: migrations stay quiet.
        _log_like_worker(settings)
        run(app)
        return
    with user_errors():  # upgrade the schema once, before any process opens the database
        create_app(settings)
    _log_like_worker(settings)
    crew = WorkerProcesses(workers)
    crew.start()
    try:
        # Each API process builds its app from the same settings (environment and config
        # file), without job threads: the workers are the crew's processes.
        run("dgx_music.api:create_app", factory=True, workers=processes)
    finally:
        crew.stop(WORKER_GRACE_SECONDS)


def _log_like_worker(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")


class WorkerProcesses:
    """``count`` ``dgx-music worker`` processes, restarted when one dies while serving (a
    crashed worker must not be a queue that silently stops), stopped the way ``worker``
    documents: SIGTERM finishes the job, a second SIGTERM hands it back."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.count)]
        if self.count:
            self._watch = threading.Thread(target=self._keep_alive, daemon=True)
            self._watch.start()

    @staticmethod
    def _spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "dgx_music", "worker"])

    def _keep_alive(self) -> None:
        while not self._stopping.wait(1.0):
            for index, process in enumerate(self.processes):
                code = process.poll()
                if code is None or self._stopping.is_set():
                    continue
                log.warning("worker process %d exited (%s); starting another", process.pid, code)
                if self._stopping.wait(RESTART_PAUSE_SECONDS):
                    return
                self.processes[index] = self._spawn()

    def stop(self, grace: float) -> None:
        self._stopping.set()
        if self._watch is not None:
            self._watch.join()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.terminate()  # the second SIGTERM: stop the job, hand it back
                try:
                    process.wait(grace)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
