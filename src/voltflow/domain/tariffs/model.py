"""OCPI 2.2.1 tariffs: a Tariff is a list of elements, each a group of price components that apply
under the same restrictions. Amounts and volumes are Decimal, never float."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from voltflow.domain.money import MINOR_UNITS


class TariffError(ValueError):
    """A tariff (or what it prices) breaks a rule of the OCPI tariffs module: ``field`` is the path
    of the input at fault (``elements[1].price_components[0].step_size``), ``reason`` the rule and
    ``values`` what broke it. The message is English (for logs); people read it translated from
    ``reason`` and ``values`` (voltflow.i18n.refusals.tariff_error)."""

    def __init__(self, message: str, field: str, reason: str, **values: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = reason
        self.values = values


class TariffDimension(enum.StrEnum):
    """What a price component prices (OCPI TariffDimensionType)."""

    ENERGY = "ENERGY"  # per kWh, step_size in Wh
    FLAT = "FLAT"  # once, no unit
    PARKING_TIME = "PARKING_TIME"  # per hour not charging, step_size in seconds
    TIME = "TIME"  # per hour charging (or reserved), step_size in seconds


class TariffType(enum.StrEnum):
    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


class DayOfWeek(enum.StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @classmethod
    def of(cls, day: date) -> DayOfWeek:
        return list(cls)[day.weekday()]


class ReservationRestriction(enum.StrEnum):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


@dataclass(frozen=True, slots=True)
class Price:
    """An OCPI Price: an amount without and with VAT (``incl_vat`` optional in a tariff's
    min_price/max_price, always set in what the pricing engine computes)."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None

    def __add__(self, other: Price) -> Price:
        incl = None
        if self.incl_vat is not None and other.incl_vat is not None:
            incl = self.incl_vat + other.incl_vat
        return Price(self.excl_vat + other.excl_vat, incl)


ZERO_PRICE = Price(Decimal(0), Decimal(0))


@dataclass(frozen=True, slots=True)
class DisplayText:
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """Price per unit of ``type`` excl. VAT; ``vat`` a percentage (None: no VAT applies, which
    is not 0 %); ``step_size`` the block billed: Wh for ENERGY, seconds for TIME/PARKING_TIME."""

    type: TariffDimension
    price: Decimal
    vat: Decimal | None
    step_size: int


@dataclass(frozen=True, slots=True)
class TariffRestrictions:
    """When an element applies: every restriction that is set must hold (a logical AND).

    Times and dates are local to the site; ``end_time`` before ``start_time`` wraps past
    midnight; ``end_date``, ``max_*`` are exclusive and ``start_date``, ``min_*`` inclusive.
    """

    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None  # seconds
    max_duration: int | None = None  # seconds
    day_of_week: tuple[DayOfWeek, ...] = ()
    reservation: ReservationRestriction | None = None


@dataclass(frozen=True, slots=True)
class TariffElement:
    price_components: tuple[PriceComponent, ...]
    restrictions: TariffRestrictions | None = None

    def component(self, dimension: TariffDimension) -> PriceComponent | None:
        return next((c for c in self.price_components if c.type is dimension), None)


@dataclass(frozen=True, slots=True)
class Tariff:
    country_code: str
    party_id: str
    id: str
    currency: str
    elements: tuple[TariffElement, ...]
    last_updated: datetime
    type: TariffType | None = None
    tariff_alt_text: tuple[DisplayText, ...] = ()
    tariff_alt_url: str | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    # Kept as given (OCPI EnergyMix of the locations module): pricing does not read it.
    energy_mix: Mapping[str, Any] | None = field(default=None, compare=False)

    def in_force_at(self, moment: datetime) -> bool:
        """Whether a session that started at ``moment`` is priced by this tariff."""
        if self.start_date_time is not None and moment < self.start_date_time:
            return False
        return self.end_date_time is None or moment < self.end_date_time


class CdrDimension(enum.StrEnum):
    """What a charging period measured (OCPI CdrDimensionType)."""

    CURRENT = "CURRENT"  # A, average
    ENERGY = "ENERGY"  # kWh
    ENERGY_EXPORT = "ENERGY_EXPORT"  # kWh
    ENERGY_IMPORT = "ENERGY_IMPORT"  # kWh
    MAX_CURRENT = "MAX_CURRENT"  # A
    MIN_CURRENT = "MIN_CURRENT"  # A
    MAX_POWER = "MAX_POWER"  # kW
    MIN_POWER = "MIN_POWER"  # kW
    PARKING_TIME = "PARKING_TIME"  # hours
    POWER = "POWER"  # kW, average
    RESERVATION_TIME = "RESERVATION_TIME"  # hours
    STATE_OF_CHARGE = "STATE_OF_CHARGE"  # %
    TIME = "TIME"  # hours charging


@dataclass(frozen=True, slots=True)
class ChargingPeriod:
    """A CDR ChargingPeriod: from ``start_date_time`` until the next period starts (the last until
    the session ends), with what was measured in it."""

    start_date_time: datetime
    dimensions: Mapping[CdrDimension, Decimal]
    tariff_id: str | None = None


@dataclass(frozen=True, slots=True)
class TariffVersion:
    """One version of a stored tariff: in force from ``valid_from`` (its start_date_time, else
    when it was added) until ``valid_until`` (its end_date_time) or a later version's start."""

    tariff: Tariff
    version: int
    valid_from: datetime
    valid_until: datetime | None
    created_at: datetime

    @property
    def tariff_id(self) -> str:
        return self.tariff.id


def in_force(versions: Iterable[TariffVersion], moment: datetime) -> TariffVersion | None:
    """The version that prices a session started at ``moment``: of those started at or before
    it and not ended, the latest to start (the latest added when two start together)."""
    candidates = [
        v
        for v in versions
        if v.valid_from <= moment and (v.valid_until is None or moment < v.valid_until)
    ]
    return max(candidates, key=lambda v: (v.valid_from, v.version), default=None)


def energy_tariff(
    currency: str,
    price_per_kwh: Decimal,
    *,
    vat: Decimal | None = None,
    id: str = "energy",
    country_code: str = "BE",
    party_id: str = "VFL",
    last_updated: datetime,
) -> Tariff:
    """A tariff with one ENERGY price per kWh and no restrictions: what a host is paid back for
    the energy of a split-billing session, priced by the same engine as a driver's tariff."""
    if currency not in MINOR_UNITS:
        allowed = ", ".join(sorted(MINOR_UNITS))
        raise TariffError(
            f"{currency!r} is not a currency we bill in ({allowed})",
            "currency",
            "currency",
            value=repr(currency),
            allowed=allowed,
        )
    if price_per_kwh < 0:
        raise TariffError("must not be negative", "price_per_kwh", "negative")
    component = PriceComponent(TariffDimension.ENERGY, price_per_kwh, vat, 1)
    return Tariff(
        country_code=country_code,
        party_id=party_id,
        id=id,
        currency=currency,
        elements=(TariffElement((component,)),),
        last_updated=last_updated,
    )
