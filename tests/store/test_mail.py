"""The mail outbox's repository, on both databases: written with a unit of work, claimed once
an attempt, marked sent or failed, read back for the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from voltflow.bootstrap import Platform
from voltflow.domain.mail import MailStatus, OutgoingMail
from voltflow.domain.paging import PageRequest
from voltflow.store.mail import MailOutboxRepository

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _mail(n: int, language: str = "nl") -> OutgoingMail:
    return OutgoingMail(
        f"<{n}.test@charge.example>",
        f"person{n}@example.com",
        f"Subject {n} – é",
        f"text {n}",
        f"<p>html {n}</p>",
        language,
    )


async def test_a_mail_goes_in_with_its_unit_and_comes_out_as_queued(platform: Platform) -> None:
    repo: MailOutboxRepository = platform.mail.outbox
    async with platform.uow():
        first = await repo.add(_mail(1), "invitation", T0, user_id=7, organisation_id=3)
    second = await repo.add(_mail(2, "fr"), "card_blocked", T0 + timedelta(seconds=1))

    detail = await repo.get(first)
    assert detail is not None
    assert (detail.message_id, detail.recipient, detail.subject) == (
        "<1.test@charge.example>",
        "person1@example.com",
        "Subject 1 – é",
    )
    assert (detail.text, detail.html, detail.language) == ("text 1", "<p>html 1</p>", "nl")
    assert (detail.user_id, detail.organisation_id, detail.kind) == (7, 3, "invitation")
    assert (detail.status, detail.attempts, detail.next_attempt_at) == (MailStatus.PENDING, 0, T0)
    assert detail.created_at == T0 and detail.sent_at is None

    page = await repo.page(PageRequest(0, 10))
    assert page.total == 2 and [m.id for m in page.items] == [second, first]  # newest first
    assert await repo.get(999_999) is None


async def test_a_message_id_is_stored_once(platform: Platform) -> None:
    repo = platform.mail.outbox
    await repo.add(_mail(1), "invitation", T0)
    with pytest.raises(IntegrityError):
        await repo.add(_mail(1), "invitation", T0)


async def test_an_attempt_is_claimed_once_then_marked(platform: Platform) -> None:
    repo = platform.mail.outbox
    mail_id = await repo.add(_mail(1), "invitation", T0)
    other = await repo.add(_mail(2), "invitation", T0 + timedelta(minutes=5))
    assert [m.id for m in await repo.due(T0, 10)] == [mail_id]
    assert await repo.next_due() == T0

    retry = T0 + timedelta(seconds=30)
    assert await repo.claim(mail_id, 0, retry)
    # A second sender that read the same row loses: the count moved on.
    assert not await repo.claim(mail_id, 0, retry)
    assert await repo.due(T0, 10) == []
    assert await repo.next_due() == retry

    await repo.mark_failed(mail_id, "421 busy", final=False)
    kept = await repo.get(mail_id)
    assert kept is not None
    assert (kept.status, kept.attempts, kept.last_error) == (MailStatus.PENDING, 1, "421 busy")
    assert [m.id for m in await repo.due(retry, 10)] == [mail_id]

    assert await repo.claim(mail_id, 1, retry + timedelta(seconds=60))
    await repo.mark_sent(mail_id, retry)
    sent = await repo.get(mail_id)
    assert sent is not None
    assert (sent.status, sent.sent_at, sent.last_error) == (MailStatus.SENT, retry, None)
    assert not await repo.claim(mail_id, 2, retry)  # sent is sent
    assert await repo.next_due() == T0 + timedelta(minutes=5)

    await repo.mark_failed(other, "550 " + "x" * 600, final=True)
    failed = await repo.get(other)
    assert failed is not None and failed.status is MailStatus.FAILED
    assert failed.last_error is not None and len(failed.last_error) == 500
    assert await repo.next_due() is None
    assert [m.id for m in (await repo.page(PageRequest(), MailStatus.SENT)).items] == [mail_id]
    assert [m.id for m in (await repo.page(PageRequest(), MailStatus.FAILED)).items] == [other]
    assert (await repo.page(PageRequest(), MailStatus.PENDING)).total == 0
