"""Group commit: what stations tell us becomes durable in batches, one commit for many messages.

A station's CALLRESULT may only leave once what its CALL said is stored. Committing once per
message would cost one fsync (SQLite) or one round trip (PostgreSQL) each; instead, every message
that arrives while a commit is in flight joins the next batch, so the commit cost is shared by all
stations at once and latency stays at about one commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.base import Executable

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


class DurableWriter:
    def __init__(self, engine: AsyncEngine, *, max_batch: int = 2000) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item[Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
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
        await self._task
        self._task = None

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

    async def _write(self, batch: list[_Item[Any]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            async with self._engine.begin() as conn:
                await self._apply(conn, batch)
        except Exception:
            log.warning("batch of %d failed; retrying item by item", len(batch), exc_info=True)
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

    @staticmethod
    async def _apply(conn: AsyncConnection, batch: list[_Item[Any]]) -> None:
        for item in batch:
            if item.work is not None:
                # A savepoint per unit of work: one message's failure must not undo others'.
                try:
                    async with conn.begin_nested():
                        item.result = await item.work(conn)
                except SQLAlchemyError:
                    raise
                except Exception as exc:
                    item.error = exc
        grouped: dict[int, tuple[Executable, list[dict[str, Any]]]] = {}
        for item in batch:
            if item.error is not None:
                continue
            for w in item.writes:
                key = id(w.statement)
                if key not in grouped:
                    grouped[key] = (w.statement, [])
                grouped[key][1].append(w.params)
        for statement, rows in grouped.values():
            await conn.execute(statement, rows)
