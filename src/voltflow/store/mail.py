"""The mail outbox: mails written with the change that causes them, claimed one attempt at a
time by the sender, marked sent (or failed for good); and read back for the console."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from voltflow.domain.mail import (
    Attachment,
    MailStatus,
    OutgoingMail,
    QueuedMail,
    QueuedMailDetail,
)
from voltflow.domain.paging import Page, PageRequest
from voltflow.store.database import Database
from voltflow.store.paging import fetch_page, record_of
from voltflow.store.tables import mail_attachments, mail_outbox

_LIST_COLUMNS = [c for c in mail_outbox.c if c.name not in ("body_text", "body_html")]


def _record(row: Mapping[Any, Any]) -> QueuedMail:
    return record_of(QueuedMail, row, status=MailStatus(row["status"]))


def _detail(row: Mapping[Any, Any]) -> QueuedMailDetail:
    return record_of(
        QueuedMailDetail,
        row,
        status=MailStatus(row["status"]),
        text=row["body_text"],
        html=row["body_html"],
    )


class MailOutboxRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        mail: OutgoingMail,
        kind: str,
        now: datetime,
        *,
        user_id: int | None = None,
        organisation_id: int | None = None,
        document_id: int | None = None,
    ) -> int:
        """Written with the unit of work this runs in; due at once."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(mail_outbox)
                .values(
                    message_id=mail.message_id,
                    kind=kind,
                    recipient=mail.recipient,
                    language=mail.language,
                    subject=mail.subject,
                    body_text=mail.text,
                    body_html=mail.html,
                    user_id=user_id,
                    organisation_id=organisation_id,
                    document_id=document_id,
                    created_at=now,
                    status=MailStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                )
                .returning(mail_outbox.c.id)
            )
            mail_id = int(result.scalar_one())
            if mail.attachments:
                await conn.execute(
                    insert(mail_attachments),
                    [
                        {
                            "mail_id": mail_id,
                            "position": i,
                            "filename": a.filename,
                            "content_type": a.content_type,
                            "content": a.content,
                        }
                        for i, a in enumerate(mail.attachments)
                    ],
                )
            return mail_id

    async def attachments(self, mail_id: int) -> tuple[Attachment, ...]:
        """The files the mail carries, in order."""
        a = mail_attachments
        async with self.db.reading() as conn:
            rows = await conn.execute(
                select(a.c.filename, a.c.content_type, a.c.content)
                .where(a.c.mail_id == mail_id)
                .order_by(a.c.position)
            )
            return tuple(Attachment(r.filename, r.content_type, bytes(r.content)) for r in rows)

    async def due(self, now: datetime, limit: int) -> list[QueuedMailDetail]:
        """Pending mails whose (next) attempt is due, oldest first."""
        query = (
            select(mail_outbox)
            .where(mail_outbox.c.status == MailStatus.PENDING.value)
            .where(mail_outbox.c.next_attempt_at <= now)
            .order_by(mail_outbox.c.next_attempt_at, mail_outbox.c.id)
            .limit(limit)
        )
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return [_detail(r._mapping) for r in rows]

    async def next_due(self) -> datetime | None:
        """When the earliest pending mail is due; None when none waits."""
        query = (
            select(mail_outbox.c.next_attempt_at)
            .where(mail_outbox.c.status == MailStatus.PENDING.value)
            .order_by(mail_outbox.c.next_attempt_at)
            .limit(1)
        )
        async with self.db.reading() as conn:
            found: datetime | None = (await conn.execute(query)).scalar()
        return found

    async def claim(self, mail_id: int, attempts: int, retry_at: datetime) -> bool:
        """Takes the mail for one attempt: counts it and moves its next one to ``retry_at``
        (where a sender that dies mid-attempt leaves it). False when another sender took it
        first (its count moved on) or it is no longer pending."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                update(mail_outbox)
                .where(mail_outbox.c.id == mail_id)
                .where(mail_outbox.c.attempts == attempts)
                .where(mail_outbox.c.status == MailStatus.PENDING.value)
                .values(attempts=attempts + 1, next_attempt_at=retry_at)
                .returning(mail_outbox.c.id)
            )
            return result.first() is not None

    async def mark_sent(self, mail_id: int, at: datetime) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                update(mail_outbox)
                .where(mail_outbox.c.id == mail_id)
                .values(
                    status=MailStatus.SENT.value, sent_at=at, next_attempt_at=None, last_error=None
                )
            )

    async def mark_failed(self, mail_id: int, error: str, *, final: bool) -> None:
        """Records why the attempt failed; ``final``: never tried again."""
        values: dict[str, Any] = {"last_error": error[:500]}
        if final:
            values.update(status=MailStatus.FAILED.value, next_attempt_at=None)
        async with self.db.writing() as conn:
            await conn.execute(
                update(mail_outbox).where(mail_outbox.c.id == mail_id).values(values)
            )

    async def page(self, page: PageRequest, status: MailStatus | None = None) -> Page[QueuedMail]:
        query = select(*_LIST_COLUMNS)
        if status is not None:
            query = query.where(mail_outbox.c.status == status.value)
        async with self.db.reading() as conn:
            return await fetch_page(
                conn,
                query,
                mail_outbox.c.created_at.desc(),
                mail_outbox.c.id.desc(),
                page=page,
                record=_record,
            )

    async def get(self, mail_id: int) -> QueuedMailDetail | None:
        async with self.db.reading() as conn:
            row = (
                await conn.execute(select(mail_outbox).where(mail_outbox.c.id == mail_id))
            ).first()
            if row is None:
                return None
            names = await conn.execute(
                select(mail_attachments.c.filename)
                .where(mail_attachments.c.mail_id == mail_id)
                .order_by(mail_attachments.c.position)
            )
            return replace(_detail(row._mapping), attachments=tuple(r.filename for r in names))

    async def of_document(self, document_id: int) -> list[QueuedMail]:
        """The mails that carry a billing document, oldest first."""
        async with self.db.reading() as conn:
            rows = await conn.execute(
                select(*_LIST_COLUMNS)
                .where(mail_outbox.c.document_id == document_id)
                .order_by(mail_outbox.c.id)
            )
            return [_record(r._mapping) for r in rows]
