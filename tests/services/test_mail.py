"""Mail through a real SMTP server (aiosmtpd on a local port): people receive it in their own
language, with the same layout; the outbox keeps a mail through a mail server's outage and a
crash between sending and marking it sent; a change that rolls back mails nobody."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from pypdf import PdfReader

from tests import factories
from tests.conftest import make_settings
from tests.documents.samples import mixed_rates
from tests.mail.smtp_support import SmtpServer, parts
from voltflow import failpoints
from voltflow.bootstrap import Platform, build
from voltflow.documents.pdf import to_pdf
from voltflow.domain.access import Actor, OrganisationKind, Role
from voltflow.domain.mail import (
    Attachment,
    Invitation,
    MailKind,
    MailStatus,
    QueuedMail,
    Recipient,
)
from voltflow.domain.paging import Page, PageRequest
from voltflow.mail.samples import SAMPLES
from voltflow.mail.smtp import SmtpMailer
from voltflow.services.mail import MailSender


class HandClock:
    """The sender's clock, moved by the test past a retry's wait."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def mailing(database_url: str, smtp: SmtpServer) -> AsyncIterator[Platform]:
    """The platform as a server with a mail server: its sender runs."""
    settings = make_settings(
        database_url,
        smtp_url=smtp.url,
        mail_from="Voltflow <noreply@charge.example>",
        public_url="https://charge.example/",
    )
    platform = build(settings)
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


async def received(smtp: SmtpServer, address: str, count: int = 1) -> list[EmailMessage]:
    async with asyncio.timeout(10):
        while len(smtp.inbox.to(address)) < count:  # noqa: ASYNC110 - another thread's server
            await asyncio.sleep(0.02)
    return smtp.inbox.to(address)


def layout(text: str, html: str) -> tuple[list[str], list[str]]:
    """The layout's marks: the HTML's sections, the text's header and signature lines."""
    sections = re.findall(r'data-layout="(\w+)"', html)
    lines = text.splitlines()
    return sections, [lines[0], lines[1], *(line for line in lines if line == "-- ")]


async def _company(platform: Platform, op: Actor, language: str) -> int:
    org = await platform.organisations.create(op, "Laadpunt Gent", OrganisationKind.COMPANY)
    await platform.organisations.set_document_language(op, org.id, language)
    return org.id


async def test_each_person_is_invited_in_their_own_language(
    mailing: Platform, smtp: SmtpServer
) -> None:
    op = await factories.operator(mailing)
    org_id = await _company(mailing, op, "nl")
    # A new person: no language of their own yet, so the organisation's (Dutch).
    await mailing.organisations.add_person(
        op, org_id, "an", Role.FLEET_MANAGER, password="an-secret-pw", email="an@gent.example"
    )
    # Someone who reads French, given a role in the same (Dutch) organisation.
    claire = await mailing.accounts.add_user(
        "claire", "claire-secret-pw", full_name="Claire Dubois", email="claire@liege.example"
    )
    await mailing.accounts.set_preferences(claire.id, language="fr")
    await mailing.organisations.add_person(op, org_id, "claire", Role.DRIVER)

    [dutch] = await received(smtp, "an@gent.example")
    [french] = await received(smtp, "claire@liege.example")

    assert dutch["Subject"] == "Uw toegang tot Laadpunt Gent"
    assert french["Subject"] == "Votre accès à Laadpunt Gent"
    assert dutch["From"] == french["From"] == "Voltflow <noreply@charge.example>"
    assert (dutch["Content-Language"], french["Content-Language"]) == ("nl", "fr")
    nl_text, nl_html = parts(dutch)
    fr_text, fr_html = parts(french)
    assert "Beste," in nl_text and "U hebt nu de rol fleetmanager bij Laadpunt Gent" in nl_text
    assert "U hebt nu de rol fleetmanager bij Laadpunt Gent" in nl_html
    assert "Bonjour Claire Dubois," in fr_text and "le rôle conducteur chez Laadpunt" in fr_text
    assert "Bonjour Claire Dubois," in fr_html and '<html lang="fr">' in fr_html
    assert '<html lang="nl">' in nl_html
    # The same layout in both languages and both alternatives.
    assert layout(nl_text, nl_html) == layout(fr_text, fr_html)
    marks = (["header", "body", "footer"], ["Voltflow", "========", "-- "])
    assert layout(nl_text, nl_html) == marks
    login = "https://charge.example/login"
    for text, html in ((nl_text, nl_html), (fr_text, fr_html)):
        assert login in text and f'href="{login}"' in html
        assert "<link" not in html and "<script" not in html and "src=" not in html
    # The login is told; the password is not (the outbox keeps what it sends).
    assert "an@gent.example" not in nl_text  # the login is "an", the address is not repeated
    assert "an-secret-pw" not in nl_text + nl_html

    # Each mail's Message-ID is the one the outbox made and keeps; marked sent once the server
    # took it (just after the receiver has it: wait for the mark).
    async def sent() -> Page[QueuedMail]:
        async with asyncio.timeout(10):
            while True:
                page = await mailing.mail.page(op, PageRequest())
                if {m.status for m in page.items} == {MailStatus.SENT}:
                    return page
                await asyncio.sleep(0.02)  # the sender marks it after the server took it

    page = await sent()
    stored = {m.recipient: m for m in page.items}
    assert stored["an@gent.example"].message_id == dutch["Message-ID"]
    assert stored["claire@liege.example"].message_id == french["Message-ID"]
    assert {m.status for m in page.items} == {MailStatus.SENT}
    assert {m.language for m in page.items} == {"nl", "fr"}


