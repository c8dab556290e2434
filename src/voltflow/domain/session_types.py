"""Where a session gets its type (DESIGN §3): decided when it ends, in a fixed order, with a
reason."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta


class SessionType(enum.StrEnum):
    INVALID = "invalid"
    SPLIT_BILLING = "split_billing"
    WHITELIST = "whitelist"
    NORMAL = "normal"

    @property
    def label(self) -> str:
        return {
            SessionType.INVALID: "Invalid",
            SessionType.SPLIT_BILLING: "Split billing",
            SessionType.WHITELIST: "Whitelist",
            SessionType.NORMAL: "Normal",
        }[self]


@dataclass(frozen=True, slots=True)
class ValidityBounds:
    """Platform settings: sessions outside them are invalid and never billed."""

    min_energy_wh: int = 0
    max_energy_wh: int = 350_000
    min_duration: timedelta = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class SessionFacts:
    token_accepted: bool
    energy_wh: int
    duration: timedelta
    licensed_employee_token: bool = False
    on_station_whitelist: bool = False


@dataclass(frozen=True, slots=True)
class Classification:
    type: SessionType
    reason: str


def classify(facts: SessionFacts, bounds: ValidityBounds | None = None) -> Classification:
    b = bounds or ValidityBounds()
    if not facts.token_accepted:
        return Classification(SessionType.INVALID, "token not accepted")
    if not b.min_energy_wh <= facts.energy_wh <= b.max_energy_wh:
        return Classification(
            SessionType.INVALID,
            f"energy {facts.energy_wh} Wh outside {b.min_energy_wh}–{b.max_energy_wh} Wh",
        )
    if facts.duration < b.min_duration:
        return Classification(
            SessionType.INVALID,
            f"lasted {int(facts.duration.total_seconds())} s, under "
            f"{int(b.min_duration.total_seconds())} s",
        )
    if facts.licensed_employee_token:
        return Classification(SessionType.SPLIT_BILLING, "licensed employee at licensed device")
    if facts.on_station_whitelist:
        return Classification(SessionType.WHITELIST, "token on the station's whitelist")
    return Classification(SessionType.NORMAL, "public session")
