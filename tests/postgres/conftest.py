"""The PostgreSQL tier's fixtures: one server per session (``tests/support/postgres.py``),
one fresh database per test, so tests never see each other's rows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dgx_music.storage.database import Database
from tests.support.postgres import URL_VARIABLE, PostgresServer

# Read at import, before the autouse ``isolated_environment`` clears every DGX_MUSIC_ variable.
EXTERNAL_URL = os.environ.get(URL_VARIABLE)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The server named by DGX_MUSIC_TEST_POSTGRES_URL, else a private one (fails, never
    skips, when PostgreSQL is missing); a private one is stopped and deleted at the end."""
    server = PostgresServer(EXTERNAL_URL) if EXTERNAL_URL else PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty database for this test (``postgresql+psycopg://`` URL)."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(scope="session")
def migrated_template(postgres_server: PostgresServer) -> Iterator[str]:
    """A database migrated to the current schema once, that each test's copy starts from."""
    url = postgres_server.create_database()
    db = Database(url)
    try:
        db.upgrade()
    finally:
        db.dispose()  # CREATE DATABASE … TEMPLATE refuses a template with connections
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture
def migrated_url(postgres_server: PostgresServer, migrated_template: str) -> Iterator[str]:
    """A new database of this test's own, already at the current schema."""
    url = postgres_server.create_database(template=migrated_template)
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture
def pg_db(migrated_url: str) -> Iterator[Database]:
    """This test's migrated database."""
    yield from _opened(migrated_url)


@pytest.fixture
def second_db(migrated_url: str) -> Iterator[Database]:
    """Another Database (its own engine and pool) on the same database: another process."""
    yield from _opened(migrated_url)


def _opened(url: str) -> Iterator[Database]:
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def on_postgres(
    isolated_environment: Path, migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Point the settings (so the service, the app and its workers) at this test's own
    migrated database; returns its URL."""
    monkeypatch.setenv("DGX_MUSIC_DATABASE_URL", migrated_url)
    return migrated_url
