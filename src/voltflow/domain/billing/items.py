"""What a billing run reads and what it marks as billed: the priced sessions' amounts as billing
sees them (``BillableLine``), a contract's month of subscription (``SubscriptionBasis``), and
the key that makes each thing billed once (``BilledItem``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


class Purpose(enum.StrEnum):
    """Why an amount is on a document, and so where the ledger books it."""

    CHARGING = "charging"  # a driver's public session: invoiced to the card's organisation
    SUBSCRIPTION = "subscription"  # a contract's fees: invoiced
    REIMBURSEMENT = "reimbursement"  # split billing: the employer pays, the employee is paid
    REMUNERATION = "remuneration"  # a host's share of public sessions at their station
    CREDIT = "credit"  # an invoice line credited by a credit note


class SourceKind(enum.StrEnum):
    SESSION = "session"  # a station's charging session
    DEVICE_SESSION = "device_session"  # an external device's imported session
    CONTRACT = "contract"  # a contract's month: ``{contract id}:{YYYY-MM}``
    INVOICE_LINE = "invoice_line"  # ``{invoice number}/{line number}``, credited


@dataclass(frozen=True, slots=True)
class BilledItem:
    """One thing billed for one purpose, on one document: its key is unique in the store, so a
    second document for the same thing cannot be written. ``amount`` and ``revision`` are what
    it was billed at (a session corrected later shows in the reconciliation)."""

    source_kind: SourceKind
    source_id: str
    purpose: Purpose
    amount: Decimal
    revision: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source_kind.value, self.source_id, self.purpose.value)


@dataclass(frozen=True, slots=True)
class BillableLine:
    """A priced session's amount for one party, with who it is billed to or paid to.

    ``purpose`` is CHARGING for the driver's line (``customer_id``: the card's organisation),
    REIMBURSEMENT for the employee's (``customer_id``: the employer, ``person_id``: the
    employee), REMUNERATION for the host's (``person_id``: the host). None where nobody is
    known."""

    source_kind: SourceKind
    source_id: int
    revision: int
    purpose: Purpose
    session_type: str
    type_reason: str | None
    basis: str
    customer_id: int | None
    person_id: int | None
    station_id: str
    card_uid: str
    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    currency: str
    excl_vat: Decimal
    incl_vat: Decimal
    rate: Decimal | None = None  # €/kWh of a reimbursement
    tariff_id: str | None = None
    tariff_version: int | None = None
    # What the session drew from its customer's prepaid balance (the driver's line only): paid
    # already, so its invoice asks for the rest.
    prepaid: Decimal = Decimal(0)

    @property
    def amount(self) -> Decimal:
        """What the document bills of this line: the driver's price excl. VAT (the invoice adds
        VAT per rate), the employee's reimbursement (no VAT), the host's remuneration as they
        receive it (VAT included when their tariff has one: hosts are private persons)."""
        if self.purpose is Purpose.REMUNERATION:
            return self.incl_vat
        return self.excl_vat

    def item(self) -> BilledItem:
        return BilledItem(
            self.source_kind, str(self.source_id), self.purpose, self.amount, self.revision
        )


@dataclass(frozen=True, slots=True)
class SubscriptionBasis:
    """A contract and what it counted in the period's month: its fees are billed per card
    active in it, per station and per licence, pro rata for the days it was in force."""

    contract_id: int
    organisation_id: int
    currency: str
    starts_on: date
    ends_on: date | None
    fee_per_card: Decimal
    fee_per_station: Decimal
    fee_per_licence: Decimal
    cards: int
    stations: int
    licences: int
