"""Group commit: what stations tell us becomes durable in batches, one commit for many messages.

A station's CALLRESULT may only leave once what its CALL said is stored. Committing once per
message would cost one fsync (SQLite) or one round trip (PostgreSQL) each; instead, every message
that arrives while a commit is in flight joins the next batch, so the commit cost is shared by all
stations at once and latency stays at about one commit.

What a batch costs beyond its rows is paid on every batch, and at a fleet's steady pace batches
are small: the writer keeps one connection of its own (no pool checkout, reset or ping per
batch), runs the units of work without a savepoint each (a failing one sends the batch down the
item-by-item path instead), and hands the rows to the driver already converted (see _Plan).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

log = logging.getLogger(__name__)

T = TypeVar("T")

Work = Callable[[AsyncConnection], Awaitable[T]]


@dataclass(frozen=True, slots=True)
class Write:
    """One row-level statement. Writes that share a statement object are sent as one executemany,
    so statements must be long-lived objects, not built per message."""

    statement: Executable
    params: dict[str, Any]


@dataclass(slots=True)
class _Item(Generic[T]):
    writes: Sequence[Write]
    work: Work[T] | None
    future: asyncio.Future[T | None] | None
    result: T | None = None
    error: BaseException | None = field(default=None)


class WriterClosed(RuntimeError):
    pass


_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """One statement compiled for one dialect and one set of parameter names, sent to the driver
    as is: per row, only the type conversions SQLAlchemy itself would apply are left to do.

    Executing a Core statement with a list of dicts builds an execution context that processes
    every row through the compiler (parameter construction, then the bind processors); for the
    thousands of rows a busy batch holds, that was most of the writer's CPU time."""

    sql: str
    positional: bool
    # (row key, processor, constant): a constant is a value bound in the statement itself.
    columns: tuple[tuple[str, _Processor, Any], ...]

    def row(self, params: dict[str, Any]) -> Any:
        values = []
        for key, process, constant in self.columns:
            value = params[key] if constant is _FROM_ROW else constant
            values.append(value if process is None else process(value))
        if self.positional:
            return tuple(values)
        return dict(zip((c[0] for c in self.columns), values, strict=True))


_FROM_ROW = object()


def _plan(statement: Executable, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    """The driver-level form of ``statement``, or None where it needs SQLAlchemy at execution
    time (Python-side defaults, expanding parameters, escaped names, RETURNING)."""
    if not isinstance(statement, ClauseElement):
        return None
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if not isinstance(compiled, SQLCompiler):
        return None
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.postfetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.escaped_bind_names
        or compiled.effective_returning
    ):
        return None
    if compiled.positional:
        if compiled.positiontup is None:
            return None
        names: list[str] = list(compiled.positiontup)
    else:
        names = list(compiled.bind_names.values())
    columns = []
    row_keys = set(keys)
    for name in names:
        bind = compiled.binds.get(name)
        if bind is None:
            return None
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in row_keys:
            columns.append((name, process, _FROM_ROW))
        elif bind.callable is None and bind.value is not None:
            columns.append((name, process, bind.value))
        else:
            return None
    return _Plan(str(compiled), bool(compiled.positional), tuple(columns))


