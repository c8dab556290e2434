"""The pricing engine: what a session costs under an OCPI 2.2.1 tariff, by the module's rules.

One engine for every price the platform computes from measured charging: a driver's session under
the site's tariff, and equally what a host is paid back for the energy of a split-billing session
(a tariff with only an ENERGY component and no VAT, see ``model.energy_tariff``). Nothing in here
knows who pays whom.

How a session is priced:

- Each charging period lasts until the next one starts (the last until the session ends). A
  period is cut where a restriction's boundary falls inside it (a local time of day, a local
  midnight, a min/max_duration, a min/max_kwh), and its ENERGY, TIME, PARKING_TIME and
  RESERVATION_TIME are shared among the pieces in proportion to their share of the period (the
  period's rate is taken as constant). So a session across midnight or a DST change is priced
  right even when its periods are not cut there.
- Times of day, dates and days of the week are those of the site's time zone at the start of each
  piece (DST-correct through zoneinfo).
- For each piece and each dimension the FIRST element whose restrictions all match and which has a
  component of that dimension applies; no such element: that dimension costs nothing there.
  RESERVATION_TIME is priced by TIME components of elements restricted to a reservation (and only
  by those; an expired reservation prefers RESERVATION_EXPIRES elements).
- FLAT: once per session (the first piece at which a matching element has a FLAT component), and
  once more for a reservation.
- step_size (OCPI CDRs module, "step_size"): once per session for ENERGY, and once for TIME and
  PARKING_TIME together: the dimension of the last piece billed in that group is the one rounded,
  its total billed volume in the session is rounded up to the step of the component used last, and
  the difference is billed at that last piece's price. Charging time followed by parking time is
  therefore not rounded.
- min_price/max_price clamp the total excl. VAT and the total incl. VAT, each on its own; the
  difference is a line of its own (MIN_PRICE/MAX_PRICE).

Rounding: volumes and each line's ``amount`` are exact (never rounded). Only what a person is
charged is rounded, half-up to the currency's minor unit: each line's ``charged`` amount (excl. VAT
and incl. VAT, each from the exact amount). Every total is the sum of the rounded ``charged``
amounts of its lines, so the total always equals the sum of its lines.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, localcontext
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voltflow.domain.money import MINOR_UNITS
from voltflow.domain.tariffs.model import (
    ZERO_PRICE,
    CdrDimension,
    ChargingPeriod,
    DayOfWeek,
    Price,
    PriceComponent,
    ReservationRestriction,
    Tariff,
    TariffDimension,
    TariffError,
    TariffRestrictions,
)

DEFAULT_TIME_ZONE = "Europe/Brussels"

# Measured volumes that add up over time (the others, like MAX_POWER, describe a period).
_ADDITIVE = (
    CdrDimension.ENERGY,
    CdrDimension.TIME,
    CdrDimension.PARKING_TIME,
    CdrDimension.RESERVATION_TIME,
)


class LineKind(enum.StrEnum):
    """What a line bills; each kind adds up into one of the CDR's totals."""

    FIXED = "FIXED"  # FLAT of the charging session (start fee): total_fixed_cost
    ENERGY = "ENERGY"  # total_energy_cost
    TIME = "TIME"  # charging time: total_time_cost
    PARKING_TIME = "PARKING_TIME"  # total_parking_cost
    RESERVATION = "RESERVATION"  # reservation time and fee: total_reservation_cost
    MIN_PRICE = "MIN_PRICE"  # raises the total to the tariff's min_price
    MAX_PRICE = "MAX_PRICE"  # lowers the total to the tariff's max_price


# Each measured dimension: the line it makes and the tariff dimension that prices it.
_PRICED: Mapping[CdrDimension, tuple[LineKind, TariffDimension]] = {
    CdrDimension.ENERGY: (LineKind.ENERGY, TariffDimension.ENERGY),
    CdrDimension.TIME: (LineKind.TIME, TariffDimension.TIME),
    CdrDimension.PARKING_TIME: (LineKind.PARKING_TIME, TariffDimension.PARKING_TIME),
    CdrDimension.RESERVATION_TIME: (LineKind.RESERVATION, TariffDimension.TIME),
}

