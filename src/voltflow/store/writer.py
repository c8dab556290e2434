"""Group commit: what stations tell us becomes durable in batches, one commit for many messages.

A station's CALLRESULT may only leave once what its CALL said is stored. Committing once per
message would cost one fsync (SQLite) or one round trip (PostgreSQL) each; instead, every message
that arrives while a commit is in flight joins the next batch, so the commit cost is shared by all
stations at once and latency stays at about one commit.

What a batch costs beyond its rows is paid on every batch, and at a fleet's steady pace batches
are small: the writer keeps one connection of its own (no pool checkout, reset or ping per
batch), runs the units of work without a savepoint each (a failing one sends the batch down the
item-by-item path instead), and runs everything on the driver with statements compiled once
(``prepared``). On SQLite a whole batch — BEGIN, the units of work, every row, COMMIT — is one
call on aiosqlite's thread, where SQLAlchemy would make three trips for each statement; under
load every trip waits for the thread to be scheduled and for the GIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.base import Executable

from voltflow.store.prepared import Plans, Tx

log = logging.getLogger(__name__)

T = TypeVar("T")

# A unit of work: reads and writes that need answers, run inside the batch's transaction.
Work = Callable[[Tx], T]


class Write(NamedTuple):
    """One row-level statement. Writes that share a statement object are sent as one executemany,
    so statements must be long-lived objects, not built per message. (A tuple: several are made
    for every message.)"""

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


class DurableWriter:
    """Commits in batches. ``commit_delay``: how long a batch waits, once its first message is
    in, for others to join it (as PostgreSQL's setting of that name): at a fleet's steady pace
    messages arrive one by one, and each batch's transaction, thread trip and fsync cost far
    more than its rows. ``log_delay``: how long a write nobody waits for (``enqueue``) may wait
    for a batch to ride with before it gets one of its own."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 2000,
        commit_delay: float = 0.002,
        log_delay: float = 0.05,
    ) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._commit_delay = commit_delay
        self._log_delay = log_delay
        self._queue: asyncio.Queue[_Item[Any]] = asyncio.Queue()
        self._deferred: list[_Item[Any]] = []
        self._deferred_flush: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._conn: AsyncConnection | None = None
        self._plans = Plans(engine.dialect)
        # For monitoring: commits, what they carried, CPU seconds spent on the driver's thread.
        self.batches = 0
        self.items = 0
        self.thread_cpu = 0.0

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
            if self._deferred_flush is not None:
                self._deferred_flush.cancel()
                self._deferred_flush = None
            await self._drop_connection()

    async def commit(self, writes: Sequence[Write], work: Work[T] | None = None) -> T | None:
        """Store ``writes`` (and run ``work`` in the same transaction); return once committed."""
        if self._task is None or self._closing:
            raise WriterClosed("the writer is not running")
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(writes, work, future))
        return await future

    def enqueue(self, writes: Sequence[Write]) -> None:
        """Store ``writes`` with the next batch, within ``log_delay``, without waiting (what no
        one is waiting to be acknowledged, like the log of our own outgoing frames)."""
        if self._task is None:
            raise WriterClosed("the writer is not running")
        self._deferred.append(_Item(writes, None, None))
        if self._deferred_flush is None:
            self._deferred_flush = asyncio.get_running_loop().call_later(
                self._log_delay, self._queue.put_nowait, _Item((), None, None)
            )

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            if first.future is not None and self._commit_delay and not self._closing:
                await asyncio.sleep(self._commit_delay)
            # What waits without a caller goes first: it happened before what is queued now.
            batch, self._deferred = [*self._deferred, first], []
            if self._deferred_flush is not None:
                self._deferred_flush.cancel()
                self._deferred_flush = None
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            batch = [i for i in batch if i.writes or i.work is not None or i.future is not None]
            if batch:
                await self._write(batch)
            if self._closing and self._queue.empty() and not self._deferred:
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
            await self._transaction(await self._connection(), batch)
        except Exception:
            # A unit of work that failed, a row the database refused, or a broken connection:
            # each item again in a transaction of its own, on a connection from the pool, so that
            # one item's failure is its own only.
            log.warning("batch of %d failed; retrying item by item", len(batch), exc_info=True)
            await self._drop_connection()
            for item in batch:
                item.result, item.error = None, None
                try:
                    async with self._engine.connect() as conn:
                        await self._transaction(conn, [item])
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

    async def _transaction(self, conn: AsyncConnection, batch: list[_Item[Any]]) -> None:
        """``batch`` in one transaction on ``conn``, committed; any failure propagates after the
        rollback, a database's error as SQLAlchemy would have raised it."""
        groups = self._groups(batch)
        dialect = conn.dialect
        dbapi_error = dialect.loaded_dbapi.Error
        try:
            if dialect.driver == "aiosqlite":
                driver = (await conn.get_raw_connection()).driver_connection
                # aiosqlite runs each call on its connection's thread through ``_execute``; it
                # has no public way to run several. Without it, the general path below serves.
                run_on_thread = getattr(driver, "_execute", None)
                if driver is not None and run_on_thread is not None:
                    await run_on_thread(self._sqlite_transaction(driver._conn, batch, groups))
                    return

            def apply(sync_conn: Connection) -> None:
                tx = Tx(sync_conn.connection.dbapi_connection, self._plans)
                self._apply(tx, batch, groups)

            async with conn.begin():
                await conn.run_sync(apply)
        except dbapi_error as exc:
            raise DBAPIError.instance(
                "group commit", (), exc, dbapi_error, dialect=dialect, ismulti=True
            ) from exc

    def _sqlite_transaction(
        self, db: Any, batch: list[_Item[Any]], groups: list[tuple[str, list[Any]]]
    ) -> Callable[[], None]:
        """BEGIN IMMEDIATE, the batch and COMMIT, to run on the thread that owns ``db`` (the
        sqlite3 connection)."""
        tx = Tx(db, self._plans)

        def transaction() -> None:
            started = time.thread_time()
            # The lock is taken at BEGIN, as for the writer's other transactions (Database.writes):
            # a unit of work that reads first never meets "database is locked" when it writes.
            db.execute("BEGIN IMMEDIATE")
            try:
                self._apply(tx, batch, groups)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                self.thread_cpu += time.thread_time() - started

        return transaction

    @staticmethod
    def _apply(tx: Tx, batch: list[_Item[Any]], groups: list[tuple[str, list[Any]]]) -> None:
        """Everything ``batch`` does, in the caller's transaction; any failure propagates (and
        the caller rolls back). No savepoint per unit of work: each costs two statements, and a
        failure is rare enough to redo the batch one item at a time."""
        for item in batch:
            if item.work is not None:
                item.result = item.work(tx)
        for sql, rows in groups:
            tx.execute_converted(sql, rows)

    def _groups(self, batch: list[_Item[Any]]) -> list[tuple[str, list[Any]]]:
        """The batch's rows by statement (and parameter names), in order of first appearance,
        each group as its driver-level SQL and rows converted for the driver.

        Converted here, on the event loop's thread, not on SQLite's: Python work there holds the
        GIL, and each time the event loop lets go of it for a socket call it waits for the
        other thread's switch interval (5 ms) to get it back — with thousands of stations that
        showed as round trips of several hundred milliseconds."""
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
            plan = self._plans.require(statement, key[1], many=True)
            out.append((plan.sql, [plan.params(r) for r in rows]))
        return out