class DurableWriter:
    def __init__(self, engine: AsyncEngine, *, max_batch: int = 2000) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item[Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._conn: AsyncConnection | None = None
        # By statement identity and parameter names; the statement is kept with its plan so
        # that its id cannot be reused by another one.
        self._plans: dict[tuple[int, tuple[str, ...]], tuple[Executable, _Plan | None]] = {}
        self.batches = 0
        self.items = 0

    async def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="durable-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        self._closing = True
        self._queue.put_nowait(_Item((), None, None))  # wakes the loop
        try:
            await self._task
        finally:
            self._task = None
            await self._drop_connection()

    async def commit(self, writes: Sequence[Write], work: Work[T] | None = None) -> T | None:
        """Store ``writes`` (and run ``work`` in the same transaction); return once committed."""
        if self._task is None or self._closing:
            raise WriterClosed("the writer is not running")
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(writes, work, future))
        return await future

    def enqueue(self, writes: Sequence[Write]) -> None:
        """Store ``writes`` with the next batch without waiting (what no one is waiting to be
        acknowledged, like the log of our own outgoing frames)."""
        if self._task is None:
            raise WriterClosed("the writer is not running")
        self._queue.put_nowait(_Item(writes, None, None))

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            batch = [i for i in batch if i.writes or i.work is not None or i.future is not None]
            if batch:
                await self._write(batch)
            if self._closing and self._queue.empty():
                return

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            self._conn = await self._engine.connect()
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                if conn.in_transaction():
                    await conn.rollback()
            with contextlib.suppress(Exception):
                await conn.close()

    async def _write(self, batch: list[_Item[Any]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            conn = await self._connection()
            if not await self._write_in_one_trip(conn, batch):
                async with conn.begin():
                    await self._apply(conn, batch)
        except Exception:
            # A unit of work that failed, a row the database refused, or a broken connection:
            # each item again in a transaction of its own, on a connection from the pool, so that
            # one item's failure is its own only.
            log.warning("batch of %d failed; retrying item by item", len(batch), exc_info=True)
            await self._drop_connection()
            for item in batch:
                item.result, item.error = None, None
                try:
                    async with self._engine.begin() as conn:
                        await self._apply(conn, [item])
                except Exception as exc:  # reported to whoever waits for this item
                    item.error = exc
                    if item.future is None:
                        log.error("dropped unacknowledged write: %s", exc)
        for item in batch:
            if item.future is None or item.future.done():
                continue
            if item.error is not None:
                item.future.set_exception(item.error)
            else:
                item.future.set_result(item.result)

    async def _apply(self, conn: AsyncConnection, batch: list[_Item[Any]]) -> None:
        """Everything ``batch`` does, in the caller's transaction; any failure propagates (and
        the caller rolls back). No savepoint per unit of work: each costs two statements, and a
        failure is rare enough to redo the batch one item at a time."""
        for item in batch:
            if item.work is not None:
                item.result = await item.work(conn)
        dialect = conn.dialect
        for statement, rows, plan in self._groups(batch, dialect):
            if plan is None:
                await conn.execute(statement, rows)
                continue
            params = [plan.row(r) for r in rows]
            if dialect.driver == "aiosqlite":
                # Straight to the driver, inside the transaction SQLAlchemy began (BEGIN is
                # explicit on SQLite): one trip to aiosqlite's thread instead of three (cursor,
                # execute, close), and each trip is a thread hand-off.
                driver = (await conn.get_raw_connection()).driver_connection
                assert driver is not None
                dbapi_error = dialect.loaded_dbapi.Error
                try:
                    await driver.executemany(plan.sql, params)
                except dbapi_error as exc:  # as SQLAlchemy would have raised it
                    raise DBAPIError.instance(
                        plan.sql, params, exc, dbapi_error, dialect=dialect, ismulti=True
                    ) from exc
            else:
                await conn.exec_driver_sql(plan.sql, params)

    def _groups(
        self, batch: list[_Item[Any]], dialect: Dialect
    ) -> list[tuple[Executable, list[dict[str, Any]], _Plan | None]]:
        """The batch's rows by statement (and parameter names), in order of first appearance,
        each group with its driver-level plan (None: SQLAlchemy executes it)."""
        grouped: dict[tuple[int, tuple[str, ...]], tuple[Executable, list[dict[str, Any]]]] = {}
        for item in batch:
            for w in item.writes:
                key = (id(w.statement), tuple(w.params))
                group = grouped.get(key)
                if group is None:
                    group = grouped[key] = (w.statement, [])
                group[1].append(w.params)
        out = []
        for key, (statement, rows) in grouped.items():
            cached = self._plans.get(key)
            if cached is not None and cached[0] is statement:
                plan = cached[1]
            else:
                plan = _plan(statement, key[1], dialect)
                self._plans[key] = (statement, plan)
            out.append((statement, rows, plan))
        return out

    async def _write_in_one_trip(self, conn: AsyncConnection, batch: list[_Item[Any]]) -> bool:
        """On SQLite, a batch of rows only (no unit of work): BEGIN IMMEDIATE, every statement
        and COMMIT in one call on aiosqlite's thread, where SQLAlchemy would make a trip for
        each of them and three for each statement. Under load, every trip waits for the thread
        to be scheduled and for the GIL: this is what keeps a small batch cheap. False where it
        does not apply (the caller then goes through SQLAlchemy)."""
        dialect = conn.dialect
        if dialect.driver != "aiosqlite" or any(item.work is not None for item in batch):
            return False
        groups = self._groups(batch, dialect)
        if any(plan is None for _, _, plan in groups):
            return False
        driver = (await conn.get_raw_connection()).driver_connection
        # aiosqlite runs each call on its connection's thread through ``_execute``; it has no
        # public way to run several. Without it (another aiosqlite), SQLAlchemy's path is used.
        run_on_thread = getattr(driver, "_execute", None)
        if driver is None or run_on_thread is None:
            return False
        statements = [(plan.sql, [plan.row(r) for r in rows]) for _, rows, plan in groups if plan]
        failed: list[tuple[str, Any]] = []

        def transaction() -> None:
            db = driver._conn  # the sqlite3 connection, on the thread that owns it
            # The lock is taken at BEGIN, as for the writer's other transactions (Database.writes).
            db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    failed[:] = [(sql, params)]
                    db.executemany(sql, params)
                failed.clear()
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

        dbapi_error = dialect.loaded_dbapi.Error
        try:
            await run_on_thread(transaction)
        except dbapi_error as exc:  # as SQLAlchemy would have raised it
            sql, params = failed[0] if failed else ("COMMIT", ())
            raise DBAPIError.instance(
                sql, params, exc, dbapi_error, dialect=dialect, ismulti=True
            ) from exc
        return True
