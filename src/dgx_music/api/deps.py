"""What routes receive from the app: the service, the settings, the in-process workers.

One place to fetch them, so that routes declare ``service: ServiceDep`` and tests can build an
app around any service. ``protected`` is the hook for access control: the dependencies in it
run before every route except the health checks (API keys and rate limits plug in there).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from dgx_music.config import Settings
from dgx_music.service import GenerationService
from dgx_music.worker import WorkerThreads


def get_service(request: Request) -> GenerationService:
    service: GenerationService = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.service.settings
    return settings


def get_workers(request: Request) -> WorkerThreads | None:
    workers: WorkerThreads | None = request.app.state.workers
    return workers


ServiceDep = Annotated[GenerationService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
WorkersDep = Annotated[WorkerThreads | None, Depends(get_workers)]


def protected(settings: Settings) -> list[Any]:
    """Dependencies every non-health route runs first. None yet: API keys and rate limits
    (issue 6, part 2) add theirs here, and routers pick them up without further changes."""
    del settings
    return []
