"""The FastAPI application: middleware, error handlers and routers, wired and nothing else.

``create_app`` takes the settings (or a ready service, as tests do) and, for ``dgx-music
serve``, the in-process worker threads, which it starts and stops with the app's lifespan.

Middleware, outermost first:
1. ``RequestTimer``: every request's latency, by route template and status, for /metrics;
2. ``BodyLimit``: oversized bodies are refused before anything reads them;
3. the routers, each non-health route running the ``protected`` dependencies first: API keys,
   then rate limits (``access.py``; it also reads ``X-Forwarded-For`` from trusted proxies).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.middleware import Middleware

from dgx_music import __version__
from dgx_music.api.access import AccessControl
from dgx_music.api.deps import protected
from dgx_music.api.limits import BodyLimit
from dgx_music.api.metrics import ApiMetrics
from dgx_music.api.openapi import install_openapi
from dgx_music.api.problems import install_problem_handlers
from dgx_music.api.routes import analysis, events, exports, files, jobs, metrics, system, tracks
from dgx_music.api.schemas import API_PREFIX
from dgx_music.api.templates import full_templates
from dgx_music.api.timing import RequestTimer
from dgx_music.api.web import install_web
from dgx_music.config import Settings
from dgx_music.service import GenerationService
from dgx_music.worker import WorkerThreads

if TYPE_CHECKING:
    from dgx_music.api.ratelimit import Clock

WORKER_GRACE_SECONDS = 10.0
"""At shutdown, how long running jobs may go on before they are handed back to the queue."""


def create_app(
    settings: Settings | None = None,
    *,
    service: GenerationService | None = None,
    workers: int = 0,
    clock: Clock | None = None,
) -> FastAPI:
    """The API over ``service`` (made from ``settings`` when not given, and then closed with
    the app); ``workers`` threads run queued jobs while the app's lifespan runs; ``clock``
    (monotonic seconds) drives the rate limits, for tests to move time."""
    if service is None:
        if settings is None:
            from dgx_music.config import load_settings

            settings = load_settings()
        service = GenerationService(settings)
        owns_service = True
    else:
        settings = service.settings
        owns_service = False
    threads = WorkerThreads(service, workers) if workers > 0 else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if threads is not None:
            threads.start()
        try:
            yield
        finally:
            if threads is not None:
                import anyio.to_thread

                await anyio.to_thread.run_sync(threads.stop, WORKER_GRACE_SECONDS)
            if owns_service:
                service.close()

    uploads = {f"{API_PREFIX}/analyze": settings.api_max_upload_bytes}
    access = AccessControl(settings, service.db, clock=clock)
    measured = ApiMetrics(service.db)
    app = FastAPI(
        title="DGX Music",
        version=__version__,
        description="Self-hosted music generation: queue prompts, follow progress, "
        "browse and download the library. Errors are RFC 9457 problem documents.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
        # A trailing slash is a 404, not a redirect: every answer is one the schema declares,
        # and a decoded "%2F.." can never be bounced to a path the client did not ask for.
        redirect_slashes=False,
        middleware=[
            Middleware(RequestTimer, histogram=measured.http),
            Middleware(BodyLimit, default=settings.api_max_body_bytes, per_path=uploads),
        ],
    )
    app.state.service = service
    app.state.workers = threads
    app.state.access = access
    app.state.metrics = measured
    install_problem_handlers(app)
    guards = [Depends(dependency) for dependency in protected()]
    routers = [m.router for m in (jobs, events, tracks, files, exports, analysis, system, metrics)]
    for router in routers:
        app.include_router(router, prefix=API_PREFIX, dependencies=guards)
    app.include_router(system.health_router, prefix=API_PREFIX)
    routers.append(system.health_router)
    app.state.route_templates = full_templates((API_PREFIX, router) for router in routers)
    install_web(app)  # the page at / (public, outside the schema)
    health = system.health_router.routes
    open_paths = {API_PREFIX + route.path for route in health if isinstance(route, APIRoute)}
    install_openapi(app, amend=lambda schema: access.document(schema, open_paths))
    return app
