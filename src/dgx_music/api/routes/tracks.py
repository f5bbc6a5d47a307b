"""The library: search and sort clips, look at one, delete one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from dgx_music.api import conversions, query, reads
from dgx_music.api.deps import ServiceDep
from dgx_music.api.problems import problems
from dgx_music.api.schemas import TrackOut, TrackPage, json_response
from dgx_music.storage.tracks import TrackFilter, TrackSort, parse_moment

router = APIRouter(tags=["tracks"])

TrackId = Annotated[str, Path(description="the track's id (or a unique prefix), or its job's id")]
MAX_PAGE = 500


class TrackQuery(BaseModel):
    """The filters of ``GET /tracks``, the same as ``dgx-music tracks list``'s (read with
    ``query.parse``: see there why not as separate FastAPI parameters)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    search: str | None = Field(None, max_length=200, description="text in the prompt")
    bpm_min: float | None = Field(None, ge=0, le=1000)
    bpm_max: float | None = Field(None, ge=0, le=1000)
    key: str | None = Field(None, max_length=32, description="e.g. 'A minor' or 'Am'")
    compatible: bool = Field(
        False, description="with key: also its relative and the keys a fifth away"
    )
    engine: str | None = Field(None, max_length=64)
    model: str | None = Field(None, max_length=256)
    since: str | None = Field(
        None, max_length=40, description="created on or after (ISO date/time, UTC)"
    )
    until: str | None = Field(
        None, max_length=40, description="created on or before (a date: that day)"
    )
    duration_min: float | None = Field(None, ge=0, le=86_400, description="seconds")
    duration_max: float | None = Field(None, ge=0, le=86_400, description="seconds")
    sort: TrackSort = "created"
    order: Literal["asc", "desc"] | None = Field(
        None, description="default: newest first for created, ascending otherwise"
    )
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=1_000_000)

    def track_filter(self) -> TrackFilter:
        return TrackFilter(
            text=self.search,
            bpm_min=self.bpm_min,
            bpm_max=self.bpm_max,
            key=self.key,
            compatible=self.compatible,
            engine=self.engine,
            model=self.model,
            created_since=None if self.since is None else parse_moment(self.since, end=False),
            created_before=None if self.until is None else parse_moment(self.until, end=True),
            duration_min=self.duration_min,
            duration_max=self.duration_max,
            sort=self.sort,
            descending=None if self.order is None else self.order == "desc",
        )


@router.get(
    "/tracks",
    responses=problems(400, 422),
    response_model=TrackPage,
    openapi_extra=query.parameters(TrackQuery),
)
async def list_tracks(request: Request, service: ServiceDep) -> Response:
    """Clips matching every filter given, the same filters as ``dgx-music tracks list``."""
    asked = query.parse(TrackQuery, request)
    where = asked.track_filter()
    limit, offset = asked.limit, asked.offset

    def page() -> Response:
        found = service.tracks.list(where, limit=limit + 1, offset=offset)
        following = offset + limit if len(found) > limit else None
        return TrackPage.response(found[:limit], following)

    return await reads.read(request, page, rows=limit + 1)


@router.get("/history", responses=problems(422), response_model=list[TrackOut])
async def history(
    request: Request,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> list[TrackOut]:
    """The newest clips (the first API's path; ``/tracks`` does more)."""

    def newest() -> list[TrackOut]:
        return [TrackOut.of(t) for t in service.tracks.list(TrackFilter(), limit=limit)]

    return await reads.read(request, newest, rows=limit)


@router.get("/tracks/{track_id}", responses=problems(404, 422), response_model=TrackOut)
async def get_track(track_id: TrackId, request: Request, service: ServiceDep) -> Response:
    """One clip: measurements, what was asked, links to its audio, stems and MIDI."""

    def one() -> Response:
        return json_response(TrackOut.of(service.tracks.get(track_id)))

    return await reads.read(request, one)


@router.delete(
    "/tracks/{track_id}",
    status_code=204,
    response_class=Response,
    responses=problems(404, 422),
)
def delete_track(track_id: TrackId, service: ServiceDep) -> Response:
    """Delete a clip: its row, its files (audio, stems, MIDI, sidecar) and cached copies."""
    track = service.delete_track(track_id)
    conversions.forget(service.settings, track)
    return Response(status_code=204)
