"""Serving files from the library: byte ranges, validators and the right media types.

Seeking in an ``<audio>`` element and resuming a download both send ``Range: bytes=…``; this
answers one range with 206 and ``Content-Range``, a range that starts past the end with a 416
problem, and anything it does not take (several ranges, other units, malformed syntax) with
the whole file, as RFC 9110 allows. Starlette's FileResponse also does ranges, but answers
errors in plain text; this keeps every error a problem document.

Callers pass paths they got from the catalogue, never paths built from request input.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import Header, Request
from starlette.responses import StreamingResponse

from dgx_music.api.problems import ApiProblem

CHUNK = 64 * 1024
MEDIA_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "mid": "audio/midi",
}
AUDIO_MEDIA_TYPES = ("audio/wav", "audio/flac", "audio/mpeg", "audio/ogg")
_ONE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last_exclusive)`` of the one byte range asked for; None to send everything.

    Raises ApiProblem(416) when the range cannot be satisfied: it starts at or past the end,
    or asks for the last 0 bytes.
    """
    match = _ONE_RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # several ranges, other units or malformed: the whole file will do
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise _unsatisfiable(size)
        return max(size - length, 0), size
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if last and int(last) < start:
        return None  # invalid range: ignored
    if start >= size:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> ApiProblem:
    return ApiProblem(
        416,
        f"the range starts past the end of the file ({size} bytes)",
        kind="range-not-satisfiable",
        headers={"Content-Range": f"bytes */{size}"},
    )


async def _read(path: Path, start: int, end: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        await handle.seek(start)
        left = end - start
        while left > 0:
            chunk = await handle.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def range_headers(
    range: Annotated[
        str | None,
        Header(description="one byte range, e.g. `bytes=0-1023`; answered with 206 (or 416)"),
    ] = None,
    if_range: Annotated[
        str | None,
        Header(description="the ETag or Last-Modified the range applies to; else the whole file"),
    ] = None,
) -> None:
    """Declares the headers :func:`file_response` reads, so that the OpenAPI document shows
    clients (and schema-driven tests, which then send ranges) that file routes take them."""
    del range, if_range  # read from the request by file_response


def file_response(
    request: Request, path: Path, media_type: str, download_name: str
) -> StreamingResponse:
    """``path`` whole (200) or the one range the request asks for (206)."""
    stat = path.stat()
    size = stat.st_size
    etag = f'"{size:x}-{stat.st_mtime_ns:x}"'
    last_modified = formatdate(stat.st_mtime, usegmt=True)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": last_modified,
        "Content-Disposition": _disposition(download_name),
    }
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    chosen = None
    if wanted is not None and (if_range is None or if_range in (etag, last_modified)):
        chosen = parse_range(wanted, size)
    if chosen is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(_read(path, 0, size), media_type=media_type, headers=headers)
    start, end = chosen
    headers["Content-Length"] = str(end - start)
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(
        _read(path, start, end), status_code=206, media_type=media_type, headers=headers
    )


def _disposition(name: str) -> str:
    """``inline`` (players play it; a download keeps the name); non-ASCII names are dropped."""
    safe = "".join(c for c in name if c.isascii() and c.isprintable() and c not in '"\\;')
    return f'inline; filename="{safe}"' if safe else "inline"


def existing(path: Path, what: str) -> Path:
    """``path`` if it is a file; a 404 problem naming ``what`` if the library lost it."""
    if not os.path.isfile(path):
        raise ApiProblem(404, f"the {what} file is missing from the library", kind="file-missing")
    return path
