"""A session's charging periods, as an OCPI 2.2.1 CDR carries them: what a tariff prices.

OCPI (CDRs module, ``ChargingPeriod``): "A Charging Period is a period of time that has relevant
Tariff information, so all the information in one Charging Period has the same tariff
relevance." A period has a start (``start_date_time``) and dimensions (``CdrDimension``: a
``type`` and its ``volume``); it lasts until the next period starts, the last one until the
session stops.

**Where a period starts.** A new period starts where the session changes between *charging* and
*parking* (plugged in, not charging): that is what the tariffs we price with tell apart (energy
and time while charging, parking time after it). Not at hour boundaries nor at each power level:
a tariff's time-of-day and power restrictions are applied by the pricing over a period's start,
duration and MAX/MIN dimensions, and splitting at every sample would make a period a reading.

The state starts as charging at the session's start and changes with, in the order of time:

- the connector's status: ``SuspendedEV``, ``SuspendedEVSE`` and ``Finishing`` are parking,
  ``Charging`` is charging; other statuses (``Preparing``, ``Faulted`` …) change nothing. Only
  statuses stamped within the session count (a status before the start is the previous
  driver's, or the plug-in before authorisation).
- the power the meter measured (``Power.Active.Import``), once the session has charged: a
  reading at or below :data:`IDLE_POWER_W` is parking and one above it is charging (before the
  first reading above it the car may still be waking up: low readings then change nothing).
  When a status and a power reading share an instant, the power reading wins.
- only for a station that sent neither power readings nor any of those statuses during the
  session, the energy register: an interval between two readings in which it did not rise,
  once it has risen, is parking from the first of them; an interval in which it rose is
  charging. The interval from the last reading to the stop counts with the meter stop as its
  end reading. A coarse guess (the register's steps, a meter held after going backwards), so it
  never overrides what the station said.
- A signal at the very start sets the state the session starts in.

**Energy** (ENERGY, kWh). The energy register, in the order of the readings' times (a station's
backlog arrives out of order), from the meter start at the session's start to the meter stop
at its stop. A reading below an earlier one (a meter going backwards) is held at the highest so
far and the period it falls in is flagged :attr:`PeriodFlag.METER_BACKWARDS`, so that no period
ever has negative energy; the meter stop is held likewise. Without readings, or when they stop
early, the energy up to the meter stop is the last interval's. Within an interval between two
readings, the energy is shared over the interval's *charging* time in proportion to time (the
car drew nothing while parked); an interval with no charging time shares it over its whole time.
The running total is rounded to the Wh (OCPI's step size for energy) at each period's start, so
the periods' energy adds up exactly to the meter stop minus the meter start.

**Time** (TIME: hours charging; PARKING_TIME: hours parked). A period is all charging or all
parking, so it has one of the two: its length, in hours, as the time since the session's start
rounded to 6 decimals at each end, so the periods add up to the session's length.

**Power and current** (MAX_POWER / MIN_POWER in kW, MAX_CURRENT / MIN_CURRENT in A), in the
periods where the station measured them. A reading without a phase is the whole; readings per
phase (L1, L2, L3, or L1-N …) of one instant are summed into the whole when no reading without a
phase was sent for that instant. Current is the sum over the phases because that is what OCPI's
tariff restrictions compare with ("sum of the minimum current over all phases"); the neutral
(``N``) and line-to-line phases are not added. Several readings of one measurand, phase and
instant (contexts, locations) count as their highest. Energy readings per phase are handled
the same way.

Times are UTC throughout: a day with a clock change is just a day with 23 or 25 hours.
"""

from __future__ import annotations

import enum
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

ENERGY_REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"

# A power reading at or below this, after the session has charged, is a car not charging.
IDLE_POWER_W = Decimal(100)

PARKING_STATUSES = frozenset({"SuspendedEV", "SuspendedEVSE", "Finishing"})
CHARGING_STATUS = "Charging"

_WH = Decimal(1)
_HOURS = Decimal("0.000001")
_US_PER_HOUR = Decimal(3_600_000_000)
_THOUSAND = Decimal(1000)
_PHASES = frozenset({"L1", "L2", "L3", "L1-N", "L2-N", "L3-N"})
# To the base unit (Wh, W, A); "" is what the store keeps when a station sent no unit, and
# OCPP's default unit is the base one.
_UNITS: dict[str, dict[str, Decimal]] = {
    ENERGY_REGISTER: {"Wh": Decimal(1), "": Decimal(1), "kWh": _THOUSAND},
    POWER: {"W": Decimal(1), "": Decimal(1), "kW": _THOUSAND},
    CURRENT: {"A": Decimal(1), "": Decimal(1)},
}


