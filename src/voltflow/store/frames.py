"""The OCPP message log: every frame a station and the platform exchanged, with its answer."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import RowMapping, and_, or_, select

from voltflow.domain.queries import MessageFilter
from voltflow.domain.records import Frame, LoggedFrame
from voltflow.store.database import Database
from voltflow.store.statements import Statements
from voltflow.store.tables import (
    ocpp_messages,
)
from voltflow.store.writer import DurableWriter, Write


class MessageLog:
    """Every OCPP frame in and out, per station, searchable.

    Stored an exchange a row (a CALL with its answer), read as frames: :meth:`search` gives
    each frame on its own, the answer after its call, as the station and the platform sent
    them."""

    def __init__(self, db: Database, writer: DurableWriter, statements: Statements) -> None:
        self.db = db
        self.writer = writer
        self.sql = statements

    def w_frame(self, frame: LoggedFrame) -> Write:
        """The row of one frame, with the answer it got (if it is a call that was answered)."""
        message_id, action, note, answer = (
            frame.message_id,
            frame.action,
            frame.note,
            frame.answer,
        )
        return Write(
            self.sql.log_message,
            {
                "station_id": frame.station_id,
                "at": frame.at,
                "direction": frame.direction,
                "message_type": frame.message_type,
                # A station may send anything: keep what fits, the raw frame keeps the rest.
                "message_id": message_id[:64] if message_id else None,
                "action": action[:48] if action else None,
                "payload": frame.raw,
                "note": note[:512] if note else None,
                "answer": answer.raw if answer else None,
                "answer_type": answer.message_type if answer else None,
                "answered_at": answer.at if answer else None,
            },
        )

    def record(self, frame: LoggedFrame) -> None:
        """The frame's row rides the next commit (``services.ports.FrameLog``)."""
        self.writer.enqueue([self.w_frame(frame)])

    async def record_now(self, frame: LoggedFrame) -> None:
        """The frame's row, committed before this returns (``services.ports.FrameLog``)."""
        await self.writer.commit([self.w_frame(frame)])

    async def search(self, station_id: str, filters: MessageFilter) -> list[Frame]:
        """The station's frames, newest first: at least ``filters.limit`` when there are as
        many, and never half an exchange (both frames carry the row's id, which
        ``before_id`` pages by)."""
        t = ocpp_messages
        f = filters
        cond = [t.c.station_id == station_id]
        if f.action:
            cond.append(t.c.action == f.action)
        if f.direction:
            # The frames sent that way: rows begun that way, or answered that way.
            cond.append(
                or_(
                    t.c.direction == f.direction,
                    and_(t.c.answer.is_not(None), t.c.direction != f.direction),
                )
            )
        if f.message_id:
            cond.append(t.c.message_id == f.message_id)
        if f.text:
            cond.append(
                or_(
                    t.c.payload.contains(f.text, autoescape=True),
                    t.c.note.contains(f.text, autoescape=True),
                    t.c.answer.contains(f.text, autoescape=True),
                )
            )
        if f.before_id:
            cond.append(t.c.id < f.before_id)
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(select(t).where(*cond).order_by(t.c.id.desc()).limit(f.limit))
            ).all()
        found: list[Frame] = []
        for row in rows:
            for frame in reversed(_frames_of(row._mapping)):
                # A text found in a call or its answer shows the whole exchange.
                if not f.direction or frame.direction == f.direction:
                    found.append(frame)
            if len(found) >= f.limit:
                break
        return found


def _frames_of(row: RowMapping) -> list[Frame]:
    """A log row as the frames it holds, in the order they were sent."""
    call = Frame(
        id=row["id"],
        station_id=row["station_id"],
        at=row["at"],
        direction=row["direction"],
        message_type=row["message_type"],
        message_id=row["message_id"],
        action=row["action"],
        payload=row["payload"],
        note=row["note"],
    )
    if row["answer"] is None:
        return [call]
    answer = replace(
        call,
        at=row["answered_at"],
        direction="out" if row["direction"] == "in" else "in",
        message_type=row["answer_type"],
        payload=row["answer"],
        note=None,
    )
    return [call, answer]
