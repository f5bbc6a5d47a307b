"""Connections and schema upgrades.

SQLite is tuned for a job queue shared by several processes: WAL so readers never block the
writer, a busy timeout so writers queue instead of failing, ``synchronous=FULL`` so a committed
job state survives power loss, and ``BEGIN IMMEDIATE`` for write transactions so that two
claimers never both read the same queued row before either writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    Table,
    create_engine,
    event,
    or_,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

SCHEMA_REVISION = "0007"
"""The Alembic head this code expects; a test keeps it equal to the migrations' head."""

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
MIN_ID_PREFIX = 4
"""Shortest id prefix accepted where a full UUID is expected (as git accepts short hashes)."""


_PROGRESS_STEPS = 1_000
"""SQLite virtual-machine instructions per call of the progress handler, the unit a read's
budget is counted in (about 0.4 ms of a table walk on this project's 2-core test machine)."""

_budget = threading.local()


class OverBudget(Exception):
    """A read inside :meth:`Database.work_budget` did more work than its budget allowed."""


def _spend() -> bool:
    """SQLite's progress handler: True (stop the statement) once the thread's budget is spent;
    threads without a budget are never stopped."""
    left: int | None = getattr(_budget, "left", None)
    if left is None:
        return False
    _budget.left = left - 1
    return left <= 0


@dataclass(frozen=True)
class _DriverQuery:
    """A SELECT compiled once for SQLite: its SQL, its parameters' names in ``?`` order, and
    the result processors of the columns that have one (dates, JSON)."""

    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    """Values of the parameters SQLAlchemy binds itself (``OFFSET`` 0 after a ``LIMIT``)."""
    binds: Mapping[str, Callable[[Any], Any]]
    """The bind processors of the parameters that have one (a UTC date to SQLite's text)."""
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        found = []
        for name in self.names:
            value = values[name] if name in values else self.defaults[name]
            process = self.binds.get(name)
            found.append(value if process is None else process(value))
        return found


_MAX_DRIVER_QUERIES = 256
"""Statements kept compiled; callers reuse a few shapes, so this bound is a safety net."""


