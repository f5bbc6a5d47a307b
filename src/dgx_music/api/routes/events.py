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

EVENT_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["progress", "end"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/ProgressEvent"},
        },
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}
"""One event of the streams, as OpenAPI 3.2 describes Server-Sent Events (``itemSchema``, as
FastAPI's own SSE routes write it): clients and schema-driven tests can check each event's
JSON against ``ProgressEvent`` rather than being told only "a string"."""

EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "text/event-stream: `progress` events while the job moves, `end` when "
        "it has ended (data: ProgressEvent JSON), keep-alive comments in between",
        "content": {"text/event-stream": {"itemSchema": EVENT_ITEM_SCHEMA}},
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
