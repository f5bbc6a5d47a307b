"""Run submitted jobs in this process (or wait for a worker that claimed them), with progress."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from dgx_music.domain import Job
    from dgx_music.service import GenerationService

POLL_SECONDS = 0.1


def run_and_watch(service: GenerationService, jobs: list[Job], show_progress: bool) -> list[Job]:
    """Work through ``jobs`` here, one at a time, showing progress; return their final states.

    A job that a separate ``dgx-music worker`` claims first is simply watched. Ctrl-C asks every
    unfinished job to cancel and keeps watching until they have stopped.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from dgx_music.worker import Worker

    worker = Worker(service)
    ids = [job.id for job in jobs]

    def work() -> None:
        for job_id in ids:
            if worker.stopping:
                break
            worker.claim_and_run(job_id, mates=ids)

    thread = threading.Thread(target=work, name="dgx-music-inline-worker", daemon=True)
    thread.start()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not show_progress,
        transient=False,
    )
    finals: dict[str, Job] = {}
    with progress:
        tasks = {
            job_id: progress.add_task(f"job {job_id[:8]}", total=1.0, stage="queued")
            for job_id in ids
        }
        try:
            _poll(service, ids, finals, progress, tasks)
        except KeyboardInterrupt:
            progress.console.print("cancelling… (Ctrl-C again to abandon)")
            for job_id in ids:
                if job_id not in finals:
                    service.cancel(job_id)
            _poll(service, ids, finals, progress, tasks)
    thread.join(timeout=5)
    return [finals[job_id] for job_id in ids]


def _poll(
    service: GenerationService,
    ids: list[str],
    finals: dict[str, Job],
    progress: Progress,
    tasks: dict[str, TaskID],
) -> None:
    while len(finals) < len(ids):
        for job_id in ids:
            if job_id in finals:
                continue
            job = service.job(job_id)
            progress.update(tasks[job_id], completed=job.progress, stage=job.stage or job.status)
            if job.status.is_final:
                finals[job_id] = job
        time.sleep(POLL_SECONDS)
