"""Billing runs through the service on both databases: the month the release note describes,
gapless numbers, nothing billed twice, a late session in the next run, all or nothing, credit
notes, the reconciliation, and who reads which documents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import make_settings
from tests.ocpp.support import fresh_rows
from tests.services.billing_world import HOST, Month, month, utc
from voltflow import failpoints
from voltflow.bootstrap import build
from voltflow.domain.billing.documents import DocumentKind
from voltflow.domain.billing.records import DocumentFilter
from voltflow.domain.billing.runs import BillingPeriod, SkipReason
from voltflow.domain.paging import PageRequest
from voltflow.services.access import Forbidden
from voltflow.services.billing import BillingError, DocumentNotFound, RunResult
from voltflow.store.tables import (
    billed_items,
    billing_documents,
    billing_runs,
    billing_sequences,
    ledger_entries,
    mail_outbox,
)

__all__ = ["month"]  # the fixture

D = Decimal
NOVEMBER = BillingPeriod.month(2026, 11)


def summary(result: RunResult) -> list[tuple[str, str | None, str, D, D, D]]:
    return [
        (
            d.document.kind.value,
            d.document.number,
            d.recipient,
            d.document.total_excl_vat.amount,
            d.document.total_vat.amount,
            d.document.total_incl_vat.amount,
        )
        for d in result.documents
    ]


EXPECTED = [
    # Public charging, 10 kWh at €0.40, and 2 cards × €9.00 × 20/30 from the 11th.
    ("invoice", "INV-2026-000001", "Acme", D("16.00"), D("3.36"), D("19.36")),
    ("invoice", "INV-2026-000002", "Globex", D("2.00"), D("0.42"), D("2.42")),
    # The release note's €2.44 + €4.88, without VAT.
    ("payment_request", "PR-2026-000001", "Acme", D("7.32"), D(0), D("7.32")),
    ("reimbursement_statement", "RS-2026-000001", "acme-driver0", D("7.32"), D(0), D("7.32")),
    # The host's 10 kWh at €0.25, VAT included as their tariff has it.
    ("self_billing", "SB-2026-000001", HOST, D("3.03"), D(0), D("3.03")),
]


async def count(m: Month, table: Any) -> int:
    rows = await fresh_rows(m.platform, select(func.count()).select_from(table))
    return int(next(iter(rows[0].values())))


async def stored(m: Month) -> dict[str, int]:
    return {
        t.name: await count(m, t)
        for t in (billing_runs, billing_documents, billed_items, ledger_entries, mail_outbox)
    }


async def test_the_month_of_the_release_note(month: Month) -> None:
    m = month
    before = await stored(m)
    preview = await m.platform.billing.preview(m.op, NOVEMBER)
    assert [row[:1] + row[2:] for row in summary(preview)] == [
        row[:1] + row[2:] for row in EXPECTED
    ]
    assert all(d.document.number is None for d in preview.documents)
    assert await stored(m) == before, "a preview stores nothing"
    skipped = {(s.line.source_id, s.reason) for s in preview.skipped}
    assert skipped == {
        (m.sessions["whitelist"], SkipReason.WHITELIST),
        (m.sessions["invalid"], SkipReason.INVALID),
    }

    result = await m.platform.billing.finalise(m.op, NOVEMBER)
    assert summary(result) == EXPECTED
    invoice, _, request, statement, host = (d.document for d in result.documents)
    # Nothing of the whitelist or the invalid session is on any document.
    billed = {s for d in result.documents for s in d.document.sessions}
    assert m.sessions["whitelist"] not in billed and m.sessions["invalid"] not in billed
    assert (
        request.sessions
        == statement.sessions
        == (
            m.sessions["split 3.667"],
            m.sessions["split 7.334"],
        )
    )
    assert [(x.quantity, x.unit_price, x.net) for x in request.lines] == [
        (D("3.667"), D("0.6654"), D("2.44")),
        (D("7.334"), D("0.6654"), D("4.88")),
    ]
    assert request.mandate_reference == invoice.mandate_reference == "ACME-2026"
    assert request.payment_reference == "+++226/0000/00108+++"
    subscription = invoice.lines[-1]
    assert (subscription.quantity, subscription.unit_price, subscription.net) == (
        D(2),
        D("6.00"),
        D("12.00"),
    )
    assert invoice.buyer.peppol_id == "0208:0403170701"
    assert invoice.buyer.street == "Kunstlaan 1"
    assert host.seller.iban == "BE62510007547061"
    # Each document mailed where it goes, naming the document it carries.
    mails = await fresh_rows(
        m.platform, select(mail_outbox.c.recipient, mail_outbox.c.document_id, mail_outbox.c.kind)
    )
    by_document = {row["document_id"]: row["recipient"] for row in mails if row["document_id"]}
    ids = {d.document.number: d.id for d in result.documents}
    assert by_document == {
        ids["INV-2026-000001"]: "billing@acme.example",
        ids["PR-2026-000001"]: "billing@acme.example",
        ids["SB-2026-000001"]: "hilde@home.example",
    }
    # The run reconciles: documents, billed items, priced sessions and ledger, to the cent.
    reconciliation = await m.platform.billing.reconcile(m.op, NOVEMBER)
    assert reconciliation.ok, reconciliation.failures()


async def test_running_a_finalised_month_again_bills_nothing_twice(month: Month) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER)
    after_first = await stored(m)
    numbers = await fresh_rows(m.platform, select(billing_sequences))
    again = await m.platform.billing.finalise(m.op, NOVEMBER)
    assert again.documents == ()
    assert {k: v for k, v in (await stored(m)).items() if k != "billing_runs"} == {
        k: v for k, v in after_first.items() if k != "billing_runs"
    }
    later = {(r["series"], r["year"]): r["last"] for r in numbers if r["series"] != "RUN"}
    now = await fresh_rows(m.platform, select(billing_sequences))
    assert {(r["series"], r["year"]): r["last"] for r in now if r["series"] != "RUN"} == later
    assert (await m.platform.billing.preview(m.op, NOVEMBER)).documents == ()


async def test_a_session_that_closes_after_its_month_was_finalised_goes_into_the_next_run(
    month: Month,
) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER)
    # A station that was offline reports a November session in December.
    late = await m.charge("PUB-1", m.uids[1], utc(2026, 11, 28, 20, 0), 30, 5_000)
    m.clock.at = utc(2027, 1, 3, 9, 0)
    december = await m.platform.billing.finalise(m.op, BillingPeriod.month(2026, 12))
    (invoice, host) = (d.document for d in december.documents)
    assert (invoice.number, invoice.period_start.month) == ("INV-2027-000001", 12)
    assert invoice.sessions == (late,)
    # 5 kWh at €0.40, and December's whole month of subscription: 2 cards × €9.00.
    assert [line.net for line in invoice.lines] == [D("2.00"), D("18.00")]
    assert host.number == "SB-2027-000001"
    assert (await m.platform.billing.reconcile(m.op, BillingPeriod.month(2026, 12))).ok


async def test_a_run_that_fails_midway_leaves_nothing_and_the_next_completes_it(
    month: Month,
) -> None:
    m = month
    before = await stored(m)
    failpoints.enable("billing.document_issued", "error")
    try:
        with pytest.raises(failpoints.InjectedFault):
            await m.platform.billing.finalise(m.op, NOVEMBER)
    finally:
        failpoints.disable("billing.document_issued")
    assert await stored(m) == before
    assert await fresh_rows(m.platform, select(billing_sequences)) == []
    result = await m.platform.billing.finalise(m.op, NOVEMBER)
    assert summary(result) == EXPECTED


async def test_numbers_are_gapless_per_series_and_year(month: Month) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER, m.acme.id)
    await m.platform.billing.finalise(m.op, NOVEMBER)
    await m.platform.billing.credit(m.op, "INV-2026-000001", "wrong card", [1])
    rows = await fresh_rows(
        m.platform, select(billing_documents.c.number).order_by(billing_documents.c.id)
    )
    numbers = [r["number"] for r in rows]
    assert numbers == [
        "INV-2026-000001",
        "PR-2026-000001",
        "RS-2026-000001",
        "INV-2026-000002",
        "SB-2026-000001",
        "CN-2026-000001",
    ]


async def test_one_customers_run(month: Month) -> None:
    m = month
    globex = await m.platform.billing.finalise(m.op, NOVEMBER, m.other.id)
    assert [(d.document.kind, d.recipient) for d in globex.documents] == [
        (DocumentKind.INVOICE, "Globex")
    ]
    acme = await m.platform.billing.preview(m.op, NOVEMBER, m.acme.id)
    assert [d.document.kind for d in acme.documents] == [
        DocumentKind.INVOICE,
        DocumentKind.PAYMENT_REQUEST,
        DocumentKind.REIMBURSEMENT_STATEMENT,
    ]
    with pytest.raises(BillingError) as caught:
        await m.platform.billing.preview(m.op, NOVEMBER, 987654)
    assert caught.value.field == "customer"


async def test_a_month_not_over_is_previewed_never_finalised(month: Month) -> None:
    m = month
    december = BillingPeriod.month(2026, 12)
    # What is not billed yet up to its end: November's sessions, and December's subscription.
    preview = await m.platform.billing.preview(m.op, december)
    assert [d.document.total_excl_vat.amount for d in preview.documents][:2] == [
        D("4.00") + D("18.00"),
        D("2.00"),
    ]
    with pytest.raises(BillingError) as caught:
        await m.platform.billing.finalise(m.op, december)
    assert caught.value.field == "period"
    with pytest.raises(Forbidden):
        await m.platform.billing.finalise(m.acme.manager, NOVEMBER)


async def test_a_credit_note_corrects_an_invoice_without_editing_it(month: Month) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER)
    _, original = await m.platform.billing.document(m.op, "INV-2026-000001")
    note = await m.platform.billing.credit(m.op, "INV-2026-000001", "card was lost", [1])
    assert note.document.number == "CN-2026-000001"
    assert note.document.corrects == "INV-2026-000001"
    assert note.document.total_incl_vat.amount == D("4.84")  # the public session, 4.00 + VAT
    _, unchanged = await m.platform.billing.document(m.op, "INV-2026-000001")
    assert unchanged == original
    with pytest.raises(BillingError) as caught:
        await m.platform.billing.credit(m.op, "INV-2026-000001", "again", [1])
    assert caught.value.field == "lines"
    rest = await m.platform.billing.credit(m.op, "INV-2026-000001", "contract cancelled")
    assert rest.document.total_incl_vat.amount == D("14.52")
    with pytest.raises(BillingError) as caught:
        await m.platform.billing.credit(m.op, "INV-2026-000001", "once more")
    assert caught.value.field == "document_number"
    with pytest.raises(BillingError):
        await m.platform.billing.credit(m.op, "PR-2026-000001", "not an invoice")
    with pytest.raises(DocumentNotFound):
        await m.platform.billing.credit(m.op, "INV-2099-000001", "none")
    reconciliation = await m.platform.billing.reconcile(m.op, NOVEMBER)
    assert reconciliation.ok, reconciliation.failures()
    receivables = {c.name: c.figures for c in reconciliation.checks}["receivables"]
    # The invoices and the payment request, less both credit notes: Globex's and the request.
    assert receivables[0][1] == D("2.42") + D("7.32")


async def test_each_reader_sees_the_documents_that_concern_them(month: Month) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER)

    async def numbers(actor: Any, **filters: Any) -> list[str]:
        page = await m.platform.billing.documents(actor, DocumentFilter(**filters), PageRequest())
        return [d.number for d in page.items]

    everything = await numbers(m.op)
    assert len(everything) == 5
    assert await numbers(m.acme.manager) == ["INV-2026-000001", "PR-2026-000001", "RS-2026-000001"]
    assert await numbers(m.acme.drivers[0]) == ["RS-2026-000001"]
    assert await numbers(m.acme.drivers[1]) == []
    assert await numbers(m.host) == ["SB-2026-000001"]
    assert await numbers(m.other.manager) == ["INV-2026-000002"]
    assert await numbers(m.other.manager, organisation_id=m.acme.id) == []
    assert await numbers(m.op, kind=DocumentKind.PAYMENT_REQUEST) == ["PR-2026-000001"]
    assert await numbers(m.op, period_start=NOVEMBER.end.replace(day=1)) == everything
    with pytest.raises(DocumentNotFound):
        await m.platform.billing.document(m.other.manager, "INV-2026-000001")


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("operator_iban", "BE71096123456760"),
        ("operator_bic", "DEUTDEFF"),
        ("operator_vat", "BE0123456789"),
    ],
)
def test_the_operators_details_are_checked_when_the_platform_is_built(
    setting: str, value: str
) -> None:
    with pytest.raises(ValueError, match=f"VOLTFLOW_{setting.upper()}"):
        build(make_settings("sqlite:///:memory:", **{setting: value}))
