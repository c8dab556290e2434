"""An issued document as a file, through the service on both databases: its PDF in the language
of whom it is issued to, whoever reads it; an invoice's e-invoice valid against the Peppol rules;
what has no e-invoice refused naming the format; an e-invoice the rules refuse never handed out;
another organisation's document not found."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests import factories
from tests.conftest import make_settings
from tests.services.billing_world import HOST, HandClock, Month, month, utc
from voltflow.bootstrap import Platform, build
from voltflow.config import Settings
from voltflow.documents.peppol import RulesMissing, validator
from voltflow.domain.access import Actor
from voltflow.domain.contracts import ContractKind
from voltflow.services.billing import (
    BillingError,
    DocumentFormat,
    DocumentNotFound,
    InvalidEInvoice,
)

__all__ = ["month"]  # the fixture


def words(pdf: bytes) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.replace("\xa0", " ").split())


async def test_each_document_as_a_file_for_whoever_reads_it(month: Month) -> None:
    platform, op = month.platform, month.op
    # Acme reads its documents in Dutch; the employee has no language of their own: theirs
    # follows the document's recipient, English.
    await platform.organisations.set_document_language(op, month.acme.id, "nl")
    await platform.billing.finalise(op, month.last_period)
    billing = platform.billing

    invoice = await billing.rendered(op, "INV-2026-000001", DocumentFormat.PDF)
    assert invoice.filename == "INV-2026-000001.pdf"
    assert invoice.media_type == "application/pdf"
    text = words(invoice.content)
    assert "Factuur INV-2026-000001" in text and "€ 19,36" in text
    # The fleet manager gets the very same file the operator does (and the mail carries).
    mine = await billing.rendered(month.acme.manager, "INV-2026-000001", "pdf")
    assert mine.content == invoice.content

    statement = await billing.rendered(month.acme.drivers[0], "RS-2026-000001", "pdf")
    assert "Reimbursement statement RS-2026-000001" in words(statement.content)
    assert "€7.32" in words(statement.content)
    host = await platform.accounts.find(HOST)
    assert host is not None
    hilde = await platform.accounts.actor(host.id)
    assert hilde is not None
    assert (await billing.rendered(hilde, "SB-2026-000001", "pdf")).content.startswith(b"%PDF")

    ubl = await billing.rendered(month.acme.manager, "INV-2026-000001", DocumentFormat.UBL)
    assert (ubl.filename, ubl.media_type) == ("INV-2026-000001.xml", "application/xml")
    assert b'<cbc:PayableAmount currencyID="EUR">19.36</cbc:PayableAmount>' in ubl.content
    try:
        rules = validator(Settings.from_env().peppol_rules)
    except RulesMissing:
        pass
    else:
        assert rules.validate(ubl.content).valid

    for number in ("PR-2026-000001", "RS-2026-000001", "SB-2026-000001"):
        with pytest.raises(BillingError) as refused:
            await billing.rendered(op, number, "ubl")
        assert refused.value.field == "format"
        assert "has no e-invoice" in str(refused.value)
    with pytest.raises(BillingError) as odd:
        await billing.rendered(op, "INV-2026-000001", "docx")
    assert odd.value.field == "format"

    # Not one's own: not found, as a number that names nothing.
    for actor, number in (
        (month.other.manager, "INV-2026-000001"),
        (month.acme.manager, "INV-2026-000002"),
        (month.acme.drivers[1], "RS-2026-000001"),
        (month.acme.drivers[0], "PR-2026-000001"),
        (op, "INV-2099-000001"),
    ):
        with pytest.raises(DocumentNotFound):
            await billing.rendered(actor, number, "pdf")


async def with_an_active_card(
    platform: Platform, op: Actor, company: factories.Company, start: int = 1
) -> None:
    """A card of the company's driver, active: a month's subscription bills it."""
    uids = await platform.cards.import_csv(op, factories.stock_csv(1, start=start))
    await platform.cards.distribute(op, uids, company.id)
    await platform.cards.assign(op, uids[0], company.drivers[0].user_id)
    await platform.cards.activate(op, uids)


# Rule sets that find every document broken: a real Saxon run of real stylesheets, so that what
# happens to an e-invoice the rules refuse is seen without crafting one.
FAILING_RULES = """<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:svrl="http://purl.oclc.org/dsdl/svrl">
  <xsl:template match="/">
    <svrl:schematron-output>
      <svrl:failed-assert id="{ID}" flag="fatal" location="/*">
        <svrl:text>every document breaks this rule</svrl:text>
      </svrl:failed-assert>
    </svrl:schematron-output>
  </xsl:template>
