"""Job threads run below the API's CPU priority (``worker_priority``), per thread (Linux, the
service's platform)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from dgx_music.config import load_settings
from dgx_music.service import GenerationService
from dgx_music.worker import LOW_NICENESS, WorkerThreads, lower_cpu_priority


def _nice(target: int | None = None) -> int:
    return os.getpriority(os.PRIO_PROCESS, target or threading.get_native_id())


def _policy(target: int | None = None) -> int:
    return os.sched_getscheduler(target or threading.get_native_id())


def _in_thread(priority: str, nice_before: int = 0) -> tuple[int, int]:
    """(nice, scheduling policy) a fresh thread ends with after ``lower_cpu_priority``."""
    seen: list[tuple[int, int]] = []

    def body() -> None:
        if nice_before:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice_before)
        lower_cpu_priority(priority, whole_process=False)
        seen.append((_nice(), _policy()))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return seen[0]


def test_low_lowers_only_the_calling_thread() -> None:
    base = _nice()
    assert _in_thread("low") == (max(base, LOW_NICENESS), os.SCHED_OTHER)
    assert _nice() == base and _policy() == os.SCHED_OTHER


def test_idle_runs_the_thread_only_on_cpu_time_nothing_else_wants() -> None:
    assert _in_thread("idle") == (max(_nice(), LOW_NICENESS), os.SCHED_IDLE)
    assert _policy() == os.SCHED_OTHER


def test_a_lower_priority_set_by_the_operator_is_kept_and_normal_changes_nothing() -> None:
    base = _nice()
    assert _in_thread("low", nice_before=base + 15)[0] == base + 15
    assert _in_thread("normal", nice_before=base + 2) == (base + 2, os.SCHED_OTHER)


def test_serve_worker_threads_run_low_and_the_api_thread_does_not() -> None:
    base = _nice()
    service = GenerationService(load_settings(worker_priority="idle", poll_interval=0.05))
    threads = WorkerThreads(service, 2)
    try:
        threads.start()
        ids = [thread.native_id for thread in threads._threads]
        expected = [(max(base, LOW_NICENESS), os.SCHED_IDLE)] * 2
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            seen = [(_nice(tid), _policy(tid)) for tid in ids]
            if seen == expected:
                break
            time.sleep(0.02)
        assert seen == expected
        assert (_nice(), _policy()) == (base, os.SCHED_OTHER)
    finally:
        threads.stop(1.0)
        service.close()


def test_the_worker_command_runs_at_worker_priority() -> None:
    """``dgx-music worker`` lowers itself, so anything it starts inherits the priority."""
    env = {**os.environ, "DGX_MUSIC_WORKER_PRIORITY": "idle"}
    script = (
        "import os, dgx_music.worker as w\n"
        "original = w.Worker.run_forever\n"
        "def probe(self, *a, **k):\n"
        "    print('nice', os.getpriority(os.PRIO_PROCESS, 0), flush=True)\n"
        "    print('idle', os.sched_getscheduler(0) == os.SCHED_IDLE, flush=True)\n"
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
    assert f"nice {max(before, LOW_NICENESS)}" in done.stdout
    assert "idle True" in done.stdout
