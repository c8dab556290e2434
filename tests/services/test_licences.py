"""Split-billing licences through the service, on both databases: typing of station sessions,
rates and reimbursements of stored sessions, tenancy, and imports of external devices."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import websockets
from sqlalchemy import func, select

from tests.conftest import make_settings
from tests.factories import Company, company, operator, stock_csv
from voltflow.bootstrap import Platform, build
from voltflow.domain.access import Actor
from voltflow.domain.contracts import ContractKind
from voltflow.domain.events import SessionClosed, decode
from voltflow.domain.licences import (
    CregQuarterRate,
    CregRate,
    DeviceKind,
    DeviceRef,
    DeviceReimbursement,
    EmployerRate,
    FixedRate,
    Quarter,
    RateSource,
    Region,
    ReimbursementBasis,
)
from voltflow.domain.money import Money
from voltflow.services.access import Forbidden
from voltflow.services.licences import (
    DeviceNotFound,
    ImportRejected,
    LicenceNotFound,
    LicenceProblem,
)
from voltflow.store.tables import (
    device_sessions,
    outbox,
    session_price_lines,
    station_daily_totals,
)

RATE = Decimal("0.6654")
CENT = Decimal("0.01")


class HandClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@dataclass
class World:
    platform: Platform
    clock: HandClock
    op: Actor
    acme: Company
    other: Company
    uids: list[str]  # acme's cards: driver0's, driver1's
    foreign: str  # a card of the other company


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    clock = HandClock()
    platform = build(make_settings(database_url), clock=clock)
    await platform.start()
    try:
        op = await operator(platform)
        acme = await company(platform, op)
        other = await company(platform, op, "Globex", drivers=1)
        for org in (acme, other):
            await platform.contracts.create(
                op, org.id, ContractKind.EMSP, starts_on=date(2026, 1, 1)
            )
        uids = await platform.cards.import_csv(op, stock_csv(3))
        await platform.cards.distribute(op, uids[:2], acme.id)
        await platform.cards.distribute(op, uids[2:], other.id)
        for uid, driver in zip(uids[:2], acme.drivers, strict=True):
            await platform.cards.assign(acme.manager, uid, driver.user_id)
        await platform.cards.assign(other.manager, uids[2], other.drivers[0].user_id)
        await platform.cards.activate(op, uids)
        await platform.stations.add("HOME-1", "station-pass-0001")
        await platform.licences.set_creg_rate(
            op, CregQuarterRate(Region.FLANDERS, Quarter(2026, 4), Decimal("0.3070"))
        )
        yield World(platform, clock, op, acme, other, uids[:2], uids[2])
    finally:
        await platform.stop()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def charge(w: World, ocpp_url: str, uid: str, start: datetime, minutes: int, wh: int) -> int:
    auth = {"Authorization": "Basic " + base64.b64encode(b"HOME-1:station-pass-0001").decode()}
    async with websockets.connect(
        f"{ocpp_url}/HOME-1", subprotocols=["ocpp1.6"], additional_headers=auth
    ) as ws:

        async def call(action: str, payload: dict[str, object]) -> dict[str, object]:
            await ws.send(json.dumps([2, action, action, payload]))
            answer: dict[str, object] = json.loads(await ws.recv())[2]
            return answer

        started = await call(
            "StartTransaction",
            {"connectorId": 1, "idTag": uid, "meterStart": 0, "timestamp": start.isoformat()},
        )
        await call(
            "StopTransaction",
            {
                "transactionId": started["transactionId"],
                "meterStop": wh,
                "timestamp": (start + timedelta(minutes=minutes)).isoformat(),
                "idTag": uid,
            },
        )
    return int(str(started["transactionId"]))


async def test_a_licensed_card_at_the_licensed_station_is_split_billing(
    world: World, ocpp_url: str
) -> None:
    w = world
    licence = await w.platform.licences.add(
        w.acme.manager,
        "HOME-1",
        [w.uids[0]],
        FixedRate(RATE),
        valid_from=utc(2026, 11, 10),
    )
    assert licence.licence.employer_id == w.acme.id
    assert licence.licence.employee_id == w.acme.drivers[0].user_id
    cases = [
        (w.uids[0], utc(2026, 11, 10, 14, 50), 15, 3667, "split_billing"),
        (w.uids[0], utc(2026, 11, 11, 7, 30), 20, 7334, "split_billing"),
        (w.uids[1], utc(2026, 11, 11, 9, 0), 20, 7334, "normal"),  # not the licence's card
        (w.uids[0], utc(2026, 11, 9, 23, 0), 20, 7334, "normal"),  # before the licence
        (w.uids[0], utc(2026, 11, 12, 9, 0), 1, 100, "invalid"),  # too short: invalid first
    ]
    for uid, start, minutes, wh, expected in cases:
        session_id = await charge(w, ocpp_url, uid, start, minutes, wh)
        session = await w.platform.sessions.get(session_id)
        assert session.session_type == expected, (uid, start)
    lines = await w.platform.licences.lines(w.acme.manager, licence.id)
    assert [(line.kwh, line.amount.amount if line.amount else None) for line in lines] == [
        (Decimal("7.334"), Decimal("4.88")),
        (Decimal("3.667"), Decimal("2.44")),
    ]
    assert all(line.rate == (RATE, RateSource.FIXED) for line in lines)
    # What pricing asks of a closed session's event.
    line = await w.platform.licences.line(
        DeviceRef(DeviceKind.STATION, "HOME-1"),
        lines[0].session_ref,
        w.uids[0],
        lines[0].started_at,
        lines[0].stopped_at,
        7334,
    )
    assert line is not None and line.amount is not None
    assert line.amount.amount == Decimal("4.88")


async def test_a_rate_change_reprices_only_later_sessions(world: World, ocpp_url: str) -> None:
    w = world
    licence = await w.platform.licences.add(
        w.acme.manager, "HOME-1", [w.uids[0]], FixedRate(RATE), valid_from=utc(2026, 10, 1)
    )
    await charge(w, ocpp_url, w.uids[0], utc(2026, 10, 20, 8), 30, 10_000)
    w.clock.at = utc(2026, 11, 15, 12)
    # Mid-month, from today: from now on.
    changed = await w.platform.licences.change_rate(
        w.acme.manager,
        licence.id,
        CregRate(Region.FLANDERS),
        w.platform.licences.effective_from(date(2026, 11, 15)),
    )
    assert [c.effective_from for c in changed.licence.rates] == [
        utc(2026, 10, 1),
        utc(2026, 11, 15, 12),
    ]
    await charge(w, ocpp_url, w.uids[0], utc(2026, 11, 15, 13), 30, 10_000)
    lines = await w.platform.licences.lines(w.acme.manager, licence.id)
    assert [(line.rate, line.amount.amount if line.amount else None) for line in lines] == [
        ((Decimal("0.3070"), RateSource.CREG), Decimal("3.07")),
        ((RATE, RateSource.FIXED), Decimal("6.65")),
    ]
    # Never backwards: yesterday, or before the last change.
    for day in (date(2026, 11, 14),):
        with pytest.raises(LicenceProblem):
            await w.platform.licences.change_rate(
                w.acme.manager,
                licence.id,
                EmployerRate(Decimal("0.25")),
                w.platform.licences.effective_from(day),
            )


async def test_another_employers_licence_does_not_exist_for_them(world: World) -> None:
    w = world
    licence = await w.platform.licences.add(w.acme.manager, "HOME-1", [w.uids[0]], FixedRate(RATE))
    employee, colleague = w.acme.drivers
    assert (await w.platform.licences.get(employee, licence.id)).id == licence.id
    assert [r.id for r in await w.platform.licences.listing(employee)] == [licence.id]
    assert await w.platform.licences.listing(colleague) == []
    assert await w.platform.licences.listing(w.other.manager) == []
    assert [r.id for r in await w.platform.licences.listing(w.op)] == [licence.id]
    # A colleague knows the employer: refused, as with a colleague's card.
    with pytest.raises(Forbidden):
        await w.platform.licences.get(colleague, licence.id)
    for outsider in (w.other.manager, w.other.drivers[0]):
        with pytest.raises(LicenceNotFound):
            await w.platform.licences.get(outsider, licence.id)
        with pytest.raises(LicenceNotFound):
            await w.platform.licences.lines(outsider, licence.id)
    with pytest.raises(LicenceNotFound):
        await w.platform.licences.get(w.other.manager, licence.id + 1000)
    with pytest.raises(LicenceNotFound):
        await w.platform.licences.change_rate(
            w.other.manager, licence.id, FixedRate(Decimal("0.1")), w.clock.now()
        )
    # Another company's card is as unknown as a card that does not exist.
    with pytest.raises(LicenceProblem) as caught:
        await w.platform.licences.add(w.acme.manager, "HOME-1", [w.foreign], FixedRate(RATE))
    assert caught.value.field == "card"


async def test_one_card_one_licence_per_device_and_period(world: World) -> None:
    w = world
    await w.platform.licences.add(
        w.acme.manager, "HOME-1", [w.uids[0]], FixedRate(RATE), valid_until=utc(2027, 1, 1)
    )
    with pytest.raises(LicenceProblem):
        await w.platform.licences.add(w.acme.manager, "HOME-1", [w.uids[0]], FixedRate(RATE))
    later = await w.platform.licences.add(
        w.acme.manager, "HOME-1", [w.uids[0]], FixedRate(RATE), valid_from=utc(2027, 1, 1)
    )
    assert later.licence.valid_from == utc(2027, 1, 1)


async def test_an_unknown_device_needs_its_kind(world: World) -> None:
    w = world
    with pytest.raises(LicenceProblem) as caught:
        await w.platform.licences.add(w.acme.manager, "NRG-7", [w.uids[0]], FixedRate(RATE))
    assert caught.value.field == "device"
    licence = await w.platform.licences.add(
        w.acme.manager, "NRG-7", [w.uids[0]], FixedRate(RATE), device_kind=DeviceKind.CABLE
    )
    assert licence.licence.device == DeviceRef(DeviceKind.CABLE, "NRG-7")
    # The other employer cannot use or even see the device.
    with pytest.raises(DeviceNotFound):
        await w.platform.licences.device(w.other.manager, "NRG-7")


# -- imports ---------------------------------------------------------------------------------------
HEADER = "started_at,stopped_at,energy_wh,card_uid\n"


@pytest.fixture
async def cable(world: World) -> World:
    await world.platform.licences.add(
        world.acme.manager,
        "NRG-1",
        [world.uids[0]],
        FixedRate(RATE),
        valid_from=utc(2026, 10, 1),
        device_kind=DeviceKind.CABLE,
    )
    return world


def csv_of(*rows: str) -> str:
    return HEADER + "".join(r + "\n" for r in rows)


async def stored(w: World) -> int:
    async with w.platform.db.reading() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(device_sessions))).scalar_one()
        )


async def test_an_import_types_its_sessions_and_tells_of_them(cable: World) -> None:
    w = cable
    text = csv_of(
        f"2026-11-10T15:50:00+01:00,2026-11-10T16:05:02+01:00,3667,{w.uids[0]}",
        f"2026-11-11T08:30:00+01:00,2026-11-11T08:50:02+01:00,7334,{w.uids[0].lower()}",
        f"2026-11-11T09:00:00+01:00,2026-11-11T09:30:00+01:00,5000,{w.uids[1]}",
    )
    result = await w.platform.licences.import_sessions(w.acme.manager, "NRG-1", text)
    assert [(s.energy_wh, s.session_type) for s in result.added] == [
        (3667, "split_billing"),
        (7334, "split_billing"),
        (5000, "normal"),
    ]
    assert result.already_stored == 0
    async with w.platform.db.reading() as conn:
        kinds = (await conn.execute(select(outbox.c.kind, outbox.c.payload))).all()
    closed = [json.loads(p) for k, p in kinds if k == SessionClosed.kind]
    assert sorted(c["session_id"] for c in closed) == sorted(s.ref for s in result.added)
    assert {c["station_id"] for c in closed} == {"NRG-1"}
    # What a pricing consumer asks of each event: the split-billing ones get their line.
    priced = {}
    for k, p in kinds:
        if k == SessionClosed.kind:
            event = decode(k, p)
            assert isinstance(event, SessionClosed)
            line = await w.platform.licences.line_of_event(event)
            priced[event.energy_wh] = (
                None if line is None or line.amount is None else line.amount.amount
            )
    assert priced == {3667: Decimal("2.44"), 7334: Decimal("4.88"), 5000: None}
    licence = (await w.platform.licences.listing(w.acme.manager))[0]
    lines = await w.platform.licences.lines(w.acme.manager, licence.id)
    assert [line.amount.amount for line in lines if line.amount] == [
        Decimal("4.88"),
        Decimal("2.44"),
    ]
    # The same file again adds nothing.
    again = await w.platform.licences.import_sessions(w.acme.manager, "NRG-1", text)
    assert again.added == [] and again.already_stored == 3
    assert await stored(w) == 3


@pytest.mark.parametrize(
    ("rows", "row", "column"),
    [
        # overlapping another session in the file
        (
            [
                "2026-11-10T10:00:00+01:00,2026-11-10T11:00:00+01:00,1000,{uid}",
                "2026-11-10T10:30:00+01:00,2026-11-10T10:40:00+01:00,1000,{uid}",
            ],
            3,
            "started_at",
        ),
        (["2026-11-10T10:00:00+01:00,2026-11-10T09:00:00+01:00,1000,{uid}"], 2, "stopped_at"),
        (["2026-11-10T10:00:00+01:00,2026-11-10T11:00:00+01:00,-5,{uid}"], 2, "energy_wh"),
        (["2026-11-10T10:00:00+01:00,2026-11-10T11:00:00+01:00,1000,DEADBEEF99"], 2, "card_uid"),
        (["2026-11-10T10:00:00,2026-11-10T11:00:00+01:00,1000,{uid}"], 2, "started_at"),
        (["2026-11-10T10:00:00+01:00,2026-11-10T11:00:00+01:00,ten,{uid}"], 2, "energy_wh"),
        # overlapping a session stored before (12:00–13:00)
        (["2026-11-10T12:30:00+01:00,2026-11-10T13:30:00+01:00,1000,{uid}"], 2, "started_at"),
    ],
)
async def test_a_bad_row_is_named_and_nothing_is_imported(
    cable: World, rows: list[str], row: int, column: str
) -> None:
    w = cable
    uid = w.uids[0]
    await w.platform.licences.import_sessions(
        w.acme.manager,
        "NRG-1",
        csv_of(f"2026-11-10T12:00:00+01:00,2026-11-10T13:00:00+01:00,2000,{uid}"),
    )
    good = f"2026-11-09T12:00:00+01:00,2026-11-09T13:00:00+01:00,2000,{uid}"
    with pytest.raises(ImportRejected) as caught:
        await w.platform.licences.import_sessions(
            w.acme.manager, "NRG-1", csv_of(good, *(r.format(uid=uid) for r in rows))
        )
    # The file's good row is line 2: the bad ones follow it.
    problems = caught.value.problems
    assert [(p.row, p.column) for p in problems] == [(row + 1, column)]
    assert f"row {row + 1}, column {column}" in str(caught.value)
    assert await stored(w) == 1  # the good row of the bad file is not kept either


async def test_a_meter_going_backwards_is_refused(cable: World) -> None:
    w = cable
    text = (
        "started_at,stopped_at,meter_start_wh,meter_stop_wh,card_uid\n"
        f"2026-11-10T10:00:00+01:00,2026-11-10T11:00:00+01:00,5000,4000,{w.uids[0]}\n"
    )
    with pytest.raises(ImportRejected) as caught:
        await w.platform.licences.import_sessions(w.acme.manager, "NRG-1", text)
    assert (caught.value.problems[0].row, caught.value.problems[0].column) == (2, "meter_stop_wh")


async def test_a_json_import(cable: World) -> None:
    w = cable
    body = json.dumps(
        {
            "sessions": [
                {
                    "started_at": "2026-11-10T15:50:00+01:00",
                    "stopped_at": "2026-11-10T16:05:02+01:00",
                    "kwh": "3.667",
                    "card_uid": w.uids[0],
                },
                {
                    "started_at": "2026-11-11T15:50:00+01:00",
                    "stopped_at": "2026-11-11T15:40:00+01:00",
                    "kwh": 1,
                    "card_uid": w.uids[0],
                },
            ]
        }
    )
    with pytest.raises(ImportRejected) as caught:
        await w.platform.licences.import_sessions(w.acme.manager, "NRG-1", body, format="json")
    assert (caught.value.problems[0].row, caught.value.problems[0].column) == (2, "stopped_at")
    good = json.dumps(json.loads(body)["sessions"][:1])
    result = await w.platform.licences.import_sessions(w.acme.manager, "NRG-1", good, format="json")
    assert [(s.energy_wh, s.session_type) for s in result.added] == [(3667, "split_billing")]


async def test_another_employer_cannot_import_for_the_device(cable: World) -> None:
    w = cable
    with pytest.raises(DeviceNotFound):
        await w.platform.licences.import_sessions(w.other.manager, "NRG-1", csv_of())
    with pytest.raises(DeviceNotFound):
        await w.platform.licences.import_sessions(w.acme.manager, "NRG-404", csv_of())


# -- an imported session's reimbursement ---------------------------------------------------------
async def published(w: World) -> None:
    """Every event in the outbox taken by the consumers (a consumer that fails holds it back)."""
    for _ in range(200):
        if not await w.platform.outbox.unpublished(1):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the relay never published the outbox")


async def test_an_import_stores_each_sessions_reimbursement_with_it(cable: World) -> None:
    w = cable
    licence = (await w.platform.licences.listing(w.acme.manager))[0]
    text = csv_of(
        f"2026-11-10T15:50:00+01:00,2026-11-10T16:05:02+01:00,3667,{w.uids[0]}",
        f"2026-11-11T08:30:00+01:00,2026-11-11T08:50:02+01:00,7334,{w.uids[0]}",
        f"2026-11-11T09:00:00+01:00,2026-11-11T09:30:00+01:00,5000,{w.uids[1]}",  # a colleague's
    )
    result = await w.platform.licences.import_sessions(w.acme.manager, "NRG-1", text)
    # The release note's figures: 3.667 kWh and 7.334 kWh at €0.6654/kWh, no VAT.
    assert [
        (s.session_type, s.reimbursement.basis if s.reimbursement else None) for s in result.added
    ] == [
        ("split_billing", ReimbursementBasis.LICENCE_RATE),
        ("split_billing", ReimbursementBasis.LICENCE_RATE),
        ("normal", ReimbursementBasis.NO_LICENCE),
    ]
    assert result.amounts == [Decimal("2.44"), Decimal("4.88")]
    assert result.total == Decimal("7.32")
    # As stored, read back apart from the import.
    async with w.platform.db.reading() as conn:
        rows = (
            await conn.execute(
                select(
                    device_sessions.c.energy_wh,
                    device_sessions.c.reimbursement_basis,
                    device_sessions.c.licence_id,
                    device_sessions.c.rate,
                    device_sessions.c.rate_source,
                    device_sessions.c.reimbursement,
                    device_sessions.c.currency,
                ).order_by(device_sessions.c.started_at)
            )
        ).all()
    assert [
        (wh, basis, lic, rate, source, None if amount is None else amount.quantize(CENT), cur)
        for wh, basis, lic, rate, source, amount, cur in rows
    ] == [
        (3667, "licence_rate", licence.id, RATE, "fixed", Decimal("2.44"), "EUR"),
        (7334, "licence_rate", licence.id, RATE, "fixed", Decimal("4.88"), "EUR"),
        (5000, "no_licence", None, None, None, None, "EUR"),
    ]
    stored_one = await w.platform.licences.repo.device_session(result.added[0].id)
    assert stored_one is not None and stored_one.reimbursement == result.added[0].reimbursement
    # The licence's page reads what the import stored.
    lines = await w.platform.licences.lines(w.acme.manager, licence.id)
    assert [(line.session_ref, line.amount) for line in lines] == [
        (result.added[1].ref, Money(Decimal("4.88"), "EUR")),
        (result.added[0].ref, Money(Decimal("2.44"), "EUR")),
    ]
    # The same file again adds nothing, reimbursements included.
    again = await w.platform.licences.import_sessions(w.acme.manager, "NRG-1", text)
    assert again.added == [] and again.total == Decimal("0.00")
    assert await stored(w) == 3
    # The events of imported sessions pass through every consumer: none is priced again.
    await published(w)
    async with w.platform.db.reading() as conn:
        lines_count = (
            await conn.execute(select(func.count()).select_from(session_price_lines))
        ).scalar_one()
        station_days = (
            await conn.execute(select(func.count()).select_from(station_daily_totals))
        ).scalar_one()
    assert (lines_count, station_days) == (0, 0)


async def test_an_invalid_imported_session_carries_nothing_with_its_reason(cable: World) -> None:
    w = cable
    text = csv_of(
        f"2026-11-10T15:50:00+01:00,2026-11-10T15:51:00+01:00,100,{w.uids[0]}",  # 1 minute
    )
    result = await w.platform.licences.import_sessions(w.acme.manager, "NRG-1", text)
    (session,) = result.added
    assert session.session_type == "invalid" and session.type_reason
    assert session.reimbursement == DeviceReimbursement(ReimbursementBasis.INVALID)
    assert result.amounts == []
    licence = (await w.platform.licences.listing(w.acme.manager))[0]
    assert await w.platform.licences.lines(w.acme.manager, licence.id) == []


async def test_a_rate_change_mid_month_leaves_sessions_started_before_it(cable: World) -> None:
    w = cable
    licence = (await w.platform.licences.listing(w.acme.manager))[0]
    uid = w.uids[0]
    first = await w.platform.licences.import_sessions(
        w.acme.manager,
        "NRG-1",
        csv_of(f"2026-11-10T15:50:00+01:00,2026-11-10T16:05:02+01:00,3667,{uid}"),
    )
    w.clock.at = utc(2026, 11, 15, 12)
    await w.platform.licences.change_rate(
        w.acme.manager,
        licence.id,
        CregRate(Region.FLANDERS),
        w.platform.licences.effective_from(date(2026, 11, 15)),
    )
    # Imported after the change: one started before it (its old rate), one after (the new).
    w.clock.at = utc(2026, 11, 20, 9)
    later = await w.platform.licences.import_sessions(
        w.acme.manager,
        "NRG-1",
        csv_of(
            f"2026-11-14T18:00:00+01:00,2026-11-14T19:00:00+01:00,7334,{uid}",
            f"2026-11-16T18:00:00+01:00,2026-11-16T19:00:00+01:00,10000,{uid}",
        ),
    )
    assert [
        (s.reimbursement.rate, s.reimbursement.amount) if s.reimbursement else None
        for s in later.added
    ] == [
        ((RATE, RateSource.FIXED), Money(Decimal("4.88"), "EUR")),
        ((Decimal("0.3070"), RateSource.CREG), Money(Decimal("3.07"), "EUR")),
    ]
    stored_first = await w.platform.licences.repo.device_session(first.added[0].id)
    assert stored_first is not None and stored_first.reimbursement is not None
    assert stored_first.reimbursement.amount == Money(Decimal("2.44"), "EUR")
    assert stored_first.reimbursement.rate == (RATE, RateSource.FIXED)
    lines = await w.platform.licences.lines(w.acme.manager, licence.id)
    assert [line.amount.amount if line.amount else None for line in lines] == [
        Decimal("3.07"),
        Decimal("4.88"),
        Decimal("2.44"),
    ]


async def test_a_quarter_without_a_creg_rate_leaves_the_session_unreimbursed(
    world: World,
) -> None:
    w = world
    await w.platform.licences.add(
        w.acme.manager,
        "NRG-2",
        [w.uids[0]],
        CregRate(Region.WALLONIA),  # the table has Flanders' 2026-Q4 only
        valid_from=utc(2026, 10, 1),
        device_kind=DeviceKind.METER,
    )
    result = await w.platform.licences.import_sessions(
        w.acme.manager,
        "NRG-2",
        csv_of(f"2026-11-10T15:50:00+01:00,2026-11-10T16:05:02+01:00,3667,{w.uids[0]}"),
    )
    (session,) = result.added
    assert session.session_type == "split_billing"
    assert session.reimbursement is not None
    assert session.reimbursement.basis is ReimbursementBasis.NO_RATE
    assert session.reimbursement.licence_id is not None and session.reimbursement.amount is None
