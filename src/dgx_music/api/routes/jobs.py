"""Submitting, listing, cancelling and retrying jobs."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from dgx_music.api import reads
from dgx_music.api.deps import ServiceDep, SettingsDep
from dgx_music.api.problems import ApiProblem, problems
from dgx_music.api.schemas import (
    API_PREFIX,
    BatchBody,
    BatchOut,
    GenerateBody,
    JobOut,
    JobPage,
    json_response,
)
from dgx_music.domain import GenerationRequest, Job, JobStatus
from dgx_music.service import AUDIO_INPUTS, GenerationService, InvalidRequest
from dgx_music.storage.tracks import TrackNotFound

router = APIRouter(tags=["jobs"])

JobId = Annotated[str, Path(description="the job's id, or a unique prefix of 4+ characters")]


def _request(service: GenerationService, body: GenerateBody) -> GenerationRequest:
    """Validate one body into a request. Audio inputs must name library tracks and models
    must be checkpoint names: over the network a path would let a client make the server read
    (or probe for) any file it can."""
    parameters = body.parameters()
    model = parameters.get("model")
    if model is not None and model != service.settings.musicgen_model and _is_path(model):
        raise InvalidRequest(
            "model: name a checkpoint such as facebook/musicgen-small; checkpoint directories "
            "on the server are chosen by its operator (the musicgen_model setting)"
        )
    for name in AUDIO_INPUTS:
        reference = parameters.get(name)
        if reference is not None:
            try:
                parameters[name] = service.tracks.get(reference).id
            except TrackNotFound:
                raise InvalidRequest(f"{name}: no track {reference!r} in the library") from None
    return service.build_request(body.prompt, **parameters)


def _is_path(model: str) -> bool:
    """A model given as a server path (``/ckpt``, ``./x``, ``~/x``) rather than a Hub id."""
    return model.startswith(("/", ".", "~")) or "\\" in model


def _out(service: GenerationService, jobs: list[Job]) -> list[JobOut]:
    done = [job.id for job in jobs if job.status is JobStatus.COMPLETED]
    tracks = service.tracks.ids_for_jobs(done)
    return [JobOut.of(job, tracks.get(job.id)) for job in jobs]


@router.post(
    "/generate",
    status_code=202,
    responses=problems(400, 413, 422),
    response_model=JobOut,
)
def generate(body: GenerateBody, service: ServiceDep, response: Response) -> JobOut:
    """Queue one clip; a worker makes it. Follow it at the Location header or its events."""
    request = _request(service, body)
    job = service.submit([request], priority=body.priority).jobs[0]
    response.headers["Location"] = f"{API_PREFIX}/jobs/{job.id}"
    return JobOut.of(job)


@router.post(
    "/generate/batch",
    status_code=202,
    responses=problems(400, 413, 422),
    response_model=BatchOut,
)
def generate_batch(body: BatchBody, service: ServiceDep, settings: SettingsDep) -> BatchOut:
    """Queue several clips as one batch; every request is checked before any is queued."""
    if len(body.requests) > settings.api_max_batch:
        raise InvalidRequest(
            f"a batch holds at most {settings.api_max_batch} requests; this one has "
            f"{len(body.requests)}"
        )
    requests = []
    for index, item in enumerate(body.requests):
        try:
            requests.append(_request(service, item))
        except InvalidRequest as exc:
            raise InvalidRequest(f"requests[{index}]: {exc}") from None
    submission = service.submit(requests, priority=body.priority, as_batch=True)
    assert submission.batch_id is not None
    return BatchOut(batch_id=submission.batch_id, jobs=[JobOut.of(j) for j in submission.jobs])


def encode_cursor(job: Job) -> str:
    raw = json.dumps([job.created_at.isoformat(), job.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, job_id = json.loads(raw)
        moment = datetime.fromisoformat(created)
        if not isinstance(job_id, str) or moment.tzinfo is None:
            raise ValueError(cursor)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ApiProblem(
            400, "cursor is not one this server gave out; start again without it", kind="cursor"
        ) from None
    return moment, job_id


@router.get("/jobs", responses=problems(400, 422), response_model=JobPage)
async def list_jobs(
    request: Request,
    service: ServiceDep,
    status: JobStatus | None = None,
    batch: Annotated[str | None, Query(max_length=64, description="batch id")] = None,
    engine: Annotated[str | None, Query(max_length=64, description="asked for or ran")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512, description="from next_cursor")] = None,
) -> Response:
    """Newest first, a page at a time."""
    before = decode_cursor(cursor) if cursor else None

    def page() -> Response:
        found = service.jobs.list(
            status=status, batch_id=batch, engine=engine, before=before, limit=limit + 1
        )
        shown = found[:limit]
        following = encode_cursor(shown[-1]) if len(found) > limit else None
        return json_response(JobPage(items=_out(service, shown), next_cursor=following))

    return await reads.read(request, page, rows=limit + 1)


@router.get("/jobs/{job_id}", responses=problems(404, 422), response_model=JobOut)
async def get_job(job_id: JobId, request: Request, service: ServiceDep) -> Response:
    """One job, with its progress and, once completed, its track."""

    def one() -> Response:
        job, track_id = service.jobs.get_with_track(job_id)
        return json_response(JobOut.of(job, track_id))

    return await reads.read(request, one)


@router.delete("/jobs/{job_id}", responses=problems(404, 409, 422), response_model=JobOut)
def cancel_job(job_id: JobId, service: ServiceDep) -> JobOut:
    """Cancel a queued job at once, or ask a running one to stop at its next step."""
    return _out(service, [service.cancel(job_id)])[0]


@router.post("/jobs/{job_id}/retry", responses=problems(404, 409, 422), response_model=JobOut)
def retry_job(job_id: JobId, service: ServiceDep) -> JobOut:
    """Queue a failed or cancelled job again, with a fresh attempt budget."""
    return JobOut.of(service.retry(job_id))
