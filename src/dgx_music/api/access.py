"""Access control for every non-health route: API keys, then rate limits.

``guard`` is the dependency ``deps.protected`` hands to the routers, so the health checks
(``/health``, ``/health/live``, ``/health/ready``) — and FastAPI's own ``/openapi.json`` and
``/docs``, which describe the API but reveal nothing in it — stay open to load balancers and
people, while everything else, ``/metrics`` included, runs through it:

1. API keys, when any is configured (``api_keys`` setting or the keys file): a request without
   ``Authorization: Bearer <key>``, or with a key that is not current, gets a 401 problem with
   ``WWW-Authenticate: Bearer``. The client is then known by its key's name.
2. Without keys the client is known by its address (``clients.TrustedProxies``).
3. ``api_request_rate_per_minute`` (off by default) counts every request of a client, in this
   process's memory: a database write per request would cost more than most requests.
4. ``api_generate_rate_per_minute`` counts generations: ``POST /generate`` is one,
   ``POST /generate/batch`` one per request in it. Only accepted submissions count: a request
   refused further on (400, 409, 422, …) gets its tokens back, so a client fixing a typo is
   not locked out. Over a limit: 429 with ``Retry-After`` in whole seconds. These buckets live
   in the database (``storage.rate_limits``), so however many API processes serve — ``serve
   --processes``, or several boxes on one PostgreSQL — a client has one allowance; a
   generation writes a job anyway, so the extra write is small beside it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from dgx_music.api.clients import TrustedProxies
from dgx_music.api.problems import ApiProblem, problems
from dgx_music.api.ratelimit import Clock, RateLimiter, retry_after
from dgx_music.api.schemas import API_PREFIX
from dgx_music.api.templates import route_template
from dgx_music.api_keys import KeyRing
from dgx_music.config import Settings
from dgx_music.storage.database import Database
from dgx_music.storage.rate_limits import DatabaseCells

GENERATION_PATHS = frozenset({f"{API_PREFIX}/generate", f"{API_PREFIX}/generate/batch"})
BEARER_SCHEME = "bearerAuth"
CHALLENGE = 'Bearer realm="dgx-music"'


class AccessControl:
    """The keys and limiters of one app (one process); ``create_app`` keeps it in
    ``app.state.access``."""

    def __init__(self, settings: Settings, db: Database, *, clock: Clock | None = None) -> None:
        """``clock`` (seconds) replaces both the wall clock of the shared generation buckets
        and the monotonic one of the per-process request buckets, for tests to move time."""
        self.keys = KeyRing(settings)
        self.proxies = TrustedProxies(settings.trusted_proxies)
        generations = settings.api_generate_rate_per_minute
        self.generations = (
            RateLimiter(
                generations, clock=clock or time.time, cells=DatabaseCells(db, "generations")
            )
            if generations > 0
            else None
        )
        self.requests = _limiter(settings.api_request_rate_per_minute, clock or time.monotonic)

    def identify(self, request: Request) -> str:
        """``key:<name>`` for a request with a valid key, ``addr:<ip>`` when keys are off."""
        if not self.keys.enabled:
            peer = request.client.host if request.client else None
            forwarded = request.headers.getlist("x-forwarded-for")
            return "addr:" + self.proxies.client_address(peer, forwarded)
        scheme, _, presented = request.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ApiProblem(
                401,
                "this server needs an API key: send the header `Authorization: Bearer <key>` "
                "(`dgx-music keys add NAME` makes one)",
                kind="unauthorized",
                headers={"WWW-Authenticate": CHALLENGE},
            )
        name = self.keys.identify(presented.strip())
        if name is None:
            raise ApiProblem(
                401,
                "the API key is not valid: it may have been removed; ask for a new one",
                kind="unauthorized",
                headers={"WWW-Authenticate": CHALLENGE + ', error="invalid_token"'},
            )
        return "key:" + name

    def document(self, schema: dict[str, Any], open_paths: set[str]) -> None:
        """Say in the OpenAPI document what ``guard`` does: the bearer scheme (required on
        every guarded operation when keys were configured at start), 401s and 429s."""
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})[BEARER_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "an API key from `dgx-music keys add`; needed when the server "
            "has keys configured",
        }
        secured = self.keys.enabled
        for path, operations in schema.get("paths", {}).items():
            if path in open_paths:
                continue
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                if secured:
                    operation["security"] = [{BEARER_SCHEME: []}]
                    responses.setdefault("401", problems(401)[401])
                generation = path in GENERATION_PATHS and method == "post"
                limited = generation and self.generations is not None
                if limited or self.requests is not None:
                    responses.setdefault("429", problems(429)[429])


def _limiter(rate: int, clock: Clock) -> RateLimiter | None:
    return RateLimiter(rate, clock=clock) if rate > 0 else None


def _too_many(limiter: RateLimiter, wait: float, identity: str, what: str) -> ApiProblem:
    who = "API key" if identity.startswith("key:") else "client address"
    return ApiProblem(
        429,
        f"over the limit of {limiter.rate} {what} a minute per {who}; "
        f"try again in {retry_after(wait)} s",
        kind="rate-limited",
        headers={"Retry-After": retry_after(wait)},
    )


async def generation_cost(request: Request) -> int:
    """How many generations a request asks for: 0 outside the generation routes."""
    template = route_template(request.scope)
    if request.method != "POST" or template not in GENERATION_PATHS:
        return 0
    if template != f"{API_PREFIX}/generate/batch":
        return 1
    try:
        body = await request.json()  # already read and parsed by FastAPI: cached
    except (ValueError, UnicodeDecodeError):
        return 1
    items = body.get("requests") if isinstance(body, dict) else None
    return max(1, len(items)) if isinstance(items, list) else 1


async def guard(request: Request) -> AsyncIterator[None]:
    """Authenticate, then apply the rate limits (see the module docstring)."""
    access: AccessControl = request.app.state.access
    identity = access.identify(request)
    request.state.client_identity = identity
    if access.requests is not None:
        wait = access.requests.take(identity)
        if wait is not None:
            raise _too_many(access.requests, wait, identity, "requests")
    cost = await generation_cost(request) if access.generations is not None else 0
    if access.generations is None or cost == 0:
        yield
        return
    wait = access.generations.take(identity, cost)
    if wait is not None:
        raise _too_many(access.generations, wait, identity, "generations")
    try:
        yield
    except Exception:
        access.generations.refund(identity, cost)
        raise
