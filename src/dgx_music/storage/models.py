"""The relational schema. Alembic migrations under ``migrations/`` must create exactly this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both SQLite (which forgets the zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """On SQLite, the stored text straight to an aware datetime with the C parser
        (``datetime.fromisoformat`` reads SQLAlchemy's ``2026-01-01 12:00:00.000001``):
        SQLAlchemy's own SQLite parser is a regular expression per value, a tenth of a track
        page's time. Elsewhere the driver's datetimes go through ``process_result_value``."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def parse(value: str | None) -> datetime | None:
            if value is None:
                return None
            moment = datetime.fromisoformat(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

        return parse

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    prompt: Mapped[str] = mapped_column(Text, nullable=False)
    engine: Mapped[str] = mapped_column(String(64), nullable=False)
    model: Mapped[str | None] = mapped_column(String(256))
    duration: Mapped[float] = mapped_column(Float, nullable=False)
    seed: Mapped[int] = mapped_column(Integer, nullable=False)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    engine_used: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    batch_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_jobs_claim", "status", "priority", "created_at"),
        Index("ix_jobs_batch", "batch_id"),
        Index("ix_jobs_created", "created_at", "id"),  # job listing pages (migration 0004)
        Index("ix_jobs_updated", "updated_at"),  # the all-jobs event stream (migration 0004)
    )


class TrackRow(Base):
    __tablename__ = "tracks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("jobs.id"), nullable=False, unique=True
    )
    path: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    format: Mapped[str] = mapped_column(String(8), nullable=False)
    sample_rate: Mapped[int] = mapped_column(Integer, nullable=False)
    channels: Mapped[int] = mapped_column(Integer, nullable=False)
    duration: Mapped[float] = mapped_column(Float, nullable=False)
    bpm: Mapped[float | None] = mapped_column(Float)
    key: Mapped[str | None] = mapped_column(String(16))
    lufs: Mapped[float] = mapped_column(Float, nullable=False)
    true_peak: Mapped[float] = mapped_column(Float, nullable=False)
    loudness_method: Mapped[str] = mapped_column(String(16), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    prompt: Mapped[str] = mapped_column(Text, nullable=False)
    engine: Mapped[str] = mapped_column(String(64), nullable=False)
    model: Mapped[str | None] = mapped_column(String(256))
    seed: Mapped[int] = mapped_column(Integer, nullable=False)
    stems: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    midi_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    bpm_confidence: Mapped[float | None] = mapped_column(Float)
    key_confidence: Mapped[float | None] = mapped_column(Float)
    asked_bpm: Mapped[float | None] = mapped_column(Float)
    asked_key: Mapped[str | None] = mapped_column(String(16))

    # One index per sortable column, each ending in id so that ``ORDER BY col, id`` (the
    # listing's tie-break) reads the index in order and stops after LIMIT rows instead of
    # sorting the table. Engine leads its index because an engine filter is an equality and the
    # listing's default order is by creation time. Migration 0002 creates all but the first.
    __table_args__ = (
        Index("ix_tracks_created", "created_at"),
        Index("ix_tracks_bpm", "bpm", "id"),
        # Key leads, like engine; bpm rides along so a key + bpm filter never leaves the index
        # (migration 0005).
        Index("ix_tracks_key", "key", "created_at", "id", "bpm"),
        Index("ix_tracks_engine", "engine", "created_at"),
        Index("ix_tracks_duration", "duration", "id"),
        Index("ix_tracks_lufs", "lufs", "id"),
        Index("ix_tracks_prompt", "prompt", "id"),
    )


class RateLimitRow(Base):
    """One client's bucket of one rate limit (``api/ratelimit.py``): its theoretical arrival
    time, in seconds since the epoch, shared by every API process on the database."""

    __tablename__ = "rate_limits"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    client: Mapped[str] = mapped_column(String(300), primary_key=True)
    tat: Mapped[float] = mapped_column(Float, nullable=False)


class WorkerRow(Base):
    """A worker that has said it is alive: every worker, idle or busy, renews its row each
    ``heartbeat_seconds`` (``storage/workers.py``), so health checks see idle workers too."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
