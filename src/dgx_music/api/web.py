"""The web page: static files shipped inside the package, served at ``/`` and ``/web/{name}``.

The page (``dgx_music/web/``: ``index.html``, ES modules, a stylesheet, an SVG icon) needs no
build step and talks to the public API under ``/api/v1`` only. Its files are read once, when
the app is made, and served from memory by name: no part of a request is joined onto a path.

Every answer carries a strict Content-Security-Policy: scripts, styles and connections to this
origin only, nothing inline, no frames, no plugins. ``blob:`` media is allowed because, with API
keys on, the page fetches audio with an ``Authorization`` header and plays the blob (an
``<audio src>`` cannot send headers). The routes are public (the page holds no data; the API
calls it makes are what keys protect) and left out of the OpenAPI schema.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Request, Response

from dgx_music.api.problems import ApiProblem

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
"""Fixed here rather than guessed from the platform's mime tables, which differ by system (a
module script served as anything but JavaScript is refused by browsers)."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Revalidate every time (cheap: an ETag), so an upgraded server never runs an old script.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every servable file of the package's ``web`` folder, by name."""
    assets = {}
    for entry in (resources.files("dgx_music") / "web").iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in CONTENT_TYPES:
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            assets[entry.name] = Asset(body, CONTENT_TYPES[suffix], etag)
    if "index.html" not in assets:
        raise RuntimeError("the web page's files are missing from the dgx_music package")
    return assets


def _answer(request: Request, asset: Asset) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)


def install_web(app: FastAPI) -> None:
    """Serve the page at ``/`` and its files at ``/web/{name}``, outside the schema."""
    assets = load_assets()
    router = APIRouter(include_in_schema=False)

    @router.api_route("/", methods=["GET", "HEAD"])
    def page(request: Request) -> Response:
        return _answer(request, assets["index.html"])

    @router.api_route("/web/{name}", methods=["GET", "HEAD"])
    def asset(name: Annotated[str, Path(max_length=64)], request: Request) -> Response:
        found = assets.get(name)
        if found is None:
            raise ApiProblem(404, f"the web page has no file {name!r}", kind="not-found")
        return _answer(request, found)

    app.include_router(router)
