"""Documents as a billing run makes them, for the UBL and Peppol tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from voltflow.documents.ubl import CAC, CBC
from voltflow.domain.billing.documents import (
    Document,
    DocumentKind,
    DocumentLine,
    Party,
    VatCategory,
)

D = Decimal
NS = {"cac": CAC, "cbc": CBC}

SELLER = Party(
    "Voltflow Operations",
    street="Rue de la Loi 16",
    postal_code="1000",
    city="Brussels",
    vat_number="BE0123456749",
    peppol_id="0208:0123456749",
    iban="BE68 5390 0754 7034",
    bic="GKCCBEBB",
    email="billing@voltflow.example",
)
BUYER = Party(
    "Acme Logistics",
    street="Kerkstraat 1",
    postal_code="2000",
    city="Antwerpen",
    vat_number="BE0403170701",
    peppol_id="0208:0403170701",
    iban="BE71 0961 2345 6769",
    email="ap@acme.example",
)


def line(
    price: str,
    rate: str = "21",
    qty: str = "1",
    *,
    unit: str = "C62",
    category: VatCategory = VatCategory.STANDARD,
    description: str = "Public charging",
    **kwargs: Any,
) -> DocumentLine:
    return DocumentLine.of(
        description,
        D(qty),
        unit,
        D(price),
        "EUR",
        vat_category=category,
        vat_rate=D(rate) if category is VatCategory.STANDARD else D(0),
        **kwargs,
    )


def invoice(*lines: DocumentLine, **changes: Any) -> Document:
    document = Document(
        DocumentKind.INVOICE,
        "EUR",
        date(2026, 12, 1),
        date(2026, 12, 31),
        SELLER,
        BUYER,
        lines or (line("12.40"),),
        date(2026, 11, 1),
        date(2026, 11, 30),
        number="INV-2026-000042",
        payment_reference="+++090/9337/55493+++",
    )
    return replace(document, **changes)


def mixed_rates() -> Document:
    """Public charging at 21 %, a subscription at 6 %, a discount: one invoice."""
    return invoice(
        line(
            "0.45",
            qty="123.456",
            unit="KWH",
            period_start=date(2026, 11, 3),
            period_end=date(2026, 11, 20),
        ),
        line("5.00", "6", "2", unit="MON", description="Card subscription"),
        line("-1.25", description="Loyalty discount"),
    )


def parse(xml: bytes) -> Any:
    return etree.fromstring(xml)


def text(root: Any, path: str) -> str:
    found = root.find(path, NS)
    assert found is not None, path
    return str(found.text)


def decimal(root: Any, path: str) -> Decimal:
    return Decimal(text(root, path))
