"""What ``GET /health`` reports: the database, the queue, the workers, the disk, the GPU.

Cheap enough to poll every few seconds: three indexed queries, a ``statvfs`` and, only where
torch is already imported (a model is in use), a question to CUDA. It never imports torch:
a health check that loads a gigabyte of libraries would be the slowest route of the server.
"""

from __future__ import annotations

import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from dgx_music.service import GenerationService
from dgx_music.storage.database import SCHEMA_REVISION
from dgx_music.storage.job_views import LiveWorker
from dgx_music.storage.workers import WorkerRegistry
from dgx_music.worker import WorkerThreads


class DatabaseHealth(BaseModel):
    ok: bool
    revision: str | None = Field(description="schema revision found")
    expected_revision: str
    error: str | None


class QueueHealth(BaseModel):
    queued: int
    running: int


class WorkerOut(BaseModel):
    name: str = Field(description="host:pid:tag")
    jobs: list[str] = Field(description="the jobs it holds leases on; empty: idle")
    heartbeat_at: datetime | None
    started_at: datetime | None = Field(description="null for a worker seen only by its lease")


class WorkersHealth(BaseModel):
    live: list[WorkerOut] = Field(
        description="workers heard from within lease_seconds, idle or busy, on any host"
    )
    in_process: int = Field(description="worker threads of this server that are running")


class DiskHealth(BaseModel):
    path: str
    free_bytes: int
    total_bytes: int


class GpuHealth(BaseModel):
    available: bool
    name: str | None = None
    free_bytes: int | None = None
    total_bytes: int | None = None
    error: str | None = None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: DatabaseHealth
    queue: QueueHealth | None
    workers: WorkersHealth | None
    disk: DiskHealth | None
    gpu: GpuHealth | None = Field(description="null unless torch is loaded in this process")


def check_database(service: GenerationService) -> DatabaseHealth:
    try:
        revision = service.db.current_revision()
    except Exception as exc:  # the message may name files or hosts: the type says enough
        return DatabaseHealth(
            ok=False,
            revision=None,
            expected_revision=SCHEMA_REVISION,
            error=f"unreachable ({type(exc).__name__})",
        )
    ok = revision == SCHEMA_REVISION
    return DatabaseHealth(
        ok=ok,
        revision=revision,
        expected_revision=SCHEMA_REVISION,
        error=None if ok else f"schema at {revision}; run `dgx-music db upgrade`",
    )


def _disk(path: Path) -> DiskHealth | None:
    for candidate in (path, *path.parents):  # the library may not exist before the first clip
        if candidate.is_dir():
            usage = shutil.disk_usage(candidate)
            return DiskHealth(path=str(path), free_bytes=usage.free, total_bytes=usage.total)
    return None


def _gpu() -> GpuHealth | None:
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if not torch.cuda.is_available():
            return GpuHealth(available=False)
        free, total = torch.cuda.mem_get_info()
        return GpuHealth(
            available=True,
            name=str(torch.cuda.get_device_name()),
            free_bytes=int(free),
            total_bytes=int(total),
        )
    except Exception as exc:
        return GpuHealth(available=False, error=_one_line(exc))


def health(service: GenerationService, workers: WorkerThreads | None) -> HealthOut:
    database = check_database(service)
    queue = live = None
    if database.ok:
        activity = service.jobs.activity()
        queue = QueueHealth(queued=activity.queued, running=activity.running)
        live = _live_workers(service, activity.workers)
    return HealthOut(
        status="ok" if database.ok else "degraded",
        database=database,
        queue=queue,
        workers=None
        if live is None
        else WorkersHealth(live=live, in_process=len(workers.alive()) if workers else 0),
        disk=_disk(service.settings.library_root),
        gpu=_gpu(),
    )


def _live_workers(service: GenerationService, leases: tuple[LiveWorker, ...]) -> list[WorkerOut]:
    """Workers from the registry (idle ones included) joined with the leases they hold; a
    lease holder missing from the registry (a worker of an older version) is listed too."""
    window = timedelta(seconds=service.settings.lease_seconds)
    holding = {worker.name: worker for worker in leases}
    found = {
        name: WorkerOut(
            name=name,
            jobs=list(holding[name].job_ids) if name in holding else [],
            heartbeat_at=beat,
            started_at=started,
        )
        for name, started, beat in WorkerRegistry(service.db).alive(window)
    }
    for name, worker in holding.items():
        if name not in found:
            found[name] = WorkerOut(
                name=name,
                jobs=list(worker.job_ids),
                heartbeat_at=worker.heartbeat_at,
                started_at=None,
            )
    return [found[name] for name in sorted(found)]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
