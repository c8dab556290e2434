"""An invoice whose sessions drew from the buyer's prepaid balance: the UBL says what was paid
in advance (PrepaidAmount) and asks for the rest (PayableAmount), passing both rule sets; the PDF
says the same; the snapshot keeps it; and only an invoice is paid in advance."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from pypdf import PdfReader

from tests.documents.samples import D, decimal, invoice, line, parse
from voltflow.documents.pdf import to_pdf
from voltflow.documents.peppol import PeppolValidator
from voltflow.documents.ubl import to_ubl
from voltflow.domain.billing.documents import DocumentError, DocumentKind
from voltflow.domain.billing.items import Purpose
from voltflow.domain.billing.ledger import Account, PartyRef, journal_for
from voltflow.domain.billing.snapshot import document_json, document_of


def prepaid_invoice():  # type: ignore[no-untyped-def]
    # 12.00 excl. VAT, 2.52 VAT: 14.52, of which 10.00 came from the prepaid balance.
    return invoice(line("12.00"), prepaid_amount=D("10.00"))


def test_the_ubl_asks_for_what_the_balance_did_not_pay(peppol: PeppolValidator) -> None:
    document = prepaid_invoice()
    assert document.payable.amount == D("4.52")
    xml = to_ubl(document)
    result = peppol.validate(xml)
    assert result.fatal == (), [f"{f.id}: {f.text}" for f in result.fatal]
    root = parse(xml)
    totals = "cac:LegalMonetaryTotal"
    assert decimal(root, f"{totals}/cbc:TaxInclusiveAmount") == D("14.52")
    assert decimal(root, f"{totals}/cbc:PrepaidAmount") == D("10.00")
    assert decimal(root, f"{totals}/cbc:PayableAmount") == D("4.52")


def test_an_invoice_paid_in_full_from_the_balance_asks_nothing(peppol: PeppolValidator) -> None:
    document = invoice(line("12.00"), prepaid_amount=D("14.52"))
    xml = to_ubl(document)
    assert peppol.validate(xml).fatal == ()
    assert decimal(parse(xml), "cac:LegalMonetaryTotal/cbc:PayableAmount") == D("0.00")
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(to_pdf(document, language="en"))).pages
    )
    assert "Nothing is to be paid on this document." in text


def test_the_pdf_shows_the_prepaid_amount_and_what_is_left_to_pay() -> None:
    pdf = to_pdf(prepaid_invoice(), language="nl")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Betaald met uw vooraf betaald tegoed" in text
    assert "-€ 10,00" in text and "€ 4,52" in text and "€ 14,52" in text
    assert "Gelieve € 4,52" in text  # what is asked: the rest
    assert pdf == to_pdf(prepaid_invoice(), language="nl")  # the same bytes each time


def test_the_snapshot_keeps_the_prepaid_amount() -> None:
    document = prepaid_invoice()
    assert document_of(document_json(document)) == document
    older = document_json(invoice())
    del older["prepaid_amount"]  # a document issued before prepaid invoices
    assert document_of(older).prepaid_amount == D(0)


def test_only_an_invoice_is_paid_in_advance() -> None:
    with pytest.raises(DocumentError) as refused:
        replace(prepaid_invoice(), kind=DocumentKind.PAYMENT_REQUEST)
    assert refused.value.field == "prepaid_amount"
    with pytest.raises(DocumentError):
        invoice(line("12.00"), prepaid_amount=D("-1"))


def test_the_ledger_moves_the_prepaid_balance_to_revenue() -> None:
    journal = journal_for(prepaid_invoice(), [Purpose.CHARGING], organisation_id=7, user_id=None)
    customer = PartyRef("organisation", 7)
    got = {(p.account, p.party): (p.debit, p.credit) for p in journal.postings}
    assert got == {
        (Account.RECEIVABLES, customer): (D("4.52"), D(0)),
        (Account.PREPAID_BALANCES, customer): (D("10.00"), D(0)),
        (Account.REVENUE_CHARGING, None): (D(0), D("12.00")),
        (Account.VAT_PAYABLE, None): (D(0), D("2.52")),
    }