# step_size is applied once per group (OCPI: ENERGY; TIME and PARKING_TIME together).
_STEP_GROUP = {
    LineKind.ENERGY: "energy",
    LineKind.TIME: "time",
    LineKind.PARKING_TIME: "time",
    LineKind.RESERVATION: "reservation",
}
# step_size units per unit of volume: Wh per kWh, seconds per hour.
_STEP_UNITS = {TariffDimension.ENERGY: 1000, TariffDimension.TIME: 3600}
_STEP_UNITS[TariffDimension.PARKING_TIME] = 3600

_US = 1_000_000
_UNRESTRICTED = TariffRestrictions()


# --- what matching needs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moment:
    """The facts of a session at one instant that a tariff's restrictions are matched against.

    ``energy_kwh`` and ``duration_s`` are what the session had used so far (exact fractions);
    current (A) and power (kW) are the lowest and highest the period reported (None: not
    measured, and a restriction on it does not match); ``reservation`` the reservation
    restrictions whose elements price it, () for the charging session itself.
    """

    local: datetime
    energy_kwh: Fraction
    duration_s: Fraction
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    reservation: tuple[ReservationRestriction, ...] = ()


def time_zone_of(name: str | tzinfo) -> tzinfo:
    if isinstance(name, tzinfo):
        return name
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TariffError(
            f"{name!r} is not a time zone", "time_zone", "time_zone", value=repr(name)
        ) from None


def _first(dimensions: Mapping[CdrDimension, Decimal], *kinds: CdrDimension) -> Decimal | None:
    return next((dimensions[k] for k in kinds if k in dimensions), None)


def moment_at(
    instant: datetime,
    *,
    session_start: datetime,
    energy_kwh: Decimal | Fraction,
    dimensions: Mapping[CdrDimension, Decimal],
    time_zone: str | tzinfo = DEFAULT_TIME_ZONE,
    reservation: tuple[ReservationRestriction, ...] = (),
) -> Moment:
    """The facts matching needs at ``instant`` of a period that measured ``dimensions``: local
    time at the site, kWh and seconds used so far, and the period's current and power (a min_*
    restriction reads the period's lowest value, a max_* its highest: MIN_/MAX_ when measured,
    else the average CURRENT/POWER, else the other bound)."""
    return Moment(
        # Through UTC: astimezone to the zone an instant is already in would keep a wall time
        # that does not exist.
        local=instant.astimezone(UTC).astimezone(time_zone_of(time_zone)),
        energy_kwh=Fraction(energy_kwh),
        duration_s=Fraction(_microseconds(instant - session_start), _US),
        min_current=_first(
            dimensions, CdrDimension.MIN_CURRENT, CdrDimension.CURRENT, CdrDimension.MAX_CURRENT
        ),
        max_current=_first(
            dimensions, CdrDimension.MAX_CURRENT, CdrDimension.CURRENT, CdrDimension.MIN_CURRENT
        ),
        min_power=_first(
            dimensions, CdrDimension.MIN_POWER, CdrDimension.POWER, CdrDimension.MAX_POWER
        ),
        max_power=_first(
            dimensions, CdrDimension.MAX_POWER, CdrDimension.POWER, CdrDimension.MIN_POWER
        ),
        reservation=reservation,
    )


def restrictions_match(restrictions: TariffRestrictions | None, moment: Moment) -> bool:
    """Whether an element with these restrictions applies at ``moment`` (all must hold)."""
    wanted = None if restrictions is None else restrictions.reservation
    if wanted is None:
        if moment.reservation:
            return False  # an element for charging never prices a reservation
    elif wanted not in moment.reservation:
        return False
    if restrictions is None:
        return True
    r = restrictions
    local = moment.local.replace(tzinfo=None)
    clock = local.time()
    if r.start_time is not None and r.end_time is not None:
        if r.start_time < r.end_time:
            if not r.start_time <= clock < r.end_time:
                return False
        elif not (clock >= r.start_time or clock < r.end_time):  # wraps past midnight
            return False
    elif (r.start_time is not None and clock < r.start_time) or (
        r.end_time is not None and clock >= r.end_time
    ):
        return False
    day = local.date()
    if r.start_date is not None and day < r.start_date:
        return False
    if r.end_date is not None and day >= r.end_date:
        return False
    if r.day_of_week and DayOfWeek.of(day) not in r.day_of_week:
        return False
    checks: Iterable[tuple[Decimal | int | None, Decimal | Fraction | None, bool]] = (
        (r.min_kwh, moment.energy_kwh, True),
        (r.max_kwh, moment.energy_kwh, False),
        (r.min_duration, moment.duration_s, True),
        (r.max_duration, moment.duration_s, False),
        (r.min_current, moment.min_current, True),
        (r.max_current, moment.max_current, False),
        (r.min_power, moment.min_power, True),
        (r.max_power, moment.max_power, False),
    )
    for bound, value, is_min in checks:
        if bound is None:
            continue
        if value is None:
            return False
        # min_* inclusive, max_* exclusive.
        if (is_min and value < bound) or (not is_min and value >= bound):
            return False
    return True


