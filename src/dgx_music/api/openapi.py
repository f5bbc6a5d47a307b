"""The OpenAPI document, made to say what the app really answers.

FastAPI describes validation errors as ``application/json`` with its own error model; this
app answers them (and every other error) as ``application/problem+json`` problems. So the
document is post-processed once: the problem schemas are added, every 422 points at the
validation problem, the unused FastAPI error models go, and each operation gets a ``default``
problem response — errors that any route can meet (405, 413, 503) without listing them all.
``ProgressEvent`` is added too: the event streams' ``itemSchema`` refers to it, and no route
returns it as JSON, so FastAPI would not list it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from dgx_music.api.problems import PROBLEM_MEDIA_TYPE, Problem, ValidationProblem, problems
from dgx_music.api.schemas import ProgressEvent

_FASTAPI_ERROR_MODELS = ("HTTPValidationError", "ValidationError")


def _schemas() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for model in (Problem, ValidationProblem, ProgressEvent):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERROR_MODELS:
        components.pop(name, None)
    components.update(_schemas())
    validation = problems(422)[422]
    default = {
        "description": "a problem (RFC 9457)",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = validation
            responses.setdefault("default", default)
    return schema


def install_openapi(app: FastAPI, amend: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Serve :func:`build_openapi`'s document, built once; ``amend`` adds to it what
    middleware and dependencies do that routes cannot declare (security, 401, 429)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build_openapi(app)
            if amend is not None:
                amend(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
