"""Billing documents: lines rounded when made, VAT once per (category, rate), totals as sums."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.billing.documents import (
    Document,
    DocumentError,
    DocumentKind,
    DocumentLine,
    Party,
    VatCategory,
    document_number,
)

SELLER = Party("Voltflow Operations", vat_number="BE0123456749")
BUYER = Party("Acme Logistics", vat_number="BE0403170701", peppol_id="0208:0403170701")
D = Decimal


def _document(*lines: DocumentLine, kind: DocumentKind = DocumentKind.INVOICE) -> Document:
    return Document(
        kind,
        "EUR",
        date(2026, 12, 1),
        date(2026, 12, 31),
        SELLER,
        BUYER,
        lines,
        date(2026, 11, 1),
        date(2026, 11, 30),
    )


def _line(price: str, rate: str = "21", qty: str = "1") -> DocumentLine:
    return DocumentLine.of("Charging", D(qty), "C62", D(price), "EUR", vat_rate=D(rate))


def test_the_release_notes_payment_request_is_7_32_without_vat() -> None:
    request = _document(
        *(
            DocumentLine.of(
                "Home charging, employee reimbursement",
                D(kwh),
                "KWH",
                D("0.6654"),
                "EUR",
                vat_category=VatCategory.NOT_SUBJECT,
            )
            for kwh in ("3.667", "7.334")
        ),
        kind=DocumentKind.PAYMENT_REQUEST,
    )
    assert [line.net for line in request.lines] == [D("2.44"), D("4.88")]
    assert request.total_excl_vat.amount == D("7.32")
    assert request.total_vat.amount == 0
    assert request.total_incl_vat.amount == D("7.32")


def test_vat_is_computed_once_per_rate_on_the_sum_of_rounded_lines() -> None:
    invoice = _document(_line("0.05"), _line("0.05"), _line("0.05"), _line("10.00", "6"))
    # 3 × 0.05 at 21 %: 0.0315 → 0.03 once, not 3 × 0.01.
    assert [(s.rate, s.taxable, s.tax) for s in invoice.vat_breakdown] == [
        (D(6), D("10.00"), D("0.60")),
        (D(21), D("0.15"), D("0.03")),
    ]
    assert invoice.total_incl_vat.amount == D("10.78")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"vat_rate": D(0)}, "vat_rate"),  # standard rate without a rate
        ({"vat_category": VatCategory.NOT_SUBJECT, "vat_rate": D(21)}, "vat_rate"),
        ({"description": " "}, "description"),
    ],
)
def test_a_line_against_the_rules_names_its_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"description": "Charging", "vat_rate": D(21)} | kwargs
    with pytest.raises(DocumentError) as caught:
        DocumentLine.of(
            str(args.pop("description")),
            D(1),
            "C62",
            D(1),
            "EUR",
            **args,  # type: ignore[arg-type]
        )
    assert caught.value.field == field


def test_a_payment_request_refuses_a_taxed_line() -> None:
    with pytest.raises(DocumentError) as caught:
        _document(_line("1.00"), kind=DocumentKind.PAYMENT_REQUEST)
    assert caught.value.field == "vat_category"


def test_a_credit_note_names_the_invoice_it_corrects() -> None:
    with pytest.raises(DocumentError) as caught:
        _document(_line("1.00"), kind=DocumentKind.CREDIT_NOTE)
    assert caught.value.field == "corrects"


def test_numbers_are_per_series_and_year() -> None:
    assert document_number(DocumentKind.INVOICE, 2026, 7) == "INV-2026-000007"
    assert document_number(DocumentKind.PAYMENT_REQUEST, 2027, 1) == "PR-2027-000001"


def test_sessions_are_listed_once_in_line_order() -> None:
    a = DocumentLine.of("a", D(1), "C62", D(1), "EUR", vat_rate=D(21), sessions=[3, 1])
    b = DocumentLine.of("b", D(1), "C62", D(1), "EUR", vat_rate=D(21), sessions=[1, 2])
    assert _document(a, b).sessions == (3, 1, 2)


amounts = st.decimals(min_value=D("-1000"), max_value=D("1000"), places=4)
rates = st.sampled_from([D(6), D(12), D(21)])


@given(st.lists(st.tuples(amounts, rates), min_size=1, max_size=30))
def test_totals_are_sums_of_rounded_amounts(lines: list[tuple[Decimal, Decimal]]) -> None:
    invoice = _document(*(_line(str(price), str(rate)) for price, rate in lines))
    assert all(line.net == line.net.quantize(D("0.01")) for line in invoice.lines)
    assert invoice.total_excl_vat.amount == sum(line.net for line in invoice.lines)
    assert invoice.total_vat.amount == sum(s.tax for s in invoice.vat_breakdown)
    assert invoice.total_incl_vat.amount == (
        invoice.total_excl_vat.amount + invoice.total_vat.amount
    )
    for subtotal in invoice.vat_breakdown:
        assert abs(subtotal.tax - subtotal.taxable * subtotal.rate / 100) <= D("0.005")
