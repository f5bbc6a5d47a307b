"""Request body limits, enforced before a route reads a byte too many.

A pure ASGI middleware rather than a check in each route: a declared ``Content-Length`` over
the limit is refused before the body is read at all, and a body without one (chunked) is
counted as it streams in and cut off at the limit, so an oversized request costs the server
at most the limit in memory. Upload routes get their own, larger limit by path.

The overflow is raised as an ``HTTPException`` subclass on purpose: FastAPI re-raises
HTTPExceptions from body parsing unchanged (anything else it turns into a 400), so the
problem handlers answer it as a 413 problem like any other error.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dgx_music.api.problems import problem_response


class BodyTooLarge(HTTPException):
    kind = "body-too-large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class BodyLimit:
    """Refuse bodies over ``default`` bytes (``per_path[path]`` for the paths named there)."""

    def __init__(self, app: ASGIApp, *, default: int, per_path: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.per_path = dict(per_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = problem_response(
                413, BodyTooLarge(limit).detail, kind=BodyTooLarge.kind, instance=scope["path"]
            )
            await response(scope, receive, send)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:  # read outside a route's body parsing: answer it here
            if started:
                raise
            response = problem_response(413, exc.detail, kind=exc.kind, instance=scope["path"])
            await response(scope, receive, send)
