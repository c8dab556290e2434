"""The activity views of the release note: which sessions each side sees, and what a row says.

- **Charge points** (the CPO side, figure 1): the sessions at an owner's stations, with what the
  host (or, for split billing, the employee) receives for each.
- **Mobility** (the eMSP side, figures 2–4): the sessions of a company's cards or of one person,
  with what the driver pays; the "E-Charging" filter picks session types.
- **Mine** (the driver, figures 5–7): a person's own sessions of every type.

Each view shows the sessions of the platform's stations and those that external devices (a
charging cable, a meter) reported by import: an employer's charge points are also the devices it
registered at its employees' homes, and a person's activity is every session of their cards.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from voltflow.domain.licences import device_session_ref
from voltflow.domain.session_types import SessionType


class View(enum.StrEnum):
    CHARGE_POINTS = "charge_points"
    MOBILITY = "mobility"
    MINE = "mine"


class Sort(enum.StrEnum):
    NEWEST = "-started_at"
    OLDEST = "started_at"
    MOST_ENERGY = "-energy_wh"
    LEAST_ENERGY = "energy_wh"
    HIGHEST_PRICE = "-price"
    LOWEST_PRICE = "price"


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    types: frozenset[SessionType] = frozenset()  # empty: every type
    started_from: datetime | None = None
    started_to: datetime | None = None  # before this
    station_id: str | None = None
    organisation_id: int | None = None  # the stations' owner (charge points) or the cards'
    driver_id: int | None = None
    finished_only: bool = True
    sort: Sort = Sort.NEWEST


class Source(enum.StrEnum):
    """Where a session comes from; each numbers its sessions on its own."""

    STATION = "station"  # an OCPP station of the platform
    DEVICE = "device"  # an external device, by import (``station_id`` is the device's id)


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """A session as the views show it: who, where, how much, of which type, at what price."""

    session_id: int
    started_at: datetime
    stopped_at: datetime | None
    station_id: str
    evse_id: int
    id_tag: str
    energy_wh: int | None
    session_type: str | None
    type_reason: str | None
    operator: str | None  # the organisation owning the station (the CPO side)
    service_provider: str | None  # the organisation of the card (the mobility side)
    driver: str | None  # the card's person: full name, else login
    driver_id: int | None
    currency: str | None = None
    price_incl_vat: Decimal | None = None  # what the driver pays
    price_excl_vat: Decimal | None = None
    price_basis: str | None = None
    host_amount: Decimal | None = None  # what the host, or the employee, receives
    host_party: str | None = None  # "host" or "employee"
    tariff_id: str | None = None
    tariff_version: int | None = None
    source: str = Source.STATION.value

    @property
    def is_device(self) -> bool:
        return self.source == Source.DEVICE.value

    @property
    def ref(self) -> str:
        """The session's reference, unique across both sources: a station session's id, or
        ``device-<id>`` (``domain.licences``)."""
        return device_session_ref(self.session_id) if self.is_device else str(self.session_id)


def by_month(days: list[tuple[date, int, int]]) -> list[tuple[date, int, int]]:
    """(day, sessions, Wh) totals summed per calendar month, each under its month's first day,
    in order."""
    months: dict[date, list[int]] = {}
    for day, sessions, energy_wh in days:
        total = months.setdefault(day.replace(day=1), [0, 0])
        total[0] += sessions
        total[1] += energy_wh
    return [(month, n, wh) for month, (n, wh) in sorted(months.items())]


def months_back(today: date, months: int) -> date:
    """The first day of the month ``months - 1`` months before ``today``'s: where a chart of
    the last ``months`` months starts."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)
