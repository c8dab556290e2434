"""The connector's energy meter: a register that integrates the power drawn over loop time, and the
OCPP sampled values read from it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp.v16 import datatypes

from voltflow.simulator._common import iso
from voltflow.simulator._config import CURRENT, ENERGY, POWER, VOLTAGE

VOLTS = 230.0
PHASES = 3

_UNITS = {ENERGY: "Wh", POWER: "W", CURRENT: "A", VOLTAGE: "V"}


class Meter:
    """Energy in Wh (a float; OCPP values are read as whole Wh), power in W."""

    def __init__(self, register_wh: float, now: float) -> None:
        self.register_wh = register_wh
        self.power_w = 0.0
        self._since = now

    def advance(self, now: float) -> None:
        if now > self._since:
            self.register_wh += self.power_w * (now - self._since) / 3600
        self._since = max(self._since, now)

    def set_power(self, power_w: float, now: float) -> None:
        self.advance(now)
        self.power_w = max(power_w, 0.0)

    @property
    def reading(self) -> int:
        return int(self.register_wh)


def sampled_value(measurand: str, value: float, context: str) -> Any:
    text = str(int(value)) if measurand == ENERGY else f"{value:.1f}"
    return datatypes.SampledValue(
        value=text,
        context=context,
        measurand=measurand,
        location="Outlet",
        unit=_UNITS[measurand],
    )


def meter_value(
    at: datetime, measurands: list[str], energy_wh: float, power_w: float, context: str
) -> Any:
    """One MeterValue with the measurands asked for (MeterValuesSampledData)."""
    values = []
    for m in measurands:
        if m == ENERGY:
            values.append(sampled_value(m, energy_wh, context))
        elif m == POWER:
            values.append(sampled_value(m, power_w, context))
        elif m == CURRENT:
            values.append(sampled_value(m, power_w / (VOLTS * PHASES), context))
        elif m == VOLTAGE:
            values.append(sampled_value(m, VOLTS, context))
    if not values:  # OCPP wants at least one sampled value: the register is always there
        values.append(sampled_value(ENERGY, energy_wh, context))
    return datatypes.MeterValue(timestamp=iso(at), sampled_value=values)
