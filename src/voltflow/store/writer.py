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

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
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

    async def _apply(self, conn: AsyncConnection, batch: list[_Item[Any]]) -> None:
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
        grouped: dict[tuple[int, tuple[str, ...]], tuple[Executable, list[dict[str, Any]]]] = {}
        for item in batch:
            if item.error is not None:
                continue
            for w in item.writes:
                key = (id(w.statement), tuple(w.params))
                group = grouped.get(key)
                if group is None:
                    group = grouped[key] = (w.statement, [])
                group[1].append(w.params)
        dialect = conn.dialect
        for key, (statement, rows) in grouped.items():
            cached = self._plans.get(key)
            if cached is not None and cached[0] is statement:
                plan = cached[1]
            else:
                plan = _plan(statement, key[1], dialect)
                self._plans[key] = (statement, plan)
            if plan is None:
                await conn.execute(statement, rows)
            else:
                await conn.exec_driver_sql(plan.sql, [plan.row(r) for r in rows])
