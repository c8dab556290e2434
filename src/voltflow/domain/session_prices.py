"""Who pays and who earns what for a finished session (DESIGN §2 D and E, §3).

Decided once a session has its type, from what the tariffs say it costs:

- **Normal** (a public session): the driver pays the station's public tariff, or the tariff of a
  discount list their card is on at that station. That price is composed of the host's
  remuneration (the host's own tariff applied to the same session), the service provider's
  (eMSP's) margin (a price per kWh the operator sets) and the charge point operator's margin:
  what is left. No public tariff: nothing is charged, and the line says why.
- **Split billing**: the employee is reimbursed the kWh the device measured at the licence's rate,
  without VAT (the employee sells the electricity as a private person); the driver's own price
  is zero, as the app shows it.
- **Whitelist**: free, with the reason.
- **Invalid**: never priced; one zero line says so.

Every amount here is what a person pays or receives, so it is rounded half-up to the cent
(DESIGN §4); the tariffs' exact line amounts stay with the pricing engine.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from voltflow.domain.money import MINOR_UNITS
from voltflow.domain.session_types import SessionType
from voltflow.domain.tariffs.model import Price

ZERO = Decimal(0)


class Party(enum.StrEnum):
    DRIVER = "driver"  # pays
    HOST = "host"  # earns: remuneration for public sessions at their station
    CPO = "cpo"  # earns: the charge point operator's margin
    EMSP = "emsp"  # earns: the service provider's margin
    EMPLOYEE = "employee"  # earns: the split-billing reimbursement, paid by the employer


class Basis(enum.StrEnum):
    """Why a line has its amount."""

    PUBLIC_TARIFF = "public_tariff"
    DISCOUNT_LIST = "discount_list"
    HOST_TARIFF = "host_tariff"
    MARGIN = "margin"
    LICENCE_RATE = "licence_rate"
    SPLIT_BILLING = "split_billing"  # the driver's price of a split-billing session: zero
    WHITELIST = "whitelist"  # free
    INVALID = "invalid"  # never priced
    NO_TARIFF = "no_tariff"  # nothing set to price it with


@dataclass(frozen=True, slots=True)
class Tariffed:
    """A session priced under one version of a tariff: the engine's totals, and which version."""

    total: Price
    currency: str
    tariff_id: str
    version: int


@dataclass(frozen=True, slots=True)
class PriceLine:
    """What one party pays (the driver) or receives (everyone else) for one session, to the
    cent; ``rate`` is the €/kWh of a reimbursement."""

    party: Party
    basis: Basis
    currency: str
    excl_vat: Decimal
    incl_vat: Decimal
    tariff_id: str | None = None
    tariff_version: int | None = None
    rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PriceFacts:
    """Everything the decision needs, gathered by the service from the stored session."""

    session_type: SessionType
    energy_wh: int
    currency: str = "EUR"
    driver: Tariffed | None = None  # the public tariff or a discount list's, priced
    discounted: bool = False  # ``driver`` is a discount list's tariff
    host: Tariffed | None = None  # the host's remuneration tariff, priced
    emsp_margin_per_kwh: Decimal = ZERO
    licence_rate: Decimal | None = None  # €/kWh, split billing


@dataclass(frozen=True, slots=True)
class SessionToPrice:
    """A finished session as pricing reads it, with the tariffs its station and card point to."""

    session_id: int
    station_id: str
    id_tag: str
    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    session_type: SessionType
    station_tariff_id: str | None  # the public tariff
    host_tariff_id: str | None  # the host's remuneration
    discount_tariff_id: str | None  # of a discount list the card is on at this station


def cents(amount: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit: an amount a person pays or receives."""
    return amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]), rounding=ROUND_HALF_UP)


def reimbursement(energy_wh: int, rate: Decimal, currency: str = "EUR") -> Decimal:
    """kWh × rate, to the cent, no VAT: 3.667 kWh at €0.6654 is €2.44."""
    return cents(Decimal(energy_wh) / 1000 * rate, currency)


def _zero(party: Party, basis: Basis, currency: str) -> PriceLine:
    nothing = cents(ZERO, currency)
    return PriceLine(party, basis, currency, nothing, nothing)


def price_lines(facts: PriceFacts) -> tuple[PriceLine, ...]:
    """The lines of a finished session, the driver's first."""
    currency = facts.currency
    kind = facts.session_type
    if kind is SessionType.INVALID:
        return (_zero(Party.DRIVER, Basis.INVALID, currency),)
    if kind is SessionType.WHITELIST:
        return (_zero(Party.DRIVER, Basis.WHITELIST, currency),)
    if kind is SessionType.SPLIT_BILLING:
        driver = _zero(Party.DRIVER, Basis.SPLIT_BILLING, currency)
        if facts.licence_rate is None:
            return (driver, _zero(Party.EMPLOYEE, Basis.NO_TARIFF, currency))
        amount = reimbursement(facts.energy_wh, facts.licence_rate, currency)
        employee = PriceLine(
            Party.EMPLOYEE,
            Basis.LICENCE_RATE,
            currency,
            amount,
            amount,
            rate=facts.licence_rate,
        )
        return (driver, employee)
    return _normal(facts)


def _normal(facts: PriceFacts) -> tuple[PriceLine, ...]:
    currency = facts.currency
    if facts.driver is None:
        return (_zero(Party.DRIVER, Basis.NO_TARIFF, currency),)
    paid = facts.driver
    _same_currency(paid, currency)
    driver = PriceLine(
        Party.DRIVER,
        Basis.DISCOUNT_LIST if facts.discounted else Basis.PUBLIC_TARIFF,
        currency,
        cents(paid.total.excl_vat, currency),
        cents(_incl(paid.total), currency),
        paid.tariff_id,
        paid.version,
    )
    lines = [driver]
    remainder = driver.excl_vat
    if facts.host is not None:
        _same_currency(facts.host, currency)
        # Hosts are mostly households: what they receive is what their tariff says, VAT
        # included when their tariff has one.
        host = PriceLine(
            Party.HOST,
            Basis.HOST_TARIFF,
            currency,
            cents(facts.host.total.excl_vat, currency),
            cents(_incl(facts.host.total), currency),
            facts.host.tariff_id,
            facts.host.version,
        )
        lines.append(host)
        remainder -= host.excl_vat
    # The service provider's margin never exceeds what is left of the price (a discount list
    # can leave little), and is never negative; the operator keeps the rest, which shows a loss
    # when a host's tariff exceeds the public price.
    emsp = min(
        cents(Decimal(facts.energy_wh) / 1000 * facts.emsp_margin_per_kwh, currency),
        max(remainder, ZERO),
    )
    lines.append(PriceLine(Party.EMSP, Basis.MARGIN, currency, emsp, emsp))
    cpo = remainder - emsp
    lines.append(PriceLine(Party.CPO, Basis.MARGIN, currency, cpo, cpo))
    return tuple(lines)


def _incl(price: Price) -> Decimal:
    # A tariff that says nothing of VAT (OCPI's incl_vat is optional) charges none.
    return price.excl_vat if price.incl_vat is None else price.incl_vat


def _same_currency(priced: Tariffed, currency: str) -> None:
    if priced.currency != currency:
        raise ValueError(f"tariff {priced.tariff_id} is in {priced.currency}, not {currency}")


def line_of(lines: tuple[PriceLine, ...], party: Party) -> PriceLine | None:
    return next((line for line in lines if line.party is party), None)
