"""The OCPP message log: every frame a station and the platform exchanged, with its answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, or_, select

from voltflow.store.database import Database
from voltflow.store.statements import Statements
from voltflow.store.tables import (
    ocpp_messages,
)
from voltflow.store.writer import DurableWriter, Write


class Answer(NamedTuple):
    """The frame that answered a logged CALL, sent the other way (a tuple: one a message)."""

    raw: str
    message_type: int  # 3 CALLRESULT, 4 CALLERROR
    at: datetime


class MessageLog:
    """Every OCPP frame in and out, per station, searchable.

    Stored an exchange a row (a CALL with its answer), read as frames: :meth:`search` gives
    each frame on its own, the answer after its call, as the station and the platform sent
    them."""

    def __init__(self, db: Database, writer: DurableWriter, statements: Statements) -> None:
        self.db = db
        self.writer = writer
        self.sql = statements

    def w_frame(
        self,
        station_id: str,
        at: datetime,
        direction: str,
        raw: str,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        note: str | None = None,
        answer: Answer | None = None,
    ) -> Write:
        """The row of one frame, with the answer it got (if it is a call that was answered)."""
        return Write(
            self.sql.log_message,
            {
                "station_id": station_id,
                "at": at,
                "direction": direction,
                "message_type": message_type,
                # A station may send anything: keep what fits, the raw frame keeps the rest.
                "message_id": message_id[:64] if message_id else None,
                "action": action[:48] if action else None,
                "payload": raw,
                "note": note[:512] if note else None,
                "answer": answer.raw if answer else None,
                "answer_type": answer.message_type if answer else None,
                "answered_at": answer.at if answer else None,
            },
        )

    def record(
        self,
        station_id: str,
        at: datetime,
        direction: str,
        raw: str,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        note: str | None = None,
        answer: Answer | None = None,
    ) -> None:
        """The frame's row rides the next commit (``services.ports.FrameLog``)."""
        self.writer.enqueue(
            [
                self.w_frame(
                    station_id, at, direction, raw, message_type, message_id, action, note, answer
                )
            ]
        )

    async def record_now(
        self,
        station_id: str,
        at: datetime,
        direction: str,
        raw: str,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        note: str | None = None,
        answer: Answer | None = None,
    ) -> None:
        """The frame's row, committed before this returns (``services.ports.FrameLog``)."""
        await self.writer.commit(
            [
                self.w_frame(
                    station_id, at, direction, raw, message_type, message_id, action, note, answer
                )
            ]
        )

    async def search(
        self,
        station_id: str,
        *,
        action: str | None = None,
        direction: str | None = None,
        message_id: str | None = None,
        text: str | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """The station's frames, newest first: at least ``limit`` when there are as many, and
        never half an exchange (both frames carry the row's id, which ``before_id`` pages by)."""
        t = ocpp_messages
        cond = [t.c.station_id == station_id]
        if action:
            cond.append(t.c.action == action)
        if direction:
            # The frames sent that way: rows begun that way, or answered that way.
            cond.append(
                or_(
                    t.c.direction == direction,
                    and_(t.c.answer.is_not(None), t.c.direction != direction),
                )
            )
        if message_id:
            cond.append(t.c.message_id == message_id)
        if text:
            cond.append(
                or_(
                    t.c.payload.contains(text, autoescape=True),
                    t.c.note.contains(text, autoescape=True),
                    t.c.answer.contains(text, autoescape=True),
                )
            )
        if before_id:
            cond.append(t.c.id < before_id)
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(select(t).where(*cond).order_by(t.c.id.desc()).limit(limit))
            ).all()
        found: list[dict[str, Any]] = []
        for row in rows:
            for frame in reversed(_frames_of(row._mapping)):
                # A text found in a call or its answer shows the whole exchange.
                if not direction or frame["direction"] == direction:
                    found.append(frame)
            if len(found) >= limit:
                break
        return found


_FRAME_FIELDS = ("id", "station_id", "at", "direction", "message_type", "message_id", "action")


def _frames_of(row: Any) -> list[dict[str, Any]]:
    """A log row as the frames it holds, in the order they were sent."""
    call = {k: row[k] for k in _FRAME_FIELDS}
    call["payload"], call["note"] = row["payload"], row["note"]
    if row["answer"] is None:
        return [call]
    answer = {
        **call,
        "at": row["answered_at"],
        "direction": "out" if row["direction"] == "in" else "in",
        "message_type": row["answer_type"],
        "payload": row["answer"],
        "note": None,
    }
    return [call, answer]
