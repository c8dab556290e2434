"""Issued documents as lists read them, and what a list asks for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from voltflow.domain.billing.documents import DocumentKind


class DocumentState:
    """A finalised document never changes; its state tells what happened to it since."""

    ISSUED = "issued"
    # What payments made of it (``domain.billing.settlement``): part of what it asks is paid,
    # or all of it (a statement: its payout was sent).
    PARTLY_PAID = "partly_paid"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    id: int
    number: str
    kind: DocumentKind
    run_id: int | None
    organisation_id: int | None  # the customer; the employer of a reimbursement statement
    user_id: int | None  # the person paid (statements)
    recipient: str  # the name of whom it is issued to, or paid to
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    currency: str
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    payment_reference: str | None
    mandate_reference: str | None
    corrects: str | None
    state: str
    created_at: datetime
    prepaid: Decimal = Decimal(0)  # paid from the buyer's prepaid balance before it was issued
    paid: Decimal = Decimal(0)  # paid since, by transfer or direct debit

    @property
    def payable(self) -> Decimal:
        return self.total_incl_vat - self.prepaid

    @property
    def amount_due(self) -> Decimal:
        """What is still to be paid on it (to the platform, or by it for a statement)."""
        return max(self.payable - self.paid, Decimal(0))


@dataclass(frozen=True, slots=True)
class DocumentFilter:
    period_start: date | None = None  # documents of the month that starts here
    kind: DocumentKind | None = None
    organisation_id: int | None = None
    user_id: int | None = None  # the person a statement pays
    state: str | None = None
    corrects: str | None = None  # credit notes of this invoice
