"""Library clips as a DAW session to download: ``POST /exports/ardour`` answers a zip.

The session is built in a fresh folder under the server's cache, zipped, sent and deleted
(the zip too, once the response has been sent). Nothing from the request reaches a path: ids
are looked up in the catalogue and the name is reduced to a safe file name by the exporter.
"""

from __future__ import annotations

import enum
import shutil
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from dgx_music.api.deps import ServiceDep
from dgx_music.api.problems import ApiProblem, problems

router = APIRouter(tags=["exports"])

ZIP_MEDIA_TYPE = "application/zip"


class SessionRate(enum.IntEnum):
    """Sample rates a session can be asked for (an enum: the schema lists them)."""

    r22050 = 22_050
    r32000 = 32_000
    r44100 = 44_100
    r48000 = 48_000
    r88200 = 88_200
    r96000 = 96_000
    r176400 = 176_400
    r192000 = 192_000


class ArdourExportBody(BaseModel):
    """What ``POST /exports/ardour`` takes: which clips, in timeline order, and how."""

    model_config = ConfigDict(extra="forbid")

    track_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1,
        max_length=32,
        description="track ids (or unique prefixes, or their jobs' ids), in timeline order",
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="session name (default: from the first prompt); made safe for file names",
    )
    stack: bool = Field(default=False, description="all clips at 0:00 instead of in sequence")
    sample_rate: SessionRate | None = Field(
        default=None, description="session rate (default: the clips' most common rate)"
    )


_ZIP: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the session folder, zipped",
        "content": {ZIP_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/exports/ardour",
    response_class=FileResponse,
    responses={**_ZIP, **problems(400, 404, 413, 422)},
)
def export_ardour(body: ArdourExportBody, service: ServiceDep) -> FileResponse:
    """An Ardour 7 session of the clips (stems and MIDI on their own tracks), as a zip."""
    from dgx_music.daw import ArdourExportError, MissingTrackFile, ardour_session_zip

    rate = None if body.sample_rate is None else int(body.sample_rate)
    try:
        zipped = ardour_session_zip(
            service, body.track_ids, name=body.name, stack=body.stack, sample_rate=rate
        )
    except MissingTrackFile as exc:
        raise ApiProblem(404, str(exc), kind="file-missing") from None
    except ArdourExportError as exc:
        raise ApiProblem(400, str(exc), kind="invalid-export") from None
    return FileResponse(
        zipped.path,
        media_type=ZIP_MEDIA_TYPE,
        headers={"Content-Disposition": attachment(zipped.filename)},
        background=BackgroundTask(shutil.rmtree, zipped.workdir, ignore_errors=True),
    )


def attachment(filename: str) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients and the exact ``filename*`` in UTF-8."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
