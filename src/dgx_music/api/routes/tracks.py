"""The library: search and sort clips, look at one, delete one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from dgx_music.api import conversions, reads
from dgx_music.api.deps import ServiceDep
from dgx_music.api.problems import problems
from dgx_music.api.schemas import TrackOut, TrackPage, json_response
from dgx_music.storage.tracks import TrackFilter, TrackSort, parse_moment

router = APIRouter(tags=["tracks"])

TrackId = Annotated[str, Path(description="the track's id (or a unique prefix), or its job's id")]
MAX_PAGE = 500


@router.get("/tracks", responses=problems(400, 422), response_model=TrackPage)
async def list_tracks(
    request: Request,
    service: ServiceDep,
    search: Annotated[str | None, Query(max_length=200, description="text in the prompt")] = None,
    bpm_min: Annotated[float | None, Query(ge=0, le=1000)] = None,
    bpm_max: Annotated[float | None, Query(ge=0, le=1000)] = None,
    key: Annotated[str | None, Query(max_length=32, description="e.g. 'A minor' or 'Am'")] = None,
    compatible: Annotated[
        bool, Query(description="with key: also its relative and the keys a fifth away")
    ] = False,
    engine: Annotated[str | None, Query(max_length=64)] = None,
    model: Annotated[str | None, Query(max_length=256)] = None,
    since: Annotated[
        str | None, Query(max_length=40, description="created on or after (ISO date/time, UTC)")
    ] = None,
    until: Annotated[
        str | None, Query(max_length=40, description="created on or before (a date: that day)")
    ] = None,
    duration_min: Annotated[float | None, Query(ge=0, le=86_400, description="seconds")] = None,
    duration_max: Annotated[float | None, Query(ge=0, le=86_400, description="seconds")] = None,
    sort: TrackSort = "created",
    order: Annotated[
        Literal["asc", "desc"] | None,
        Query(description="default: newest first for created, ascending otherwise"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Clips matching every filter given, the same filters as ``dgx-music tracks list``."""
    where = TrackFilter(
        text=search,
        bpm_min=bpm_min,
        bpm_max=bpm_max,
        key=key,
        compatible=compatible,
        engine=engine,
        model=model,
        created_since=None if since is None else parse_moment(since, end=False),
        created_before=None if until is None else parse_moment(until, end=True),
        duration_min=duration_min,
        duration_max=duration_max,
        sort=sort,
        descending=None if order is None else order == "desc",
    )

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
