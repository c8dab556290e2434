"""Engine creation for SQLite (embedded default) and PostgreSQL (production), and migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# The station writer lets SQLite's WAL grow to this many pages (40 MiB) before it copies them back
# into the database. The same pages (the station indexes' leaves) are rewritten by commit after
# commit: the longer the WAL, the fewer times each is copied back (SQLite's default is 1,000).
WRITER_WAL_PAGES = 10_000


def normalize_url(url: str) -> str:
    """Accept the plain URLs people type and pick the async driver for each database."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if "://" not in url:  # a bare file path
        return f"sqlite+aiosqlite:///{url}"
    return url


def blocking_url(url: str) -> str:
    """The same database through a blocking driver (see :meth:`Database.blocking_engine`)."""
    parsed = make_url(normalize_url(url))
    driver = {"sqlite": "pysqlite", "postgresql": "psycopg"}.get(parsed.get_backend_name())
    if driver is None:
        raise ValueError(f"unsupported database: {parsed.get_backend_name()}")
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}").render_as_string(
        hide_password=False
    )


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    synchronous: str = "FULL"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def writes(self) -> AsyncEngine:
        """The engine for transactions that write. On SQLite they take the write lock when they
        begin: a deferred transaction that reads, then writes after another connection committed,
        fails at once with "database is locked" instead of waiting its turn."""
        if self.dialect == "sqlite":
            return self.engine.execution_options(sqlite_begin="IMMEDIATE")
        return self.engine

    def blocking_engine(self) -> Engine:
        """An engine with a blocking driver, for the group commit's own thread (``writer``):
        a batch there costs no event-loop turn per statement. Connections are not pooled: the
        writer keeps one for as long as it works."""
        engine = create_engine(
            blocking_url(self.url), poolclass=NullPool, connect_args=_connect_args(self.url)
        )
        if self.dialect == "sqlite":
            _sqlite_pragmas(engine, self.synchronous, wal_autocheckpoint=WRITER_WAL_PAGES)
        return engine

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection to read on: the unit of work's, inside one (it sees what the unit wrote
        so far), else one of the pool's for this read alone."""
        unit = _joinable(self)
        if unit is not None:
            yield unit
            return
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A connection to write on: the unit of work's, inside one (committed with the rest of
        the unit, or not at all), else a transaction of its own, committed at the block's end."""
        unit = _joinable(self)
        if unit is not None:
            # A savepoint: a write that fails (a duplicate a service answers for) takes back
            # only itself, and the unit may go on, on PostgreSQL as on SQLite.
            async with unit.begin_nested():
                yield unit
            return
        async with self.writes.begin() as conn:
            yield conn

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncConnection]:
        """One transaction for everything the block reads and writes through :meth:`reading`
        and :meth:`writing`: committed when the block ends, rolled back whole when it raises. A
        unit inside a unit joins it."""
        outer = _joinable(self)
        if outer is not None:
            yield outer
            return
        async with self.writes.begin() as conn:
            unit = _Unit(self, conn, asyncio.current_task())
            token = _unit.set(unit)
            try:
                yield conn
            finally:
                # Tasks started inside the unit copied its context: once it ends, they open
                # connections of their own instead of using one that is gone.
                unit.connection = None
                _unit.reset(token)

    async def dispose(self) -> None:
        await self.engine.dispose()


@dataclass
class _Unit:
    db: Database
    connection: AsyncConnection | None
    # A connection serves one task at a time: a task started inside the unit (which copied the
    # context) works on connections of its own.
    task: asyncio.Task[Any] | None


_unit: ContextVar[_Unit | None] = ContextVar("voltflow_unit_of_work", default=None)


def _joinable(db: Database) -> AsyncConnection | None:
    unit = _unit.get()
    if unit is None or unit.db is not db or unit.task is not asyncio.current_task():
        return None
    return unit.connection


# Seconds to wait for PostgreSQL to accept a connection. Without a bound, a database host that
# vanished (no refusal, just silence) holds each attempt for the kernel's TCP timeout, minutes,
# and every request and station message waiting on it with it.
CONNECT_TIMEOUT = 5


def _connect_args(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or "connect_timeout" in parsed.query:
        return {}
    return {"connect_timeout": CONNECT_TIMEOUT}


def create_database(url: str, *, synchronous: str = "FULL", pool_size: int = 10) -> Database:
    url = normalize_url(url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    engine = create_async_engine(url, connect_args=_connect_args(url), **kwargs)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        _sqlite_pragmas(engine.sync_engine, synchronous)

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

    return Database(url=url, engine=engine, synchronous=synchronous)


def _sqlite_pragmas(engine: Engine, synchronous: str, wal_autocheckpoint: int = 1000) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN is off: whoever begins says which kind.
        dbapi_connection.isolation_level = None
        # WAL lets the console read while the station writer commits; FULL makes every
        # commit that acknowledges a station message survive a power cut.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        cursor.close()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision``. Synchronous: call it before the event loop starts,
    or through ``asyncio.to_thread``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` over the application's own engine."""
    from alembic import command

    def run(sync_connection: Any) -> None:
        cfg = alembic_config(db.url)
        cfg.attributes["connection"] = sync_connection
        command.upgrade(cfg, revision)

    async with db.writes.begin() as conn:
        await conn.run_sync(run)
