"""The jobs table as the job store reads it: a row to a ``Job``, and what every query needs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select

from dgx_music.domain import GenerationRequest, Job, JobStatus
from dgx_music.storage.models import JobRow, TrackRow

jobs = cast(Table, JobRow.__table__)
tracks_table = cast(Table, TrackRow.__table__)
WITH_TRACK = (
    select(jobs, tracks_table.c.id.label("track_id"))
    .select_from(jobs.outerjoin(tracks_table, tracks_table.c.job_id == jobs.c.id))
    .where(jobs.c.id == bindparam("job_id"))
)
"""A job by its full id with the id of its track (null until completed): one indexed join,
built once, for the lookup the API answers most."""
WITH_TRACK_NAMES = tuple(WITH_TRACK.selected_columns.keys())

JobChanges = list[tuple[Job, datetime]]
"""Jobs with the time their row last changed (``JobStore.list`` shadows ``list`` in the class)."""


class JobNotFound(LookupError):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


JOB_FIELDS = tuple(field.name for field in dataclasses.fields(Job))


def job_from_row(row: Row[Any] | Mapping[str, Any]) -> Job:
    data = dict(row if isinstance(row, Mapping) else row._mapping)
    data.update(
        status=JobStatus(data["status"]),
        request=GenerationRequest.model_validate(data["request"]),
        cancel_requested=bool(data["cancel_requested"]),
        notes=dict(data["notes"] or {}),
    )
    return Job(**{name: data[name] for name in JOB_FIELDS})
