"""What a run makes of a period's billable items: payment requests and statements for split
billing, invoices for public charging and subscriptions, self-billing for hosts; what it never
bills; the numbers and references it gives once finalised; credit notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from tests.domain.billing.support import (
    ACME,
    ANN,
    BERT,
    CUSTOMERS,
    HILDE,
    NOVEMBER,
    PAYEES,
    TERMS,
    D,
    PlainWording,
    line,
)
from voltflow.domain.billing.documents import DocumentKind, VatCategory
from voltflow.domain.billing.items import BillableLine, Purpose, SourceKind, SubscriptionBasis
from voltflow.domain.billing.references import parse_structured_reference
from voltflow.domain.billing.runs import (
    BillingPeriod,
    PeriodError,
    RunPlan,
    SkipReason,
    credit_note,
    in_force_days,
    numbered,
    plan_run,
    pro_rata,
)
from voltflow.domain.billing.snapshot import document_json, document_of


def plan(
    lines: Sequence[BillableLine],
    subscriptions: Sequence[SubscriptionBasis] = (),
    vat_rates: dict[tuple[str, int], D | None] | None = None,
) -> RunPlan:
    return plan_run(
        NOVEMBER,
        lines,
        subscriptions,
        terms=TERMS,
        customers=CUSTOMERS,
        payees=PAYEES,
        vat_rates=vat_rates or {},
        wording=PlainWording(),
    )


def basis(
    fee_per_card: str = "0", cards: int = 0, starts_on: date = date(2026, 1, 1), **kw: object
) -> SubscriptionBasis:
    values: dict[str, object] = {
        "contract_id": 7,
        "organisation_id": ACME.id,
        "currency": "EUR",
        "starts_on": starts_on,
        "ends_on": None,
        "fee_per_card": D(fee_per_card),
        "fee_per_station": D(0),
        "fee_per_licence": D(0),
        "cards": cards,
        "stations": 0,
        "licences": 0,
    }
    values.update(kw)
    return SubscriptionBasis(**values)  # type: ignore[arg-type]


def split(wh: int, amount: str, person: int = ANN.id) -> BillableLine:
    return line(
        Purpose.REIMBURSEMENT, amount, customer=ACME.id, person=person, wh=wh, rate="0.6654"
    )


def test_the_release_notes_sessions_make_a_payment_request_of_7_32_and_a_statement() -> None:
    made = plan([split(3667, "2.44"), split(7334, "4.88")])
    kinds = [p.document.kind for p in made.documents]
    assert kinds == [DocumentKind.PAYMENT_REQUEST, DocumentKind.REIMBURSEMENT_STATEMENT]
    request, statement = (p.document for p in made.documents)
    assert request.buyer == ACME.party and request.seller == TERMS.operator
    assert [(x.quantity, x.unit_code, x.unit_price, x.net) for x in request.lines] == [
        (D("3.667"), "KWH", D("0.6654"), D("2.44")),
        (D("7.334"), "KWH", D("0.6654"), D("4.88")),
    ]
    assert {x.vat_category for x in request.lines} == {VatCategory.NOT_SUBJECT}
    assert request.total_excl_vat.amount == request.total_incl_vat.amount == D("7.32")
    assert request.total_vat.amount == 0
    # Under the employer's mandate: collected by direct debit.
    assert request.mandate_reference == ACME.mandate_reference
    assert statement.seller == ANN.party and statement.buyer == TERMS.operator
    assert statement.total_incl_vat.amount == D("7.32")
    assert statement.sessions == request.sessions
    assert len(request.annex) == 2
    # The payment request marks the sessions billed; the statement pays out the same.
    assert [i.amount for i in made.documents[0].items] == [D("2.44"), D("4.88")]
    assert made.documents[1].items == ()
    assert made.documents[1].user_id == ANN.id


def test_each_employee_gets_their_own_statement_of_one_payment_request() -> None:
    made = plan([split(3667, "2.44"), split(7334, "4.88", BERT.id), split(1000, "0.67")])
    request, *statements = made.documents
    assert request.document.total_incl_vat.amount == D("7.99")
    assert [(s.user_id, s.document.total_incl_vat.amount) for s in statements] == [
        (ANN.id, D("3.11")),
        (BERT.id, D("4.88")),
    ]


def test_invalid_and_whitelist_sessions_are_on_nothing_and_say_why() -> None:
    invalid = replace(
        line(Purpose.CHARGING, "0", customer=ACME.id, session_type="invalid", basis="invalid"),
        type_reason="lasted under 2 minutes",
    )
    whitelist = line(
        Purpose.CHARGING, "0", customer=ACME.id, session_type="whitelist", basis="whitelist"
    )
    made = plan([invalid, whitelist, split(3667, "2.44")])
    billed = {s for p in made.documents for s in p.document.sessions}
    assert invalid.source_id not in billed and whitelist.source_id not in billed
    assert [(s.line.source_id, s.reason, s.detail) for s in made.skipped] == [
        (invalid.source_id, SkipReason.INVALID, "lasted under 2 minutes"),
        (whitelist.source_id, SkipReason.WHITELIST, None),
    ]


def test_what_has_no_customer_payee_or_price_is_skipped_never_guessed() -> None:
    lines = [
        line(Purpose.CHARGING, "4.00", customer=None),  # a card of nobody's
        line(Purpose.CHARGING, "4.00", customer=99),  # of an organisation that is no customer
        line(Purpose.CHARGING, "0", customer=ACME.id, basis="no_tariff"),
        line(Purpose.REIMBURSEMENT, "2.44", customer=ACME.id, person=None, rate="0.6654"),
        line(Purpose.REMUNERATION, "2.50", person=None),
        replace(line(Purpose.CHARGING, "4.00", customer=ACME.id), currency="CHF"),
        line(Purpose.CHARGING, "4.00", customer=ACME.id, tariff="MIXED"),
    ]
    made = plan(lines, vat_rates={("MIXED", 1): None})
    assert made.documents == ()
    assert [s.reason for s in made.skipped] == [
        SkipReason.NO_CUSTOMER,
        SkipReason.NO_CUSTOMER,
        SkipReason.NO_PRICE,
        SkipReason.NO_PAYEE,
        SkipReason.NO_PAYEE,
        SkipReason.CURRENCY,
        SkipReason.MIXED_VAT,
    ]


def test_the_drivers_zero_line_of_a_split_billing_session_is_not_listed() -> None:
    driver = line(
        Purpose.CHARGING, "0", customer=ACME.id, session_type="split_billing", basis="split_billing"
    )
    made = plan([driver])
    assert made.documents == () and made.skipped == ()


def test_public_charging_is_invoiced_per_tariff_and_vat_rate_with_every_session() -> None:
    lines = [
        line(Purpose.CHARGING, "4.50", customer=ACME.id, tariff="PUBLIC"),
        line(Purpose.CHARGING, "1.05", customer=ACME.id, tariff="PUBLIC", wh=2_000),
        line(Purpose.CHARGING, "3.00", customer=ACME.id, tariff="STAFF"),
        line(Purpose.CHARGING, "2.00", customer=ACME.id, tariff="REDUCED"),
    ]
    made = plan(lines, vat_rates={("REDUCED", 1): D(6)})
    (invoice,) = made.documents
    document = invoice.document
    assert document.kind is DocumentKind.INVOICE
    assert [(x.unit_price, x.vat_rate, len(x.sessions)) for x in document.lines] == [
        (D("4.50") + D("1.05"), D(21), 2),
        (D("2.00"), D(6), 1),
        (D("3.00"), D(21), 1),
    ]
    assert [s.rate for s in document.vat_breakdown] == [D(6), D(21)]
    assert document.total_excl_vat.amount == D("10.55")
    # VAT once per rate on the sum of lines: 8.55 × 21 % = 1.7955 → 1.80; 2.00 × 6 % = 0.12.
    assert document.total_vat.amount == D("1.92")
    assert len(document.annex) == 4
    assert {i.source_kind for i in invoice.items} == {SourceKind.SESSION}
    assert invoice.purposes == (Purpose.CHARGING,) * 3


def test_a_subscription_started_on_the_11th_of_a_30_day_month_is_billed_20_30() -> None:
    started = basis("9.00", cards=2, starts_on=date(2026, 11, 11))
    (invoice,) = plan([], [started]).documents
    (fee,) = invoice.document.lines
    assert (fee.quantity, fee.unit_price, fee.net) == (D(2), D("6.00"), D("12.00"))
    assert (fee.vat_category, fee.vat_rate) == (VatCategory.STANDARD, D(21))
    assert (fee.period_start, fee.period_end) == (date(2026, 11, 11), date(2026, 11, 30))
    assert invoice.document.total_incl_vat.amount == D("14.52")
    assert [i.source_id for i in invoice.items] == ["7:2026-11"]
    assert in_force_days(NOVEMBER, date(2026, 11, 11), None) == 20


def test_pro_rata_keeps_four_decimals_only_when_it_must() -> None:
    assert pro_rata(D("9.00"), 20, 30) == D("6.00")
    assert pro_rata(D("10"), 20, 30) == D("6.6667")
    assert in_force_days(NOVEMBER, date(2026, 1, 1), date(2026, 11, 5)) == 5
    assert in_force_days(NOVEMBER, date(2026, 12, 1), None) == 0


def test_fees_per_card_station_and_licence_join_the_charging_on_one_invoice() -> None:
    whole = basis(
        "1.50", cards=3, fee_per_station=D("20"), stations=1, fee_per_licence=D("5"), licences=0
    )
    made = plan([line(Purpose.CHARGING, "4.00", customer=ACME.id)], [whole])
    (invoice,) = made.documents
    assert [x.net for x in invoice.document.lines] == [D("4.00"), D("4.50"), D("20.00")]
    assert invoice.purposes == (Purpose.CHARGING, Purpose.SUBSCRIPTION, Purpose.SUBSCRIPTION)


def test_hosts_get_a_self_billing_statement_of_what_they_receive() -> None:
    made = plan(
        [
            line(Purpose.REMUNERATION, "2.50", incl="3.03", person=HILDE.id),
            line(Purpose.REMUNERATION, "1.00", incl="1.21", person=HILDE.id),
        ]
    )
    (statement,) = made.documents
    assert statement.document.kind is DocumentKind.SELF_BILLING
    assert statement.document.seller == HILDE.party
    assert statement.document.total_incl_vat.amount == D("4.24")
    assert statement.user_id == HILDE.id


def test_documents_come_in_one_order_kinds_first_then_names() -> None:
    made = plan(
        [
            line(Purpose.REMUNERATION, "2.50", person=HILDE.id),
            split(3667, "2.44", BERT.id),
            line(Purpose.CHARGING, "4.00", customer=2),
            line(Purpose.CHARGING, "4.00", customer=ACME.id),
        ]
    )
    assert [(p.document.kind, p.recipient.name) for p in made.documents] == [
        (DocumentKind.INVOICE, "Acme Logistics"),
        (DocumentKind.INVOICE, "Globex"),
        (DocumentKind.PAYMENT_REQUEST, "Acme Logistics"),
        (DocumentKind.REIMBURSEMENT_STATEMENT, "Bert Claes"),
        (DocumentKind.SELF_BILLING, "Hilde Host"),
    ]


def test_numbered_documents_carry_a_valid_structured_reference_when_paid_to_the_platform() -> None:
    made = plan([split(3667, "2.44"), line(Purpose.CHARGING, "4.00", customer=ACME.id)])
    invoice = numbered(made.documents[0].document, 2026, 1)
    request = numbered(made.documents[1].document, 2026, 1)
    statement = numbered(made.documents[2].document, 2026, 1)
    assert (invoice.number, request.number, statement.number) == (
        "INV-2026-000001",
        "PR-2026-000001",
        "RS-2026-000001",
    )
    assert invoice.payment_reference is not None and request.payment_reference is not None
    assert invoice.payment_reference != request.payment_reference
    assert parse_structured_reference(request.payment_reference) == request.payment_reference
    assert request.payment_reference == "+++226/0000/00108+++"
    assert statement.payment_reference is None


def test_a_credit_note_gives_back_lines_of_an_invoice_naming_it() -> None:
    made = plan(
        [
            line(Purpose.CHARGING, "4.00", customer=ACME.id, tariff="A"),
            line(Purpose.CHARGING, "3.00", customer=ACME.id, tariff="B"),
        ]
    )
    invoice = numbered(made.documents[0].document, 2026, 4)
    note = credit_note(invoice, [2], "meter replaced", date(2026, 12, 3))
    assert note.kind is DocumentKind.CREDIT_NOTE and note.corrects == "INV-2026-000004"
    assert note.lines == (invoice.lines[1],) and note.note == "meter replaced"
    assert note.total_incl_vat.amount == D("3.63")
    assert [row.session_id for row in note.annex] == list(invoice.lines[1].sessions)
    whole = credit_note(invoice, None, "cancelled", date(2026, 12, 3))
    assert whole.total_incl_vat == invoice.total_incl_vat
    with pytest.raises(ValueError, match="lines"):
        credit_note(invoice, [3], "no such line", date(2026, 12, 3))


def test_a_period_is_a_month_of_the_platforms_days() -> None:
    period = BillingPeriod.parse("2026-11")
    assert (period.start, period.end, period.days, period.label) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
        30,
        "2026-11",
    )
    start, stop = period.bounds(TERMS.zone)
    assert start == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert stop == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert BillingPeriod.parse("2026-03").bounds(TERMS.zone)[1] == datetime(
        2026, 3, 31, 22, 0, tzinfo=UTC
    )
    assert period.previous() == BillingPeriod.month(2026, 10)
    for bad in ("2026-13", "26-11", "november"):
        with pytest.raises(PeriodError):
            BillingPeriod.parse(bad)


def test_a_document_is_stored_and_read_back_as_it_was() -> None:
    made = plan(
        [
            split(3667, "2.44"),
            line(Purpose.CHARGING, "4.00", customer=ACME.id),
        ],
        [basis("10", cards=3, starts_on=date(2026, 11, 11))],
    )
    for planned in made.documents:
        document = numbered(planned.document, 2026, 3)
        assert document_of(document_json(document)) == document
