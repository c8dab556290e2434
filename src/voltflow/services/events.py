"""Events after commit: the outbox relay and the consumers it delivers to.

A change and the events that tell of it commit together (``ports.UnitOfWork``; the station
writer's batches for what stations say). The relay then reads the outbox in commit order and
hands each batch to a sink: the subscribers of this process (``LocalDelivery``), or NATS
JetStream (``bus.events``) from which workers in other processes consume. It marks a batch
published only once the sink took it, so a process killed in between publishes it again on
restart: delivery is at least once. Each consumer applies an event in a transaction that also
records the event's id (``event_receipts``), so an event delivered again changes nothing:
applied exactly once. A consumer that is idempotent by itself (``idempotent = True``: what it
writes carries the event's id, so applying an event again changes nothing) is spared the
receipts: a row per event would cost more than its work on the stations' busiest traffic. A
consumer with ``handle_envelopes`` takes its batch still encoded, and opens only what it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from voltflow import failpoints
from voltflow.domain.events import Envelope, Event
from voltflow.services.ports import Clock, UnitOfWork
from voltflow.store.outbox import OutboxRepository

log = logging.getLogger(__name__)


class Subscriber(Protocol):
    """A consumer of events. ``handle`` runs inside the unit of work that records the event's
    receipt: what it writes through the services and repositories commits with the receipt."""

    @property
    def name(self) -> str: ...

    @property
    def kinds(self) -> frozenset[str]: ...

    async def handle(self, event: Event) -> None: ...

    async def handle_many(self, events: Sequence[Event]) -> None:
        """The events of a batch not applied before, in order (``handle`` each, or better)."""
        ...


class EventSink(Protocol):
    """Where the relay publishes: returns once the events are taken (delivered, or stored by a
    broker that will deliver them)."""

    async def publish(self, events: Sequence[Envelope]) -> None: ...


class LocalDelivery:
    """Applies events to this process's subscribers, in transactions with their receipts."""

    def __init__(
        self,
        uow: UnitOfWork,
        outbox: OutboxRepository,
        clock: Clock,
        subscribers: Sequence[Subscriber] = (),
    ) -> None:
        self.uow = uow
        self.outbox = outbox
        self.clock = clock
        self.subscribers: list[Subscriber] = list(subscribers)

    async def publish(self, events: Sequence[Envelope]) -> None:
        """Each subscriber takes the batch's events of its kinds in one transaction: stations'
        traffic closes sessions many times a second, and a transaction each would cost more
        than what they do. A failure takes back the subscriber's whole batch; the relay
        publishes it again, and what another subscriber applied meanwhile stays applied."""
        opened: dict[str, Event] = {}
        for subscriber in self.subscribers:
            mine = [e for e in events if e.kind in subscriber.kinds]
            if not mine:  # most events, today: nothing to decode
                continue
            async with self.uow():
                if _idempotent(subscriber):
                    new = {e.id for e in mine}
                else:
                    new = await self.outbox.first_receipts(
                        subscriber.name, [e.id for e in mine], self.clock.now()
                    )
                take = getattr(subscriber, "handle_envelopes", None)
                if take is not None:
                    fresh = [e for e in mine if e.id in new]
                    if fresh:
                        await take(fresh)
                    await failpoints.reach("consumer.before_commit")
                    continue
                batch = []
                for envelope in mine:
                    if envelope.id in new:
                        event = opened.get(envelope.id)
                        if event is None:
                            event = opened[envelope.id] = envelope.open()
                        batch.append(event)
                if batch:
                    await subscriber.handle_many(batch)
                await failpoints.reach("consumer.before_commit")

    async def apply(self, subscriber: Subscriber, event: Event) -> bool:
        """Applies ``event`` unless ``subscriber`` already has; True when it did now (always,
        for an idempotent subscriber: applying it again is its own business); False for an event
        not of its kinds."""
        if event.kind not in subscriber.kinds:
            return False
        async with self.uow():
            if not _idempotent(subscriber) and not await self.outbox.first_receipt(
                subscriber.name, event.id, self.clock.now()
            ):
                return False
            await subscriber.handle(event)
            await failpoints.reach("consumer.before_commit")
        return True


def _idempotent(subscriber: Subscriber) -> bool:
    return bool(getattr(subscriber, "idempotent", False))


class OutboxRelay:
    """Publishes what the outbox holds, in commit order, woken by each commit that wrote an
    event (at most once every ``pace`` seconds) and, as a safety net, every ``poll`` seconds."""

    def __init__(
        self,
        outbox: OutboxRepository,
        sink: EventSink,
        clock: Clock,
        *,
        batch: int = 500,
        poll: float = 1.0,
        pace: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self.outbox = outbox
        self.sink = sink
        self.clock = clock
        self.batch = batch
        self.poll = poll
        self.pace = pace
        self.retry_max = retry_max
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wakeup.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drain(self) -> int:
        """Publishes everything the outbox holds now; the number published."""
        published = 0
        while True:
            events = await self.outbox.unpublished(self.batch)
            if not events:
                return published
            await failpoints.reach("outbox.before_publish")
            await self.sink.publish(events)
            for event in events:
                await failpoints.reach(f"outbox.before_mark:{event.kind}")
            await self.outbox.mark_published([e.seq for e in events], self.clock.now())
            published += len(events)
            if len(events) < self.batch:
                return published

    async def _run(self) -> None:
        delay = 0.5
        while True:
            self._wakeup.clear()
            try:
                await self.drain()
                # Stations' traffic commits events many times a second: one drain per ``pace``
                # at most publishes them in batches, at a fraction of a drain a commit.
                await asyncio.sleep(self.pace)
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("events: publishing failed; trying again in %.0f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            # Not ``wait_for``: on 3.11 it can swallow a cancellation that comes as the wait ends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wakeup.wait()