def find_component(
    tariff: Tariff, dimension: TariffDimension, moment: Moment
) -> tuple[int, PriceComponent] | None:
    """The first element (its index) matching at ``moment`` with a component of ``dimension``."""
    for tier in moment.reservation or (None,):
        for index, element in enumerate(tariff.elements):
            restriction = None if element.restrictions is None else element.restrictions.reservation
            if restriction != tier:
                continue
            component = element.component(dimension)
            if component is not None and restrictions_match(element.restrictions, moment):
                return index, component
    return None


# --- cutting periods where restrictions change --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch of one charging period within which no restriction changes."""

    period_index: int
    start: datetime
    moment: Moment
    volumes: Mapping[CdrDimension, Fraction]
    reservation_only: bool  # the period measured reservation time and nothing else


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _clock_changes(start: datetime, end: datetime, zone: tzinfo) -> list[datetime]:
    """The instants in (start, end) at which the zone's offset from UTC changes."""
    changes = []
    low = start.astimezone(UTC)
    while low < end:
        high = min(low + timedelta(hours=12), end.astimezone(UTC))
        if low.astimezone(zone).utcoffset() != high.astimezone(zone).utcoffset():
            before, after = low, high
            while after - before > timedelta(seconds=1):
                middle = before + (after - before) / 2
                if middle.astimezone(zone).utcoffset() == before.astimezone(zone).utcoffset():
                    before = middle
                else:
                    after = middle
            # Offsets change on a whole second, the only one in (before, after].
            changes.append(after.replace(microsecond=0))
        low = high
    return [c for c in changes if start < c < end]


def _cuts(
    tariff: Tariff,
    start: datetime,
    end: datetime,
    session_start: datetime,
    energy_before: Fraction,
    energy: Fraction,
    zone: tzinfo,
) -> dict[Fraction, datetime]:
    """Where in (0, 1) of the period a restriction's boundary falls, and at what instant."""
    length = _microseconds(end - start)
    cuts: dict[Fraction, datetime] = {}
    restrictions = [e.restrictions for e in tariff.elements if e.restrictions is not None]
    if all(r == _UNRESTRICTED for r in restrictions):
        # Every element applies everywhere: a period cut anywhere is priced by the same
        # elements, its pieces add up to it exactly, and so do the lines. Not cutting it
        # changes nothing but the work (a local midnight, a clock change: the common cuts).
        return cuts
    if length > 0:
        clocks = {datetime.min.time()}
        for r in restrictions:
            clocks.update(t for t in (r.start_time, r.end_time) if t is not None)
        day = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date()
        while day <= last:
            for clock in clocks:
                for fold in (0, 1):  # a wall time that occurs twice when the clocks go back
                    # As a UTC instant: a wall time the clocks skip is then a real moment.
                    wall = datetime.combine(day, clock, tzinfo=zone).replace(fold=fold)
                    instant = wall.astimezone(UTC)
                    if start < instant < end:
                        cuts[Fraction(_microseconds(instant - start), length)] = instant
            day += timedelta(days=1)
        # A wall time in the hour skipped when the clocks go forward is no instant: the window
        # it opens or closes changes when the clocks change.
        for instant in _clock_changes(start, end, zone):
            cuts[Fraction(_microseconds(instant - start), length)] = instant
        offset = _microseconds(start - session_start)
        for r in restrictions:
            for seconds in (r.min_duration, r.max_duration):
                if seconds is not None and 0 < seconds * _US - offset < length:
                    cuts[Fraction(seconds * _US - offset, length)] = start + timedelta(
                        microseconds=seconds * _US - offset
                    )
    if energy > 0:
        for r in restrictions:
            for kwh in (r.min_kwh, r.max_kwh):
                if kwh is not None and energy_before < kwh < energy_before + energy:
                    share = (Fraction(kwh) - energy_before) / energy
                    cuts[share] = start + timedelta(microseconds=round(share * length))
    return cuts


