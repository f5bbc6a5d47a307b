"""A clip's files: the mix (any export format, byte ranges), stems, MIDI, waveform peaks.

Every route finds the track in the catalogue and serves the paths the catalogue holds for it:
no part of a request is ever joined onto a filesystem path, so ``../`` and absolute paths in
a request can only fail to match a track and get a 404.
"""

from __future__ import annotations

import enum
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import StreamingResponse

from dgx_music.api import conversions
from dgx_music.api.deps import ServiceDep
from dgx_music.api.media import (
    AUDIO_MEDIA_TYPES,
    MEDIA_TYPES,
    existing,
    file_response,
    range_headers,
)
from dgx_music.api.problems import ApiProblem, problems
from dgx_music.api.schemas import WaveformOut
from dgx_music.domain import Track
from dgx_music.service import GenerationService

router = APIRouter(tags=["files"])


class ExportRate(enum.IntEnum):
    """Sample rates a clip can be converted to (an enum: query strings become ints)."""

    cd = 44_100
    video = 48_000


TrackId = Annotated[str, Path(description="the track's id (or a unique prefix), or its job's id")]
RANGES = [Depends(range_headers)]


def _described(media_types: tuple[str, ...], what: str) -> dict[int | str, dict[str, Any]]:
    content = {m: {"schema": {"type": "string", "format": "binary"}} for m in media_types}
    return {
        200: {"description": what, "content": content},
        206: {"description": f"part of {what} (a Range request)", "content": content},
    }


AUDIO_RESPONSES = {**_described(AUDIO_MEDIA_TYPES, "the audio"), **problems(400, 404, 416, 422)}
STEM_RESPONSES = {**_described(("audio/wav", "audio/flac"), "the stem"), **problems(404, 416, 422)}
MIDI_RESPONSES = {**_described(("audio/midi",), "the MIDI file"), **problems(404, 416, 422)}


def _master(service: GenerationService, track: Track) -> FilePath:
    return existing(service.library.absolute(track.path), "audio")


def _serve_audio(
    request: Request,
    service: GenerationService,
    track: Track,
    fmt: str | None,
    sample_rate: int | None,
) -> StreamingResponse:
    master = _master(service, track)
    fmt = fmt or track.format
    path = conversions.converted(service.settings, track, master, fmt, sample_rate)
    name = f"{FilePath(track.path).stem}{path.suffix}"
    return file_response(request, path, MEDIA_TYPES[fmt], name)


@router.get(
    "/tracks/{track_id}/audio",
    response_class=StreamingResponse,
    responses=AUDIO_RESPONSES,
    dependencies=RANGES,
)
def track_audio(
    track_id: TrackId,
    request: Request,
    service: ServiceDep,
    format: Annotated[
        Literal["wav", "flac", "mp3", "ogg", "opus"] | None,
        Query(description="default: the library file's own format"),
    ] = None,
    sample_rate: Annotated[
        ExportRate | None, Query(description="default: the clip's own rate")
    ] = None,
) -> StreamingResponse:
    """The clip, whole or the byte range asked for; other formats are made once and cached."""
    track = service.tracks.get(track_id)
    rate = None if sample_rate is None else int(sample_rate)
    return _serve_audio(request, service, track, format, rate)


@router.get(
    "/files/{name}",
    response_class=StreamingResponse,
    responses=AUDIO_RESPONSES,
    dependencies=RANGES,
)
def file_by_name(
    name: Annotated[str, Path(description="a track id, or its audio file's name")],
    request: Request,
    service: ServiceDep,
) -> StreamingResponse:
    """The clip by track id or by file name (the first API's path)."""
    from dgx_music.storage.tracks import TrackNotFound

    try:
        track = service.tracks.find_by_file_name(name)
    except TrackNotFound:
        track = service.tracks.get(name)
    return _serve_audio(request, service, track, None, None)


@router.get(
    "/tracks/{track_id}/stems/{name}",
    response_class=StreamingResponse,
    responses=STEM_RESPONSES,
    dependencies=RANGES,
)
def track_stem(
    track_id: TrackId,
    name: Annotated[str, Path(description="an instrument from the track's stems list")],
    request: Request,
    service: ServiceDep,
) -> StreamingResponse:
    """One instrument of the clip (engines that compose, such as symbolic, keep them)."""
    track = service.tracks.get(track_id)
    relative = track.stems.get(name)
    if relative is None:
        have = ", ".join(sorted(track.stems)) or "none"
        raise ApiProblem(404, f"track has no stem {name!r} (stems: {have})", kind="not-found")
    path = existing(service.library.absolute(relative), "stem")
    media_type = MEDIA_TYPES.get(path.suffix.lstrip("."), "application/octet-stream")
    stem_name = f"{FilePath(track.path).stem}-{FilePath(relative).name}"
    return file_response(request, path, media_type, stem_name)


@router.get(
    "/tracks/{track_id}/midi",
    response_class=StreamingResponse,
    responses=MIDI_RESPONSES,
    dependencies=RANGES,
)
def track_midi(track_id: TrackId, request: Request, service: ServiceDep) -> StreamingResponse:
    """The MIDI file the clip was rendered from, where the engine wrote one."""
    track = service.tracks.get(track_id)
    if track.midi_path is None:
        raise ApiProblem(404, "this track has no MIDI file", kind="not-found")
    path = existing(service.library.absolute(track.midi_path), "MIDI")
    return file_response(request, path, MEDIA_TYPES["mid"], FilePath(track.midi_path).name)


@router.get("/tracks/{track_id}/waveform", responses=problems(404, 422), response_model=WaveformOut)
def track_waveform(
    track_id: TrackId,
    service: ServiceDep,
    points: Annotated[int, Query(ge=16, le=8192, description="buckets across the clip")] = 1000,
) -> WaveformOut:
    """Lowest and highest sample of each of ``points`` slices: what a player draws."""
    from dgx_music.audio.peaks import peaks

    track = service.tracks.get(track_id)
    found = peaks(_master(service, track), points)
    return WaveformOut(
        points=len(found.low),
        duration=found.total_frames / found.sample_rate,
        sample_rate=found.sample_rate,
        bucket_seconds=found.frames_per_point / found.sample_rate,
        min=[round(v, 4) for v in found.low],
        max=[round(v, 4) for v in found.high],
    )
