"""``GET /metrics``: Prometheus text exposition (see ``api/metrics.py`` for each figure)."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Request, Response

from dgx_music.api.metrics import ApiMetrics

router = APIRouter(tags=["system"])

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format, which every Prometheus server reads."""


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format: jobs by state, generation seconds, "
            "real-time factor, queue wait, HTTP latency by route and status",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: Request) -> Response:
    """Metrics for Prometheus to scrape; needs an API key when keys are configured."""
    collected: ApiMetrics = request.app.state.metrics
    body = await anyio.to_thread.run_sync(collected.exposition)  # reads the job store
    return Response(body, media_type=CONTENT_TYPE)
