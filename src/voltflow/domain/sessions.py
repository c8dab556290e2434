"""Charging sessions and the meter readings that belong to them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from voltflow.domain.ocmf import TX_BEGIN, TX_END

ENERGY_REGISTER = "Energy.Active.Import.Register"


class StopReason(enum.StrEnum):
    EMERGENCY_STOP = "EmergencyStop"
    EV_DISCONNECTED = "EVDisconnected"
    HARD_RESET = "HardReset"
    LOCAL = "Local"
    OTHER = "Other"
    POWER_LOSS = "PowerLoss"
    REBOOT = "Reboot"
    REMOTE = "Remote"
    SOFT_RESET = "SoftReset"
    UNLOCK_COMMAND = "UnlockCommand"
    DE_AUTHORIZED = "DeAuthorized"


# The stop reason of a session the platform closed itself: its station started another
# transaction on the same EVSE without ever stopping this one (it lost it in a crash or a power
# cut). No station can send it (OCPP's reasons are an enumeration), and a StopTransaction that
# does come for such a session still replaces what the platform inferred.
SUPERSEDED = "Superseded"


class InferredStop(NamedTuple):
    stopped_at: datetime
    meter_stop_wh: int


def superseded_stop(
    started_at: datetime, meter_start_wh: int, last_reading: tuple[datetime, Decimal] | None
) -> InferredStop:
    """Where a superseded session ended, as far as its station told us: at its last energy
    register reading, or where it began when it sent none. Nothing is guessed beyond what was
    measured (the energy between that reading and the real end is unknown)."""
    if last_reading is None:
        return InferredStop(started_at, meter_start_wh)
    at, register_wh = last_reading
    return InferredStop(max(at, started_at), max(int(register_wh), meter_start_wh))


class MeterSample(NamedTuple):
    """One sampled value, normalised: energy in Wh, power in W, the rest as reported.

    A tuple: a MeterValues message makes several, and a frozen dataclass costs several times as
    much to build."""

    timestamp: datetime
    measurand: str
    value: Decimal
    unit: str
    phase: str | None
    location: str | None
    context: str | None


# Every kilo unit of OCPP's UnitOfMeasure, to its base unit.
_SCALE = {
    "kWh": ("Wh", Decimal(1000)),
    "kW": ("W", Decimal(1000)),
    "kvarh": ("varh", Decimal(1000)),
    "kvar": ("var", Decimal(1000)),
    "kVA": ("VA", Decimal(1000)),
}


class MeterValueError(ValueError):
    pass


# OCPP 1.6 ValueFormat: a sampled value is a number ("Raw", the default) or a signed data block.
RAW = "Raw"
SIGNED_DATA = "SignedData"
TRANSACTION_BEGIN = "Transaction.Begin"
TRANSACTION_END = "Transaction.End"


class SignedSample(NamedTuple):
    """A sampled value in ``SignedData`` format, as received: the block is evidence under
    calibration law (Eichrecht), so nothing in it is rewritten, and it is never read as a number.
    The measurand defaults as OCPP says; the rest is what the station wrote, or None."""

    timestamp: datetime
    measurand: str
    context: str | None
    data: str
    unit: str | None
    phase: str | None
    location: str | None


def signed_sample(
    timestamp: datetime,
    data: str,
    *,
    measurand: str | None,
    context: str | None,
    unit: str | None,
    phase: str | None = None,
    location: str | None = None,
) -> SignedSample:
    return SignedSample(
        timestamp, measurand or ENERGY_REGISTER, context, data, unit, phase, location
    )


class SignedMark(NamedTuple):
    """What tells a signed value's place in its session: its OCPP context and the reading
    reasons (OCMF ``TX``) of the record it holds, when that could be decoded."""

    sampled_at: datetime
    context: str | None
    transactions: tuple[str, ...]


def _begins(mark: SignedMark) -> bool:
    return mark.context == TRANSACTION_BEGIN or TX_BEGIN in mark.transactions


def _ends(mark: SignedMark) -> bool:
    return mark.context == TRANSACTION_END or not TX_END.isdisjoint(mark.transactions)


def signed_start_end(marks: Sequence[SignedMark]) -> tuple[int | None, int | None]:
    """Which of a session's signed values are its signed start and end reading, by position in
    ``marks``: those marked so (context Transaction.Begin / Transaction.End, or OCMF reading
    reasons), else the first and the last signed value of the session by time. One record may
    be both (a station that signs start and end in one, OCMF's "MR"); a single unmarked value
    is the start only."""
    order = sorted(range(len(marks)), key=lambda i: marks[i].sampled_at)
    begun = [i for i in order if _begins(marks[i])]
    ended = [i for i in order if _ends(marks[i])]
    start = begun[0] if begun else None
    end = ended[-1] if ended else None
    # Unmarked, the first and the last: but never a start after the end, nor the reverse.
    if start is None:
        start = next(
            (
                i
                for i in order
                if not _ends(marks[i])
                and (end is None or marks[i].sampled_at <= marks[end].sampled_at)
            ),
            None,
        )
    if end is None:
        end = next(
            (
                i
                for i in reversed(order)
                if i != start
                and not _begins(marks[i])
                and (start is None or marks[i].sampled_at >= marks[start].sampled_at)
            ),
            None,
        )
    return start, end


def normalize_sample(
    timestamp: datetime,
    raw_value: str,
    *,
    measurand: str | None,
    unit: str | None,
    phase: str | None = None,
    location: str | None = None,
    context: str | None = None,
) -> MeterSample:
    """Parse a sampled value as a station sends it, scaling kilo units to their base unit."""
    try:
        value = Decimal(raw_value)
    except InvalidOperation as exc:
        raise MeterValueError(f"sampled value {raw_value!r} is not a number") from exc
    if not value.is_finite():
        raise MeterValueError(f"sampled value {raw_value!r} is not a finite number")
    measurand = measurand or ENERGY_REGISTER
    unit = unit or ("Wh" if measurand.startswith("Energy") else "")
    if unit in _SCALE:
        unit, factor = _SCALE[unit]
        value *= factor
    return MeterSample(timestamp, measurand, value, unit, phase, location, context)


def energy_wh(meter_start: int, meter_stop: int | None) -> int | None:
    if meter_stop is None:
        return None
    return meter_stop - meter_start


@dataclass(frozen=True, slots=True)
class SessionSummary:
    started_at: datetime
    stopped_at: datetime | None
    meter_start_wh: int
    meter_stop_wh: int | None

    @property
    def energy_wh(self) -> int | None:
        return energy_wh(self.meter_start_wh, self.meter_stop_wh)

    @property
    def duration(self) -> timedelta | None:
        if self.stopped_at is None:
            return None
        return self.stopped_at - self.started_at


def format_duration(duration: timedelta | None) -> str:
    """`h:mm:ss`, as the activity screens show it."""
    if duration is None:
        return "–"
    total = int(duration.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def format_kwh(wh: int | None) -> str:
    if wh is None:
        return "–"
    return f"{Decimal(wh) / 1000:.3f} kWh"