class Database:
    def __init__(self, url: str, busy_timeout: float = 30.0) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(
            self.url, connect_args={"timeout": busy_timeout} if self.is_sqlite else {}
        )
        if self.is_sqlite:
            _tune_sqlite(self.engine, busy_timeout)
        self._driver_queries: dict[Select[Any], _DriverQuery] = {}

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that takes the write lock at once (SQLite) and commits on exit."""
        with self.engine.connect() as plain:
            conn = plain.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def rows(self, query: Select[Any], values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """All rows of ``query`` (a statement the caller keeps and reuses) with its bound
        ``values``, each a plain tuple of Python values, as ``Connection.execute`` gives them.

        On SQLite the statement runs on pysqlite's cursor directly, compiled once, outside an
        explicit transaction (one SELECT is one snapshot either way): for a page of 50 tracks
        SQLAlchemy's result rows, BEGIN and COMMIT cost 0.9 ms, three times what SQLite's own
        work does. Other databases go through SQLAlchemy as usual.
        """
        if not self.is_sqlite:
            with self.read() as conn:
                return [tuple(row) for row in conn.execute(query, dict(values))]
        with self.engine.connect() as conn:
            compiled = self._driver_queries.get(query)
            if compiled is None:
                compiled = _compile_for_driver(conn, query)
                if len(self._driver_queries) >= _MAX_DRIVER_QUERIES:
                    self._driver_queries.clear()
                self._driver_queries[query] = compiled
            driver = conn.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            parameters = compiled.parameters(values)
            try:
                rows = driver.execute(compiled.sql, parameters).fetchall()
            except sqlite3.OperationalError as exc:
                # As SQLAlchemy would raise it: the budget and the API's 503 handler know it.
                raise OperationalError(compiled.sql, parameters, exc) from exc
        if compiled.processors:
            processed = []
            for row in rows:
                cells = list(row)
                for index, process in compiled.processors:
                    cells[index] = process(cells[index])
                processed.append(tuple(cells))
            return processed
        return [tuple(row) for row in rows]

    @property
    def supports_work_budget(self) -> bool:
        """Whether :meth:`work_budget` can stop a read (SQLite's progress handler)."""
        return self.is_sqlite

    @contextmanager
    def work_budget(self, units: int) -> Iterator[None]:
        """Stop the statements this thread runs inside the block once together they have run
        ``units`` thousand SQLite instructions, raising :class:`OverBudget`; SQLite only.

        For the API's event loop: a lookup by id or an indexed page takes a few units, less
        work than handing it to a thread costs, but a filter that matches almost nothing can
        make SQLite walk the whole table (600 units, a quarter of a second at 100,000 rows).
        Which kind a query is shows only by running it, so it runs with a budget and, past it,
        the caller runs it again where waiting is harmless. Counted in SQLite's own work, not
        time, so a busy machine preempting the thread does not push a quick read over.
        """
        if not self.is_sqlite:
            raise OverBudget("only SQLite reads can be given a work budget")
        _budget.left = units
        try:
            yield
        except OperationalError as exc:
            if "interrupted" in str(exc.orig) and getattr(_budget, "left", 0) < 0:
                raise OverBudget(f"read ran over its budget of {units} units") from None
            raise
        finally:
            _budget.left = None

    def current_revision(self) -> str | None:
        with self.read() as conn:
            try:
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            except Exception:  # no table yet: a fresh database
                return None
        return None if row is None else str(row[0])

    def upgrade(self) -> str | None:
        """Apply pending migrations; cheap when the schema is already current.

        Returns the revision upgraded from (None for a fresh database) or the current revision.
        """
        before = self.current_revision()
        if before == SCHEMA_REVISION:
            return before
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.write() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return before

    def dispose(self) -> None:
        self.engine.dispose()


def _compile_for_driver(conn: Connection, query: Select[Any]) -> _DriverQuery:
    compiled = query.compile(conn)
    if compiled.positiontup is None or "POSTCOMPILE" in compiled.string:
        raise ValueError("only statements with plain positional parameters run on the driver")
    processors = []
    for index, column in enumerate(query.selected_columns):
        process = column.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None)
        if process is not None:
            processors.append((index, process))
    binds = {}
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is not None:
            binds[name] = process
    names = tuple(compiled.positiontup)
    return _DriverQuery(compiled.string, names, compiled.params, binds, tuple(processors))


def _tune_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not pysqlite, decide when transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        dbapi_connection.set_progress_handler(_spend, _PROGRESS_STEPS)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def find_one(
    conn: Connection, table: Table, key: str, exact: ColumnElement[bool] | None = None
) -> Row[Any] | None:
    """The row whose id is ``key`` (or matching ``exact``), else the one whose id starts with it.

    A prefix must be at least ``MIN_ID_PREFIX`` characters and match exactly one row.
    """
    clause = exact if exact is not None else table.c.id == key
    row = conn.execute(select(table).where(clause)).first()
    if row is None and len(key) >= MIN_ID_PREFIX:
        starts = table.c.id.startswith(key, autoescape=True)
        if conn.dialect.name == "sqlite" and ord(key[-1]) < 0x10FFFF:
            # SQLite's LIKE ignores case, so it cannot use the (binary) primary-key index and
            # walks the table (400,000 instructions at 100,000 jobs); a range over the index
            # finds the same candidates, and LIKE keeps its meaning among them. Ids are
            # lowercase, but LIKE would also find an uppercase one: both spellings are ranged.
            ranges = [
                (table.c.id >= spelled) & (table.c.id < spelled[:-1] + chr(ord(spelled[-1]) + 1))
                for spelled in {key.lower(), key.upper()}
            ]
            starts = starts & or_(*ranges)
        prefixed = select(table).where(starts).limit(2)
        matches = conn.execute(prefixed).all()
        row = matches[0] if len(matches) == 1 else None
    return row