</xsl:stylesheet>
"""


async def test_an_e_invoice_the_rules_refuse_is_not_handed_out(
    database_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, rule in (("CEN-EN16931-UBL.xslt", "BR-X1"), ("PEPPOL-EN16931-UBL.xslt", "R-X2")):
        (rules / name).write_text(FAILING_RULES.replace("{ID}", rule))
    clock = HandClock()  # the 1st of November: its card is active all month
    settings = make_settings(database_url, files=str(tmp_path / "files"), peppol_rules=rules)
    platform = build(settings, clock=clock)
    await platform.start()
    try:
        op = await factories.operator(platform)
        acme = await factories.company(platform, op, "Acme", drivers=1)
        await platform.organisations.update(op, acme.id, {"vat_number": "BE0403170701"})
        await platform.contracts.create(
            op,
            acme.id,
            ContractKind.EMSP,
            starts_on=date(2026, 1, 1),
            fee_per_card=Decimal("5.00"),
        )
        await with_an_active_card(platform, op, acme)
        clock.at = utc(2026, 12, 2, 9, 0)
        billing = platform.billing
        done = await billing.finalise(op, billing.last_month(), acme.id)
        [issued] = done.documents
        number = issued.document.number
        assert number is not None
        with pytest.raises(InvalidEInvoice) as refused:
            await billing.rendered(op, number, "ubl")
        assert refused.value.failed == ("BR-X1", "R-X2")
        assert refused.value.field == "format"
        assert "breaks the Peppol rules BR-X1, R-X2" in str(refused.value)
        # Its PDF is not an e-invoice: handed out.
        assert (await billing.rendered(op, number, "pdf")).content.startswith(b"%PDF")
    finally:
        await platform.stop()


async def test_without_rules_an_e_invoice_is_handed_out_after_the_renderers_checks(
    database_url: str, tmp_path: Path
) -> None:
    """A deployment that has not installed the rule sets still hands out its e-invoices."""
    empty = tmp_path / "no-rules"
    empty.mkdir()
    clock = HandClock()
    settings = make_settings(database_url, files=str(tmp_path / "files"), peppol_rules=empty)
    platform = build(settings, clock=clock)
    await platform.start()
    try:
        op = await factories.operator(platform)
        acme = await factories.company(platform, op, "Acme", drivers=1)
        await platform.organisations.update(op, acme.id, {"vat_number": "BE0403170701"})
        await platform.contracts.create(
            op,
            acme.id,
            ContractKind.EMSP,
            starts_on=date(2026, 1, 1),
            fee_per_card=Decimal("5.00"),
        )
        await with_an_active_card(platform, op, acme)
        clock.at = utc(2026, 12, 2, 9, 0)
        done = await platform.billing.finalise(op, platform.billing.last_month(), acme.id)
        number = done.documents[0].document.number
        assert number is not None
        ubl = await platform.billing.rendered(op, number, "ubl")
        assert b"<cbc:PayableAmount" in ubl.content
        # A customer without a VAT number has no Peppol id: no e-invoice, and it says why.
        other = await factories.company(platform, op, "Initech", drivers=1)
        await platform.contracts.create(
            op, other.id, ContractKind.EMSP, starts_on=date(2026, 1, 1), fee_per_card=Decimal(5)
        )
        clock.at = utc(2026, 11, 1, 9, 0)
        await with_an_active_card(platform, op, other, start=2)
        clock.at = utc(2026, 12, 2, 9, 0)
        done = await platform.billing.finalise(op, platform.billing.last_month(), other.id)
        number = done.documents[0].document.number
        assert number is not None
        with pytest.raises(BillingError) as refused:
            await platform.billing.rendered(op, number, "ubl")
        assert refused.value.field == "format"
        assert "buyer.peppol_id" in str(refused.value)
    finally:
        await platform.stop()