def cut_periods(
    tariff: Tariff,
    periods: Sequence[ChargingPeriod],
    session_start: datetime,
    session_end: datetime,
    time_zone: str | tzinfo = DEFAULT_TIME_ZONE,
) -> list[Piece]:
    """The session's periods cut where any of the tariff's restrictions may change."""
    zone = time_zone_of(time_zone)
    pieces: list[Piece] = []
    energy_before = Fraction(0)
    for index, period in enumerate(periods):
        start = period.start_date_time
        end = periods[index + 1].start_date_time if index + 1 < len(periods) else session_end
        if end < start:
            # Periods are in order when parsed; handed over otherwise, say which one is not.
            if index + 1 < len(periods):
                raise TariffError(
                    "starts before the period before it",
                    f"charging_periods[{index + 1}].start_date_time",
                    "period_order",
                )
            raise TariffError(
                "lies outside the session",
                f"charging_periods[{index}].start_date_time",
                "outside_session",
            )
        volumes = {
            kind: Fraction(period.dimensions[kind])
            for kind in _ADDITIVE
            if kind in period.dimensions
        }
        energy = volumes.get(CdrDimension.ENERGY, Fraction(0))
        cuts = _cuts(tariff, start, end, session_start, energy_before, energy, zone)
        shares = [Fraction(0), *sorted(cuts), Fraction(1)]
        reservation_only = CdrDimension.RESERVATION_TIME in volumes and not any(
            volumes.get(k) for k in _ADDITIVE if k is not CdrDimension.RESERVATION_TIME
        )
        given = {kind: Fraction(0) for kind in volumes}
        for n in range(len(shares) - 1):
            low, high = shares[n], shares[n + 1]
            last = n == len(shares) - 2
            # The last piece takes what is left, so the pieces add up to the period exactly.
            piece_volumes = {
                kind: (volume - given[kind]) if last else volume * (high - low)
                for kind, volume in volumes.items()
            }
            for kind, volume in piece_volumes.items():
                given[kind] += volume
            instant = cuts.get(low, start)
            moment = moment_at(
                instant,
                session_start=session_start,
                energy_kwh=energy_before + energy * low,
                dimensions=period.dimensions,
                time_zone=zone,
            )
            pieces.append(Piece(index, instant, moment, piece_volumes, reservation_only))
        energy_before += energy
    return pieces


# --- pricing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceLine:
    """One thing billed: ``volume`` of ``dimension`` (kWh, hours, or 1 for FLAT) at
    ``unit_price`` excl. VAT with ``vat`` percent (None: no VAT applies), from the tariff's element
    ``element_index``. ``step_volume`` is the part of the volume added by step_size rounding.

    ``amount`` is exact (volume × unit price, and with VAT); ``charged`` is ``amount`` rounded
    half-up to the cent: what the person pays (or receives). MIN_PRICE/MAX_PRICE lines have no
    dimension, volume 1 and their amount as unit price.
    """

    kind: LineKind
    dimension: TariffDimension | None
    element_index: int | None
    volume: Decimal
    unit_price: Decimal
    vat: Decimal | None
    step_volume: Decimal
    amount: Price
    charged: Price


@dataclass(frozen=True, slots=True)
class PricedSession:
    """A session priced: its lines and the CDR's totals (each the sum of its lines' ``charged``
    amounts, so rounded to the cent), plus the measured totals (exact)."""

    currency: str
    lines: tuple[PriceLine, ...]
    total_cost: Price
    total_fixed_cost: Price
    total_energy_cost: Price
    total_time_cost: Price
    total_parking_cost: Price
    total_reservation_cost: Price
    total_energy: Decimal  # kWh
    total_time: Decimal  # hours, the whole session
    total_parking_time: Decimal  # hours
    total_reservation_time: Decimal  # hours


@dataclass(slots=True)
class _Charge:
    kind: LineKind
    dimension: TariffDimension
    element_index: int
    component: PriceComponent
    volume: Fraction
    step: Fraction = Fraction(0)


