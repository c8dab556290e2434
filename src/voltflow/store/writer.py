"""Group commit: what stations tell us becomes durable in batches, one commit for many messages.

A station's CALLRESULT may only leave once what its CALL said is stored. Committing once per
message would cost one fsync (SQLite) or one round trip (PostgreSQL) each; instead, every message
that arrives while a commit is in flight joins the next batch, so the commit cost is shared by all
stations at once and latency stays at about one commit.

What a batch costs beyond its rows is paid on every batch, so two things keep that cost down:

* Commits are paced (``commit_interval``): at most one starts per interval, so under load the
  commits a second stay bounded and each carries more messages, while a message on a quiet
  platform is committed at once.
* A batch runs whole on the writer's own thread, over a blocking driver (``sqlite3``,
  ``psycopg``) on a connection the writer keeps (no pool checkout, reset or ping per batch):
  BEGIN, the units of work, every row, COMMIT in one hand-over. An async driver would take the
  event loop through a turn per statement and wake it for every answer from the database; on
  this thread a round trip is a send and a blocking receive. Units of work run without a
  savepoint each (a failing one sends the batch down the item-by-item path instead), with
  statements compiled once (``prepared``) and sent by ``drivers`` (on PostgreSQL, prepared on
  libpq itself), and on PostgreSQL a plain INSERT's rows go as one statement
  (``Plan.bulk_sql``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.base import Executable

from voltflow.domain.errors import WriterClosed
from voltflow.store.database import Database
from voltflow.store.drivers import Driver, driver_for
from voltflow.store.prepared import Plans, Tx

log = logging.getLogger(__name__)

T = TypeVar("T")

# A unit of work: reads and writes that need answers, run inside the batch's transaction.
Work = Callable[[Tx], T]


class Write(NamedTuple):
    """One row-level statement. Writes that share a statement object go to the database together
    (one executemany, or one statement for all of a plain INSERT's rows on PostgreSQL), so
    statements must be long-lived objects, not built per message. (A tuple: several are made for
    every message.)"""

    statement: Executable
    params: dict[str, Any]


@dataclass(slots=True)
class _Item(Generic[T]):
    writes: Sequence[Write]
    work: Work[T] | None
    future: asyncio.Future[T | None] | None
    result: T | None = None
    error: BaseException | None = field(default=None)


# A statement's driver-level SQL and its rows in the driver's terms.
_Group = tuple[str, list[Any]]


def _copy(exc: Exception) -> Exception:
    try:
        return copy.copy(exc)
    except Exception:  # an exception type that cannot be copied: shared, then
        return exc


class DurableWriter:
    """Commits in batches.

    ``commit_interval``: the shortest time from one commit's start to the next one's. A message
    that finds the last commit started longer ago than that is committed at once; under load,
    what arrives meanwhile waits for the interval's end and shares one commit. At a fleet's
    steady pace messages arrive one by one, and each batch's transaction, thread trip, fsync or
    round trips cost far more than its rows: the interval bounds the commits a second whatever
    the pace (and however fast a commit is), so their cost per message falls as the pace rises,
    and a quiet platform answers without waiting at all. A fixed wait after the first message
    would not do that: the faster the database commits, the more commits a second it makes.

    ``log_delay``: how long a write nobody waits for (``enqueue``) may wait for a batch to ride
    with before it gets one of its own."""

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 2000,
        commit_interval: float = 0.02,
        log_delay: float = 0.05,
    ) -> None:
        self._engine = db.blocking_engine()
        self._max_batch = max_batch
        self._commit_interval = commit_interval
        self._log_delay = log_delay
        # What waits for a commit, oldest first; the loop sleeps on ``_wakeup`` when it is empty
        # (a list and a future: asyncio.Queue's bookkeeping costs more, once a message).
        self._queue: list[_Item[Any]] = []
        self._wakeup: asyncio.Future[None] | None = None
        self._deferred: list[_Item[Any]] = []
        self._deferred_flush: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # The thread and the connection it alone uses (sqlite3 refuses any other thread).
        self._thread: ThreadPoolExecutor | None = None
        self._pooled: PoolProxiedConnection | None = None
        self._driver: Driver | None = None
        self._plans = Plans(self._engine.dialect)
        # For monitoring: commits, what they carried, seconds from hand-over to the writer's
        # thread to the answer, CPU seconds spent on that thread.
        self.batches = 0
        self.items = 0
        self.commit_seconds = 0.0
        self.thread_cpu = 0.0

    async def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="voltflow-writer")
            self._task = asyncio.create_task(self._run(), name="durable-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        self._closing = True
        self._put(_Item((), None, None))  # wakes the loop
        try:
            await self._task
        finally:
            self._task = None
            if self._deferred_flush is not None:
                self._deferred_flush.cancel()
                self._deferred_flush = None
            thread, self._thread = self._thread, None
            if thread is not None:
                await asyncio.get_running_loop().run_in_executor(thread, self._drop_connection)
                thread.shutdown()
            self._engine.dispose()

    async def commit(self, writes: Sequence[Write], work: Work[T] | None = None) -> T | None:
        """Store ``writes`` (and run ``work`` in the same transaction); return once committed."""
        if self._task is None or self._closing:
            raise WriterClosed("the writer is not running")
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._put(_Item(writes, work, future))
        return await future

    def enqueue(self, writes: Sequence[Write]) -> None:
        """Store ``writes`` with the next batch, within ``log_delay``, without waiting (what no
        one is waiting to be acknowledged, like the log of our own outgoing frames)."""
        if self._task is None:
            raise WriterClosed("the writer is not running")
        self._deferred.append(_Item(writes, None, None))
        if self._deferred_flush is None:
            self._deferred_flush = asyncio.get_running_loop().call_later(
                self._log_delay, self._put, _Item((), None, None)
            )

    async def flush(self) -> None:
        """Return once everything enqueued so far is stored (what is deferred rides first)."""
        await self.commit(())

    def _put(self, item: _Item[Any]) -> None:
        self._queue.append(item)
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_start = loop.time()
        while True:
            if not self._queue:
                self._wakeup = loop.create_future()
                await self._wakeup
                self._wakeup = None
            first = self._queue[0]
            wait = next_start - loop.time()
            if first.future is not None and wait > 0 and not self._closing:
                await asyncio.sleep(wait)
            next_start = loop.time() + self._commit_interval
            # What waits without a caller goes first: it happened before what is queued now.
            batch, self._deferred = [*self._deferred, first], []
            if self._deferred_flush is not None:
                self._deferred_flush.cancel()
                self._deferred_flush = None
            room = max(1, self._max_batch - len(batch) + 1)
            batch.extend(self._queue[1:room])
            del self._queue[:room]
            batch = [i for i in batch if i.writes or i.work is not None or i.future is not None]
            if batch:
                await self._write(batch)
            if self._closing and not self._queue and not self._deferred:
                return

    async def _write(self, batch: list[_Item[Any]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            groups: list[_Group] | None = self._groups(batch)
        except Exception:  # a row the driver cannot take: found again item by item
            groups = None
        assert self._thread is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        await loop.run_in_executor(self._thread, self._write_on_thread, batch, groups)
        self.commit_seconds += loop.time() - started
        for item in batch:
            if item.future is None or item.future.done():
                continue
            if item.error is not None:
                item.future.set_exception(item.error)
            else:
                item.future.set_result(item.result)

    # -- on the writer's thread ----------------------------------------------------------------
    def _write_on_thread(self, batch: list[_Item[Any]], groups: list[_Group] | None) -> None:
        started = time.thread_time()
        try:
            if not self._reachable(batch):
                return
            if groups is not None:
                try:
                    self._transaction(batch, groups)
                    return
                except Exception:
                    log.warning(
                        "batch of %d failed; retrying item by item", len(batch), exc_info=True
                    )
                    self._drop_connection()
            # A unit of work that failed, a row the database (or the driver, ``groups`` None)
            # refused, or a broken connection: each item again in a transaction of its own, on
            # a new connection, so that one item's failure is its own only.
            for n, item in enumerate(batch):
                if not self._reachable(batch[n:]):
                    return
                item.result, item.error = None, None
                try:
                    self._transaction([item], self._groups([item]))
                except Exception as exc:  # reported to whoever waits for this item
                    item.error = exc
                    self._drop_connection()
                    if item.future is None:
                        log.error("dropped unacknowledged write: %s", exc)
        finally:
            self.thread_cpu += time.thread_time() - started

    def _reachable(self, items: list[_Item[Any]]) -> bool:
        """Connects if need be; when the database cannot be reached, every item in ``items``
        fails with that, and none is tried: a failed connection is no item's fault, and trying
        again for each would cost the whole batch's worth of attempts (each as long as a connect
        timeout, when the database's host is gone) before the writer could take the next."""
        try:
            self._connection()
        except Exception as exc:
            self._drop_connection()
            dialect: Dialect = self._engine.dialect
            dbapi_error = dialect.loaded_dbapi.Error
            if isinstance(exc, dbapi_error):  # as SQLAlchemy raises it, like _transaction's
                exc = DBAPIError.instance("connect", (), exc, dbapi_error, dialect=dialect)
            unacknowledged = 0
            for item in items:
                item.result = None
                # One exception each: an instance raised in many tasks would carry every one's
                # traceback.
                item.error = _copy(exc)
                unacknowledged += item.future is None
            if unacknowledged:
                reason = str(exc).split("\n", 1)[0]
                log.error("dropped %d unacknowledged writes: %s", unacknowledged, reason)
            return False
        return True

    def _connection(self) -> Driver:
        if self._driver is None:
            self._pooled = self._engine.raw_connection()
            self._driver = driver_for(self._pooled.driver_connection, self._engine.dialect)
        return self._driver

    def _drop_connection(self) -> None:
        pooled, self._pooled, self._driver = self._pooled, None, None
        if pooled is not None:
            with contextlib.suppress(Exception):
                pooled.close()

    def _transaction(self, batch: list[_Item[Any]], groups: list[_Group]) -> None:
        """``batch`` in one transaction, committed; any failure propagates after the rollback,
        a database's error as SQLAlchemy would have raised it."""
        driver = self._connection()
        dialect: Dialect = self._engine.dialect
        dbapi_error = dialect.loaded_dbapi.Error
        try:
            driver.begin()
            self._apply(Tx(driver, self._plans), batch, groups)
            driver.commit()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                driver.rollback()
            if isinstance(exc, dbapi_error):
                raise DBAPIError.instance(
                    "group commit", (), exc, dbapi_error, dialect=dialect, ismulti=True
                ) from exc
            raise

    @staticmethod
    def _apply(tx: Tx, batch: list[_Item[Any]], groups: list[_Group]) -> None:
        """Everything ``batch`` does, in the caller's transaction; any failure propagates (and
        the caller rolls back). No savepoint per unit of work: each costs two statements, and a
        failure is rare enough to redo the batch one item at a time."""
        for item in batch:
            if item.work is not None:
                item.result = item.work(tx)
        for sql, rows in groups:
            tx.execute_converted(sql, rows)

    def _groups(self, batch: list[_Item[Any]]) -> list[_Group]:
        """The batch's rows by statement (and parameter names), in order of first appearance,
        each group as its driver-level SQL and rows converted for the driver.

        Converted here, on the event loop's thread, not on the writer's: Python work there holds
        the GIL, and each time the event loop lets go of it for a socket call it waits for the
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
        return [
            self._plans.require(statement, key[1], many=True).many(rows)
            for key, (statement, rows) in grouped.items()
        ]
