"""Station look-ups through the service: what the acting person may see, and no more."""

from __future__ import annotations

from tests.factories import company, operator
from voltflow.bootstrap import Platform
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import StationFilter
from voltflow.services.ports import Admission


async def test_one_organisations_stations_to_those_who_see_them(platform: Platform) -> None:
    op = await operator(platform)
    acme = await company(platform, op)
    globex = await company(platform, op, "Globex")
    for station_id, owner in (("SITE-A", acme.id), ("SITE-G", globex.id), ("SITE-X", None)):
        await platform.stations.add(station_id, "station-pass-0001")
        if owner is not None:
            await platform.stations.set_owner(op, station_id, owner)

    def ids(page_items: list[dict[str, object]]) -> list[object]:
        return [s.id for s in page_items]

    everyone = await platform.stations.search(StationFilter(), PageRequest(), actor=op)
    assert ids(everyone.items) == ["SITE-A", "SITE-G", "SITE-X"]
    acmes = await platform.stations.search(
        StationFilter(organisation_id=acme.id), PageRequest(), actor=op
    )
    assert ids(acmes.items) == ["SITE-A"] and acmes.total == 1
    own = await platform.stations.search(
        StationFilter(organisation_id=acme.id), PageRequest(), actor=acme.manager
    )
    assert ids(own.items) == ["SITE-A"]
    # Another organisation's stations are not the manager's to see, named or not.
    theirs = await platform.stations.search(
        StationFilter(organisation_id=globex.id), PageRequest(), actor=acme.manager
    )
    assert theirs.items == [] and theirs.total == 0


async def test_an_auto_registered_station_waits_pending_with_the_key_it_came_with(
    platform: Platform,
) -> None:
    assert await platform.events.admission("CP-NEW") is None
    admitted = await platform.events.register_pending("CP-NEW", "station-pass-0001")
    assert isinstance(admitted, Admission)
    assert admitted.registration.value == "Pending" and admitted.password_hash is not None
    # Registered again (a second connect racing the first): the station stays as it was.
    again = await platform.events.register_pending("CP-NEW", None)
    assert again == admitted
    weak = await platform.events.register_pending("CP-WEAK", "short")
    assert weak is not None and weak.password_hash is None
