"""Test data made through the same services people use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, OrganisationKind, Role


async def operator(platform: Platform, username: str = "op") -> Actor:
    person = await platform.organisations.add_operator(username, "op-password")
    actor = await platform.accounts.actor(person.user_id)
    assert actor is not None
    return actor


@dataclass
class Company:
    id: int
    manager: Actor
    drivers: list[Actor]


async def company(
    platform: Platform,
    op: Actor,
    name: str = "Acme",
    drivers: int = 2,
    kind: OrganisationKind = OrganisationKind.COMPANY,
) -> Company:
    org = await platform.organisations.create(op, name, kind)
    org_id = int(org.id)
    slug = name.lower().replace(" ", "")
    manager_role = Role.FLEET_MANAGER if kind is OrganisationKind.COMPANY else Role.INSTALLER
    fm = await platform.organisations.add_person(
        op, org_id, f"{slug}-manager", manager_role, password="manager-pass"
    )
    fm_actor = await platform.accounts.actor(fm.user_id)
    assert fm_actor is not None
    people = []
    if kind in (OrganisationKind.COMPANY, OrganisationKind.HOUSEHOLD):
        for i in range(drivers):
            d = await platform.organisations.add_person(
                op, org_id, f"{slug}-driver{i}", Role.DRIVER, password="driver-pass"
            )
            a = await platform.accounts.actor(d.user_id)
            assert a is not None
            people.append(a)
    return Company(org_id, fm_actor, people)


def stock_csv(count: int, start: int = 1) -> str:
    lines = ["uid,printed_number"]
    lines += [f"{0xA0000000 + i:08X},VF-{i:06d}" for i in range(start, start + count)]
    return "\n".join(lines) + "\n"


def meter_row(sampled_at: datetime, value: Decimal, station_id: str = "CP-1") -> dict[str, Any]:
    """A meter_values row as the hot path writes it: an energy register reading."""
    return {
        "station_id": station_id,
        "evse_id": 1,
        "session_id": None,
        "sampled_at": sampled_at,
        "measurand": "Energy.Active.Import.Register",
        "phase": "",
        "location": "",
        "context": "",
        "unit": "Wh",
        "value": value,
    }


def tariff_document(
    tariff_id: str,
    per_kwh: str,
    *,
    flat: str | None = None,
    per_hour: str | None = None,
    vat: int = 21,
    start: str = "2026-01-01T00:00:00Z",
) -> dict[str, Any]:
    """An OCPI tariff as its JSON reads (numbers as Decimal): a price per kWh, and a start fee
    or a price per hour charging when given. In force from ``start`` (else from when it is
    added: today)."""
    components: list[dict[str, Any]] = [
        {"type": "ENERGY", "price": Decimal(per_kwh), "vat": Decimal(vat), "step_size": 1}
    ]
    if flat is not None:
        components.append(
            {"type": "FLAT", "price": Decimal(flat), "vat": Decimal(vat), "step_size": 1}
        )
    if per_hour is not None:
        components.append(
            {"type": "TIME", "price": Decimal(per_hour), "vat": Decimal(vat), "step_size": 60}
        )
    return {
        "country_code": "BE",
        "party_id": "VFL",
        "id": tariff_id,
        "currency": "EUR",
        "start_date_time": start,
        "elements": [{"price_components": components}],
        "last_updated": "2026-01-01T00:00:00Z",
    }