async def test_a_blocked_cards_holder_is_told_in_their_language(
    mailing: Platform, smtp: SmtpServer
) -> None:
    op = await factories.operator(mailing)
    org_id = await _company(mailing, op, "nl")
    manager = await mailing.organisations.add_person(
        op, org_id, "fm", Role.FLEET_MANAGER, password="fm-secret-pw"
    )
    mailed = await mailing.organisations.add_person(
        op, org_id, "jo", Role.DRIVER, password="jo-secret-pw", email="jo@gent.example"
    )
    silent = await mailing.organisations.add_person(
        op, org_id, "lu", Role.DRIVER, password="lu-secret-pw"
    )
    await mailing.accounts.set_preferences(mailed.user_id, language="fr")
    uids = await mailing.cards.import_csv(
        op, "uid,printed_number\nC0FFEE01,VF-000777\nC0FFEE02,VF-000778\n"
    )
    await mailing.cards.distribute(op, uids, org_id)
    fm = await mailing.accounts.actor(manager.user_id)
    assert fm is not None
    await mailing.cards.assign(fm, uids[0], mailed.user_id)
    await mailing.cards.assign(fm, uids[1], silent.user_id)
    await mailing.cards.activate(fm, uids)
    before = (await mailing.mail.page(op, PageRequest())).total

    await mailing.cards.block(fm, uids, "stolen")

    # Jo's first mail was the invitation; the second, the notice.
    [_invitation, notice] = await received(smtp, "jo@gent.example", 2)
    assert notice["Subject"] == "Votre carte VF-000777 est bloquée"
    text, html = parts(notice)
    assert "C0FFEE01" in text and "stolen" in text and "Bloquée" in html
    # The other holder has no address: no mail, and nothing waits for one.
    after = await mailing.mail.page(op, PageRequest())
    assert after.total == before + 1
    assert after.items[0].kind == MailKind.CARD_BLOCKED


async def test_the_payment_request_writes_amounts_as_each_language_does(
    mailing: Platform, smtp: SmtpServer
) -> None:
    op = await factories.operator(mailing)
    request = SAMPLES[MailKind.PAYMENT_REQUEST]
    wanted = {"nl": "€ 2,44", "fr": "€ 2,44", "en": "€2.44"}
    for lang in wanted:
        org = await mailing.organisations.create(op, f"Fleet {lang}", OrganisationKind.COMPANY)
        await mailing.organisations.set_document_language(op, org.id, lang)
        async with mailing.uow():
            await mailing.mail.to_organisation(request, org.id, f"billing-{lang}@fleet.example")
    for lang, amount in wanted.items():
        [mail] = await received(smtp, f"billing-{lang}@fleet.example")
        text, html = parts(mail)
        assert amount in text and amount in html, (lang, text)
    nl_text, _html = parts(smtp.inbox.to("billing-nl@fleet.example")[0])
    assert "Totaal" in nl_text and "€ 10,13" in nl_text and "2 mrt 2026" in nl_text


async def test_a_change_that_rolls_back_mails_nobody(platform: Platform) -> None:
    op = await factories.operator(platform)
    invitation = SAMPLES[MailKind.INVITATION]

    async def failing_change() -> None:
        async with platform.uow():
            await platform.mail.queue(invitation, Recipient("ann@acme.example", language="nl"))
            raise RuntimeError("the change fails after its mail was queued")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert (await platform.mail.page(op, PageRequest())).total == 0


