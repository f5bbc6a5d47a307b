"""Starting a real ``dgx-music serve`` in tests: a free loopback port, and waiting until the
server answers (or failing with its log when it dies or takes too long)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx

START_SECONDS = 30.0
"""Generous: on a loaded 2-core CI machine importing the app and migrating take seconds."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_live(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Poll ``/api/v1/health/live`` until it answers 200; fail with the server's log if the
    process exits first or ``START_SECONDS`` pass."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)
