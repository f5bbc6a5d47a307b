"""A real PostgreSQL server for ``tests/postgres``: the one ``DGX_MUSIC_TEST_POSTGRES_URL``
names, or a private throwaway one started here (initdb into a temporary directory, fsync off,
a free loopback port, its socket in that directory) and removed at the end of the session.

The project's rule is that a test of the PostgreSQL path talks to a real server and that a
missing dependency fails rather than skips: without PostgreSQL's binaries this raises
:class:`PostgresUnavailable` with what to install.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

URL_VARIABLE = "DGX_MUSIC_TEST_POSTGRES_URL"
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No server to test against: neither a URL nor PostgreSQL's binaries."""


def find_binaries() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's
    ``/usr/lib/postgresql/<version>/bin`` (not on PATH), newest version first."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", Path(path).parts[-3]))

    for pg_ctl in sorted(found, key=version, reverse=True):
        if Path(pg_ctl).with_name("initdb").exists():
            return Path(pg_ctl).parent
    raise PostgresUnavailable(
        "tests/postgres need a PostgreSQL server: install PostgreSQL's server binaries "
        "(Debian/Ubuntu: apt-get install postgresql; scripts/test.sh does this) or set "
        f"{URL_VARIABLE}=postgresql+psycopg://user:password@host:port/db (the user needs "
        "CREATEDB)"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """A server the tests may create and drop databases on, each test its own."""

    def __init__(self, admin_url: str, *, directory: Path | None = None) -> None:
        url = make_url(admin_url)
        if url.get_backend_name() != "postgresql":
            raise PostgresUnavailable(f"{URL_VARIABLE} is not a postgresql URL: {admin_url}")
        self.admin_url = url.set(drivername="postgresql+psycopg")
        self.directory = directory
        """The private server's files (None for a server someone else runs)."""
        self._bin: Path | None = None
        self._as_user: list[str] = []

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb and start a private server as the ``postgres`` user when run as root
        (PostgreSQL refuses to run as root); about a second with fsync off."""
        binaries = find_binaries()
        directory = Path(tempfile.mkdtemp(prefix="dgx-music-pg-"))
        as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                shutil.chown(directory, user=SUPERUSER)
            except LookupError:
                shutil.rmtree(directory, ignore_errors=True)
                raise PostgresUnavailable(
                    f"PostgreSQL refuses to run as root and there is no {SUPERUSER!r} user to "
                    "run it as (Debian's postgresql package creates one)"
                ) from None
            as_user = ["runuser", "-u", SUPERUSER, "--"]
        data, log = directory / "data", directory / "server.log"
        try:
            subprocess.run(
                [*as_user, str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER,
                 "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            # Throwaway data: no durability, so no fsync, no full pages, no WAL waits.
            options = (
                f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={directory} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            for _attempt in range(3):  # the port probe races other processes: try another
                port = _free_port()
                started = subprocess.run(
                    [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log),
                     "-o", f"-p {port} {options}", "-w", "-t", "30", "start"],
                    check=False, capture_output=True, text=True,
                )  # fmt: skip
                if started.returncode == 0:
                    break
            else:
                raise PostgresUnavailable(
                    f"PostgreSQL did not start: {started.stderr}\n{log.read_text()}"
                )
        except BaseException as exc:
            if isinstance(exc, subprocess.CalledProcessError):
                exc = PostgresUnavailable(f"initdb failed: {exc.stderr}")
            shutil.rmtree(directory, ignore_errors=True)
            raise exc from None
        server = cls(f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/postgres")
        server.directory, server._bin = directory, binaries
        server._as_user = as_user
        return server

    def stop(self) -> None:
        """Stop a private server (at once: its data is thrown away) and delete its files."""
        if self.directory is None or self._bin is None:
            return
        try:
            subprocess.run(
                [*self._as_user, str(self._bin / "pg_ctl"), "-D", str(self.directory / "data"),
                 "-m", "immediate", "-w", "stop"],
                capture_output=True, check=False, timeout=60,
            )  # fmt: skip
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        conninfo = self.admin_url.set(drivername="postgresql")
        return psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True)

    def create_database(self, template: str | None = None) -> str:
        """A new database, empty or a copy of ``template`` (the URL of a database nobody is
        connected to); returns its SQLAlchemy URL (``postgresql+psycopg://``).

        Byte-order collation (``C``), as on the private server: string sorts (prompt, key)
        then order as SQLite's do, whatever locale an external server was set up with.
        A copy of a migrated template takes milliseconds where migrating takes most of a
        second.
        """
        name = f"dgx_test_{uuid.uuid4().hex[:12]}"
        source = "template0" if template is None else make_url(template).database
        with self._admin() as conn:
            conn.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE {} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
                ).format(sql.Identifier(name), sql.Identifier(source or ""))
            )
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a test's database, closing whatever connections a test left open."""
        name = make_url(url).database
        assert name is not None, url
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