class DimensionType(enum.StrEnum):
    """The OCPI 2.2.1 ``CdrDimensionType`` values a period from OCPP data carries."""

    ENERGY = "ENERGY"  # kWh
    TIME = "TIME"  # hours charging
    PARKING_TIME = "PARKING_TIME"  # hours plugged in, not charging
    MAX_POWER = "MAX_POWER"  # kW
    MIN_POWER = "MIN_POWER"  # kW
    MAX_CURRENT = "MAX_CURRENT"  # A, summed over the phases
    MIN_CURRENT = "MIN_CURRENT"  # A, summed over the phases


class PeriodFlag(enum.StrEnum):
    """What the platform noticed in a period's data (not part of OCPI's JSON)."""

    # The energy register went below an earlier reading (or the meter stop below a reading or
    # the meter start): held at the highest so far.
    METER_BACKWARDS = "METER_BACKWARDS"


@dataclass(frozen=True, slots=True)
class Dimension:
    type: DimensionType
    volume: Decimal


@dataclass(frozen=True, slots=True)
class ChargingPeriod:
    """From ``start`` (UTC) until the next period's start, or the session's stop."""

    start: datetime
    dimensions: tuple[Dimension, ...]
    flags: frozenset[PeriodFlag] = field(default=frozenset())

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("a charging period's start must carry its time zone")
        types = [d.type for d in self.dimensions]
        if len(set(types)) != len(types):
            raise ValueError(f"a dimension type appears twice in one period: {types}")

    def volume(self, type: DimensionType) -> Decimal | None:
        """The period's volume of ``type``; None when the period has no such dimension."""
        for dimension in self.dimensions:
            if dimension.type == type:
                return dimension.volume
        return None

    @property
    def charging(self) -> bool:
        """A charging period (TIME), not a parking one (PARKING_TIME)."""
        return self.volume(DimensionType.TIME) is not None

    @property
    def energy_kwh(self) -> Decimal:
        return self.volume(DimensionType.ENERGY) or Decimal(0)


class Reading(NamedTuple):
    """A sampled value as the store keeps it (``meter_values``)."""

    timestamp: datetime
    measurand: str
    value: Decimal
    unit: str
    phase: str | None = None


class StatusChange(NamedTuple):
    """A connector's status as the station reported it (``connector_status_history``)."""

    timestamp: datetime
    status: str


ReadingLike = tuple[datetime, str, Decimal, str] | tuple[datetime, str, Decimal, str, str | None]


def periods_from(
    start: datetime,
    stop: datetime,
    meter_start_wh: int,
    meter_stop_wh: int | None,
    readings: Iterable[ReadingLike] = (),
    statuses: Iterable[tuple[datetime, str]] = (),
) -> tuple[ChargingPeriod, ...]:
    """The charging periods of a session that ran from ``start`` to ``stop`` (aware times),
    with the meter at ``meter_start_wh`` and ``meter_stop_wh`` (None: the last energy reading,
    or no energy without one), its ``readings`` (any order; other measurands and readings
    outside the session are ignored) and its connector's ``statuses``. See the module's text.
    """
    start, stop = _utc(start), _utc(stop)
    if stop < start:
        raise ValueError(f"the session stops ({stop}) before it starts ({start})")
    energy, power, current = _sampled(readings, start, stop)
    final = Decimal(meter_stop_wh) if meter_stop_wh is not None else None
    if final is None:
        final = energy[-1][1] if energy else Decimal(meter_start_wh)
    curve, backwards = _register_curve(start, Decimal(meter_start_wh), energy, stop, final)
    # Without a meter stop, the last reading stands in for it: the interval up to the stop
    # is flat by construction, not because the car stopped charging.
    inferable = curve if meter_stop_wh is not None or not energy else curve[:-1]
    states = _states(start, stop, statuses, power, inferable)
    bounds = [t for t, _ in states] + [stop]
    clock = _ChargingClock(states)
    times = [t for t, _ in curve]
    cumulative = [_energy_at(curve, times, clock, t) for t in bounds]
    cumulative[0] = curve[0][1]
    cumulative[-1] = curve[-1][1]
    cumulative = [v.quantize(_WH, ROUND_HALF_UP) for v in cumulative]
    hours = [_hours_since(start, t) for t in bounds]
    watts_of, amperes_of = _Series(power), _Series(current)
    held = _Series([(t, Decimal(0)) for t in backwards])
    periods = []
    for i, (begin, charging) in enumerate(states):
        end, last = bounds[i + 1], i == len(states) - 1
        dims = [
            Dimension(DimensionType.ENERGY, (cumulative[i + 1] - cumulative[i]) / _THOUSAND),
            Dimension(
                DimensionType.TIME if charging else DimensionType.PARKING_TIME,
                hours[i + 1] - hours[i],
            ),
        ]
        watts = watts_of.within(begin, end, last)
        if watts:
            dims.append(Dimension(DimensionType.MAX_POWER, _fine(max(watts) / _THOUSAND)))
            dims.append(Dimension(DimensionType.MIN_POWER, _fine(min(watts) / _THOUSAND)))
        amperes = amperes_of.within(begin, end, last)
        if amperes:
            dims.append(Dimension(DimensionType.MAX_CURRENT, _fine(max(amperes))))
            dims.append(Dimension(DimensionType.MIN_CURRENT, _fine(min(amperes))))
        flags = (
            frozenset({PeriodFlag.METER_BACKWARDS})
            if held.within(begin, end, last)
            else frozenset()
        )
        periods.append(ChargingPeriod(begin, tuple(dims), flags))
    return tuple(periods)


