"""What routes receive from the app: the service, the settings, the in-process workers.

One place to fetch them, so that routes declare ``service: ServiceDep`` and tests can build an
app around any service. ``protected`` is the hook for access control: the dependencies in it
run before every route except the health checks: API keys and rate limits (``access.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from dgx_music.api.access import guard
from dgx_music.config import Settings
from dgx_music.service import GenerationService
from dgx_music.worker import WorkerThreads

# The getters are ``async`` though they never wait: FastAPI runs a plain ``def`` dependency in
# the thread pool, a trip that cost each request more than the lookup it wraps.


async def get_service(request: Request) -> GenerationService:
    service: GenerationService = request.app.state.service
    return service


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.service.settings
    return settings


async def get_workers(request: Request) -> WorkerThreads | None:
    workers: WorkerThreads | None = request.app.state.workers
    return workers


ServiceDep = Annotated[GenerationService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
WorkersDep = Annotated[WorkerThreads | None, Depends(get_workers)]


def protected() -> list[Any]:
    """Dependencies every non-health route runs first: ``access.guard`` (API keys, then rate
    limits), which reads its keys and limiters from ``app.state.access``."""
    return [guard]
