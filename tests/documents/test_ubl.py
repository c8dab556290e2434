"""Invoices and credit notes as Peppol BIS Billing 3.0 UBL: what the file says, that it passes
the UBL 2.1 schemas and both rule sets, and that a document the rules need more of is refused
with the missing field named."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.documents.samples import (
    BUYER,
    NS,
    SELLER,
    D,
    decimal,
    invoice,
    line,
    mixed_rates,
    parse,
    text,
)
from voltflow.documents.peppol import PeppolValidator, ValidationResult
from voltflow.documents.ubl import CUSTOMIZATION_ID, to_ubl
from voltflow.domain.billing.documents import (
    Document,
    DocumentError,
    DocumentKind,
    Party,
    VatCategory,
)

DUTCH_BUYER = Party(
    "Rotterdam Freight BV",
    street="Coolsingel 40",
    postal_code="3011 AD",
    city="Rotterdam",
    country="NL",
    vat_number="NL123456789B01",
    peppol_id="0106:12345678",
)


def _valid(peppol: PeppolValidator, xml: bytes) -> ValidationResult:
    result = peppol.validate(xml)
    assert result.fatal == (), [f"{f.id}: {f.text} at {f.location}" for f in result.fatal]
    return result


def _subtotals(root: Any) -> list[tuple[str, str | None, Decimal, Decimal]]:
    return [
        (
            text(s, "cac:TaxCategory/cbc:ID"),
            s.findtext("cac:TaxCategory/cbc:Percent", None, NS),
            decimal(s, "cbc:TaxableAmount"),
            decimal(s, "cbc:TaxAmount"),
        )
        for s in root.iterfind("cac:TaxTotal/cac:TaxSubtotal", NS)
    ]


def test_an_invoice_at_21_and_6_percent_passes_both_rule_sets(peppol: PeppolValidator) -> None:
    document = mixed_rates()
    xml = to_ubl(document)
    result = _valid(peppol, xml)
    assert result.warnings == ()
    root = parse(xml)
    assert root.tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    assert text(root, "cbc:CustomizationID") == CUSTOMIZATION_ID
    assert text(root, "cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert text(root, "cbc:InvoiceTypeCode") == "380"
    assert text(root, "cbc:ID") == "INV-2026-000042"
    assert text(root, "cbc:DueDate") == "2026-12-31"
    assert text(root, "cac:InvoicePeriod/cbc:StartDate") == "2026-11-01"
    assert text(root, "cac:InvoicePeriod/cbc:EndDate") == "2026-11-30"
    # 123.456 kWh × 0.45 = 55.5552 → 55.56; less the 1.25 discount: 54.31 at 21 %.
    assert _subtotals(root) == [
        ("S", "6", D("10.00"), D("0.60")),
        ("S", "21", D("54.31"), D("11.41")),
    ]
    assert decimal(root, "cac:TaxTotal/cbc:TaxAmount") == D("12.01")
    totals = "cac:LegalMonetaryTotal/cbc:"
    assert decimal(root, totals + "LineExtensionAmount") == D("64.31")
    assert decimal(root, totals + "TaxExclusiveAmount") == D("64.31")
    assert decimal(root, totals + "TaxInclusiveAmount") == D("76.32")
    assert decimal(root, totals + "PayableAmount") == D("76.32")
    lines = root.findall("cac:InvoiceLine", NS)
    assert [text(x, "cbc:ID") for x in lines] == ["1", "2", "3"]
    assert lines[0].find("cbc:InvoicedQuantity", NS).get("unitCode") == "KWH"
    assert text(lines[0], "cbc:InvoicedQuantity") == "123.456"
    assert text(lines[0], "cac:Price/cbc:PriceAmount") == "0.45"
    assert text(lines[0], "cac:InvoicePeriod/cbc:StartDate") == "2026-11-03"
    assert text(lines[1], "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent") == "6"
    # A discount is a negative quantity at a positive price (BR-27), its amount unchanged.
    assert text(lines[2], "cbc:InvoicedQuantity") == "-1"
    assert text(lines[2], "cac:Price/cbc:PriceAmount") == "1.25"
    assert text(lines[2], "cbc:LineExtensionAmount") == "-1.25"


def test_a_transfer_names_the_sellers_account_and_the_structured_reference(
    peppol: PeppolValidator,
) -> None:
    root = parse(to_ubl(invoice()))
    means = root.find("cac:PaymentMeans", NS)
    assert text(means, "cbc:PaymentMeansCode") == "58"
    assert text(means, "cbc:PaymentID") == "+++090/9337/55493+++"
    assert text(means, "cac:PayeeFinancialAccount/cbc:ID") == "BE68539007547034"
    assert text(means, "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID") == (
        "GKCCBEBB"
    )
    assert means.find("cac:PaymentMandate", NS) is None


def test_a_direct_debit_invoice_names_its_mandate(peppol: PeppolValidator) -> None:
    xml = to_ubl(invoice(mandate_reference="VF-MANDATE-0007"))
    _valid(peppol, xml)
    means = parse(xml).find("cac:PaymentMeans", NS)
    assert text(means, "cbc:PaymentMeansCode") == "59"
    assert text(means, "cac:PaymentMandate/cbc:ID") == "VF-MANDATE-0007"
    assert text(means, "cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID") == (
        "BE71096123456769"
    )
    assert means.find("cac:PayeeFinancialAccount", NS) is None


def test_a_direct_debit_needs_no_seller_account(peppol: PeppolValidator) -> None:
    document = invoice(mandate_reference="M-1", seller=replace(SELLER, iban=None))
    _valid(peppol, to_ubl(document))


def test_a_credit_note_names_the_invoice_it_corrects(peppol: PeppolValidator) -> None:
    document = invoice(
        line("3.10", qty="2"),
        kind=DocumentKind.CREDIT_NOTE,
        number="CN-2026-000003",
        corrects="INV-2026-000042",
        note="Session 1812 was billed twice",
    )
    xml = to_ubl(document)
    _valid(peppol, xml)
    root = parse(xml)
    assert root.tag == "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"
    assert text(root, "cbc:CreditNoteTypeCode") == "381"
    assert text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == (
        "INV-2026-000042"
    )
    assert text(root, "cbc:Note") == "Session 1812 was billed twice"
    credited = root.find("cac:CreditNoteLine", NS)
    assert text(credited, "cbc:CreditedQuantity") == "2"
    assert decimal(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == D("7.50")
    assert root.find("cac:InvoiceLine", NS) is None


def test_a_belgian_company_is_reached_and_registered_by_its_enterprise_number(
    peppol: PeppolValidator,
) -> None:
    root = parse(to_ubl(invoice()))
    for role, number in (("Supplier", "0123456749"), ("Customer", "0403170701")):
        party = root.find(f"cac:Accounting{role}Party/cac:Party", NS)
        endpoint = party.find("cbc:EndpointID", NS)
        assert (endpoint.get("schemeID"), endpoint.text) == ("0208", number)
        legal = party.find("cac:PartyLegalEntity/cbc:CompanyID", NS)
        assert (legal.get("schemeID"), legal.text) == ("0208", number)
        assert text(party, "cac:PartyTaxScheme/cbc:CompanyID") == f"BE{number}"
        assert text(party, "cac:PartyTaxScheme/cac:TaxScheme/cbc:ID") == "VAT"
    _valid(peppol, to_ubl(invoice()))


def test_a_foreign_buyer_keeps_its_own_scheme_and_has_no_enterprise_number(
    peppol: PeppolValidator,
) -> None:
    xml = to_ubl(invoice(buyer=DUTCH_BUYER))
    _valid(peppol, xml)
    party = parse(xml).find("cac:AccountingCustomerParty/cac:Party", NS)
    assert party.find("cbc:EndpointID", NS).get("schemeID") == "0106"
    assert party.find("cac:PartyLegalEntity/cbc:CompanyID", NS) is None


@pytest.mark.parametrize(
    ("category", "code", "reason"),
    [
        (VatCategory.ZERO, None, None),  # BR-Z-10: a zero rate gives no reason
        (VatCategory.EXEMPT, None, "Exempt from VAT"),
        (VatCategory.REVERSE_CHARGE, "VATEX-EU-AE", "Reverse charge"),
        (VatCategory.NOT_SUBJECT, "VATEX-EU-O", "Not subject to VAT"),
    ],
)
def test_a_category_without_vat_says_why_as_the_rules_ask(
    peppol: PeppolValidator, category: VatCategory, code: str | None, reason: str | None
) -> None:
    buyer = DUTCH_BUYER if category is VatCategory.REVERSE_CHARGE else BUYER
    document = invoice(line("40.00", category=category), buyer=buyer)
    xml = to_ubl(document)
    _valid(peppol, xml)
    root = parse(xml)
    tax = root.find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", NS)
    assert text(tax, "cbc:ID") == category.value
    assert tax.findtext("cbc:TaxExemptionReasonCode", None, NS) == code
    assert tax.findtext("cbc:TaxExemptionReason", None, NS) == reason
    assert decimal(root, "cac:TaxTotal/cbc:TaxAmount") == 0
    if category is VatCategory.NOT_SUBJECT:
        # BR-O-02: outside the scope of VAT, nobody's VAT number is stated; BR-O-05: no rate.
        assert root.find(".//cac:PartyTaxScheme", NS) is None
        assert root.find(".//cbc:Percent", NS) is None
    else:
        assert text(tax, "cbc:Percent") == "0"


def test_a_payment_request_is_not_an_invoice() -> None:
    request = invoice(
        line("0.6654", qty="11.001", unit="KWH", category=VatCategory.NOT_SUBJECT),
        kind=DocumentKind.PAYMENT_REQUEST,
        number="PR-2026-000001",
        mandate_reference="VF-MANDATE-0007",
    )
    with pytest.raises(DocumentError) as caught:
        to_ubl(request)
    assert caught.value.field == "kind"
    assert "not an invoice" in str(caught.value)


def _refused(document: Document) -> str:
    with pytest.raises(DocumentError) as caught:
        to_ubl(document)
    return caught.value.field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"buyer": replace(BUYER, peppol_id=None)}, "buyer.peppol_id"),
        ({"buyer": replace(BUYER, peppol_id="0403170701")}, "buyer.peppol_id"),
        ({"buyer": replace(BUYER, peppol_id="0208:0403170702")}, "buyer.peppol_id"),
        ({"buyer": replace(BUYER, name=" ")}, "buyer.name"),
        ({"seller": replace(SELLER, peppol_id=None)}, "seller.peppol_id"),
        ({"seller": replace(SELLER, vat_number=None)}, "seller.vat_number"),
        ({"seller": replace(SELLER, vat_number="0123456749")}, "seller.vat_number"),
        ({"seller": replace(SELLER, vat_number="BE0123456748")}, "seller.vat_number"),
        ({"seller": replace(SELLER, iban=None)}, "seller.iban"),
        ({"seller": replace(SELLER, iban="not an account")}, "seller.iban"),
        ({"seller": replace(SELLER, country="Belgium")}, "seller.country"),
        ({"number": None}, "number"),
        ({"lines": ()}, "lines"),
        ({"kind": DocumentKind.SELF_BILLING}, "kind"),
        (
            {
                "kind": DocumentKind.REIMBURSEMENT_STATEMENT,
                "lines": (line("7.32", category=VatCategory.NOT_SUBJECT),),
            },
            "kind",
        ),
        (
            {"lines": (line("1.00", period_start=date(2026, 10, 31)),)},
            "lines",
        ),
        (
            {"lines": (line("1.00"), line("1.00", category=VatCategory.NOT_SUBJECT))},
            "vat_category",
        ),
        (
            {
                "lines": (line("1.00", category=VatCategory.REVERSE_CHARGE),),
                "buyer": replace(BUYER, vat_number=None),
            },
            "buyer.vat_number",
        ),
        (
            {
                "lines": (line("1.00", category=VatCategory.NOT_SUBJECT),),
                "seller": replace(SELLER, vat_number="NL123456789B01", country="NL"),
            },
            "seller.vat_number",
        ),
    ],
)
def test_a_document_missing_what_the_rules_need_is_refused(
    changes: dict[str, Any], field: str
) -> None:
    assert _refused(replace(invoice(), **changes)) == field


def test_what_is_refused_would_have_failed_the_rules(peppol: PeppolValidator) -> None:
    """The refusals are the rules' own verdicts, not taste: rendered anyway, a buyer without a
    Peppol address and a seller without VAT number fail them."""
    xml = to_ubl(invoice())
    root = parse(xml)
    for path in (
        "cac:AccountingCustomerParty/cac:Party/cbc:EndpointID",
        "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme",
    ):
        broken = parse(xml)
        element = broken.find(path, NS)
        element.getparent().remove(element)
        assert root.find(path, NS) is not None
        result = peppol.validate(etree.tostring(broken))
        assert not result.valid, path
    assert _refused(invoice(buyer=replace(BUYER, peppol_id=None))) == "buyer.peppol_id"


_PRICES = st.decimals(D("0.0001"), D("250"), places=4)
_QUANTITIES = st.decimals(D("0.001"), D("900"), places=3)
_LINES = st.lists(
    st.tuples(
        _QUANTITIES,
        _PRICES,
        st.sampled_from(["6", "12", "21"]),
        st.booleans(),  # a discount: the price taken off
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=_LINES,
    kind=st.sampled_from([DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE]),
    mandate=st.booleans(),
)
def test_any_lines_make_valid_ubl_whose_totals_are_the_documents(
    peppol: PeppolValidator,
    lines: list[tuple[Decimal, Decimal, str, bool]],
    kind: DocumentKind,
    mandate: bool,
) -> None:
    document = invoice(
        *(line(str(-p if off else p), rate, str(q)) for q, p, rate, off in lines),
        kind=kind,
        corrects="INV-2026-000001" if kind is DocumentKind.CREDIT_NOTE else None,
        mandate_reference="M-1" if mandate else None,
    )
    xml = to_ubl(document)
    _valid(peppol, xml)
    root = parse(xml)
    totals = "cac:LegalMonetaryTotal/cbc:"
    assert decimal(root, totals + "LineExtensionAmount") == document.total_excl_vat.amount
    assert decimal(root, totals + "TaxExclusiveAmount") == document.total_excl_vat.amount
    assert decimal(root, totals + "TaxInclusiveAmount") == document.total_incl_vat.amount
    assert decimal(root, totals + "PayableAmount") == document.total_incl_vat.amount
    assert decimal(root, "cac:TaxTotal/cbc:TaxAmount") == document.total_vat.amount
    assert _subtotals(root) == [
        ("S", str(s.rate), s.taxable, s.tax) for s in document.vat_breakdown
    ]
    line_tag = "cac:CreditNoteLine" if kind is DocumentKind.CREDIT_NOTE else "cac:InvoiceLine"
    assert [decimal(x, "cbc:LineExtensionAmount") for x in root.iterfind(line_tag, NS)] == [
        x.net for x in document.lines
    ]
