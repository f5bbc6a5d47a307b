"""Child processes of ``dgx-music serve --processes N``: started, watched, replaced, stopped.

Why not uvicorn's own multi-process mode: it binds one socket and lets its processes race to
accept from it, so whichever process is awake takes most of the connections a client pool opens
at once; kept-alive connections then stay on that process (``benchmarks/api_load.py`` saw one
process saturated at 200 track pages a second while the other idled). Here each API process
binds the port itself with ``SO_REUSEPORT`` and the kernel spreads new connections evenly
across them, as nginx and gunicorn's ``reuse_port`` do.

The children stay in this process's session and process group: Linux's autogroup scheduling
gives each session an equal share of the CPU, so a worker in a session of its own would take a
third of the machine from the API whatever its ``worker_priority``. A terminal's Ctrl-C
therefore reaches them as well as the SIGTERM this process passes on; ``dgx-music worker``
takes a second signal within ``SIGNAL_ECHO_SECONDS`` as the same request, not as "abort the
job", and uvicorn escalates only on a repeated SIGINT. A child must not outlive this process
either, even if it is killed outright: each inherits the read end of a pipe whose write end
only this process holds, and when that end closes (the process is gone), the child stops
itself (:func:`stop_with_supervisor`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence

log = logging.getLogger(__name__)

SIGNAL_ECHO_SECONDS = 2.0
"""A worker's second stop signal within this long of the first is the same request echoed."""
SUPERVISOR_FD = "DGX_MUSIC_SUPERVISOR_FD"
"""Environment variable naming the child's end of the supervisor pipe."""
RESTART_PAUSE_SECONDS = 2.0
"""How long a child that died is left down before another is started (a crash loop must not
spin the CPU)."""


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` that other processes of this user can bind
    too (``SO_REUSEPORT``), the kernel balancing new connections across all of them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def stop_with_supervisor() -> None:
    """In a child of :class:`Children`: SIGTERM ourselves once the supervisor is gone."""
    fd = os.environ.pop(SUPERVISOR_FD, None)
    if fd is None:
        return

    def watch() -> None:
        try:
            while os.read(int(fd), 1):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


class Children:
    """``count`` processes running ``command``, each replaced when it exits while this one
    serves. ``stop`` sends SIGTERM and, after ``grace``, ``then`` (SIGTERM again: a worker
    hands its job back; SIGKILL: an API process that would not finish)."""

    def __init__(self, name: str, command: Sequence[str], count: int) -> None:
        self.name = name
        self.command = list(command)
        self.count = count
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None
        self._read_end, self._write_end = os.pipe()

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.count)]
        if self.count:
            self._watch = threading.Thread(target=self._keep_alive, daemon=True)
            self._watch.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, SUPERVISOR_FD: str(self._read_end)}
        return subprocess.Popen(
            [sys.executable, "-m", "dgx_music", *self.command],
            env=env,
            pass_fds=(self._read_end,),
        )

    def _keep_alive(self) -> None:
        while not self._stopping.wait(0.5):
            for index, process in enumerate(self.processes):
                code = process.poll()
                if code is None or self._stopping.is_set():
                    continue
                log.warning(
                    "%s process %d exited (%s); starting another", self.name, process.pid, code
                )
                if self._stopping.wait(RESTART_PAUSE_SECONDS):
                    return
                self.processes[index] = self._spawn()

    def alive(self) -> int:
        return sum(process.poll() is None for process in self.processes)

    def stop(self, grace: float, then: signal.Signals) -> None:
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
                process.send_signal(then)
                try:
                    process.wait(grace)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        os.close(self._write_end)
        os.close(self._read_end)


def wait_for_stop_signal() -> signal.Signals:
    """Block until SIGTERM or SIGINT reaches this process; returns which."""
    caught: list[signal.Signals] = []
    arrived = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        caught.append(signal.Signals(signum))
        arrived.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not arrived.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return caught[0]
