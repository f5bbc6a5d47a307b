"""``dgx-music serve`` under load: job lookups, filtered track pages and health checks, with
100,000 tracks and 100,000 jobs in SQLite and a generation running.

The server is a real ``dgx-music serve`` process (uvicorn) on a free loopback port, with its
worker thread rendering queued 30 s symbolic clips the whole time (``--worker process`` runs a
separate ``dgx-music worker`` instead, ``--worker none`` nothing). The load comes from other
processes, two kinds:

- most it answers: N clients, each sending its next request as soon as the last one was
  answered (wrk where installed — Debian's ``wrk`` package — else this file's own client).
  The rate is the server's capacity; the latency then is mostly queueing, since N clients
  waiting on one server wait N requests long (at 500 req/s, 50 clients see 100 ms on average).
- @ R/s: the same N connections with requests due on a fixed schedule, R per second in all
  (this file's client), latency counted from when each was due. This is the latency clients
  see when the server carries that load, which is what a latency goal at a rate means.

Baseline, measured on the same server in the same run: ``/api/v1/health/live``, which touches
neither the database nor the service, under the same load; the ratios say how much of the
server each route's own work takes, on any machine. On a 2-core machine the load generator,
the API and the generation share the cores, so the CPU each used (in cores) is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthetic_library import GENRES, KEYS, MOODS, fill_database

GENERATIONS = 400
"""Symbolic 30 s jobs queued so that one is always running while the load runs."""
SAMPLED_IDS = 2000
"""Job ids the lookups cycle through, drawn at random from the 100,000."""
TRACK_FILTERS = 300
"""Distinct filtered track queries the listing cycles through (bpm window and key)."""


@dataclass(frozen=True)
class Load:
    """What one load run measured; latencies in milliseconds, CPU in cores (seconds/second)."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    client_cpu: float
    server_cpu: float
    worker_cpu: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


# -- the data ---------------------------------------------------------------------------------


def build_database(data_dir: Path, count: int, seed: int) -> list[str]:
    """``count`` completed jobs with their tracks in the server's own database; their ids."""
    from dgx_music.storage.database import Database

    db = Database(f"sqlite:///{data_dir / 'dgx-music.db'}")
    try:
        return fill_database(db, count, seed)
    finally:
        db.dispose()


def queue_generations(data_dir: Path, count: int) -> None:
    """Queue ``count`` 30 s symbolic clips through the service, as a client would."""
    from dgx_music.config import load_settings
    from dgx_music.service import GenerationService

    service = GenerationService(load_settings(data_dir=data_dir))
    try:
        prompts = [f"{m} {g}, 30 s" for m in MOODS for g in GENRES]
        requests = [
            service.build_request(prompts[n % len(prompts)], engine="symbolic", duration=30.0)
            for n in range(count)
        ]
        service.submit(requests)
    finally:
        service.close()


# -- the processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux ``/proc``): serve's API processes and workers."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found


def is_worker(pid: int) -> bool:
    return Path(f"/proc/{pid}/cmdline").read_bytes().endswith(b"dgx_music\0worker\0")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def get_json(url: str) -> Any:
    import httpx

    answer = httpx.get(url, timeout=10)
    answer.raise_for_status()
    return answer.json()


