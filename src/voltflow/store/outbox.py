"""The outbox: events written in the transaction of the change they tell of, read back in order
to be published, and each consumer's receipts of the events it applied."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.base import Executable

from voltflow.domain.events import Envelope, Event, encode
from voltflow.store.database import Database
from voltflow.store.statements import dialect_insert
from voltflow.store.tables import event_receipts, outbox
from voltflow.store.writer import DurableWriter, Write

_INSERT: Executable = insert(outbox)
_MARK: Executable = (
    update(outbox).where(outbox.c.seq == bindparam("b_seq")).values(published_at=bindparam("b_at"))
)


def event_row(event: Event) -> dict[str, object]:
    return {
        "id": event.id,
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "payload": encode(event),
        "published_at": None,
    }


class OutboxRepository:
    def __init__(self, db: Database, writer: DurableWriter) -> None:
        self.db = db
        self.writer = writer
        # RETURNING tells whether a row went in: the driver's rowcount does not, on PostgreSQL.
        self._receipt = (
            dialect_insert(db.dialect, event_receipts)
            .on_conflict_do_nothing()
            .returning(event_receipts.c.event_id)
        )

    @staticmethod
    def w_event(event: Event) -> Write:
        """The event as a write of the station writer's batch (the same statement every time,
        so a batch's events go in one statement)."""
        return Write(_INSERT, event_row(event))

    async def add(self, events: Sequence[Event]) -> None:
        """Written with the unit of work this runs in (``Database.unit``)."""
        if events:
            async with self.db.writing() as conn:
                await conn.execute(_INSERT, [event_row(e) for e in events])

    async def unpublished(self, limit: int) -> list[Envelope]:
        query = (
            select(outbox.c.seq, outbox.c.id, outbox.c.kind, outbox.c.occurred_at, outbox.c.payload)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.seq)
            .limit(limit)
        )
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return [Envelope(r.seq, r.id, r.kind, r.occurred_at, r.payload) for r in rows]

    async def mark_published(self, seqs: Sequence[int], at: datetime) -> None:
        """Rides the station writer's next group commit: no transaction (and, on SQLite, no
        write lock and fsync) of its own. Each event by its own ``seq``: on PostgreSQL a lower
        one may still commit after a higher one was read, so a range would mark one that was
        never published."""
        if seqs:
            await self.writer.commit([Write(_MARK, {"b_seq": s, "b_at": at}) for s in seqs])

    async def first_receipt(self, consumer: str, event_id: str, at: datetime) -> bool:
        """Records that ``consumer`` applies ``event_id`` now, in the unit of work this runs in;
        False when it had applied it already (nothing is recorded then)."""
        async with self.db.writing() as conn:
            try:
                result = await conn.execute(
                    self._receipt, {"consumer": consumer, "event_id": event_id, "applied_at": at}
                )
            except IntegrityError:  # pragma: no cover (the conflict clause answers first)
                return False
            return result.first() is not None

    async def first_receipts(
        self, consumer: str, event_ids: Sequence[str], at: datetime
    ) -> set[str]:
        """``first_receipt`` for many events in one statement: the ids applied now."""
        if not event_ids:
            return set()
        rows = [{"consumer": consumer, "event_id": e, "applied_at": at} for e in event_ids]
        statement = (
            dialect_insert(self.db.dialect, event_receipts)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(event_receipts.c.event_id)
        )
        async with self.db.writing() as conn:
            return set((await conn.execute(statement)).scalars())

    async def receipts(self, consumer: str) -> int:
        async with self.db.reading() as conn:
            query = select(event_receipts.c.event_id).where(event_receipts.c.consumer == consumer)
            return len((await conn.execute(query)).all())