# -- OCPI JSON -------------------------------------------------------------------------------------
def to_ocpi(periods: Iterable[ChargingPeriod]) -> list[dict[str, Any]]:
    """The periods as OCPI's ``charging_periods``: volumes as JSON numbers (int or float; at
    most 6 decimals, which a float's shortest form keeps exactly), times as RFC 3339 UTC with
    at most milliseconds (OCPI's DateTime is at most 25 characters)."""
    return [
        {
            "start_date_time": _rfc3339(p.start),
            "dimensions": [
                {"type": d.type.value, "volume": _number(d.volume)} for d in p.dimensions
            ],
        }
        for p in periods
    ]


def from_ocpi(data: Iterable[Mapping[str, Any]]) -> tuple[ChargingPeriod, ...]:
    """Periods from OCPI's ``charging_periods`` JSON (parsed); ValueError naming what is wrong.
    A volume parsed as a float is read by its shortest form (``0.1`` is 0.1)."""
    periods = []
    for i, item in enumerate(data):
        try:
            start = _parse_time(item["start_date_time"])
            dims = tuple(
                Dimension(DimensionType(d["type"]), _decimal(d["volume"]))
                for d in item["dimensions"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"charging_periods[{i}]: {exc!r}") from exc
        periods.append(ChargingPeriod(start, dims))
    return tuple(periods)


# -- how -------------------------------------------------------------------------------------------
def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError(f"{t} has no time zone")
    return t.astimezone(UTC)


def _sampled(
    readings: Iterable[ReadingLike], start: datetime, stop: datetime
) -> tuple[
    list[tuple[datetime, Decimal]], list[tuple[datetime, Decimal]], list[tuple[datetime, Decimal]]
]:
    """Energy (Wh), power (W) and current (A) per instant within the session, in time order:
    the whole where the station sent it, else the sum over the phases."""
    wholes: dict[tuple[str, datetime], Decimal] = {}
    phases: dict[tuple[str, datetime], dict[str, Decimal]] = {}
    for reading in readings:
        timestamp, measurand, raw, unit = reading[0], reading[1], reading[2], reading[3]
        phase = reading[4] if len(reading) > 4 else None
        measurand = measurand or ENERGY_REGISTER  # OCPP's default measurand
        factor = _UNITS.get(measurand, {}).get(unit or "")
        if factor is None:
            continue
        t = _utc(timestamp)
        if not start <= t <= stop:
            continue
        value = _decimal(raw) * factor
        key = (measurand, t)
        if not phase:
            wholes[key] = max(value, wholes.get(key, value))
        elif phase in _PHASES:
            of_instant = phases.setdefault(key, {})
            of_instant[phase] = max(value, of_instant.get(phase, value))
    for key, of_instant in phases.items():
        if key not in wholes:
            wholes[key] = sum(of_instant.values(), Decimal(0))
    series: dict[str, list[tuple[datetime, Decimal]]] = {m: [] for m in _UNITS}
    for (measurand, t), value in sorted(wholes.items(), key=lambda kv: kv[0][1]):
        series[measurand].append((t, value))
    return series[ENERGY_REGISTER], series[POWER], series[CURRENT]


def _register_curve(
    start: datetime,
    meter_start: Decimal,
    energy: list[tuple[datetime, Decimal]],
    stop: datetime,
    meter_stop: Decimal,
) -> tuple[list[tuple[datetime, Decimal]], list[datetime]]:
    """The register from start to stop, never going down, and where it was held up."""
    curve = [(start, meter_start)]
    backwards = []
    highest = meter_start
    for t, value in [*energy, (stop, meter_stop)]:
        if value < highest:
            backwards.append(t)
            value = highest
        highest = value
        curve.append((t, value))
    return curve, backwards


def _states(
    start: datetime,
    stop: datetime,
    statuses: Iterable[tuple[datetime, str]],
    power: list[tuple[datetime, Decimal]],
    curve: list[tuple[datetime, Decimal]],
) -> list[tuple[datetime, bool]]:
    """(from when, charging) for each stretch of one state, the first from ``start``."""
    # (time, order at one instant, charging): at one instant, a power reading wins over a status.
    signals: list[tuple[datetime, int, bool]] = []
    for timestamp, status in statuses:
        t = _utc(timestamp)
        if not start <= t < stop:
            continue
        if status in PARKING_STATUSES:
            signals.append((t, 0, False))
        elif status == CHARGING_STATUS:
            signals.append((t, 0, True))
    charged = False
    if power:
        for t, watts in power:
            if watts > IDLE_POWER_W:
                charged = True
                if t < stop:
                    signals.append((t, 1, True))
            elif charged and t < stop:
                signals.append((t, 1, False))
    elif not signals:
        for (t0, v0), (t1, v1) in itertools.pairwise(curve):
            if t1 == t0 or t0 >= stop:
                continue
            if v1 > v0:
                charged = True
                signals.append((t0, 1, True))
            elif charged:
                signals.append((t0, 1, False))
    signals.sort(key=lambda s: (s[0], s[1]))
    states: list[tuple[datetime, bool]] = [(start, True)]
    for t, _, charging in signals:
        if states[-1][0] == t:
            states[-1] = (t, charging)
            if len(states) > 1 and states[-2][1] == charging:
                states.pop()
        elif states[-1][1] != charging:
            states.append((t, charging))
    return states


def _us(a: datetime, b: datetime) -> int:
    return (b - a) // timedelta(microseconds=1)


class _ChargingClock:
    """Microseconds of charging since the session's start, at any instant: running sums over
    the states, so a session of many readings and many states costs a search per question."""

    def __init__(self, states: list[tuple[datetime, bool]]) -> None:
        self.starts = [t for t, _ in states]
        self.charging = [c for _, c in states]
        self.before: list[int] = []
        total = 0
        for i, (t, charging) in enumerate(states):
            self.before.append(total)
            if charging and i + 1 < len(states):
                total += _us(t, states[i + 1][0])

    def until(self, t: datetime) -> int:
        k = bisect_right(self.starts, t) - 1
        if k < 0:
            return 0
        return self.before[k] + (_us(self.starts[k], t) if self.charging[k] else 0)


def _energy_at(
    curve: list[tuple[datetime, Decimal]],
    times: list[datetime],
    clock: _ChargingClock,
    t: datetime,
) -> Decimal:
    """The register just before ``t`` (a rise at ``t`` itself belongs to the period that
    starts there), shared within its interval over the interval's charging time."""
    j = bisect_left(times, t)
    if j == 0:
        return curve[0][1]
    if j == len(curve):
        return curve[-1][1]
    t1, v1 = curve[j]
    if t1 == t:
        return v1
    t0, v0 = curve[j - 1]
    weight = clock.until(t1) - clock.until(t0)
    if weight:
        part = clock.until(t) - clock.until(t0)
    else:
        weight, part = _us(t0, t1), _us(t0, t)
    return v0 + (v1 - v0) * part / weight


class _Series:
    """Values in the order of their times, sliced by time."""

    def __init__(self, series: list[tuple[datetime, Decimal]]) -> None:
        self.times = [t for t, _ in series]
        self.values = [v for _, v in series]

    def within(self, begin: datetime, end: datetime, last: bool) -> list[Decimal]:
        """Those sampled from ``begin`` until ``end`` (through ``end`` for the last period)."""
        lo = bisect_left(self.times, begin)
        hi = bisect_right(self.times, end) if last else bisect_left(self.times, end)
        return self.values[lo:hi]


def _hours_since(start: datetime, t: datetime) -> Decimal:
    return (Decimal(_us(start, t)) / _US_PER_HOUR).quantize(_HOURS, ROUND_HALF_UP)


def _fine(value: Decimal) -> Decimal:
    """At most 6 decimals (what the store keeps), without trailing zeros added."""
    rounded = value.quantize(_HOURS, ROUND_HALF_UP)
    return value if rounded == value else rounded


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise TypeError(f"{value!r} is not a number")
    elif isinstance(value, int | float | str):
        result = Decimal(str(value))
    else:
        raise TypeError(f"{value!r} is not a number")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _rfc3339(t: datetime) -> str:
    t = t.astimezone(UTC)
    spec = "milliseconds" if t.microsecond else "seconds"
    return t.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _parse_time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise TypeError(f"{text!r} is not a date and time")
    t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    # OCPI: "The absence of the timezone designator implies a UTC timestamp."
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


__all__ = [
    "CHARGING_STATUS",
    "IDLE_POWER_W",
    "PARKING_STATUSES",
    "ChargingPeriod",
    "Dimension",
    "DimensionType",
    "PeriodFlag",
    "Reading",
    "StatusChange",
    "from_ocpi",
    "periods_from",
    "to_ocpi",
]
