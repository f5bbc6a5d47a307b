"""Job threads run below the API's CPU priority (``worker_nice``), per thread (Linux, the
service's platform)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from dgx_music.config import load_settings
from dgx_music.service import GenerationService
from dgx_music.worker import WorkerThreads, lower_cpu_priority


def _nice_of_thread(target: int | None) -> int:
    return os.getpriority(os.PRIO_PROCESS, target or threading.get_native_id())


def _in_thread(niceness: int, before: int = 0) -> int:
    """The nice value a fresh thread ends with after ``lower_cpu_priority(niceness)``."""
    seen: list[int] = []

    def body() -> None:
        if before:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), before)
        lower_cpu_priority(niceness, whole_process=False)
        seen.append(_nice_of_thread(None))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return seen[0]


def test_only_the_calling_thread_is_lowered() -> None:
    main_before = _nice_of_thread(None)
    assert _in_thread(main_before + 7) == main_before + 7
    assert _nice_of_thread(None) == main_before


def test_a_lower_priority_set_by_the_operator_is_kept() -> None:
    base = _nice_of_thread(None)
    assert _in_thread(base + 3, before=base + 12) == base + 12


def test_zero_leaves_the_priority_alone() -> None:
    base = _nice_of_thread(None)
    assert _in_thread(0, before=base + 2) == base + 2


def test_serve_worker_threads_run_at_worker_nice_and_the_api_thread_does_not() -> None:
    base = _nice_of_thread(None)
    service = GenerationService(load_settings(worker_nice=base + 5, poll_interval=0.05))
    threads = WorkerThreads(service, 2)
    try:
        threads.start()
        deadline = time.monotonic() + 10.0
        ids = [thread.native_id for thread in threads._threads]
        assert all(ids)
        while time.monotonic() < deadline:
            values = [_nice_of_thread(tid) for tid in ids if tid is not None]
            if values == [base + 5, base + 5]:
                break
            time.sleep(0.02)
        assert values == [base + 5, base + 5]
        assert _nice_of_thread(None) == base
    finally:
        threads.stop(1.0)
        service.close()


def test_the_worker_command_runs_at_worker_nice() -> None:
    """``dgx-music worker`` lowers itself, so anything it starts inherits the priority."""
    env = {**os.environ, "DGX_MUSIC_WORKER_NICE": "6"}
    script = (
        "import os, dgx_music.worker as w\n"
        "original = w.Worker.run_forever\n"
        "def probe(self, *a, **k):\n"
        "    print('nice', os.getpriority(os.PRIO_PROCESS, 0), flush=True)\n"
        "    return original(self, *a, **k)\n"
        "w.Worker.run_forever = probe\n"
        "from dgx_music.cli.main import app\n"
        "app(['worker', '--until-idle'])\n"
    )
    before = os.getpriority(os.PRIO_PROCESS, 0)
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"nice {max(before, 6)}" in done.stdout