def _decimal(value: Fraction) -> Decimal:
    with localcontext() as context:
        context.prec = 40
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1)) if exact == exact.to_integral_value() else exact


def _half_up(value: Fraction, currency: str) -> Decimal:
    places = MINOR_UNITS[currency]
    scaled = value * 10**places
    units = (
        math.floor(scaled + Fraction(1, 2))
        if scaled >= 0
        else -math.floor(-scaled + Fraction(1, 2))
    )
    return Decimal(units).scaleb(-places)


def _with_vat(amount: Fraction, vat: Decimal | None) -> Fraction:
    return amount if vat is None else amount * (1 + Fraction(vat) / 100)


def _flat(tariff: Tariff, kind: LineKind, moments: Iterable[Moment]) -> _Charge | None:
    for moment in moments:
        found = find_component(tariff, TariffDimension.FLAT, moment)
        if found is not None:
            index, component = found
            return _Charge(kind, TariffDimension.FLAT, index, component, Fraction(1))
    return None


def _apply_steps(charges: list[_Charge]) -> None:
    groups: dict[str, list[_Charge]] = {}
    for charge in charges:
        if charge.kind in _STEP_GROUP:
            groups.setdefault(_STEP_GROUP[charge.kind], []).append(charge)
    for group in groups.values():
        last = group[-1]
        total = sum(
            (c.volume for c in group if (c.kind, c.dimension) == (last.kind, last.dimension)),
            Fraction(0),
        )
        units = total * _STEP_UNITS[last.dimension]
        step = last.component.step_size
        billed = math.ceil(units / step) * step
        last.step = Fraction(billed) / _STEP_UNITS[last.dimension] - total


def price_session(
    tariff: Tariff,
    charging_periods: Sequence[ChargingPeriod],
    session_start: datetime,
    session_end: datetime,
    *,
    time_zone: str | tzinfo = DEFAULT_TIME_ZONE,
    currency: str | None = None,
    reservation_expired: bool = False,
) -> PricedSession:
    """Price a session's OCPI charging periods under ``tariff`` (see the module's docstring).

    ``currency``: the currency of what is priced (a CDR's, a contract's); refused when it is not
    the tariff's. ``reservation_expired``: the session is a reservation that expired without
    charging. Raises TariffError naming the field at fault.
    """
    if currency is not None and currency != tariff.currency:
        raise TariffError(
            f"the tariff is in {tariff.currency}, what it prices in {currency}",
            "currency",
            "currency_mismatch",
            tariff=tariff.currency,
            given=currency,
        )
    if session_end < session_start:
        raise TariffError(
            "must not come before start_date_time",
            "end_date_time",
            "before_start",
            other="start_date_time",
        )
    if not tariff.in_force_at(session_start):
        raise TariffError(
            f"tariff {tariff.id} is not in force when the session starts",
            "start_date_time",
            "not_in_force",
            tariff=tariff.id,
        )
    if charging_periods and charging_periods[0].start_date_time < session_start:
        raise TariffError(
            "lies outside the session", "charging_periods[0].start_date_time", "outside_session"
        )
    pieces = cut_periods(tariff, charging_periods, session_start, session_end, time_zone)
    reserving = (
        (ReservationRestriction.RESERVATION_EXPIRES, ReservationRestriction.RESERVATION)
        if reservation_expired
        else (ReservationRestriction.RESERVATION,)
    )

    charges: list[_Charge] = []
    charging_moments = [p.moment for p in pieces if not p.reservation_only]
    if not pieces:
        charging_moments = [
            moment_at(
                session_start,
                session_start=session_start,
                energy_kwh=Decimal(0),
                dimensions={},
                time_zone=time_zone,
            )
        ]
    reservation_moments = [
        replace(p.moment, reservation=reserving)
        for p in pieces
        if p.volumes.get(CdrDimension.RESERVATION_TIME)
    ]
    for flat in (
        _flat(tariff, LineKind.RESERVATION, reservation_moments),
        _flat(tariff, LineKind.FIXED, charging_moments),
    ):
        if flat is not None:
            charges.append(flat)
    for piece in pieces:
        for measured, volume in piece.volumes.items():
            if volume <= 0:
                continue
            kind, dimension = _PRICED[measured]
            moment = piece.moment
            if kind is LineKind.RESERVATION:
                moment = replace(moment, reservation=reserving)
            found = find_component(tariff, dimension, moment)
            if found is not None:
                index, component = found
                charges.append(_Charge(kind, dimension, index, component, volume))
    _apply_steps(charges)
    lines = _lines(charges, tariff.currency)
    lines += _clamp(tariff, lines)

    # Zero in the currency's minor unit (0.00), as every charged amount is written.
    zero = _half_up(Fraction(0), tariff.currency)

    def total(*kinds: LineKind) -> Price:
        return sum((line.charged for line in lines if line.kind in kinds), Price(zero, zero))

    def measured_total(kind: CdrDimension) -> Decimal:
        return sum((p.dimensions.get(kind, Decimal(0)) for p in charging_periods), Decimal(0))

    return PricedSession(
        currency=tariff.currency,
        lines=tuple(lines),
        total_cost=total(*LineKind),
        total_fixed_cost=total(LineKind.FIXED),
        total_energy_cost=total(LineKind.ENERGY),
        total_time_cost=total(LineKind.TIME),
        total_parking_cost=total(LineKind.PARKING_TIME),
        total_reservation_cost=total(LineKind.RESERVATION),
        total_energy=measured_total(CdrDimension.ENERGY),
        total_time=_decimal(Fraction(_microseconds(session_end - session_start), 3600 * _US)),
        total_parking_time=measured_total(CdrDimension.PARKING_TIME),
        total_reservation_time=measured_total(CdrDimension.RESERVATION_TIME),
    )


