"""An invoice or a credit note as Peppol BIS Billing 3.0: EN 16931 in UBL 2.1, what a business
customer's accounting receives over Peppol (mandatory between VAT-registered Belgian businesses
since 2026).

The file states the document's own amounts: its lines' rounded net amounts, its VAT breakdown
and its totals, never recomputed here, so the UBL, the PDF and the ledger cannot disagree. A
document that lacks what the rules need (a buyer without a Peppol address, a seller without a
VAT number…) is refused with a ``DocumentError`` naming the field, rather than rendered into a
file that the buyer's access point would reject after the run has been finalised.

A credit note states what it credits as the UBL CreditNote does: its amounts as they are in the
``Document`` (positive amounts credit the buyer), and no payment means: how the credit reaches
the buyer (a refund, a set-off against the next invoice) is not in the document. Payment
requests and reimbursement statements are not invoices (no VAT, no supply) and have no UBL;
Peppol BIS Billing has no self-billed invoice (that is a profile of its own), so a host's
statement has none either.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from lxml import etree

from voltflow.domain.billing.documents import (
    Document,
    DocumentError,
    DocumentKind,
    DocumentLine,
    Party,
    VatCategory,
    cents,
)

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

INVOICE_TYPE = "380"  # UNCL1001 commercial invoice
CREDIT_NOTE_TYPE = "381"
SEPA_CREDIT_TRANSFER = "58"  # UNCL4461
SEPA_DIRECT_DEBIT = "59"

# What EN 16931 asks a VAT breakdown of each category to say about why it bears no VAT
# (BR-E-10, BR-AE-10, BR-O-10); zero-rated and standard-rated breakdowns say nothing (BR-Z-10).
# The exempt category carries no code: which article exempts a supply is not in the document,
# and a wrong VATEX code would be worse than the rules' free text.
EXEMPTION: dict[VatCategory, tuple[str | None, str]] = {
    VatCategory.EXEMPT: (None, "Exempt from VAT"),
    VatCategory.REVERSE_CHARGE: ("VATEX-EU-AE", "Reverse charge"),
    VatCategory.NOT_SUBJECT: ("VATEX-EU-O", "Not subject to VAT"),
}

_PEPPOL_ID = re.compile(r"^(\d{4}):(\S{1,100})$")
_VAT_NUMBER = re.compile(r"^[A-Z]{2}[0-9A-Za-z+*.]{2,13}$")
_BELGIAN_VAT = re.compile(r"^BE[01]\d{9}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_NOT_INVOICES = {
    DocumentKind.PAYMENT_REQUEST: "a payment request is not an invoice: it bears no VAT and "
    "is not sent over Peppol",
    DocumentKind.REIMBURSEMENT_STATEMENT: "a reimbursement statement is not an invoice",
    DocumentKind.SELF_BILLING: "Peppol BIS Billing has no self-billed invoice; a host's "
    "statement is not sent as one",
}


def to_ubl(document: Document) -> bytes:
    """The document as a UBL 2.1 ``Invoice`` or ``CreditNote`` (UTF-8, with its declaration)."""
    _check(document)
    credit = document.kind is DocumentKind.CREDIT_NOTE
    root_name, line_name, quantity_name = (
        ("CreditNote", "CreditNoteLine", "CreditedQuantity")
        if credit
        else ("Invoice", "InvoiceLine", "InvoicedQuantity")
    )
    namespace = CREDIT_NOTE_NS if credit else INVOICE_NS
    root = etree.Element(
        f"{{{namespace}}}{root_name}", nsmap={None: namespace, "cac": CAC, "cbc": CBC}
    )
    currency = document.currency
    outside_vat = _outside_vat(document)

    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", document.number)
    _cbc(root, "IssueDate", _date(document.issue_date))
    if credit:
        _cbc(root, "CreditNoteTypeCode", CREDIT_NOTE_TYPE)
    else:
        _cbc(root, "DueDate", _date(document.due_date))
        _cbc(root, "InvoiceTypeCode", INVOICE_TYPE)
    if document.note and document.note.strip():
        _cbc(root, "Note", document.note.strip())
    _cbc(root, "DocumentCurrencyCode", currency)
    _cbc(root, "BuyerReference", (document.buyer_reference or "").strip() or document.number)
    _period(root, document.period_start, document.period_end)
    if credit:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", document.corrects)

    _party(_cac(root, "AccountingSupplierParty"), document.seller, vat=not outside_vat)
    _party(_cac(root, "AccountingCustomerParty"), document.buyer, vat=not outside_vat)
    if not credit:
        _payment_means(root, document)

    tax_total = _cac(root, "TaxTotal")
    _amount(tax_total, "TaxAmount", document.total_vat.amount, currency)
    for subtotal in document.vat_breakdown:
        element = _cac(tax_total, "TaxSubtotal")
        _amount(element, "TaxableAmount", subtotal.taxable, currency)
        _amount(element, "TaxAmount", subtotal.tax, currency)
        _tax_category(element, "TaxCategory", subtotal.category, subtotal.rate, exemption=True)

    totals = _cac(root, "LegalMonetaryTotal")
    _amount(totals, "LineExtensionAmount", document.total_excl_vat.amount, currency)
    _amount(totals, "TaxExclusiveAmount", document.total_excl_vat.amount, currency)
    _amount(totals, "TaxInclusiveAmount", document.total_incl_vat.amount, currency)
    if document.prepaid_amount:
        # Drawn from the buyer's prepaid balance: paid already (BT-113), not asked again.
        _amount(totals, "PrepaidAmount", document.prepaid_amount, currency)
    _amount(totals, "PayableAmount", document.payable.amount, currency)

    for number, line in enumerate(document.lines, start=1):
        _line(root, line_name, quantity_name, number, line, currency)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _check(document: Document) -> None:
    """Refuse what the rules would: each check names the rule it spares the buyer."""
    if document.kind in _NOT_INVOICES:
        raise DocumentError(f"kind: {_NOT_INVOICES[document.kind]}", "kind")
    if not document.number:
        raise DocumentError("number: a preview has no number and no e-invoice", "number")
    if not document.lines:
        raise DocumentError("lines: an invoice has at least one line (BR-16)", "lines")
    categories = {line.vat_category for line in document.lines}
    if VatCategory.NOT_SUBJECT in categories and len(categories) > 1:
        raise DocumentError(
            "vat_category: lines outside the scope of VAT cannot share a document with taxed "
            "ones (BR-O-11)",
            "vat_category",
        )
    outside_vat = _outside_vat(document)
    for role, party in (("seller", document.seller), ("buyer", document.buyer)):
        _check_party(role, party)
    seller, buyer = document.seller, document.buyer
    if outside_vat:
        if not seller.enterprise_number:
            # The VAT number may not be stated (BR-O-02), so the seller needs another legal
            # identifier (BR-CO-26): the Belgian enterprise number is the one the model has.
            raise DocumentError(
                "seller.vat_number: a document outside the scope of VAT identifies its seller "
                "by a Belgian enterprise number",
                "seller.vat_number",
            )
    elif not seller.vat_number:
        raise DocumentError(
            "seller.vat_number: required on an invoice with VAT (BR-S-02, BR-Z-02, BR-E-02)",
            "seller.vat_number",
        )
    if VatCategory.REVERSE_CHARGE in categories and not buyer.vat_number:
        raise DocumentError(
            "buyer.vat_number: reverse charge names the buyer's VAT number (BR-AE-02)",
            "buyer.vat_number",
        )
    if document.kind is DocumentKind.INVOICE and not document.mandate_reference:
        if not seller.iban:
            raise DocumentError(
                "seller.iban: a credit transfer states the account to pay into (BR-50)",
                "seller.iban",
            )
        if not _IBAN.match(_compact(seller.iban)):
            raise DocumentError("seller.iban: not an IBAN", "seller.iban")
    for line in document.lines:
        starts, ends = line.period_start, line.period_end
        if (starts and not document.period_start <= starts <= document.period_end) or (
            ends and not document.period_start <= ends <= document.period_end
        ):
            raise DocumentError(
                f"lines: the period of {line.description!r} lies outside the document's "
                "(PEPPOL-EN16931-R110, R111)",
                "lines",
            )


def _check_party(role: str, party: Party) -> None:
    if not party.name.strip():
        raise DocumentError(f"{role}.name: required (BR-06, BR-07)", f"{role}.name")
    if not _COUNTRY.match(party.country):
        raise DocumentError(f"{role}.country: an ISO 3166 code", f"{role}.country")
    if not party.peppol_id:
        raise DocumentError(
            f"{role}.peppol_id: an e-invoice is addressed to and from Peppol identifiers "
            "(PEPPOL-EN16931-R010, R020)",
            f"{role}.peppol_id",
        )
    found = _PEPPOL_ID.match(party.peppol_id.strip())
    if not found:
        raise DocumentError(f"{role}.peppol_id: written scheme:identifier", f"{role}.peppol_id")
    if found[1] == "0208" and not belgian_enterprise_number_is_valid(found[2]):
        raise DocumentError(
            f"{role}.peppol_id: not a Belgian enterprise number (PEPPOL-COMMON-R043)",
            f"{role}.peppol_id",
        )
    if party.vat_number is not None:
        vat = party.vat_number
        if not _VAT_NUMBER.match(vat):
            raise DocumentError(
                f"{role}.vat_number: starts with its country code (BR-CO-09)", f"{role}.vat_number"
            )
        if vat.startswith("BE") and not (
            _BELGIAN_VAT.match(vat) and belgian_enterprise_number_is_valid(vat[2:])
        ):
            raise DocumentError(
                f"{role}.vat_number: not a Belgian VAT number", f"{role}.vat_number"
            )


def belgian_enterprise_number_is_valid(number: str) -> bool:
    """Ten digits whose last two are 97 minus the first eight modulo 97."""
    if len(number) != 10 or not (number.isascii() and number.isdigit()):
        return False
    return 97 - int(number[:8]) % 97 == int(number[8:])


def _outside_vat(document: Document) -> bool:
    return all(line.vat_category is VatCategory.NOT_SUBJECT for line in document.lines)


def _party(parent: etree._Element, party: Party, *, vat: bool) -> None:
    element = _cac(parent, "Party")
    assert party.peppol_id  # checked
    scheme, identifier = party.peppol_id.strip().split(":", 1)
    _cbc(element, "EndpointID", identifier, schemeID=scheme)
    _cbc(_cac(element, "PartyName"), "Name", party.name.strip())
    address = _cac(element, "PostalAddress")
    for name, value in (
        ("StreetName", party.street),
        ("CityName", party.city),
        ("PostalZone", party.postal_code),
    ):
        if value and value.strip():
            _cbc(address, name, value.strip())
    _cbc(_cac(address, "Country"), "IdentificationCode", party.country)
    if vat and party.vat_number:
        scheme_element = _cac(element, "PartyTaxScheme")
        _cbc(scheme_element, "CompanyID", party.vat_number)
        _cbc(_cac(scheme_element, "TaxScheme"), "ID", "VAT")
    legal = _cac(element, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name.strip())
    if party.enterprise_number:
        _cbc(legal, "CompanyID", party.enterprise_number, schemeID="0208")
    if party.email and party.email.strip():
        _cbc(_cac(element, "Contact"), "ElectronicMail", party.email.strip())


def _payment_means(root: etree._Element, document: Document) -> None:
    means = _cac(root, "PaymentMeans")
    if document.mandate_reference:
        _cbc(means, "PaymentMeansCode", SEPA_DIRECT_DEBIT, name="SEPA direct debit")
        if document.payment_reference:
            _cbc(means, "PaymentID", document.payment_reference)
        mandate = _cac(means, "PaymentMandate")
        _cbc(mandate, "ID", document.mandate_reference)
        if document.buyer.iban:
            _cbc(_cac(mandate, "PayerFinancialAccount"), "ID", _compact(document.buyer.iban))
        return
    seller = document.seller
    assert seller.iban  # checked
    _cbc(means, "PaymentMeansCode", SEPA_CREDIT_TRANSFER, name="SEPA credit transfer")
    if document.payment_reference:
        _cbc(means, "PaymentID", document.payment_reference)
    account = _cac(means, "PayeeFinancialAccount")
    _cbc(account, "ID", _compact(seller.iban))
    _cbc(account, "Name", seller.name.strip())
    if seller.bic and seller.bic.strip():
        _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", _compact(seller.bic))


def _line(
    root: etree._Element,
    name: str,
    quantity_name: str,
    number: int,
    line: DocumentLine,
    currency: str,
) -> None:
    element = _cac(root, name)
    _cbc(element, "ID", str(number))
    # A price is never negative (BR-27): a line that takes something off says so by its
    # quantity, which leaves its net amount as it is.
    quantity, price = line.quantity, line.unit_price
    if price < 0:
        quantity, price = -quantity, -price
    _cbc(element, quantity_name, _decimal(quantity), unitCode=line.unit_code)
    _amount(element, "LineExtensionAmount", line.net, currency)
    _period(element, line.period_start, line.period_end)
    item = _cac(element, "Item")
    _cbc(item, "Name", line.description.strip())
    _tax_category(item, "ClassifiedTaxCategory", line.vat_category, line.vat_rate)
    _cbc(_cac(element, "Price"), "PriceAmount", _decimal(price), currencyID=currency)


def _tax_category(
    parent: etree._Element,
    name: str,
    category: VatCategory,
    rate: Decimal,
    *,
    exemption: bool = False,
) -> None:
    element = _cac(parent, name)
    _cbc(element, "ID", category.value)
    if category is not VatCategory.NOT_SUBJECT:  # BR-O-05: no rate outside the scope of VAT
        _cbc(element, "Percent", _decimal(rate))
    if exemption and category in EXEMPTION:
        code, reason = EXEMPTION[category]
        if code:
            _cbc(element, "TaxExemptionReasonCode", code)
        _cbc(element, "TaxExemptionReason", reason)
    _cbc(_cac(element, "TaxScheme"), "ID", "VAT")


def _period(parent: etree._Element, start: date | None, end: date | None) -> None:
    if start is None and end is None:
        return
    period = _cac(parent, "InvoicePeriod")
    if start is not None:
        _cbc(period, "StartDate", _date(start))
    if end is not None:
        _cbc(period, "EndDate", _date(end))


def _cac(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{tag}")


def _cbc(parent: etree._Element, tag: str, text: str | None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{tag}", attributes)
    element.text = text
    return element


def _amount(parent: etree._Element, name: str, value: Decimal, currency: str) -> None:
    _cbc(parent, name, _decimal(cents(value, currency)), currencyID=currency)


def _decimal(value: Decimal) -> str:
    """Fixed-point: an XSD decimal has no exponent (``Decimal('1E+2')`` would print one)."""
    return format(abs(value) if value == 0 else value, "f")  # and no "-0.00"


def _date(value: date) -> str:
    return value.isoformat()


def _compact(value: str) -> str:
    return "".join(value.split()).upper()
