"""The documents a billing run produces, in one shape that the PDF, the Peppol UBL and the mail
all read: who issues it to whom, its lines, its VAT breakdown and its totals.

Totals are sums of rounded amounts (DESIGN §4): each line's net amount is rounded to the cent
when the line is made, the VAT of each (category, rate) is computed once on the sum of its
lines' net amounts and rounded, and the document's totals add those up. The same rules as
EN 16931 (BR-CO-10, BR-CO-14, BR-S-09), so the UBL of a document passes them by construction.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from voltflow.domain.money import MINOR_UNITS, Money


class DocumentKind(enum.StrEnum):
    INVOICE = "invoice"  # public charging, subscriptions: with VAT, also as Peppol UBL
    CREDIT_NOTE = "credit_note"  # corrects a finalised invoice; never an edit of it
    # Split billing: the employer pays back energy its employees bought privately. Not an
    # invoice, no VAT; paid by direct debit under a mandate or by transfer with its reference.
    PAYMENT_REQUEST = "payment_request"
    SELF_BILLING = "self_billing"  # a host's remuneration, issued by the platform for them
    REIMBURSEMENT_STATEMENT = "reimbursement_statement"  # what an employee is paid back


# Each kind's numbering series: numbers are gapless per series and year ("INV-2026-000001").
SERIES: dict[DocumentKind, str] = {
    DocumentKind.INVOICE: "INV",
    DocumentKind.CREDIT_NOTE: "CN",
    DocumentKind.PAYMENT_REQUEST: "PR",
    DocumentKind.SELF_BILLING: "SB",
    DocumentKind.REIMBURSEMENT_STATEMENT: "RS",
}


def document_number(kind: DocumentKind, year: int, sequence: int) -> str:
    return f"{SERIES[kind]}-{year}-{sequence:06d}"


class VatCategory(enum.StrEnum):
    """UNCL5305 codes, as EN 16931 uses them."""

    STANDARD = "S"
    ZERO = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    NOT_SUBJECT = "O"  # outside the scope of VAT: payment requests, reimbursements


class DocumentError(ValueError):
    """A document that cannot be made as asked: ``field`` names what is at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Party:
    """Who issues or receives a document. ``peppol_id`` is ``scheme:identifier`` (Belgian
    companies: ``0208:`` and their enterprise number); ``iban`` is where a payout goes."""

    name: str
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str = "BE"
    vat_number: str | None = None
    peppol_id: str | None = None
    iban: str | None = None
    bic: str | None = None
    email: str | None = None
    language: str = "en"

    @property
    def enterprise_number(self) -> str | None:
        """The Belgian enterprise number (the VAT number's ten digits), when it has one."""
        if self.vat_number and self.vat_number.startswith("BE"):
            return self.vat_number[2:]
        return None


