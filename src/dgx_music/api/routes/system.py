"""Engines and models, and the health checks that orchestrators and load balancers poll."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from dgx_music.api.deps import ServiceDep, WorkersDep
from dgx_music.api.health import HealthOut, check_database, health
from dgx_music.api.inventory import EnginesOut, inventory
from dgx_music.api.problems import problem_response, problems
from dgx_music.api.schemas import json_response

router = APIRouter(tags=["system"])
health_router = APIRouter(tags=["health"])


class LiveOut(BaseModel):
    status: Literal["alive"]


class ReadyOut(BaseModel):
    status: Literal["ready"]
    revision: str


@router.get("/engines", response_model=EnginesOut)
def engines(service: ServiceDep) -> EnginesOut:
    """Every engine, its limits and controls; MusicGen checkpoints on disk and in memory."""
    return inventory(service)


@health_router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "the database is not usable"}},
)
def get_health(service: ServiceDep, workers: WorkersDep) -> Response:
    """Database, queue depth, busy workers, disk space and (when loaded) the GPU."""
    # Not on the read lane (api/reads.py): a health check must not queue behind a burst of
    # client reads, or a busy server would look like a dead one.
    report = health(service, workers)
    return json_response(report, status_code=200 if report.status == "ok" else 503)


@health_router.get("/health/live", response_model=LiveOut)
async def live() -> LiveOut:
    """The process answers: nothing more is checked."""
    return LiveOut(status="alive")


@health_router.get("/health/ready", response_model=ReadyOut, responses=problems(503))
def ready(request: Request, service: ServiceDep) -> JSONResponse | ReadyOut:
    """Ready for traffic: the database answers and its schema is the one this code expects."""
    database = check_database(service)
    if not database.ok:
        return problem_response(
            503, database.error or "database not ready", kind="not-ready", instance=request.url.path
        )
    assert database.revision is not None
    return ReadyOut(status="ready", revision=database.revision)
