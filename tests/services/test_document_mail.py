"""A billing run's documents reach a real SMTP server (aiosmtpd) with their files attached: the
PDF in the recipient's language, whose text holds the total, and an invoice's UBL e-invoice;
made as the mail is sent from the document as issued, so that a mail sent again carries the
very same bytes, and a run retried after a failure mails each document once."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from lxml import etree
from pypdf import PdfReader

from tests.mail.smtp_support import SmtpServer
from tests.services.billing_world import Month, month
from voltflow import failpoints
from voltflow.domain.billing.runs import BillingPeriod
from voltflow.mail.smtp import SmtpMailer
from voltflow.services.document_files import BillingDocumentFiles
from voltflow.services.mail import MailSender

__all__ = ["month"]  # the fixture

NOVEMBER = BillingPeriod.month(2026, 11)


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def files(mail: EmailMessage) -> dict[str, tuple[str, bytes]]:
    return {
        str(a.get_filename()): (a.get_content_type(), a.get_content())
        for a in mail.iter_attachments()
    }


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def test_documents_are_mailed_once_with_their_pdf_and_ubl(
    month: Month, smtp: SmtpServer
) -> None:
    m = month
    p = m.platform
    await p.organisations.set_document_language(m.op, m.acme.id, "nl")
    sender = MailSender(
        p.mail.outbox,
        SmtpMailer(smtp.url, "noreply@charge.example", timeout=5),
        m.clock,
        documents=BillingDocumentFiles(p.payments.repo, p.settings.timezone),
    )
    assert await sender.send_due() == 1  # the host's invitation, before the month is billed
    # The first run fails midway: nothing of it, its mails included, is left.
    failpoints.enable("billing.document_issued", "error")
    try:
        with pytest.raises(failpoints.InjectedFault):
            await p.billing.finalise(m.op, NOVEMBER)
    finally:
        failpoints.disable("billing.document_issued")
    await p.billing.finalise(m.op, NOVEMBER)

    # The server takes the first mail, then the sender dies before marking it sent: it goes
    # again later, with the same Message-ID and the same files.
    failpoints.enable("mail.before_mark")
    try:
        with pytest.raises(failpoints.InjectedFault):
            await sender.send_due()
    finally:
        failpoints.disable("mail.before_mark")
    m.clock.at += timedelta(seconds=sender.retry_delay(1).total_seconds())
    assert await sender.send_due() == 3
    assert await sender.send_due() == 0

    acme = smtp.inbox.to("billing@acme.example")
    first, *others = acme
    assert len(others) == 2 and others[-1]["Message-ID"] == first["Message-ID"]
    assert files(others[-1]) == files(first)
    by_subject = {mail["Subject"]: mail for mail in others}
    assert sorted(by_subject) == [
        "Betaalverzoek PR-2026-000001: € 7,32",
        "Factuur INV-2026-000001: € 19,36",
    ]
    invoice = files(by_subject["Factuur INV-2026-000001: € 19,36"])
    assert sorted(invoice) == ["INV-2026-000001.pdf", "INV-2026-000001.xml"]
    kind, pdf = invoice["INV-2026-000001.pdf"]
    assert kind == "application/pdf"
    text = pdf_text(pdf)
    assert "Factuur" in text and "€ 19,36" in text  # in the customer's language
    kind, xml = invoice["INV-2026-000001.xml"]
    assert kind == "application/xml"
    ubl = etree.fromstring(xml)
    assert ubl.findtext("{*}ID") == "INV-2026-000001"
    assert ubl.findtext("{*}LegalMonetaryTotal/{*}PayableAmount") == "19.36"
    # A payment request is no invoice: its PDF only.
    request = files(by_subject["Betaalverzoek PR-2026-000001: € 7,32"])
    assert list(request) == ["PR-2026-000001.pdf"]
    assert "€ 7,32" in pdf_text(request["PR-2026-000001.pdf"][1])
    # The host's statement, in English (the host chose no language).
    [_invitation, host] = smtp.inbox.to("hilde@home.example")
    statement = files(host)
    assert list(statement) == ["SB-2026-000001.pdf"]
    assert "€3.03" in pdf_text(statement["SB-2026-000001.pdf"][1])
    # Made again from the stored document: the same bytes.
    record = await p.payments.repo.by_number("INV-2026-000001")
    assert record is not None
    again = await BillingDocumentFiles(p.payments.repo, p.settings.timezone).attachments(
        record.id, "nl"
    )
    assert [(a.filename, a.content) for a in again] == [
        ("INV-2026-000001.pdf", pdf),
        ("INV-2026-000001.xml", xml),
    ]
