"""The activity views over both kinds of sessions, on both databases: a station's sessions and
those external devices reported by import are one list, paged, filtered and ordered together;
each side sees only its own, and an imported session shows the reimbursement stored with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert

from tests.factories import Company, company, operator, stock_csv
from tests.ocpp.support import add_station
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor
from voltflow.domain.activity import ActivityFilter, ActivityRow, Sort, View
from voltflow.domain.licences import DeviceKind, FixedRate
from voltflow.domain.paging import PageRequest
from voltflow.domain.session_prices import Basis, Party
from voltflow.domain.session_types import SessionType
from voltflow.services.activity_views import ActivityNotFound
from voltflow.store.tables import charging_sessions

RATE = Decimal("0.6654")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class World:
    op: Actor
    acme: Company
    other: Company
    refs: dict[str, str]  # name: a session's reference (its id, or device-<id>)
    device_ids: dict[str, int]


async def _station_session(
    platform: Platform, session_id: int, uid: str, start: datetime, wh: int, kind: str
) -> None:
    async with platform.db.writing() as conn:
        await conn.execute(
            insert(charging_sessions).values(
                id=session_id,
                station_id="CP-A",
                evse_id=2,
                connector_id=2,
                id_tag=uid,
                auth_status="Accepted",
                started_at=start,
                meter_start_wh=0,
                stopped_at=start + timedelta(minutes=30),
                meter_stop_wh=wh,
                energy_wh=wh,
                session_type=kind,
                created_at=start,
            )
        )


def _csv(*rows: tuple[str, str, int, str]) -> str:
    return "started_at,stopped_at,energy_wh,card_uid\n" + "".join(
        f"{start},{stop},{wh},{uid}\n" for start, stop, wh, uid in rows
    )


@pytest.fixture
async def world(platform: Platform) -> World:
    """Acme owns the station CP-A and registered the cable NRG-1 at its first driver's home;
    Other registered NRG-9 at its driver's. The station's sessions and the cables' share ids."""
    op = await operator(platform)
    acme = await company(platform, op, "Acme", drivers=2)
    other = await company(platform, op, "Other", drivers=1)
    uids = await platform.cards.import_csv(op, stock_csv(3))
    await platform.cards.distribute(op, uids[:2], acme.id)
    await platform.cards.distribute(op, uids[2:], other.id)
    await platform.cards.assign(acme.manager, uids[0], acme.drivers[0].user_id)
    await platform.cards.assign(acme.manager, uids[1], acme.drivers[1].user_id)
    await platform.cards.assign(other.manager, uids[2], other.drivers[0].user_id)
    await add_station(platform, "CP-A")
    await platform.stations.set_owner(op, "CP-A", acme.id)
    await _station_session(platform, 1, uids[0], utc(2026, 11, 9, 10), 1000, "normal")
    await _station_session(platform, 2, uids[1], utc(2026, 11, 10, 12), 2000, "whitelist")
    await _station_session(platform, 3, uids[2], utc(2026, 11, 12, 9), 4000, "normal")
    for manager, device, uid in (
        (acme.manager, "NRG-1", uids[0]),
        (other.manager, "NRG-9", uids[2]),
    ):
        await platform.licences.add(
            manager,
            device,
            [uid],
            FixedRate(RATE),
            valid_from=utc(2026, 10, 1),
            device_kind=DeviceKind.CABLE,
        )
    acme_import = await platform.licences.import_sessions(
        acme.manager,
        "NRG-1",
        _csv(
            ("2026-11-10T15:50:00+01:00", "2026-11-10T16:05:02+01:00", 3667, uids[0]),
            ("2026-11-11T08:30:00+01:00", "2026-11-11T08:50:02+01:00", 7334, uids[0]),
            ("2026-11-11T12:00:00+01:00", "2026-11-11T12:01:00+01:00", 100, uids[0]),
        ),
    )
    other_import = await platform.licences.import_sessions(
        other.manager,
        "NRG-9",
        _csv(("2026-11-11T20:00:00+01:00", "2026-11-11T21:00:00+01:00", 5000, uids[2])),
    )
    d1, d2, d3 = acme_import.added
    (d4,) = other_import.added
    assert d3.session_type == "invalid"
    refs = {"s1": "1", "s2": "2", "s3": "3"}
    refs |= {"d1": d1.ref, "d2": d2.ref, "d3": d3.ref, "d4": d4.ref}
    device_ids = {"d1": d1.id, "d2": d2.id, "d3": d3.id, "d4": d4.id}
    return World(op, acme, other, refs, device_ids)


