"""Events over NATS JetStream: the outbox relay publishes into a stream, and each consumer (in
this process or a ``voltflow worker`` elsewhere) pulls from a durable consumer of its own name,
so that an event reaches it once it is up again, however long it was away.

A message's id is the event's (``Nats-Msg-Id``): a batch published again after a crash between
publishing and marking it published is dropped by the stream as a duplicate within its window,
and consumers' receipts catch what comes later. A consumer acknowledges a message only once the
transaction that applied it committed; a consumer killed before that gets it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from voltflow import failpoints
from voltflow.domain.events import Envelope
from voltflow.services.events import LocalDelivery, Subscriber

log = logging.getLogger(__name__)

# Seconds a consumer has to apply a message before JetStream delivers it again.
ACK_WAIT = 30.0
# How long the stream keeps events its consumers have not all read: a week of a worker's absence.
MAX_AGE = 7 * 24 * 3600.0
DUPLICATE_WINDOW = 3600.0


@dataclass(frozen=True, slots=True)
class Names:
    """Where a platform's events live on a NATS server it may share with other platforms
    (staging beside production): its stream, subjects and consumers all carry its prefix."""

    prefix: str = "voltflow"

    @property
    def stream(self) -> str:
        return re.sub(r"[^A-Za-z0-9_-]", "_", self.prefix).upper() + "_EVENTS"

    @property
    def subjects(self) -> str:
        return f"{self.prefix}.events"

    def subject_of(self, kind: str) -> str:
        return f"{self.subjects}.{kind}"

    def durable(self, consumer: str) -> str:
        return re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.prefix}-{consumer}")


async def ensure_stream(nc: Client, names: Names) -> None:
    js = nc.jetstream()
    config = StreamConfig(
        name=names.stream,
        subjects=[f"{names.subjects}.>"],
        max_age=MAX_AGE,
        duplicate_window=DUPLICATE_WINDOW,
    )
    try:
        await js.stream_info(names.stream)
    except NotFoundError:
        await js.add_stream(config)


class JetStreamSink:
    """The relay's sink when events go over NATS: returns once the stream stored them."""

    def __init__(self, nc: Client, names: Names) -> None:
        self.js = nc.jetstream()
        self.names = names

    async def publish(self, events: Sequence[Envelope]) -> None:
        acks = [
            await self.js.publish_async(
                self.names.subject_of(e.kind),
                e.payload.encode(),
                headers={
                    "Nats-Msg-Id": e.id,
                    "Voltflow-Kind": e.kind,
                    "Voltflow-Occurred-At": e.occurred_at.isoformat(),
                },
            )
            for e in events
        ]
        await asyncio.gather(*acks)


class JetStreamConsumers:
    """Runs each subscriber off a durable pull consumer of its own name."""

    def __init__(
        self, nc: Client, delivery: LocalDelivery, names: Names, *, batch: int = 100
    ) -> None:
        self.nc = nc
        self.names = names
        self.delivery = delivery
        self.batch = batch
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await ensure_stream(self.nc, self.names)
        for subscriber in self.delivery.subscribers:
            self._tasks.append(
                asyncio.create_task(self._consume(subscriber), name=f"events-{subscriber.name}")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _consume(self, subscriber: Subscriber) -> None:
        """Consumes until stopped; a failure (NATS away, the consumer not yet there) is logged
        and the consumer taken up again, later and later."""
        delay = 0.5
        while True:
            try:
                await self._consume_from(subscriber)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "events: %s stopped consuming; again in %.0f s", subscriber.name, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _consume_from(self, subscriber: Subscriber) -> None:
        js = self.nc.jetstream()
        durable = self.names.durable(subscriber.name)
        psub = await js.pull_subscribe(
            f"{self.names.subjects}.>",
            durable=durable,
            stream=self.names.stream,
            config=ConsumerConfig(
                durable_name=durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=ACK_WAIT,
            ),
        )
        while True:
            try:
                messages = await psub.fetch(self.batch, timeout=1.0)
            except (NatsTimeout, TimeoutError):  # nothing came: a batch's fetch raises the latter
                continue
            for message in messages:
                headers = message.headers or {}
                kind = headers.get("Voltflow-Kind") or message.subject.removeprefix(
                    self.names.subjects + "."
                )
                envelope = Envelope(
                    seq=message.metadata.sequence.stream,
                    id=headers.get("Nats-Msg-Id", ""),
                    kind=kind,
                    occurred_at=datetime.fromisoformat(headers["Voltflow-Occurred-At"]),
                    payload=message.data.decode(),
                )
                if kind in subscriber.kinds:
                    try:
                        await self.delivery.apply(subscriber, envelope.open())
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("events: %s could not apply %s", subscriber.name, kind)
                        await message.nak(delay=5.0)
                        continue
                    await failpoints.reach("consumer.before_ack")
                await message.ack()
