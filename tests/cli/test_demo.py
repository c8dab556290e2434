"""The demo's data: a session of every type with its prices, a licence at an employee's home, a
discount list with its tariff, and weeks of history for the charts, all reported over OCPP."""

from __future__ import annotations

from tests.ocpp.support import eventually
from voltflow.bootstrap import Platform
from voltflow.cli.demo import _seed_demo
from voltflow.domain.access import PLATFORM
from voltflow.domain.activity import ActivityFilter, View
from voltflow.domain.paging import PageRequest
from voltflow.domain.session_prices import Basis


async def test_the_demo_shows_every_session_type_with_its_prices(platform: Platform) -> None:
    stations = ["DEMO-01", "DEMO-02", "DEMO-03"]
    await _seed_demo(platform, stations, "demo-station-key")
    await platform.lists.wait_idle()

    async def delivered() -> bool:
        return not await platform.outbox.unpublished(1)

    await eventually(delivered, timeout=20)

    page = await platform.activity_views.page(
        PLATFORM, View.CHARGE_POINTS, ActivityFilter(), PageRequest(limit=500)
    )
    assert page.total > 80
    by_type: dict[str | None, int] = {}
    bases = set()
    for row in page.items:
        by_type[row.session_type] = by_type.get(row.session_type, 0) + 1
        bases.add(row.price_basis)
    assert set(by_type) == {"normal", "split_billing", "whitelist", "invalid"}
    assert {Basis.PUBLIC_TARIFF, Basis.DISCOUNT_LIST, Basis.WHITELIST, Basis.INVALID} <= bases
    assert None not in bases  # every session got its lines
    split = [row for row in page.items if row.session_type == "split_billing"]
    assert all(row.host_party == "employee" and row.host_amount for row in split)
    days = await platform.activity.repo.station_totals("DEMO-03")
    assert len(days) >= 20
