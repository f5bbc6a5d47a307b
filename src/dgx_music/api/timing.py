"""Times every HTTP request for ``dgx_music_http_request_duration_seconds``.

A pure ASGI middleware, outside the body limit, so that refused requests (413, 401, 429) are
timed too. The clock stops at the start of the response: for an event stream or a large file
that is the latency a client feels, where the whole exchange would measure the client. The
``route`` label is the template of the route that answered (``templates.route_template``),
so ``/jobs/{job_id}`` is one series however many jobs there are; requests no route matched
share ``unmatched``, and unusual methods share ``OTHER``.
"""

from __future__ import annotations

import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dgx_music.api.templates import route_template

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestTimer:
    def __init__(self, app: ASGIApp, *, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observed = False

        def observe(status: int) -> None:
            nonlocal observed
            if observed:
                return
            observed = True
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = route_template(scope) or "unmatched"
            self.histogram.labels(method, route, str(status)).observe(time.perf_counter() - started)

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                observe(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except BaseException:
            observe(500)  # the server error handler outside answers it with a 500
            raise
