"""Split-billing licences (DESIGN §2 E): a device at an employee's home, the employee's cards, the
employer who reimburses, and the reimbursement policy in force when each session started.

A licence names its device: a station on the platform (OCPP), or an external device (a smart
charging cable such as NRGkick, a meter) whose sessions come in by import or API. Only sessions
at that device with one of the licence's cards, started within the licence's validity, are split
billing. Their reimbursement is the energy times the rate of the policy in force at the session's
start: a change of policy applies to sessions that start from its moment on, never to earlier
ones. The rate is either one the employer picks (a fixed rate, or the employer's own price) or
the regulator's: in Belgium the CREG rate of the employee's region, published each quarter.
Reimbursements carry no VAT (the employee sells electricity as a private person).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from voltflow.domain.money import Money
from voltflow.domain.session_prices import Basis, Party, PriceLine, cents
from voltflow.domain.session_types import SessionType

# CREG quarters follow Belgian local dates.
BRUSSELS = ZoneInfo("Europe/Brussels")
CENT = Decimal("0.01")
# A rate people type: positive, under €10/kWh, at most four decimals (CREG publishes four).
MAX_RATE = Decimal("10")
RATE_PLACES = 4


class LicenceError(ValueError):
    """A licence or rate that cannot be: ``code`` says what (texts in ``i18n.terms``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Region(enum.StrEnum):
    FLANDERS = "flanders"
    WALLONIA = "wallonia"
    BRUSSELS = "brussels"


class DeviceKind(enum.StrEnum):
    STATION = "station"  # an OCPP station of the platform
    CABLE = "cable"  # a smart charging cable (NRGkick)
    METER = "meter"  # a meter whose readings come in by import


class RateSource(enum.StrEnum):
    FIXED = "fixed"
    CREG = "creg"
    EMPLOYER = "employer"


@dataclass(frozen=True, slots=True, order=True)
class Quarter:
    year: int
    number: int  # 1–4

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise ValueError(f"quarter {self.number}: 1–4")

    @classmethod
    def of_date(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def of_instant(cls, instant: datetime, zone: ZoneInfo = BRUSSELS) -> Quarter:
        """The quarter of ``instant``'s local date in ``zone`` (Belgium's, for CREG rates)."""
        if instant.tzinfo is None:
            raise ValueError("an instant needs its offset")
        return cls.of_date(instant.astimezone(zone).date())

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"


@dataclass(frozen=True, slots=True)
class CregQuarterRate:
    """The regulator's published rate for a region and quarter, €/kWh, no VAT."""

    region: Region
    quarter: Quarter
    per_kwh: Decimal


class CregTable:
    """The CREG rates the operator keeps, by region and quarter."""

    def __init__(self, rates: Iterable[CregQuarterRate] = ()) -> None:
        self._rates: dict[tuple[Region, Quarter], Decimal] = {
            (r.region, r.quarter): r.per_kwh for r in rates
        }

    def rate(self, region: Region, quarter: Quarter) -> Decimal | None:
        return self._rates.get((region, quarter))

    def rate_at(self, region: Region, instant: datetime) -> Decimal | None:
        return self.rate(region, Quarter.of_instant(instant))

    def entries(self) -> list[CregQuarterRate]:
        return [
            CregQuarterRate(region, quarter, rate)
            for (region, quarter), rate in sorted(self._rates.items(), key=lambda kv: kv[0][1])
        ]


def _quarters(year: int, region: Region, rates: tuple[str, str, str, str]) -> list[CregQuarterRate]:
    return [CregQuarterRate(region, Quarter(year, n), Decimal(r)) for n, r in enumerate(rates, 1)]


# 2025's published rates (€/kWh, Q1–Q4); the operator keeps the table from there on.
CREG_2025: tuple[CregQuarterRate, ...] = (
    *_quarters(2025, Region.FLANDERS, ("0.2822", "0.3194", "0.3456", "0.3070")),
    *_quarters(2025, Region.WALLONIA, ("0.3256", "0.3617", "0.3843", "0.3457")),
    *_quarters(2025, Region.BRUSSELS, ("0.3294", "0.3585", "0.3787", "0.3356")),
)


# -- reimbursement policies ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FixedRate:
    """A rate per kWh agreed with the employee."""

    per_kwh: Decimal
    source: RateSource = field(default=RateSource.FIXED, init=False)


@dataclass(frozen=True, slots=True)
class EmployerRate:
    """The employer's own price per kWh (what charging at the company costs it)."""

    per_kwh: Decimal
    source: RateSource = field(default=RateSource.EMPLOYER, init=False)


@dataclass(frozen=True, slots=True)
class CregRate:
    """The CREG rate of the employee's region, for the quarter of each session's start."""

    region: Region
    source: RateSource = field(default=RateSource.CREG, init=False)


Policy = FixedRate | EmployerRate | CregRate


def check_rate(value: Decimal) -> Decimal:
    """A rate per kWh as people may set it; refuses (``LicenceError``) anything else."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise LicenceError("rate_invalid", f"rate {value!r}: a decimal number")
    exponent = value.normalize().as_tuple().exponent
    if not Decimal(0) < value < MAX_RATE or (isinstance(exponent, int) and -exponent > RATE_PLACES):
        raise LicenceError(
            "rate_invalid", f"rate {value}: over 0 and under {MAX_RATE}, at most 4 decimals"
        )
    return value


def as_published(rate: Decimal) -> Decimal:
    """A rate with the decimals it was set with, at most four: a database that keeps more
    places (PostgreSQL's NUMERIC gives 0.665400) shows it as people typed it (0.6654)."""
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > RATE_PLACES:
        trimmed = rate.quantize(Decimal(1).scaleb(-RATE_PLACES))
        if trimmed == rate:
            return trimmed
    return rate


def policy_of(source: RateSource, per_kwh: Decimal | None, region: Region | None) -> Policy:
    """A policy from its stored form."""
    if source is RateSource.CREG:
        if region is None:
            raise LicenceError("region_missing", "a CREG rate needs a region")
        return CregRate(region)
    if per_kwh is None:
        raise LicenceError("rate_missing", "a fixed or employer rate needs its rate")
    return FixedRate(per_kwh) if source is RateSource.FIXED else EmployerRate(per_kwh)


@dataclass(frozen=True, slots=True)
class RateChange:
    """A policy in force for sessions starting at or after ``effective_from`` (until the next)."""

    effective_from: datetime
    policy: Policy


class AppliedRate(NamedTuple):
    """The rate a session is reimbursed at, and where it comes from."""

    per_kwh: Decimal
    source: RateSource


class NoRate(LookupError):
    """No rate applies: the session began before the licence's first policy, or the CREG table
    has no rate for the quarter yet."""


@dataclass(frozen=True, slots=True)
class DeviceRef:
    kind: DeviceKind
    id: str

    @property
    def is_station(self) -> bool:
        return self.kind is DeviceKind.STATION


@dataclass(frozen=True, slots=True)
class SplitBillingLicence:
    """Validity: ``[valid_from, valid_until)``; ``valid_until`` None: open-ended."""

    id: int
    employer_id: int
    employee_id: int | None
    device: DeviceRef
    cards: frozenset[str]
    valid_from: datetime
    valid_until: datetime | None
    rates: tuple[RateChange, ...]

    def __post_init__(self) -> None:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise LicenceError("period_empty", "a licence must end after it starts")
        ordered = tuple(sorted(self.rates, key=lambda c: c.effective_from))
        object.__setattr__(self, "rates", ordered)

    def valid_at(self, instant: datetime) -> bool:
        return self.valid_from <= instant and (
            self.valid_until is None or instant < self.valid_until
        )

    def covers(self, device: DeviceRef, card_uid: str, session_start: datetime) -> bool:
        """Whether a session at ``device`` with ``card_uid``, started at ``session_start``, is
        split billing under this licence."""
        return device == self.device and card_uid in self.cards and self.valid_at(session_start)

    def policy_at(self, session_start: datetime) -> RateChange:
        """The policy in force when a session started: the last change at or before its start."""
        current = None
        for change in self.rates:
            if change.effective_from <= session_start:
                current = change
            else:
                break
        if current is None:
            raise NoRate(f"no rate before {self.rates[0].effective_from if self.rates else '-'}")
        return current

    def rate_for(self, session_start: datetime, creg: CregTable) -> AppliedRate:
        """€/kWh (no VAT) for a session that started at ``session_start``, and its source.
        Raises ``NoRate`` when none applies."""
        policy = self.policy_at(session_start).policy
        if isinstance(policy, CregRate):
            quarter = Quarter.of_instant(session_start)
            rate = creg.rate(policy.region, quarter)
            if rate is None:
                raise NoRate(f"no CREG rate for {policy.region.value} in {quarter}")
            return AppliedRate(rate, RateSource.CREG)
        return AppliedRate(policy.per_kwh, policy.source)

    def check_change(self, change: RateChange, now: datetime) -> None:
        """Refuses a change that would reprice sessions already charged: it may not take effect
        in the past, nor before the last change."""
        if change.effective_from < now:
            raise LicenceError(
                "change_in_past", "a rate change takes effect now or later, never earlier"
            )
        if self.rates and change.effective_from <= self.rates[-1].effective_from:
            raise LicenceError(
                "change_before_last", "a rate change takes effect after the last change"
            )


def energy_kwh(energy_wh: int) -> Decimal:
    return Decimal(energy_wh).scaleb(-3)


def reimbursement(kwh: Decimal, per_kwh: Decimal, currency: str = "EUR") -> Money:
    """kWh × rate, no VAT, rounded half-up to the cent (a line a person is paid)."""
    amount = (kwh * per_kwh).quantize(CENT, rounding=ROUND_HALF_UP)
    return Money(amount, currency)


def licensed(
    licences: Iterable[SplitBillingLicence],
    device: DeviceRef,
    card_uid: str,
    session_start: datetime,
) -> SplitBillingLicence | None:
    """The licence that makes a session split billing, if any."""
    for licence in licences:
        if licence.covers(device, card_uid, session_start):
            return licence
    return None


def parse_region(value: str) -> Region:
    try:
        return Region(value.strip().lower())
    except ValueError:
        raise LicenceError(
            "region_unknown",
            f"region {value!r}: one of {', '.join(r.value for r in Region)}",
        ) from None


def quarter_table(rates: Mapping[tuple[Region, Quarter], Decimal]) -> CregTable:
    return CregTable(CregQuarterRate(r, q, v) for (r, q), v in rates.items())


# -- what the services hand out ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LicenceRecord:
    """A licence with the names people read beside it."""

    licence: SplitBillingLicence
    employer_name: str
    employee_username: str | None
    employee_name: str | None
    created_at: datetime

    @property
    def id(self) -> int:
        return self.licence.id

    @property
    def organisation_id(self) -> int:
        """Who owns it (tenancy): the employer."""
        return self.licence.employer_id


@dataclass(frozen=True, slots=True)
class ExternalDevice:
    id: str
    kind: DeviceKind
    organisation_id: int | None
    label: str | None
    created_at: datetime


class ReimbursementBasis(enum.StrEnum):
    """Why an external device's session is reimbursed what it is, or nothing."""

    LICENCE_RATE = "licence_rate"  # the licence's rate in force at the session's start
    NO_RATE = "no_rate"  # a licence covers it, but no rate applies (the CREG quarter is missing)
    INVALID = "invalid"  # an invalid session is never reimbursed
    NO_LICENCE = "no_licence"  # no licence covers its card at the device when it started


@dataclass(frozen=True, slots=True)
class DeviceReimbursement:
    """What an external device's session is reimbursed, decided once, when it is imported: a
    station's session gets price lines when it closes, an imported one carries this instead.
    ``licence_id``, ``rate`` and ``amount`` are None where ``basis`` says none applies."""

    basis: ReimbursementBasis
    currency: str = "EUR"
    licence_id: int | None = None
    rate: AppliedRate | None = None
    amount: Money | None = None


def device_reimbursement(
    session_type: SessionType,
    licence: SplitBillingLicence | None,
    creg: CregTable,
    started_at: datetime,
    energy_wh: int,
    currency: str = "EUR",
) -> DeviceReimbursement:
    """The reimbursement of an imported session of ``session_type``, under ``licence`` (the one
    covering its card at its start, if any): the energy at the rate in force at its start, to
    the cent, no VAT. An invalid session carries nothing, whatever licence covers it."""
    if session_type is SessionType.INVALID:
        return DeviceReimbursement(ReimbursementBasis.INVALID, currency)
    if session_type is not SessionType.SPLIT_BILLING or licence is None:
        return DeviceReimbursement(ReimbursementBasis.NO_LICENCE, currency)
    try:
        rate = licence.rate_for(started_at, creg)
    except NoRate:
        return DeviceReimbursement(ReimbursementBasis.NO_RATE, currency, licence.id)
    amount = reimbursement(energy_kwh(energy_wh), rate.per_kwh, currency)
    applied = AppliedRate(as_published(rate.per_kwh), rate.source)
    return DeviceReimbursement(
        ReimbursementBasis.LICENCE_RATE, currency, licence.id, applied, amount
    )


_DRIVER_BASIS = {
    SessionType.SPLIT_BILLING: Basis.SPLIT_BILLING,
    SessionType.INVALID: Basis.INVALID,
    SessionType.WHITELIST: Basis.WHITELIST,
}


def device_price_lines(
    session_type: SessionType, reimbursed: DeviceReimbursement
) -> tuple[PriceLine, ...]:
    """An imported session's stored reimbursement as the lines a station's session has: the
    driver pays nothing at a device of their own (nothing charges them through the platform),
    and a split-billing session's employee receives its reimbursement."""
    currency = reimbursed.currency
    nothing = cents(Decimal(0), currency)
    basis = _DRIVER_BASIS.get(session_type, Basis.NO_TARIFF)
    lines = [PriceLine(Party.DRIVER, basis, currency, nothing, nothing)]
    if session_type is SessionType.SPLIT_BILLING:
        if reimbursed.amount is None or reimbursed.rate is None:
            lines.append(PriceLine(Party.EMPLOYEE, Basis.NO_TARIFF, currency, nothing, nothing))
        else:
            amount = reimbursed.amount.amount
            lines.append(
                PriceLine(
                    Party.EMPLOYEE,
                    Basis.LICENCE_RATE,
                    currency,
                    amount,
                    amount,
                    rate=reimbursed.rate.per_kwh,
                )
            )
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class DeviceSession:
    """A session of an external device, as imported, with its reimbursement (None: stored
    without one)."""

    id: int
    device_id: str
    card_uid: str
    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    session_type: str
    type_reason: str | None
    reimbursement: DeviceReimbursement | None = None

    @property
    def ref(self) -> str:
        return device_session_ref(self.id)


# Session references: a station's session is its id ("123", the OCPP transaction id); an
# external device's is "device-<id>" (its own table, its own ids).
DEVICE_SESSION_PREFIX = "device-"


def device_session_ref(session_id: int) -> str:
    return f"{DEVICE_SESSION_PREFIX}{session_id}"


def device_session_id(ref: str) -> int | None:
    """The device session a reference names, or None for a station's session reference."""
    if ref.startswith(DEVICE_SESSION_PREFIX) and ref[len(DEVICE_SESSION_PREFIX) :].isdigit():
        return int(ref[len(DEVICE_SESSION_PREFIX) :])
    return None


@dataclass(frozen=True, slots=True)
class SplitBillingLine:
    """One split-billing session of a licence with what it is reimbursed: the line a payment
    request carries. ``rate`` and ``amount`` are None where no rate applies (``NoRate``)."""

    session_ref: str
    card_uid: str
    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    rate: AppliedRate | None
    amount: Money | None

    @property
    def kwh(self) -> Decimal:
        return energy_kwh(self.energy_wh)


def split_billing_line(
    licence: SplitBillingLicence,
    creg: CregTable,
    session_ref: str,
    card_uid: str,
    started_at: datetime,
    stopped_at: datetime,
    energy_wh: int,
) -> SplitBillingLine:
    try:
        rate: AppliedRate | None = licence.rate_for(started_at, creg)
    except NoRate:
        rate = None
    amount = None if rate is None else reimbursement(energy_kwh(energy_wh), rate.per_kwh)
    return SplitBillingLine(session_ref, card_uid, started_at, stopped_at, energy_wh, rate, amount)
