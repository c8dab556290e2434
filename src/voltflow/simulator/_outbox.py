"""Everything the station sends goes through one ordered queue, so messages leave in the order they
happened. Queued messages (transactions, meter values, statuses) wait out a lost connection and are
sent once back online; the rest (Heartbeat, Authorize) fail at once when offline."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voltflow.simulator._common import Offline

# Dropped first when the queue overflows: a lost sample is a gap, a lost StopTransaction is a
# session that never ends.
DROPPABLE = frozenset({"MeterValues", "StatusNotification", "Heartbeat"})


@dataclass(eq=False, slots=True)
class Outgoing:
    action: str
    # Builds the payload when it is first sent: a transaction id is known only once the
    # StartTransaction before it has been answered. None: nothing to send any more.
    build: Callable[[], Any | None]
    queued: bool
    on_result: Callable[[Any], None] | None = None
    on_drop: Callable[[], None] | None = None
    future: asyncio.Future[Any] | None = None
    # A retry keeps the message id, so the central system can recognise a repeated message.
    unique_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    payload: Any | None = None
    attempts: int = 0


class Outbox:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: deque[Outgoing] = deque()
        self._nonempty = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.items)

    def push(self, item: Outgoing) -> None:
        self.items.append(item)
        self._nonempty.set()
        self._empty.clear()
        while len(self.items) > self.limit:
            victim = next((i for i in list(self.items)[1:] if i.action in DROPPABLE), self.items[1])
            self.remove(victim)
            self.dropped += 1
            fail(victim, Offline("dropped: too many messages waiting"))

    async def head(self) -> Outgoing:
        while not self.items:
            await self._nonempty.wait()
        return self.items[0]

    def remove(self, item: Outgoing) -> None:
        try:
            self.items.remove(item)
        except ValueError:
            return
        self._update()

    def purge(self, predicate: Callable[[Outgoing], bool]) -> list[Outgoing]:
        gone = [i for i in self.items if predicate(i)]
        if gone:
            self.items = deque(i for i in self.items if not predicate(i))
            self._update()
        return gone

    async def drained(self) -> None:
        await self._empty.wait()

    def _update(self) -> None:
        if self.items:
            self._nonempty.set()
            self._empty.clear()
        else:
            self._nonempty.clear()
            self._empty.set()


def resolve(item: Outgoing, result: Any) -> None:
    if item.future is not None and not item.future.done():
        item.future.set_result(result)


def fail(item: Outgoing, exc: BaseException) -> None:
    if item.on_drop is not None:
        item.on_drop()
    if item.future is not None and not item.future.done():
        item.future.set_exception(exc)
