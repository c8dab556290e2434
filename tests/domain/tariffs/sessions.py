"""Charging sessions for pricing tests: consecutive OCPI charging periods built from spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from voltflow.domain.tariffs import CdrDimension, ChargingPeriod, Tariff, loads, parse_tariff

DATA = Path(__file__).parent / "data"
BRUSSELS = ZoneInfo("Europe/Brussels")

Span = tuple[timedelta, dict[CdrDimension, Decimal]]


def tariff(name: str) -> Tariff:
    return parse_tariff(loads((DATA / name).read_text()))


def local(text: str) -> datetime:
    """A wall-clock time in Brussels."""
    return datetime.fromisoformat(text).replace(tzinfo=BRUSSELS)


def hours(minutes: int | Decimal) -> Decimal:
    return Decimal(minutes) / 60


def charging(minutes: int, kwh: str | None = None, **measured: str) -> Span:
    dims = {CdrDimension.TIME: hours(minutes)}
    if kwh is not None:
        dims[CdrDimension.ENERGY] = Decimal(kwh)
    dims.update({CdrDimension(k.upper()): Decimal(v) for k, v in measured.items()})
    return timedelta(minutes=minutes), dims


def energy(minutes: int, kwh: str, **measured: str) -> Span:
    """Energy only (a tariff without a time component does not need TIME)."""
    dims = {CdrDimension.ENERGY: Decimal(kwh)}
    dims.update({CdrDimension(k.upper()): Decimal(v) for k, v in measured.items()})
    return timedelta(minutes=minutes), dims


def parking(minutes: int) -> Span:
    return timedelta(minutes=minutes), {CdrDimension.PARKING_TIME: hours(minutes)}


def reserving(minutes: int) -> Span:
    return timedelta(minutes=minutes), {CdrDimension.RESERVATION_TIME: hours(minutes)}


def session(start: datetime, *spans: Span) -> tuple[tuple[ChargingPeriod, ...], datetime, datetime]:
    """The periods one after the other from ``start``, and the session's start and end."""
    periods = []
    # In UTC: an aware datetime in a zone with DST adds wall time, not elapsed time.
    moment = start.astimezone(UTC)
    for length, dims in spans:
        periods.append(ChargingPeriod(moment, dims))
        moment += length
    return tuple(periods), start.astimezone(UTC), moment
