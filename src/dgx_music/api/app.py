"""The FastAPI application: middleware, error handlers and routers, wired and nothing else.

``create_app`` takes the settings (or a ready service, as tests do) and, for ``dgx-music
serve``, the in-process worker threads, which it starts and stops with the app's lifespan.

Middleware, outermost first — where the parts still to come plug in:
1. (part 2) forwarded-header handling from trusted proxies, then request timing for /metrics;
2. ``BodyLimit``: oversized bodies are refused before anything reads them;
3. the routers, each non-health route running the ``protected`` dependencies first
   (part 2: API keys, rate limits).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.middleware import Middleware

from dgx_music import __version__
from dgx_music.api.deps import protected
from dgx_music.api.limits import BodyLimit
from dgx_music.api.openapi import install_openapi
from dgx_music.api.problems import install_problem_handlers
from dgx_music.api.routes import analysis, events, files, jobs, system, tracks
from dgx_music.api.schemas import API_PREFIX
from dgx_music.config import Settings
from dgx_music.service import GenerationService
from dgx_music.worker import WorkerThreads

WORKER_GRACE_SECONDS = 10.0
"""At shutdown, how long running jobs may go on before they are handed back to the queue."""


def create_app(
    settings: Settings | None = None,
    *,
    service: GenerationService | None = None,
    workers: int = 0,
) -> FastAPI:
    """The API over ``service`` (made from ``settings`` when not given, and then closed with
    the app); ``workers`` threads run queued jobs while the app's lifespan runs."""
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
            Middleware(BodyLimit, default=settings.api_max_body_bytes, per_path=uploads),
        ],
    )
    app.state.service = service
    app.state.workers = threads
    install_problem_handlers(app)
    guards = [Depends(dependency) for dependency in protected(settings)]
    for module in (jobs, events, tracks, files, analysis, system):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=guards)
    app.include_router(system.health_router, prefix=API_PREFIX)
    install_openapi(app)
    return app
