"""The daily totals per card holder and per station owner, and the dashboards' reads of them:
each session counts once under its card's organisation and driver; a correction moves its
energy, not its count; each side reads only its own."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from tests.factories import Company, company, operator, stock_csv
from tests.ocpp.support import add_station
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor
from voltflow.domain.activity import by_month, months_back
from voltflow.domain.events import SessionClosed, SessionCorrected
from voltflow.store.tables import charging_sessions

ZONE = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize(
    ("today", "months", "first"),
    [
        (date(2026, 12, 5), 12, date(2026, 1, 1)),
        (date(2026, 12, 5), 1, date(2026, 12, 1)),
        (date(2026, 1, 31), 12, date(2025, 2, 1)),
        (date(2026, 3, 1), 3, date(2026, 1, 1)),
        (date(2026, 3, 1), 0, date(2026, 4, 1)),
    ],
)
def test_months_back_starts_the_span_on_a_first_of_the_month(
    today: date, months: int, first: date
) -> None:
    assert months_back(today, months) == first


def test_by_month_sums_each_calendar_month() -> None:
    days = [(date(2026, 1, 31), 1, 100), (date(2026, 2, 1), 2, 50), (date(2026, 2, 28), 1, 5)]
    assert by_month(days) == [(date(2026, 1, 1), 1, 100), (date(2026, 2, 1), 3, 55)]
    assert by_month([]) == []


def _today() -> date:
    return datetime.now(ZONE).date()


def _at(day: date) -> datetime:
    # Noon in Brussels: the session's local day whatever the season.
    return datetime.combine(day, time(12), ZONE).astimezone(UTC)


def _closed(session_id: int, station: str, token: str, day: date, wh: int) -> SessionClosed:
    start = _at(day)
    return SessionClosed(
        occurred_at=start + timedelta(hours=1),
        session_id=str(session_id),
        station_id=station,
        evse_id=1,
        connector_id=1,
        id_token=token,
        started_at=start,
        stopped_at=start + timedelta(hours=1),
        energy_wh=wh,
        session_type="normal",
        type_reason=None,
        stop_reason="Local",
        closed_by="station",
    )


async def _published(platform: Platform) -> None:
    for _ in range(200):
        if not await platform.outbox.unpublished(1):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the relay never published the outbox")


@dataclass
class World:
    op: Actor
    acme: Company
    other: Company
    uids: list[str]
    today: date


@pytest.fixture
async def world(platform: Platform) -> World:
    return await card_activity(platform)


async def card_activity(platform: Platform) -> World:
    """Acme's cards: uids[0] with its first driver, uids[1] with its second, uids[2] with no
    driver yet; uids[3] with Other's driver; uids[4] still in stock (no one's). Acme owns CP-A,
    Other CP-B."""
    op = await operator(platform)
    acme = await company(platform, op, "Acme", drivers=2)
    other = await company(platform, op, "Other", drivers=1)
    uids = await platform.cards.import_csv(op, stock_csv(5))
    await platform.cards.distribute(op, uids[:3], acme.id)
    await platform.cards.distribute(op, uids[3:4], other.id)
    await platform.cards.assign(acme.manager, uids[0], acme.drivers[0].user_id)
    await platform.cards.assign(acme.manager, uids[1], acme.drivers[1].user_id)
    await platform.cards.assign(other.manager, uids[3], other.drivers[0].user_id)
    for station, owner in (("CP-A", acme.id), ("CP-B", other.id)):
        await add_station(platform, station)
        await platform.stations.set_owner(op, station, owner)
    today = _today()
    last_quarter = today - timedelta(days=95)
    events = [
        _closed(1, "CP-A", uids[0], today, 1000),
        _closed(2, "CP-A", uids[0], today, 2000),
        _closed(3, "CP-B", uids[1], today - timedelta(days=1), 4000),
        _closed(4, "CP-B", uids[2], last_quarter, 8000),  # Acme's card, no driver
        _closed(5, "CP-A", uids[3], today, 16000),  # Other's card at Acme's station
        _closed(6, "CP-A", uids[4], today, 32000),  # a card of no one
        _closed(7, "CP-A", "ROAMING1", today, 64000),  # no card of ours
        _closed(8, "CP-A", uids[0], today - timedelta(days=400), 128000),  # too long ago
    ]
    async with platform.uow() as changes:
        for event in events:
            changes.emit(event)
    await _published(platform)
    return World(op, acme, other, uids, today)


async def test_each_session_counts_under_its_cards_organisation_and_driver(
    platform: Platform, world: World
) -> None:
    acme, other, today = world.acme, world.other, world.today
    quarter = today - timedelta(days=95)
    assert await platform.activity.company_days(acme.manager) == [
        (today - timedelta(days=1), 1, 4000),
        (today, 2, 3000),
    ]
    months = await platform.activity.company_months(acme.manager)
    expected = by_month(
        [(quarter, 1, 8000), (today - timedelta(days=1), 1, 4000), (today, 2, 3000)]
    )
    assert months == expected
    assert sum(n for _m, n, _wh in months) == 4
    # One person's among the company's.
    first = acme.drivers[0].user_id
    assert await platform.activity.company_days(acme.manager, driver_id=first) == [(today, 2, 3000)]
    assert await platform.activity.company_days(other.manager) == [(today, 1, 16000)]
    # The operator sees every company's, or one's.
    assert await platform.activity.company_days(world.op) == [
        (today - timedelta(days=1), 1, 4000),
        (today, 3, 19000),
    ]
    assert await platform.activity.company_days(world.op, organisation_id=other.id) == [
        (today, 1, 16000)
    ]


async def test_a_card_with_no_holder_or_no_card_counts_nowhere(
    platform: Platform, world: World
) -> None:
    # The stock card's 32 kWh and the roaming token's 64 kWh are in no company's totals,
    # though the stations' totals count them.
    everyone = await platform.activity.company_days(world.op)
    assert sum(wh for _d, _n, wh in everyone) == 3000 + 4000 + 16000
    stations = await platform.activity.owner_days(world.op)
    assert sum(n for _d, n, _wh in stations) == 6


async def test_another_organisations_totals_give_nothing(platform: Platform, world: World) -> None:
    acme, other = world.acme, world.other
    assert await platform.activity.company_days(acme.manager, organisation_id=other.id) == []
    assert await platform.activity.company_months(acme.manager, organisation_id=other.id) == []
    assert await platform.activity.owner_days(acme.manager, organisation_id=other.id) == []
    # A driver of another company, asked for by a manager: only what the manager's cards did.
    theirs = other.drivers[0].user_id
    assert await platform.activity.company_days(acme.manager, driver_id=theirs) == []
    # A driver reads no company's totals (not a role that reads them all) …
    assert await platform.activity.company_days(acme.drivers[0]) == []
    assert await platform.activity.owner_days(acme.drivers[0]) == []


async def test_a_driver_reads_their_own_cards_months(platform: Platform, world: World) -> None:
    first, second = world.acme.drivers
    today = world.today
    assert await platform.activity.my_days(first) == [(today, 2, 3000)]
    assert await platform.activity.my_months(first) == [(today.replace(day=1), 2, 3000)]
    assert await platform.activity.my_months(second) == by_month(
        [(today - timedelta(days=1), 1, 4000)]
    )
    assert await platform.activity.my_months(world.other.drivers[0]) == [
        (today.replace(day=1), 1, 16000)
    ]


async def test_an_owners_totals_are_its_stations(platform: Platform, world: World) -> None:
    today = world.today
    acme, other = world.acme, world.other
    # CP-A: 1 + 2 + 16 + 32 + 64 kWh today (whoever's cards); CP-B: Acme's cards'.
    assert await platform.activity.owner_days(acme.manager) == [(today, 5, 115000)]
    assert await platform.activity.owner_days(other.manager) == [
        (today - timedelta(days=1), 1, 4000)
    ]
    assert await platform.activity.owner_months(other.manager) == by_month(
        [(today - timedelta(days=95), 1, 8000), (today - timedelta(days=1), 1, 4000)]
    )
    assert await platform.activity.owner_days(world.op, organisation_id=acme.id) == [
        (today, 5, 115000)
    ]


async def test_a_correction_moves_the_holders_energy_not_the_count(
    platform: Platform, world: World
) -> None:
    # A correction names its session, not its card: the consumer finds the session's token.
    day = world.today - timedelta(days=3)
    started = _at(day)
    async with platform.db.writing() as conn:
        await conn.execute(
            insert(charging_sessions).values(
                id=900,
                station_id="CP-A",
                evse_id=1,
                connector_id=1,
                id_tag=world.uids[1],
                auth_status="Accepted",
                started_at=started,
                meter_start_wh=0,
                created_at=started,
            )
        )
    closed = _closed(900, "CP-A", world.uids[1], day, 1000)
    corrected = SessionCorrected(
        occurred_at=closed.occurred_at,
        session_id="900",
        station_id="CP-A",
        started_at=closed.started_at,
        stopped_at=closed.stopped_at,
        energy_wh=1500,
        session_type="normal",
        type_reason=None,
        stop_reason="Local",
        previous_stopped_at=closed.stopped_at,
        previous_energy_wh=1000,
        previous_session_type="normal",
        reason="the station's own stop",
    )
    async with platform.uow() as changes:
        changes.emit(closed)
    async with platform.uow() as changes:
        changes.emit(corrected)
    await _published(platform)
    second = world.acme.drivers[1]
    assert (day, 1, 1500) in await platform.activity.my_days(second)
    # Delivered again: nothing changes.
    for event in (closed, corrected):
        for subscriber in platform.delivery.subscribers:
            assert not await platform.delivery.apply(subscriber, event)
    assert (day, 1, 1500) in await platform.activity.my_days(second)
    assert await platform.outbox.receipts("card-daily-totals") == 10
