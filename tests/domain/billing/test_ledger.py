"""Every document books a balanced journal; for random sessions and contracts a run's documents,
what they billed, the priced sessions and the ledger reconcile to the cent; a run again over
what is billed makes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.billing.support import (
    ACME,
    CUSTOMERS,
    GLOBEX,
    HILDE,
    NOVEMBER,
    PAYEES,
    TERMS,
    D,
    PlainWording,
    line,
)
from voltflow.domain.billing.documents import DocumentKind
from voltflow.domain.billing.items import BillableLine, Purpose, SubscriptionBasis
from voltflow.domain.billing.ledger import (
    Account,
    Journal,
    LedgerError,
    PartyRef,
    Posting,
    account_balance,
    balances,
    journal_for,
)
from voltflow.domain.billing.reconciliation import IssuedDocument, reconcile
from voltflow.domain.billing.runs import RunPlan, credit_note, numbered, plan_run


def run(
    lines: Sequence[BillableLine],
    subscriptions: Sequence[SubscriptionBasis] = (),
) -> RunPlan:
    return plan_run(
        NOVEMBER,
        lines,
        subscriptions,
        terms=TERMS,
        customers=CUSTOMERS,
        payees=PAYEES,
        vat_rates={("REDUCED", 1): D(6)},
        wording=PlainWording(),
    )


def book(plan: RunPlan) -> tuple[list[IssuedDocument], list[Posting]]:
    issued, postings = [], []
    for n, planned in enumerate(plan.documents, start=1):
        document = numbered(planned.document, 2026, n)
        journal = journal_for(
            document,
            planned.purposes,
            organisation_id=planned.organisation_id,
            user_id=planned.user_id,
        )
        issued.append(IssuedDocument(document, planned.purposes))
        postings += journal.postings
    return issued, postings


def test_an_invoice_books_receivable_revenue_and_vat() -> None:
    plan = run([line(Purpose.CHARGING, "4.50", customer=ACME.id)])
    document = numbered(plan.documents[0].document, 2026, 1)
    journal = journal_for(document, plan.documents[0].purposes, organisation_id=1, user_id=None)
    assert set(journal.postings) == {
        Posting(Account.RECEIVABLES, PartyRef("organisation", 1), D("5.45"), D(0)),
        Posting(Account.REVENUE_CHARGING, None, D(0), D("4.50")),
        Posting(Account.VAT_PAYABLE, None, D(0), D("0.95")),
    }


def test_split_billing_passes_through_the_reimbursements_account() -> None:
    plan = run(
        [
            line(
                Purpose.REIMBURSEMENT,
                amount,
                customer=ACME.id,
                person=10,
                wh=wh,
                rate="0.6654",
            )
            for amount, wh in (("2.44", 3667), ("4.88", 7334))
        ]
    )
    _, postings = book(plan)
    ledger = balances(postings)
    assert ledger[(Account.RECEIVABLES, PartyRef("organisation", ACME.id))] == D("7.32")
    assert ledger[(Account.PAYABLES_EMPLOYEES, PartyRef("user", 10))] == D("-7.32")
    assert account_balance(ledger, Account.REIMBURSEMENTS) == 0


def test_a_journal_that_does_not_balance_is_refused() -> None:
    with pytest.raises(LedgerError, match="debits"):
        Journal(
            "INV-2026-000001",
            date(2026, 12, 1),
            "EUR",
            (Posting(Account.RECEIVABLES, None, D(1), D(0)),),
        )


def test_a_credit_note_reverses_what_it_credits() -> None:
    plan = run([line(Purpose.CHARGING, "4.50", customer=ACME.id)])
    invoice = numbered(plan.documents[0].document, 2026, 1)
    note = numbered(credit_note(invoice, None, "wrong card", date(2026, 12, 2)), 2026, 1)
    postings = [
        *journal_for(invoice, (Purpose.CHARGING,), organisation_id=1, user_id=None).postings,
        *journal_for(note, (Purpose.CHARGING,), organisation_id=1, user_id=None).postings,
    ]
    assert all(value == 0 for value in balances(postings).values())


# -- random periods ------------------------------------------------------------------------------

amounts = st.decimals(min_value=D("0"), max_value=D("250"), places=2)
starts = st.integers(min_value=0, max_value=29 * 24 * 60).map(
    lambda minutes: datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=minutes)
)


@st.composite
def billable(draw: st.DrawFn) -> BillableLine:
    purpose = draw(st.sampled_from([Purpose.CHARGING, Purpose.REIMBURSEMENT, Purpose.REMUNERATION]))
    started = draw(starts)
    if purpose is Purpose.CHARGING:
        kind = draw(st.sampled_from(["normal", "normal", "normal", "whitelist", "invalid"]))
        amount = draw(amounts) if kind == "normal" else D("0.00")
        return line(
            purpose,
            str(amount),
            customer=draw(st.sampled_from([ACME.id, GLOBEX.id, None])),
            session_type=kind,
            basis={"normal": "public_tariff"}.get(kind, kind),
            tariff=draw(st.sampled_from(["PUBLIC", "REDUCED", "STAFF"])),
            started=started,
        )
    if purpose is Purpose.REIMBURSEMENT:
        wh = draw(st.integers(min_value=0, max_value=80_000))
        rate = draw(st.decimals(min_value=D("0.1"), max_value=D("0.9"), places=4))
        amount = (D(wh) / 1000 * rate).quantize(D("0.01"), rounding="ROUND_HALF_UP")
        return line(
            purpose,
            str(amount),
            customer=draw(st.sampled_from([ACME.id, GLOBEX.id])),
            person=draw(st.sampled_from([10, 11])),
            wh=wh,
            rate=str(rate),
            started=started,
        )
    excl = draw(amounts)
    return line(
        purpose,
        str(excl),
        incl=str((excl * D("1.21")).quantize(D("0.01"))),
        person=HILDE.id,
        started=started,
    )


@st.composite
def contract(draw: st.DrawFn) -> SubscriptionBasis:
    fee = st.decimals(min_value=D("0"), max_value=D("50"), places=2)
    return SubscriptionBasis(
        contract_id=draw(st.integers(min_value=1, max_value=10_000)),
        organisation_id=draw(st.sampled_from([ACME.id, GLOBEX.id])),
        currency="EUR",
        starts_on=date(2026, 10, 1) + timedelta(days=draw(st.integers(0, 60))),
        ends_on=draw(
            st.none() | st.just(date(2026, 11, 1) + timedelta(days=draw(st.integers(0, 40))))
        ),
        fee_per_card=draw(fee),
        fee_per_station=draw(fee),
        fee_per_licence=draw(fee),
        cards=draw(st.integers(0, 40)),
        stations=draw(st.integers(0, 5)),
        licences=draw(st.integers(0, 5)),
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(billable(), max_size=40),
    st.lists(contract(), max_size=3, unique_by=lambda c: c.contract_id),
)
def test_documents_reconcile_with_the_priced_sessions_to_the_cent(
    lines: list[BillableLine], contracts: list[SubscriptionBasis]
) -> None:
    plan = run(lines, contracts)
    issued, postings = book(plan)
    billed = [item for planned in plan.documents for item in planned.items]
    # The price lines as they are now: what the sessions billed are priced at.
    priced = {ln.item().key: ln.amount for ln in lines}
    result = reconcile(issued, billed, priced, postings)
    assert result.ok, result.failures()
    # What was billable and priced is on a document, once; what was not is skipped.
    keys = [item.key for item in billed]
    assert len(keys) == len(set(keys))
    on_documents = {item.key for item in billed}
    for ln in lines:
        wanted = (
            ln.session_type in ("normal", "split_billing") and ln.customer_id in CUSTOMERS
            if ln.purpose is not Purpose.REMUNERATION
            else ln.person_id in PAYEES
        )
        assert (ln.item().key in on_documents) == wanted
    # A run again over what is not billed yet makes nothing new.
    left = [ln for ln in lines if ln.item().key not in on_documents]
    billed_contracts = {item.source_id.split(":")[0] for item in billed}
    again = run(left, [c for c in contracts if str(c.contract_id) not in billed_contracts])
    assert again.documents == ()


@settings(max_examples=50, deadline=None)
@given(st.lists(billable(), min_size=1, max_size=20))
def test_a_corrected_session_shows_in_the_reconciliation(lines: list[BillableLine]) -> None:
    plan = run(lines)
    issued, postings = book(plan)
    billed = [item for planned in plan.documents for item in planned.items]
    if not billed:
        return
    priced = {ln.item().key: ln.amount for ln in lines}
    first = billed[0]
    priced[first.key] = priced[first.key] + D("0.01")
    result = reconcile(issued, billed, priced, postings)
    assert not result.ok
    assert {c.name for c in result.failures()} <= {
        "charging",
        "reimbursements",
        "host remuneration",
    }


def test_every_kind_of_document_is_booked() -> None:
    plan = run(
        [
            line(Purpose.CHARGING, "4.00", customer=ACME.id),
            line(
                Purpose.REIMBURSEMENT, "2.44", customer=ACME.id, person=10, rate="0.6654", wh=3667
            ),
            line(Purpose.REMUNERATION, "2.50", incl="3.03", person=HILDE.id),
        ]
    )
    assert {p.document.kind for p in plan.documents} == {
        DocumentKind.INVOICE,
        DocumentKind.PAYMENT_REQUEST,
        DocumentKind.REIMBURSEMENT_STATEMENT,
        DocumentKind.SELF_BILLING,
    }
    issued, postings = book(plan)
    assert reconcile(issued, [i for p in plan.documents for i in p.items], {}, postings).failures()
    ledger = balances(postings)
    assert ledger[(Account.PAYABLES_HOSTS, PartyRef("user", HILDE.id))] == D("-3.03")
    assert account_balance(ledger, Account.HOST_REMUNERATION) == D("3.03")
