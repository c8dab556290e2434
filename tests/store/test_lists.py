"""What the store says about a station's local list, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.factories import company, operator, stock_csv
from voltflow.bootstrap import Platform
from voltflow.domain.contracts import ContractKind
from voltflow.services.lists import ListKind

STATIONS = ("OWN-1", "GROUPED-1", "ELSEWHERE-1", "HOLDER-1")


async def test_a_station_is_concerned_by_a_list_with_cards_or_one_it_holds(
    platform: Platform,
) -> None:
    op = await operator(platform)
    acme = await company(platform, op)
    await platform.contracts.create(op, acme.id, ContractKind.EMSP, starts_on=date(2026, 1, 1))
    (uid,) = await platform.cards.import_csv(op, stock_csv(1))
    await platform.cards.distribute(op, [uid], acme.id)
    for station_id in STATIONS:
        await platform.stations.add(station_id, "station-pass-0001")
        await platform.stations.set_owner(op, station_id, acme.id)
    repo = platform.lists.repo

    async def concerned() -> dict[str, bool]:
        return {station_id: await repo.concerned(station_id) for station_id in STATIONS}

    assert await concerned() == dict.fromkeys(STATIONS, False)

    own = await platform.lists.create_list(
        acme.manager, acme.id, ListKind.WHITELIST, "Car park", station_id="OWN-1"
    )
    group = await platform.lists.create_group(acme.manager, acme.id, "Sites", ["GROUPED-1"])
    grouped = await platform.lists.create_list(
        acme.manager, acme.id, ListKind.WHITELIST, "Sites", group_id=group.id
    )
    # Lists without cards ask nothing of a station.
    assert await concerned() == dict.fromkeys(STATIONS, False)

    for list_id in (own.id, grouped.id):
        await platform.lists.add_cards(acme.manager, list_id, [uid])
    await platform.lists.wait_idle()  # the stations are offline: nothing goes out
    # A station that still holds a list of ours must hear when it has to go.
    await repo.store_local_list("HOLDER-1", 3, {uid: "Accepted"}, datetime.now(UTC))
    assert await concerned() == {
        "OWN-1": True,
        "GROUPED-1": True,
        "ELSEWHERE-1": False,
        "HOLDER-1": True,
    }