async def test_the_outbox_keeps_a_mail_while_the_server_is_down(
    platform: Platform, smtp: SmtpServer
) -> None:
    """Without VOLTFLOW_SMTP_URL the platform keeps its mails; a sender set up by hand (so the
    test moves its clock) sends them to a server that goes away and comes back."""
    op = await factories.operator(platform)
    invitation = Invitation("Acme", "driver", "ann@acme", "https://charge.example/login")
    async with platform.uow():
        mail_id = await platform.mail.queue(invitation, Recipient("ann@acme.example", "Ann", "nl"))
    clock = HandClock()
    sender = MailSender(
        platform.mail.outbox, SmtpMailer(smtp.url, "noreply@charge.example", timeout=5), clock
    )
    await smtp.stop()

    assert await sender.send_due() == 0
    kept = await platform.mail.get(op, mail_id)
    assert (kept.status, kept.attempts) == (MailStatus.PENDING, 1)
    assert kept.last_error and "Connection" in kept.last_error
    # Not due again before its wait is over.
    assert await sender.send_due() == 0
    assert (await platform.mail.get(op, mail_id)).attempts == 1

    await smtp.start()
    clock.advance(sender.retry_delay(1).total_seconds())
    assert await sender.send_due() == 1
    sent = await platform.mail.get(op, mail_id)
    assert (sent.status, sent.attempts, sent.last_error) == (MailStatus.SENT, 2, None)
    [mail] = smtp.inbox.to("ann@acme.example")
    assert mail["Message-ID"] == sent.message_id
    assert mail["Subject"] == "Uw toegang tot Acme"
    # Sent is sent: nothing more goes out.
    clock.advance(3600)
    assert await sender.send_due() == 0
    assert len(smtp.inbox.messages) == 1


async def test_a_crash_before_the_mark_sends_again_with_the_same_message_id(
    platform: Platform, smtp: SmtpServer
) -> None:
    op = await factories.operator(platform)
    async with platform.uow():
        mail_id = await platform.mail.queue(
            SAMPLES[MailKind.CARD_BLOCKED], Recipient("jo@gent.example", language="fr")
        )
    clock = HandClock()
    sender = MailSender(platform.mail.outbox, SmtpMailer(smtp.url, "noreply@charge.example"), clock)
    failpoints.enable("mail.before_mark")
    try:
        with pytest.raises(failpoints.InjectedFault):
            await sender.send_due()
    finally:
        failpoints.disable("mail.before_mark")
    assert (await platform.mail.get(op, mail_id)).status is MailStatus.PENDING

    clock.advance(sender.retry_delay(1).total_seconds())
    assert await sender.send_due() == 1
    copies = smtp.inbox.to("jo@gent.example")
    # At least once: the repeat carries the same Message-ID, by which a receiver drops it.
    assert len(copies) == 2
    assert {m["Message-ID"] for m in copies} == {(await platform.mail.get(op, mail_id)).message_id}


async def test_a_refused_recipient_is_not_tried_again(platform: Platform) -> None:
    """A server that refuses the recipient for good (550): the mail is failed, not retried."""

    class Refusing:
        async def handle_RCPT(
            self, server: object, session: object, envelope: object, address: str, options: object
        ) -> str:
            return "550 no such mailbox"

    from aiosmtpd.controller import Controller

    from tests.mail.smtp_support import free_port

    op = await factories.operator(platform)
    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        async with platform.uow():
            mail_id = await platform.mail.queue(
                SAMPLES[MailKind.INVITATION], Recipient("nobody@acme.example")
            )
        clock = HandClock()
        sender = MailSender(
            platform.mail.outbox, SmtpMailer(f"smtp://127.0.0.1:{port}", "noreply@x.example"), clock
        )
        assert await sender.send_due() == 0
        failed = await platform.mail.get(op, mail_id)
        assert failed.status is MailStatus.FAILED and "550" in (failed.last_error or "")
        clock.advance(86400)
        assert await sender.send_due() == 0
        assert (await platform.mail.get(op, mail_id)).attempts == 1
    finally:
        await asyncio.to_thread(controller.stop)


async def test_a_document_goes_with_its_pdf_attached_and_again_with_the_same_bytes(
    mailing: Platform, smtp: SmtpServer
) -> None:
    op = await factories.operator(mailing)
    org = await mailing.organisations.create(op, "Fleet", OrganisationKind.COMPANY)
    document = mixed_rates()
    pdf = to_pdf(document, language="en")
    async with mailing.uow():
        mail_id = await mailing.mail.to_organisation(
            SAMPLES[MailKind.PAYMENT_REQUEST],
            org.id,
            "billing@fleet.example",
            attachments=[Attachment(f"{document.number}.pdf", "application/pdf", pdf)],
        )
    [mail] = await received(smtp, "billing@fleet.example")
    assert mail.get_content_type() == "multipart/mixed"
    body = mail.get_body(("plain",))
    assert body is not None and "Payment request" in str(body.get_content())
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == f"{document.number}.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_content() == pdf
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert document.number is not None and document.number in text
    detail = await mailing.mail.get(op, mail_id)
    assert detail.attachments == (f"{document.number}.pdf",)