async def _refs(
    platform: Platform,
    actor: Actor,
    view: View,
    filters: ActivityFilter | None = None,
    size: int = 50,
) -> tuple[list[str], int]:
    """Every row of the view, read a page of ``size`` at a time, and the total it counts."""
    filters = filters or ActivityFilter()
    found: list[str] = []
    offset = 0
    while True:
        page = await platform.activity_views.page(actor, view, filters, PageRequest(offset, size))
        found += [row.ref for row in page.items]
        offset += size
        if offset >= page.total:
            return found, page.total


def _named(world: World, refs: list[str]) -> list[str]:
    names = {ref: name for name, ref in world.refs.items()}
    return [names[ref] for ref in refs]


NEWEST = ["s3", "d4", "d3", "d2", "d1", "s2", "s1"]


@pytest.mark.parametrize("size", [1, 2, 3, 50])
async def test_pages_run_across_both_kinds_in_one_order(
    platform: Platform, world: World, size: int
) -> None:
    refs, total = await _refs(platform, world.op, View.CHARGE_POINTS, size=size)
    assert _named(world, refs) == NEWEST and total == 7
    oldest, _ = await _refs(
        platform, world.op, View.CHARGE_POINTS, ActivityFilter(sort=Sort.OLDEST), size
    )
    assert _named(world, oldest) == NEWEST[::-1]
    energy, _ = await _refs(
        platform, world.op, View.MOBILITY, ActivityFilter(sort=Sort.MOST_ENERGY), size
    )
    assert _named(world, energy) == ["d2", "d4", "s3", "d1", "s2", "s1", "d3"]
    cheapest, _ = await _refs(
        platform, world.op, View.MOBILITY, ActivityFilter(sort=Sort.LOWEST_PRICE), size
    )
    assert sorted(_named(world, cheapest)) == sorted(NEWEST)
    # A page past the end, however far: nothing on it, and the count of all.
    for offset in (7, 2**63 - 2):
        page = await platform.activity_views.page(
            world.op, View.CHARGE_POINTS, ActivityFilter(), PageRequest(offset, size)
        )
        assert (page.items, page.total) == ([], 7)


async def test_the_filters_hold_for_both_kinds(platform: Platform, world: World) -> None:
    op, acme = world.op, world.acme

    async def named(view: View, **filters: object) -> list[str]:
        refs, total = await _refs(platform, op, view, ActivityFilter(**filters))  # type: ignore[arg-type]
        assert total == len(refs)
        return _named(world, refs)

    split = frozenset({SessionType.SPLIT_BILLING})
    assert await named(View.MOBILITY, types=split) == ["d4", "d2", "d1"]
    assert await named(View.MOBILITY, types=frozenset({SessionType.INVALID})) == ["d3"]
    # The station filter names a device too.
    assert await named(View.CHARGE_POINTS, station_id="NRG-1") == ["d3", "d2", "d1"]
    assert await named(View.CHARGE_POINTS, station_id="CP-A") == ["s3", "s2", "s1"]
    assert await named(
        View.MOBILITY, started_from=utc(2026, 11, 10, 12), started_to=utc(2026, 11, 11, 12)
    ) == ["d3", "d2", "d1", "s2"]
    assert await named(View.MOBILITY, driver_id=acme.drivers[0].user_id) == [
        "d3",
        "d2",
        "d1",
        "s1",
    ]
    # An organisation: the stations and devices it has (charge points), its cards (mobility).
    assert await named(View.CHARGE_POINTS, organisation_id=acme.id) == [
        "s3",
        "d3",
        "d2",
        "d1",
        "s2",
        "s1",
    ]
    assert await named(View.CHARGE_POINTS, organisation_id=world.other.id) == ["d4"]
    assert await named(View.MOBILITY, organisation_id=acme.id) == ["d3", "d2", "d1", "s2", "s1"]


