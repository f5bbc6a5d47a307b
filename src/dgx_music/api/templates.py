"""The path template of the route that answers a request (``/api/v1/jobs/{job_id}``).

Metrics label requests by it and the rate limits recognise the generation routes by it. The
router leaves the matched route in ``scope["route"]``, but what its ``path`` holds depends on
the FastAPI version: the full path where included routes are copies, the path within its own
router (``/jobs/{job_id}``) where they are not. So the app records, when it includes each
router, the full template of every route it owns, and this looks the route up there first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter
from starlette.types import Scope


def full_templates(routers: Iterable[tuple[str, APIRouter]]) -> dict[int, str]:
    """``id(route) → prefix + path`` for every route of the (prefix, router) pairs given."""
    return {
        id(route): prefix + str(getattr(route, "path", ""))
        for prefix, router in routers
        for route in router.routes
    }


def route_template(scope: Scope) -> str | None:
    """The full template of the route matched for ``scope``; None before routing, or when no
    route matched."""
    route: Any = scope.get("route")
    if route is None:
        return None
    app = scope.get("app")
    known: dict[int, str] = getattr(getattr(app, "state", None), "route_templates", {})
    found = known.get(id(route)) or getattr(route, "path", None)
    return str(found) if found else None
