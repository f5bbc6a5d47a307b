"""Every error the API answers is an RFC 9457 problem: one JSON shape, one media type.

``type`` names the kind of problem (``about:blank`` for plain HTTP errors, whose ``title`` is
then the status phrase), ``title`` says it in words, ``detail`` says what to change. Clients —
the web page, scripts — can therefore show any error the same way. Known errors of the layers
below (a missing job, an invalid request, a cancel that does not apply) map to 400/404/409 here
and nowhere else; anything unexpected becomes a 500 problem that says nothing about the
internals, while the traceback goes to the server log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:dgx-music:problem:"


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(default="about:blank", description="URI naming the kind of problem")
    title: str = Field(description="short summary of the kind of problem")
    status: int = Field(ge=400, le=599, description="the HTTP status code")
    detail: str = Field(description="what went wrong with this request, and what to change")
    instance: str | None = Field(default=None, description="the request path")


class FieldProblem(BaseModel):
    field: str = Field(description="where: body.prompt, query.limit, path.job_id …")
    message: str


class ValidationProblem(Problem):
    """A request whose parameters or body do not fit the schema (422)."""

    errors: list[FieldProblem] = Field(default_factory=list)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class ApiProblem(Exception):
    """Raised by routes for problems of the API itself (an absent stem, an unsatisfiable range)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> ProblemResponse:
    """A problem response; ``kind`` (e.g. ``"not-found"``) names it, else it is about:blank."""
    phrase = _phrase(status)
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + kind if kind else "about:blank",
        "title": phrase,
        "status": status,
        "detail": detail or phrase,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extra or {})
    return ProblemResponse(body, status_code=status, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _domain_errors() -> dict[type[Exception], tuple[int, str]]:
    """Errors of the service and storage layers that are the client's doing: status, kind."""
    from dgx_music.audio.encode import EncodeError
    from dgx_music.audio.export import AudioFileError
    from dgx_music.engines.base import EngineError
    from dgx_music.engines.registry import UnknownEngine
    from dgx_music.service import InvalidRequest
    from dgx_music.storage.jobs import InvalidTransition, JobNotFound
    from dgx_music.storage.tracks import InvalidTrackFilter, TrackNotFound

    return {
        JobNotFound: (404, "not-found"),
        TrackNotFound: (404, "not-found"),
        InvalidRequest: (400, "invalid-request"),
        InvalidTrackFilter: (400, "invalid-filter"),
        UnknownEngine: (400, "unknown-engine"),
        EngineError: (400, "engine-refused"),
        EncodeError: (400, "cannot-convert"),
        AudioFileError: (400, "unreadable-audio"),
        InvalidTransition: (409, "invalid-transition"),
    }


def _field_name(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location) or "request"


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error through :func:`problem_response`."""

    async def on_http(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
        kind = getattr(exc, "kind", None)
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return problem_response(
            exc.status_code, detail, kind=kind, instance=request.url.path, headers=headers
        )

    async def on_validation(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": _field_name(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(
            422,
            detail or "the request does not fit the schema",
            kind="validation-error",
            instance=request.url.path,
            extra={"errors": errors},
        )

    async def on_api_problem(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, ApiProblem)
        return problem_response(
            exc.status, exc.detail, kind=exc.kind, instance=request.url.path, headers=exc.headers
        )

    def on_domain(status: int, kind: str) -> Any:
        async def handle(request: Request, exc: Exception) -> ProblemResponse:
            return problem_response(status, str(exc), kind=kind, instance=request.url.path)

        return handle

    async def on_database(request: Request, exc: Exception) -> ProblemResponse:
        log.error("database unavailable: %s", exc)
        return problem_response(
            503,
            "the database is unavailable; try again shortly",
            kind="database-unavailable",
            instance=request.url.path,
            headers={"Retry-After": "5"},
        )

    async def on_anything(request: Request, exc: Exception) -> ProblemResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(
            500,
            "the server failed to answer this request; the error is in its log",
            kind="internal-error",
            instance=request.url.path,
        )

    from sqlalchemy.exc import OperationalError

    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ApiProblem, on_api_problem)
    for error, (status, kind) in _domain_errors().items():
        app.add_exception_handler(error, on_domain(status, kind))
    app.add_exception_handler(OperationalError, on_database)
    app.add_exception_handler(Exception, on_anything)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path, for a 405's ``Allow`` header.

    Starlette's 405 names only the methods of the first route whose path matched, so a
    resource with a GET route and a DELETE route answered ``Allow: GET``; RFC 9110 (15.5.6)
    asks for all of the resource's methods, and clients and schema checks rely on it.
    """
    from starlette.routing import Match

    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem statuses a route can answer."""
    described: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        schema = "ValidationProblem" if status == 422 else "Problem"
        described[status] = {
            "description": _phrase(status),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    return described