def wait_live(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/api/v1/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start within 60 s")


def running_jobs(base: str) -> int:
    return len(get_json(f"{base}/api/v1/jobs?status=running&limit=10")["items"])


def wait_generating(base: str) -> None:
    deadline = time.monotonic() + 120
    while running_jobs(base) == 0:
        if time.monotonic() > deadline:
            raise SystemExit("no generation started within 120 s")
        time.sleep(0.2)


# -- the load ---------------------------------------------------------------------------------

WRK_SCRIPT = """
local paths = {%s}
local i = math.random(#paths)
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "seconds": %%f, "errors": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(
    base: str, paths: list[str], clients: int, seconds: float, folder: Path
) -> dict[str, Any]:
    script = folder / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
    command = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(clients),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--script",
        str(script),
        base,
    ]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    result["p50_ms"], result["p99_ms"] = result.pop("p50_us") / 1000, result.pop("p99_us") / 1000
    return result


def run_client(
    base: str, paths: list[str], clients: int, seconds: float, folder: Path, rate: float | None
) -> dict[str, Any]:
    """This file's own client in a process of its own (see :func:`_client`)."""
    spec = folder / "client.json"
    spec.write_text(
        json.dumps(
            {"base": base, "paths": paths, "clients": clients, "seconds": seconds, "rate": rate}
        )
    )
    command = [sys.executable, __file__, "--client", str(spec)]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """One request on a kept-alive HTTP/1.1 connection; returns the status. The routes
    measured answer with a Content-Length (none streams)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise RuntimeError("an answer without Content-Length")
    await reader.readexactly(length)
    return int(head[9:12])


async def _client(
    base: str, paths: list[str], clients: int, seconds: float, rate: float | None
) -> dict[str, Any]:
    """``clients`` kept-alive connections, each sending one request at a time, for
    ``seconds``.

    Without ``rate`` each sends its next request as soon as the last is answered (a closed
    loop, as wrk does: the figure is the most the server answers). With ``rate`` the requests
    are due on a fixed schedule, ``rate`` per second spread over the connections, and latency
    counts from when a request was due, not from when it could be sent: a server that falls
    behind shows its queue in the latency instead of slowing the client down with it.
    """
    host, _, port = base.removeprefix("http://").partition(":")
    latencies: list[float] = []
    errors = missed = 0
    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.2
    end = begin + seconds

    async def one(index: int) -> None:
        nonlocal errors, missed
        reader, writer = await asyncio.open_connection(host, int(port))
        sent = 0
        try:
            while True:
                path = paths[(index + sent * clients) % len(paths)]
                request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
                now = loop.time()
                due = now if rate is None else begin + (index + sent * clients) / rate
                if due >= end:
                    return
                if now >= end:
                    # Due within the run but not sent by its end: the server fell behind. Each
                    # counts as missed, with the time it had already waited as its latency (a
                    # lower bound), so a slow server cannot shrink the run by being slow.
                    missed += 1
                    latencies.append(now - due)
                    sent += 1
                    continue
                if due > now:
                    await asyncio.sleep(due - now)
                started = due if rate is not None else loop.time()
                try:
                    status = await asyncio.wait_for(_exchange(reader, writer, request), 10)
                except TimeoutError:
                    errors += 1
                    return
                if status != 200:
                    errors += 1
                latencies.append(loop.time() - started)
                sent += 1
        finally:
            writer.close()

    await asyncio.gather(*(one(index) for index in range(clients)))
    elapsed = loop.time() - begin
    latencies.sort()
    return {
        "requests": len(latencies) - missed,
        "seconds": elapsed,
        "errors": errors + missed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def measure(
    base: str,
    paths: list[str],
    clients: int,
    seconds: float,
    *,
    rate: float | None,
    load: str,
    server: list[int],
    worker: list[int],
    folder: Path,
) -> Load:
    """One figure: a short warm-up, then ``seconds`` of load with the CPU of each process."""

    def run(duration: float) -> dict[str, Any]:
        if rate is None and load == "wrk":
            return run_wrk(base, paths, clients, duration, folder)
        return run_client(base, paths, clients, duration, folder, rate)

    run(min(2.0, seconds))  # warm-up: page cache, statement cache, connections
    server_before = sum(map(cpu_seconds, server))
    worker_before = sum(map(cpu_seconds, worker))
    client_before = children_cpu()
    result = run(seconds)
    elapsed = result["seconds"]
    return Load(
        requests=result["requests"],
        seconds=elapsed,
        errors=result["errors"],
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        client_cpu=(children_cpu() - client_before) / elapsed,
        server_cpu=(sum(map(cpu_seconds, server)) - server_before) / elapsed,
        worker_cpu=(sum(map(cpu_seconds, worker)) - worker_before) / elapsed,
    )


# -- the run ----------------------------------------------------------------------------------


def track_queries(rng: random.Random) -> list[str]:
    queries = []
    for _ in range(TRACK_FILTERS):
        low = rng.randrange(60, 170)
        key = rng.choice(KEYS).replace(" ", "%20").replace("#", "%23")
        queries.append(f"/api/v1/tracks?limit=50&bpm_min={low}&bpm_max={low + 10}&key={key}")
    return queries


def start_server(
    data_dir: Path, worker: str, priority: str | None, folder: Path, api_processes: int = 1
) -> tuple[str, subprocess.Popen[bytes], subprocess.Popen[bytes] | None]:
    """``dgx-music serve`` on a free port (with its worker thread, or beside a worker
    process, or with none) and the worker process if any; returns once it answers. The job
    threads run at the ``worker_priority`` setting (``priority``, or the service's default)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DGX_MUSIC_DATA_DIR": str(data_dir)}
    if priority is not None:
        env["DGX_MUSIC_WORKER_PRIORITY"] = priority
    threads = "1" if worker == "inprocess" else "0"
    log = folder / "serve.log"
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "dgx_music", "serve", "--port", str(port)),
                *("--workers", threads, "--processes", str(api_processes)),
            ],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    separate = None
    if worker == "process":
        with (folder / "worker.log").open("wb") as handle:
            separate = subprocess.Popen(
                [sys.executable, "-m", "dgx_music", "worker"],
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
    wait_live(base, server, log)
    if worker != "none":
        wait_generating(base)
    return base, server, separate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="jobs, each with a track")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="per figure")
    parser.add_argument(
        "--worker",
        choices=("inprocess", "process", "none"),
        default="inprocess",
        help="where the generation runs: serve's own worker thread (its default), a separate "
        "`dgx-music worker` process, or nowhere",
    )
    parser.add_argument(
        "--worker-priority",
        choices=("normal", "low", "idle"),
        default=None,
        help="the job threads' CPU priority (the worker_priority setting; default: the "
        "service's own, low)",
    )
    parser.add_argument(
        "--load",
        choices=("wrk", "python"),
        default=None,
        help="closed-loop load generator (default: wrk where installed); paced figures always "
        "use this file's client",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="API processes (serve --processes); with more than one, serve's worker is a "
        "process of its own",
    )
    parser.add_argument("--keep", type=Path, help="data directory to build once and reuse")
    args = parser.parse_args()
    load = args.load or ("wrk" if shutil.which("wrk") else "python")

    folder = Path(tempfile.mkdtemp(prefix="dgx-music-api-load-"))
    data_dir = args.keep or folder / "data"
    rng = random.Random(1)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ids_file = data_dir / "job-ids.json"
        if not ids_file.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            began = time.perf_counter()
            ids_file.write_text(json.dumps(build_database(data_dir, args.rows, seed=0)))
            print(f"built {args.rows:,} jobs and tracks in {time.perf_counter() - began:.1f} s")
        job_ids = json.loads(ids_file.read_text())
        queue_generations(data_dir, GENERATIONS)
        base, server, separate = start_server(
            data_dir, args.worker, args.worker_priority, folder, args.processes
        )
        processes += [server, *([separate] if separate else [])]
        below = descendants(server.pid)
        server_pids = [server.pid, *(pid for pid in below if not is_worker(pid))]
        worker_pids = [pid for pid in below if is_worker(pid)]
        worker_pids += [separate.pid] if separate else []
        queued_before = get_json(f"{base}/api/v1/health")["queue"]["queued"]

        jobs = [f"/api/v1/jobs/{job_id}" for job_id in rng.sample(job_ids, SAMPLED_IDS)]
        tracks = track_queries(rng)
        live, health = ["/api/v1/health/live"], ["/api/v1/health"]
        c = args.clients
        figures: list[tuple[str, list[str], int, float | None]] = [
            ("live, most it answers", live, c, None),
            ("jobs/{id}, most it answers", jobs, c, None),
            ("tracks filtered, most", tracks, c, None),
            ("live @ 500/s", live, c, 500.0),
            ("jobs/{id} @ 500/s", jobs, c, 500.0),
            ("live @ 200/s", live, c, 200.0),
            ("tracks filtered @ 200/s", tracks, c, 200.0),
            ("live, 1 client", live, 1, None),
            ("health, 1 client", health, 1, None),
        ]
        priority = args.worker_priority or "default"
        print(
            f"closed loop: {load}; paced (@ N/s): this file's client; {args.seconds:.0f} s a "
            f"figure; generation: {args.worker}"
            + ("" if args.worker == "none" else f" (worker_priority {priority})")
            + (f"; {args.processes} API processes" if args.processes > 1 else "")
            + f"; {os.cpu_count()} CPUs shared by all"
        )
        print(
            f"{'figure':28} {'clients':>7} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'errors':>6}  CPU (cores): server worker client"
        )
        results: dict[str, Load] = {}
        for label, paths, clients, rate in figures:
            generating = args.worker == "none" or running_jobs(base) > 0
            found = results[label] = measure(
                base,
                paths,
                clients,
                args.seconds,
                rate=rate,
                load=load,
                server=server_pids,
                worker=worker_pids,
                folder=folder,
            )
            note = "" if generating else "  (no generation was running)"
            print(
                f"{label:28} {clients:>7} {found.rate:>7.0f} {found.p50_ms:>8.1f} "
                f"{found.p99_ms:>8.1f} {found.errors:>6}  {found.server_cpu:>17.2f} "
                f"{found.worker_cpu:>6.2f} {found.client_cpu:>6.2f}{note}"
            )
        queued_after = get_json(f"{base}/api/v1/health")["queue"]["queued"]
        print(f"generations started meanwhile: {queued_before - queued_after}")

        print("\nagainst /health/live on the same server, same clients (the baseline):")
        pairs = [
            ("jobs/{id}, most it answers", "live, most it answers"),
            ("tracks filtered, most", "live, most it answers"),
            ("jobs/{id} @ 500/s", "live @ 500/s"),
            ("tracks filtered @ 200/s", "live @ 200/s"),
            ("health, 1 client", "live, 1 client"),
        ]
        for label, reference in pairs:
            ours, theirs = results[label], results[reference]
            print(
                f"  {label:28} req/s {ours.rate / theirs.rate:5.2f}x   "
                f"p99 {ours.p99_ms / theirs.p99_ms:5.2f}x"
            )

        most_jobs, most_tracks = (
            results["jobs/{id}, most it answers"],
            results["tracks filtered, most"],
        )
        paced_jobs, paced_tracks = results["jobs/{id} @ 500/s"], results["tracks filtered @ 200/s"]
        one_health = results["health, 1 client"]
        goals = [
            (
                f"GET /jobs/{{id}} req/s, {c} clients",
                f"{most_jobs.rate:.0f}",
                "≥ 500",
                most_jobs.rate >= 500,
            ),
            (
                f"GET /jobs/{{id}} p99 @ 500/s, {c} clients",
                f"{paced_jobs.p99_ms:.1f} ms",
                "≤ 50 ms",
                paced_jobs.p99_ms <= 50 and paced_jobs.errors == 0,
            ),
            (
                f"GET /tracks filtered req/s, {c} clients",
                f"{most_tracks.rate:.0f}",
                "≥ 200",
                most_tracks.rate >= 200,
            ),
            (
                f"GET /tracks filtered p99 @ 200/s, {c}",
                f"{paced_tracks.p99_ms:.1f} ms",
                "≤ 100 ms",
                paced_tracks.p99_ms <= 100 and paced_tracks.errors == 0,
            ),
            (
                "GET /health p99, 1 client",
                f"{one_health.p99_ms:.1f} ms",
                "≤ 20 ms",
                one_health.p99_ms <= 20,
            ),
        ]
        print(f"\n{'figure':40} {'measured':>10} {'goal':>9}  met")
        for figure, measured, goal, met in goals:
            print(f"{figure:40} {measured:>10} {goal:>9}  {'yes' if met else 'NO'}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        _spec = json.loads(Path(sys.argv[2]).read_text())
        print(json.dumps(asyncio.run(_client(**_spec))))
    else:
        main()