def cents(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to the currency's minor unit."""
    return amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One line: ``quantity`` of ``unit_code`` (UN/ECE rec. 20: ``KWH``, ``C62`` one, ``MON``
    month) at ``unit_price`` excl. VAT; its net amount is their product rounded to the cent.
    ``sessions`` are the charging sessions it bills, so that every amount traces back."""

    description: str
    quantity: Decimal
    unit_code: str
    unit_price: Decimal
    vat_category: VatCategory
    vat_rate: Decimal  # percent, 0 for every category but S
    net: Decimal
    sessions: tuple[int, ...] = ()
    period_start: date | None = None
    period_end: date | None = None

    @classmethod
    def of(
        cls,
        description: str,
        quantity: Decimal,
        unit_code: str,
        unit_price: Decimal,
        currency: str,
        *,
        vat_category: VatCategory = VatCategory.STANDARD,
        vat_rate: Decimal = Decimal(0),
        sessions: Sequence[int] = (),
        period_start: date | None = None,
        period_end: date | None = None,
    ) -> DocumentLine:
        for name, value in (("quantity", quantity), ("unit_price", unit_price)):
            if isinstance(value, float) or not value.is_finite():
                raise DocumentError(f"{name}: a finite Decimal", name)
        if vat_category is VatCategory.STANDARD and vat_rate <= 0:
            raise DocumentError("vat_rate: a standard-rated line has a rate above 0", "vat_rate")
        if vat_category is not VatCategory.STANDARD and vat_rate != 0:
            raise DocumentError(f"vat_rate: 0 in category {vat_category.value}", "vat_rate")
        if not description.strip():
            raise DocumentError("description: required", "description")
        return cls(
            description,
            quantity,
            unit_code,
            unit_price,
            vat_category,
            vat_rate,
            cents(quantity * unit_price, currency),
            tuple(sessions),
            period_start,
            period_end,
        )


@dataclass(frozen=True, slots=True)
class VatSubtotal:
    category: VatCategory
    rate: Decimal
    taxable: Decimal
    tax: Decimal


@dataclass(frozen=True, slots=True)
class AnnexRow:
    """A session in the document's annex: what the line amounts are made of."""

    session_id: int
    started_at: datetime  # UTC
    station: str
    card: str
    energy_wh: int
    amount: Decimal  # excl. VAT, as billed


@dataclass(frozen=True, slots=True)
class Document:
    kind: DocumentKind
    currency: str
    issue_date: date
    due_date: date
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    period_start: date
    period_end: date  # inclusive
    number: str | None = None  # given when the run is finalised; None in a preview
    payment_reference: str | None = None  # the OGM, ``+++…+++``
    mandate_reference: str | None = None  # collected by SEPA direct debit under this mandate
    corrects: str | None = None  # a credit note: the number of the invoice it corrects
    note: str | None = None
    annex: tuple[AnnexRow, ...] = field(default=())
    # What the buyer asked to be quoted for routing the document inside their organisation (a
    # purchase order, a cost centre); Peppol requires one, the number stands in when none is set.
    buyer_reference: str | None = None
    # Paid before the document was issued: what its sessions drew from the buyer's prepaid
    # balance (EN 16931 BT-113). The buyer is asked for the rest only (``payable``).
    prepaid_amount: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.currency not in MINOR_UNITS:
            raise DocumentError(f"currency {self.currency!r} is not billed in", "currency")
        if self.period_end < self.period_start:
            raise DocumentError("period_end: before period_start", "period_end")
        if self.kind is DocumentKind.CREDIT_NOTE and not self.corrects:
            raise DocumentError("corrects: a credit note names the invoice it corrects", "corrects")
        if self.prepaid_amount < 0 or (
            self.prepaid_amount and self.kind is not DocumentKind.INVOICE
        ):
            raise DocumentError(
                "prepaid_amount: only an invoice is paid in advance, never by less than nothing",
                "prepaid_amount",
            )
        if self.kind in (DocumentKind.PAYMENT_REQUEST, DocumentKind.REIMBURSEMENT_STATEMENT):
            taxed = [
                line for line in self.lines if line.vat_category is not VatCategory.NOT_SUBJECT
            ]
            if taxed:
                raise DocumentError(
                    f"vat_category: a {self.kind.value} bears no VAT (category O)", "vat_category"
                )

    @property
    def vat_breakdown(self) -> tuple[VatSubtotal, ...]:
        """One subtotal per (category, rate), in a stable order: the tax of each computed once
        on the sum of its lines, rounded (EN 16931 BR-S-09 and its siblings)."""
        groups: dict[tuple[VatCategory, Decimal], Decimal] = {}
        for line in self.lines:
            key = (line.vat_category, line.vat_rate)
            groups[key] = groups.get(key, Decimal(0)) + line.net
        return tuple(
            VatSubtotal(category, rate, taxable, cents(taxable * rate / 100, self.currency))
            for (category, rate), taxable in sorted(
                groups.items(), key=lambda g: (g[0][0], g[0][1])
            )
        )

    @property
    def total_excl_vat(self) -> Money:
        return Money(sum((line.net for line in self.lines), Decimal(0)), self.currency)

    @property
    def total_vat(self) -> Money:
        return Money(sum((s.tax for s in self.vat_breakdown), Decimal(0)), self.currency)

    @property
    def total_incl_vat(self) -> Money:
        return self.total_excl_vat + self.total_vat

    @property
    def payable(self) -> Money:
        """What the buyer is asked to pay: the total, less what was paid in advance."""
        return Money(self.total_incl_vat.amount - self.prepaid_amount, self.currency)

    @property
    def sessions(self) -> tuple[int, ...]:
        """Every session the document bills, once each, in line order."""
        return tuple(dict.fromkeys(s for line in self.lines for s in line.sessions))