def _lines(charges: Sequence[_Charge], currency: str) -> list[PriceLine]:
    """One line per kind, dimension, element and price, in the order they were first used."""
    grouped: dict[tuple[LineKind, TariffDimension, int, Decimal, Decimal | None], list[_Charge]]
    grouped = {}
    for charge in charges:
        key = (
            charge.kind,
            charge.dimension,
            charge.element_index,
            charge.component.price,
            charge.component.vat,
        )
        grouped.setdefault(key, []).append(charge)
    lines = []
    for (kind, dimension, element_index, unit_price, vat), group in grouped.items():
        volume = sum((c.volume + c.step for c in group), Fraction(0))
        step = sum((c.step for c in group), Fraction(0))
        excl = volume * Fraction(unit_price)
        incl = _with_vat(excl, vat)
        lines.append(
            PriceLine(
                kind=kind,
                dimension=dimension,
                element_index=element_index,
                volume=_decimal(volume),
                unit_price=unit_price,
                vat=vat,
                step_volume=_decimal(step),
                amount=Price(_decimal(excl), _decimal(incl)),
                charged=Price(_half_up(excl, currency), _half_up(incl, currency)),
            )
        )
    return lines


def _clamp(tariff: Tariff, lines: Sequence[PriceLine]) -> list[PriceLine]:
    """The line that brings the total within min_price and max_price (none when it is)."""
    total = sum((line.charged for line in lines), ZERO_PRICE)
    excl, incl = total.excl_vat, total.incl_vat
    assert incl is not None
    kind: LineKind | None = None
    for bound, is_min in ((tariff.min_price, True), (tariff.max_price, False)):
        if bound is None:
            continue
        limit_excl = _half_up(Fraction(bound.excl_vat), tariff.currency)
        if (is_min and excl < limit_excl) or (not is_min and excl > limit_excl):
            excl, kind = limit_excl, LineKind.MIN_PRICE if is_min else LineKind.MAX_PRICE
        if bound.incl_vat is not None:
            limit_incl = _half_up(Fraction(bound.incl_vat), tariff.currency)
            if (is_min and incl < limit_incl) or (not is_min and incl > limit_incl):
                incl, kind = limit_incl, LineKind.MIN_PRICE if is_min else LineKind.MAX_PRICE
    if kind is None:
        return []
    assert total.incl_vat is not None
    difference = Price(excl - total.excl_vat, incl - total.incl_vat)
    return [
        PriceLine(
            kind=kind,
            dimension=None,
            element_index=None,
            volume=Decimal(1),
            unit_price=difference.excl_vat,
            vat=None,
            step_volume=Decimal(0),
            amount=difference,
            charged=difference,
        )
    ]
