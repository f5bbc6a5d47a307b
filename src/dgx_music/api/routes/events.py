"""Live progress over Server-Sent Events (see ``api/events.py`` for the protocol)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from starlette.responses import StreamingResponse

from dgx_music.api import events
from dgx_music.api.deps import ServiceDep, SettingsDep
from dgx_music.api.problems import problems

router = APIRouter(tags=["jobs"])

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""No caching, and no buffering by an nginx in front, or progress would arrive in lumps."""

EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "text/event-stream: `progress` events while the job moves, `end` when "
        "it has ended (data: ProgressEvent JSON), keep-alive comments in between",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={**EVENT_STREAM, **problems(404, 422)},
)
async def job_events(
    job_id: Annotated[str, Path(description="the job's id, or a unique prefix")],
    request: Request,
    service: ServiceDep,
    settings: SettingsDep,
) -> StreamingResponse:
    """Progress of one job until it completes, fails or is cancelled; then the stream ends."""
    job = await anyio.to_thread.run_sync(service.job, job_id)  # 404 before the stream starts
    stream = events.one_job(
        service,
        job.id,
        request.is_disconnected,
        interval=settings.api_event_interval,
        keepalive=settings.api_keepalive_seconds,
    )
    return StreamingResponse(stream, media_type="text/event-stream", headers=STREAM_HEADERS)


@router.get("/events", response_class=StreamingResponse, responses=EVENT_STREAM)
async def all_events(
    request: Request, service: ServiceDep, settings: SettingsDep
) -> StreamingResponse:
    """Progress of every job: one event per active job first, then each change as it comes."""
    stream = events.all_jobs(
        service,
        request.is_disconnected,
        interval=settings.api_event_interval,
        keepalive=settings.api_keepalive_seconds,
    )
    return StreamingResponse(stream, media_type="text/event-stream", headers=STREAM_HEADERS)
