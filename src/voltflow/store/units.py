"""The unit of work: one use case, one transaction, its events in the outbox with it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar

from voltflow.domain.events import Event
from voltflow.store.database import Database
from voltflow.store.outbox import OutboxRepository


class Changes:
    """What a unit of work tells others when it commits."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.afterwards: list[Callable[[], None]] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def after_commit(self, action: Callable[[], None]) -> None:
        self.afterwards.append(action)


_current: ContextVar[Changes | None] = ContextVar("voltflow_changes", default=None)


class SqlUnitOfWork:
    """``async with uow() as changes:`` runs the block's reads and writes (every repository
    call made through ``Database.reading``/``writing``) in one transaction, writes the events
    the block emitted to the outbox in it, and commits; an exception anywhere rolls all of it
    back. A unit opened inside another joins it. Once a unit that emitted events commits,
    ``committed`` is called (the outbox relay's wake-up)."""

    def __init__(self, db: Database, outbox: OutboxRepository) -> None:
        self.db = db
        self.outbox = outbox
        self.committed: Callable[[], None] = lambda: None

    def current(self) -> Changes | None:
        """The unit the calling task is in, if any."""
        return _current.get()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Changes]:
        outer = _current.get()
        if outer is not None:
            yield outer
            return
        changes = Changes()
        token = _current.set(changes)
        try:
            async with self.db.unit():
                yield changes
                await self.outbox.add(changes.events)
        finally:
            _current.reset(token)
        if changes.events:
            self.committed()
        for action in changes.afterwards:
            action()
