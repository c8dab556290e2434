"""Whitelists reach the stations' local lists, and blocked cards are refused even offline."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
from dataclasses import fields
from datetime import date

import pytest
import websockets

from tests.factories import Company, company, operator, stock_csv
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, OrganisationKind, Role
from voltflow.domain.contracts import ContractKind
from voltflow.domain.records import CardInvitation
from voltflow.services.lists import (
    ListError,
    ListKind,
    ListNotFound,
    LocalList,
    SyncResult,
    desired_entries,
    differential,
)
from voltflow.simulator import SessionRejected, SimulatedStation, StationConfig

FAST = StationConfig(
    heartbeat_interval=30,
    meter_interval=1,
    unplug_seconds=0.1,
    reconnect_min=0.2,
    reconnect_max=0.5,
)


@pytest.mark.parametrize(
    ("listed", "held", "states", "expected"),
    [
        ({"A": "active"}, {}, {}, {"A": "Accepted"}),
        ({"A": "assigned"}, {}, {}, {}),
        ({}, {"A": "Accepted"}, {"A": "blocked"}, {"A": "Blocked"}),
        ({}, {"A": "Accepted"}, {"A": "lost"}, {"A": "Blocked"}),
        ({}, {"A": "Accepted"}, {"A": "expired"}, {"A": "Expired"}),
        ({}, {"A": "Accepted"}, {"A": "active"}, {}),
        ({}, {"A": "Blocked"}, {"A": "active"}, {}),
    ],
)
def test_desired_local_list(
    listed: dict[str, str], held: dict[str, str], states: dict[str, str], expected: dict[str, str]
) -> None:
    assert desired_entries(listed, held, states) == expected


def test_differential_adds_changes_and_removes() -> None:
    held = {"A": "Accepted", "B": "Accepted", "C": "Accepted"}
    wanted = {"A": "Accepted", "B": "Blocked", "D": "Accepted"}
    assert differential(held, wanted) == [
        {"idTag": "B", "idTagInfo": {"status": "Blocked"}},
        {"idTag": "D", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "C"},
    ]


@pytest.fixture
async def setting(platform: Platform) -> tuple[Actor, Company, list[str]]:
    op = await operator(platform)
    acme = await company(platform, op)
    await platform.contracts.create(op, acme.id, ContractKind.EMSP, starts_on=date(2026, 1, 1))
    uids = await platform.cards.import_csv(op, stock_csv(2))
    await platform.cards.distribute(op, uids, acme.id)
    for uid, driver in zip(uids, acme.drivers, strict=True):
        await platform.cards.assign(acme.manager, uid, driver.user_id)
    await platform.cards.activate(acme.manager, uids)
    await platform.stations.add("SITE-1", "station-pass-0001")
    await platform.stations.set_owner(op, "SITE-1", acme.id)
    return op, acme, uids


async def test_whitelist_syncs_and_blocked_card_is_refused_offline(
    platform: Platform, ocpp_url: str, setting: tuple[Actor, Company, list[str]]
) -> None:
    _, acme, (kept, blocked) = setting
    station = SimulatedStation(ocpp_url, "SITE-1", password="station-pass-0001", config=FAST)
    await station.connect()
    try:
        whitelist = await platform.lists.create_list(
            acme.manager, acme.id, ListKind.WHITELIST, "Company car park", station_id="SITE-1"
        )
        await platform.lists.add_cards(acme.manager, whitelist.id, [kept, blocked])
        await platform.lists.wait_idle()
        assert station.local_list_version == 1
        assert station.local_auth.status(kept, use_list=True, use_cache=False) == "Accepted"

        await platform.cards.block(acme.manager, [blocked], reason="lost at the gym")
        await platform.lists.wait_idle()
        assert station.local_list_version == 2
        assert station.local_auth.status(blocked, use_list=True, use_cache=False) == "Blocked"
        assert [
            c.card_uid for c in (await platform.lists.get(acme.manager, whitelist.id)).cards
        ] == [kept]

        # Online, the platform refuses the blocked card.
        with pytest.raises(SessionRejected):
            await station.start_session(id_tag=blocked)

        # Cut off from the platform, the station decides from its local list.
        await station.disconnect(offline_for=60)
        with pytest.raises(SessionRejected):
            await station.start_session(id_tag=blocked)
        tx = await station.start_session(id_tag=kept)
        assert tx.active
    finally:
        await station.close()


async def test_a_full_update_when_versions_disagree(
    platform: Platform, ocpp_url: str, setting: tuple[Actor, Company, list[str]]
) -> None:
    _, acme, uids = setting
    whitelist = await platform.lists.create_list(
        acme.manager, acme.id, ListKind.WHITELIST, "Staff", station_id="SITE-1"
    )
    await platform.lists.add_cards(acme.manager, whitelist.id, uids)
    station = SimulatedStation(ocpp_url, "SITE-1", password="station-pass-0001", config=FAST)
    await station.connect()
    try:
        first = await platform.lists.sync_station("SITE-1")
        assert first.outcome == "full"
        again = await platform.lists.sync_station("SITE-1")
        assert again.outcome == "unchanged"
        # Someone else changed the station's list: versions disagree, a full update follows.
        stray = {"idTag": "FFFF0001", "idTagInfo": {"status": "Accepted"}}
        await platform.commands.send(
            "SITE-1",
            "SendLocalList",
            {"listVersion": 7, "updateType": "Full", "localAuthorizationList": [stray]},
        )
        repaired = await platform.lists.sync_station("SITE-1")
        assert (repaired.outcome, repaired.version) == ("full", 8)
        assert station.local_auth.status(uids[0], use_list=True, use_cache=False) == "Accepted"
        assert station.local_auth.status("FFFF0001", use_list=True, use_cache=False) is None
    finally:
        await station.close()


async def test_lists_belong_to_the_station_owner(
    platform: Platform, setting: tuple[Actor, Company, list[str]]
) -> None:
    op, acme, _ = setting
    other = await company(platform, op, "Globex")
    with pytest.raises(ListError, match="does not belong"):
        await platform.lists.create_list(
            other.manager, other.id, ListKind.WHITELIST, "Not mine", station_id="SITE-1"
        )
    with pytest.raises(ListError, match="needs the tariff"):
        await platform.lists.create_list(
            acme.manager, acme.id, ListKind.DISCOUNT, "Visitors", station_id="SITE-1"
        )
    discount = await platform.lists.create_list(
        acme.manager,
        acme.id,
        ListKind.DISCOUNT,
        "Visitors",
        station_id="SITE-1",
        tariff_ref="VISITOR-2026",
    )
    assert discount.tariff_ref == "VISITOR-2026"


async def test_a_group_and_its_lists_on_the_stations_are_shown_to_its_owner(
    platform: Platform, setting: tuple[Actor, Company, list[str]]
) -> None:
    op, acme, _ = setting
    other = await company(platform, op, "Globex")
    group = await platform.lists.create_group(acme.manager, acme.id, "Car park", ["SITE-1"])
    assert (await platform.lists.group(acme.manager, group.id)).stations == ["SITE-1"]
    with pytest.raises(ListNotFound):
        await platform.lists.group(other.manager, group.id)
    staff = await platform.lists.create_list(
        acme.manager, acme.id, ListKind.WHITELIST, "Staff", group_id=group.id
    )
    # Never pushed (the station is offline): no record, no entries.
    assert await platform.lists.on_stations(acme.manager, staff.id) == {
        "SITE-1": LocalList(None, {})
    }
    with pytest.raises(ListNotFound):
        await platform.lists.on_stations(other.manager, staff.id)


async def test_a_whitelisted_session_is_typed_whitelist(
    platform: Platform, ocpp_url: str, setting: tuple[Actor, Company, list[str]]
) -> None:
    _, acme, (listed, other) = setting
    whitelist = await platform.lists.create_list(
        acme.manager, acme.id, ListKind.WHITELIST, "Free", station_id="SITE-1"
    )
    await platform.lists.add_cards(acme.manager, whitelist.id, [listed])
    await platform.lists.wait_idle()  # offline: nothing to push
    auth = {"Authorization": "Basic " + base64.b64encode(b"SITE-1:station-pass-0001").decode()}
    async with websockets.connect(
        f"{ocpp_url}/SITE-1", subprotocols=["ocpp1.6"], additional_headers=auth
    ) as ws:

        async def call(i: int, action: str, payload: dict[str, object]) -> dict[str, object]:
            await ws.send(json.dumps([2, str(i), action, payload]))
            answer: dict[str, object] = json.loads(await ws.recv())[2]
            return answer

        types = {}
        for n, uid in enumerate((listed, other)):
            start = await call(
                10 * n,
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": uid,
                    "meterStart": 0,
                    "timestamp": f"2026-11-10T14:{n}0:00Z",
                },
            )
            await call(
                10 * n + 1,
                "StopTransaction",
                {
                    "transactionId": start["transactionId"],
                    "meterStop": 3667,
                    "timestamp": f"2026-11-10T14:{n}5:02Z",
                    "idTag": uid,
                },
            )
            session = await platform.sessions.get(int(str(start["transactionId"])))
            types[uid] = (session.session_type, session.energy_wh)
    assert types == {listed: ("whitelist", 3667), other: ("normal", 3667)}


async def test_a_guests_card_is_invited_and_its_holder_answers(
    platform: Platform, setting: tuple[Actor, Company, list[str]]
) -> None:
    op, acme, (own, blocked) = setting
    globex = await company(platform, op, "Globex")
    held, unassigned = await platform.cards.import_csv(op, stock_csv(2, start=10))
    await platform.cards.distribute(op, [held, unassigned], globex.id)
    await platform.cards.assign(globex.manager, held, globex.drivers[0].user_id)
    await platform.cards.activate(globex.manager, [held])
    whitelist = await platform.lists.create_list(
        acme.manager, acme.id, ListKind.WHITELIST, "Visitors", station_id="SITE-1"
    )
    list_id = int(whitelist.id)

    # Another's card and a uid naming no card are answered alike: invited.
    result = await platform.lists.add_cards(
        acme.manager, list_id, [own, held, unassigned, "ffff0042"]
    )
    assert result.added == [own]
    assert result.invited == [held, unassigned, "FFFF0042"]
    shown = await platform.lists.get(acme.manager, list_id)
    assert [c.card_uid for c in shown.cards] == [own]
    assert [(i.card_uid, i.status) for i in shown.invitations] == [
        (held, "invited"),
        (unassigned, "invited"),
        ("FFFF0042", "invited"),
    ]
    assert {f.name for f in fields(shown.invitations[0])} == {"card_uid", "invited_at", "status"}
    again = await platform.lists.add_cards(acme.manager, list_id, [held])
    assert (again.added, again.invited) == ([], [])
    assert not await platform.lists.whitelisted("SITE-1", held)

    # The holder answers: the card's driver, or its organisation's fleet manager.
    def pending(rows: list[CardInvitation]) -> list[object]:
        return [r.card_uid for r in rows]

    assert pending(await platform.lists.invitations(globex.drivers[0])) == [held]
    assert pending(await platform.lists.invitations(globex.manager)) == [held, unassigned]
    assert pending(await platform.lists.invitations(globex.drivers[1])) == []
    assert pending(await platform.lists.invitations(acme.manager)) == []
    assert len(await platform.lists.invitations(op)) == 2
    for who, uid in (
        (acme.manager, held),
        (globex.drivers[1], held),
        (globex.drivers[0], unassigned),
        (globex.manager, "FFFF0042"),
    ):
        with pytest.raises(ListNotFound):
            await platform.lists.answer(who, list_id, uid, accept=True)
    await platform.lists.answer(globex.drivers[0], list_id, held, accept=True)
    await platform.lists.answer(globex.manager, list_id, unassigned, accept=False)
    assert await platform.lists.whitelisted("SITE-1", held)
    shown = await platform.lists.get(acme.manager, list_id)
    assert {c.card_uid: c.state for c in shown.cards} == {own: "active", held: "active"}
    assert [i.card_uid for i in shown.invitations] == ["FFFF0042"]
    with pytest.raises(ListNotFound):
        await platform.lists.answer(globex.manager, list_id, unassigned, accept=True)

    # Withdrawn by the list's owner; its own cards are still checked; the operator as before.
    assert await platform.lists.remove_cards(acme.manager, list_id, ["FFFF0042"]) == 1
    assert (await platform.lists.get(acme.manager, list_id)).invitations == []
    await platform.cards.block(acme.manager, [blocked])
    with pytest.raises(ListError, match="cannot charge"):
        await platform.lists.add_cards(acme.manager, list_id, [blocked])
    with pytest.raises(ListError, match="not card uids"):
        await platform.lists.add_cards(acme.manager, list_id, ["not a uid!"])
    with pytest.raises(ListError, match="unknown cards: FFFF0099"):
        await platform.lists.add_cards(op, list_id, ["FFFF0099"])
    direct = await platform.lists.add_cards(op, list_id, [unassigned])
    assert (direct.added, direct.invited) == ([unassigned], [])


async def test_a_card_held_by_one_of_its_people_joins_at_once(
    platform: Platform, setting: tuple[Actor, Company, list[str]]
) -> None:
    """A company's employee with a card of their household's: the company's list takes it as the
    company's own, since one of its people holds it."""
    op, acme, _ = setting
    installer = await company(platform, op, "Fixit", kind=OrganisationKind.INSTALLER)
    home = (await platform.organisations.create(op, "Home", OrganisationKind.HOUSEHOLD)).id
    employee = acme.drivers[1]
    await platform.organisations.add_person(op, home, employee.username, Role.DRIVER)
    (uid,) = await platform.cards.import_csv(op, stock_csv(1, start=20))
    await platform.cards.distribute(op, [uid], installer.id)
    await platform.cards.assign(installer.manager, uid, employee.user_id, home)
    whitelist = await platform.lists.create_list(
        acme.manager, acme.id, ListKind.WHITELIST, "Staff", station_id="SITE-1"
    )
    result = await platform.lists.add_cards(acme.manager, int(whitelist.id), [uid])
    assert (result.added, result.invited) == ([uid], [])

    # Blocked, it is another organisation's card whose state Acme is not told: invited, and its
    # holder, who knows, cannot bring a card that cannot charge onto the list.
    await platform.cards.activate(op, [uid])
    await platform.cards.block(op, [uid])
    visitors = await platform.lists.create_list(
        acme.manager, acme.id, ListKind.WHITELIST, "Visitors", station_id="SITE-1"
    )
    result = await platform.lists.add_cards(acme.manager, int(visitors.id), [uid])
    assert (result.added, result.invited) == ([], [uid])
    with pytest.raises(ListError, match="cannot charge"):
        await platform.lists.answer(employee, int(visitors.id), uid, accept=True)
    shown = await platform.lists.get(acme.manager, int(visitors.id))
    assert shown.cards == []


async def test_a_failed_background_sync_is_one_warning_not_an_unretrieved_task(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    async def database_gone() -> SyncResult:
        raise OSError("connection refused\nwith the driver's details on further lines")

    unretrieved: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: unretrieved.append(context))
    try:
        platform.lists._track(asyncio.create_task(database_gone(), name="local-list-CP-9"))
        await platform.lists.wait_idle()
        gc.collect()  # an unretrieved exception is reported when its task is collected
    finally:
        loop.set_exception_handler(None)
    assert unretrieved == []
    assert [r.getMessage() for r in caplog.records if r.name == "voltflow.services.lists"] == [
        "local-list-CP-9 failed: connection refused"
    ]