async def test_each_side_sees_its_own_devices_sessions_only(
    platform: Platform, world: World
) -> None:
    acme, other = world.acme, world.other

    async def named(actor: Actor, view: View) -> list[str]:
        return _named(world, (await _refs(platform, actor, view))[0])

    assert await named(acme.manager, View.CHARGE_POINTS) == ["s3", "d3", "d2", "d1", "s2", "s1"]
    assert await named(acme.manager, View.MOBILITY) == ["d3", "d2", "d1", "s2", "s1"]
    assert await named(other.manager, View.CHARGE_POINTS) == ["d4"]
    assert await named(other.manager, View.MOBILITY) == ["s3", "d4"]
    assert await named(acme.drivers[0], View.MINE) == ["d3", "d2", "d1", "s1"]
    assert await named(acme.drivers[1], View.MINE) == ["s2"]
    assert await named(other.drivers[0], View.MINE) == ["s3", "d4"]
    # Asked for Acme's things by filter, Other finds nothing.
    for view in (View.CHARGE_POINTS, View.MOBILITY):
        for filters in (
            ActivityFilter(station_id="NRG-1"),
            ActivityFilter(organisation_id=acme.id),
            ActivityFilter(driver_id=acme.drivers[0].user_id),
        ):
            assert (await _refs(platform, other.manager, view, filters))[0] == []
    exported = [
        row.ref
        async for batch in platform.activity_views.rows(
            other.manager, View.MOBILITY, ActivityFilter()
        )
        for row in batch
    ]
    assert _named(world, exported) == ["s3", "d4"]


async def test_an_imported_row_carries_its_reimbursement(platform: Platform, world: World) -> None:
    page = await platform.activity_views.page(
        world.acme.manager,
        View.CHARGE_POINTS,
        ActivityFilter(station_id="NRG-1"),
        PageRequest(0, 10),
    )
    rows = {row.ref: row for row in page.items}
    d1 = rows[world.refs["d1"]]
    assert d1 == ActivityRow(
        session_id=world.device_ids["d1"],
        started_at=utc(2026, 11, 10, 14, 50),
        stopped_at=utc(2026, 11, 10, 15, 5, 2),
        station_id="NRG-1",
        evse_id=1,
        id_tag=d1.id_tag,
        energy_wh=3667,
        session_type="split_billing",
        type_reason=d1.type_reason,
        operator="Acme",
        service_provider="Acme",
        driver="acme-driver0",
        driver_id=world.acme.drivers[0].user_id,
        currency="EUR",
        price_incl_vat=Decimal("0.00"),
        price_excl_vat=Decimal("0.00"),
        price_basis="split_billing",
        host_amount=Decimal("2.44"),
        host_party="employee",
        source="device",
    )
    assert rows[world.refs["d2"]].host_amount == Decimal("4.88")
    invalid = rows[world.refs["d3"]]
    assert (invalid.session_type, invalid.host_amount, invalid.host_party) == (
        "invalid",
        None,
        None,
    )
    assert invalid.price_basis == "invalid" and invalid.type_reason


async def test_an_imported_sessions_page_is_its_drivers_and_employers(
    platform: Platform, world: World
) -> None:
    d1 = world.device_ids["d1"]
    for reader in (world.acme.drivers[0], world.acme.manager, world.op):
        found = await platform.activity_views.device_session(reader, d1)
        assert found.row.ref == world.refs["d1"] and found.revisions == 1
        assert [(line.party, line.basis, line.incl_vat, line.rate) for line in found.lines] == [
            (Party.DRIVER, Basis.SPLIT_BILLING, Decimal("0.00"), None),
            (Party.EMPLOYEE, Basis.LICENCE_RATE, Decimal("2.44"), RATE),
        ]
    for outsider in (world.acme.drivers[1], world.other.manager, world.other.drivers[0]):
        with pytest.raises(ActivityNotFound):
            await platform.activity_views.device_session(outsider, d1)
    with pytest.raises(ActivityNotFound):
        await platform.activity_views.device_session(world.op, 987654321)
