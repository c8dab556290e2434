"""The activity views' charts over real HTTP: each page carries the JSON data island of its
figures, from the daily totals (the sessions of tests.services.test_activity's world), and each
side's island holds only its own."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.services.test_activity import World, card_activity
from tests.web.test_console_activity import login
from voltflow.bootstrap import Platform
from voltflow.web import create_app


@pytest.fixture
async def world(platform: Platform) -> World:
    return await card_activity(platform)


def island(page: httpx.Response, name: str) -> dict[str, Any] | None:
    found = re.search(
        rf'<script type="application/json" id="{name}">(.*?)</script>', page.text, re.S
    )
    return None if found is None else dict(json.loads(found.group(1)))


def sums(chart: dict[str, Any]) -> tuple[float, int]:
    energy, sessions = chart["series"]
    return round(sum(energy["values"]), 3), sum(sessions["values"])


async def test_the_mobility_view_charts_the_companys_cards(
    platform: Platform, world: World
) -> None:
    app = create_app(platform)
    async with login(app, "acme-manager", "manager-pass") as client:
        page = await client.get("/activity/mobility")
        assert page.status_code == 200
        days, months = island(page, "activity-days-data"), island(page, "activity-months-data")
        assert days is not None and months is not None
        assert len(days["x"]) == 30 and days["x"][-1] == world.today.isoformat()
        energy, sessions = days["series"]
        assert (energy["values"][-1], sessions["values"][-1]) == (3.0, 2)
        assert (energy["values"][-2], sessions["values"][-2]) == (4.0, 1)
        assert sums(days) == (7.0, 3)
        assert months["period"] == "month" and len(months["x"]) == 12
        assert months["x"][-1] == world.today.replace(day=1).isoformat()
        assert sums(months) == (15.0, 4)
        # Filtered to one person: that person's.
        first = world.acme.drivers[0].user_id
        one = island(await client.get(f"/activity/mobility?person={first}"), "activity-days-data")
        assert one is not None and sums(one) == (3.0, 2)
        # Another company's, asked for: nothing of theirs.
        foreign = await client.get(f"/activity/mobility?org={world.other.id}")
        assert island(foreign, "activity-days-data") is None
        assert "No sessions in the last 12 months." in foreign.text


async def test_the_charge_points_view_charts_the_owners_stations(
    platform: Platform, world: World
) -> None:
    app = create_app(platform)
    async with login(app, "other-manager", "manager-pass") as client:
        page = await client.get("/activity/charge-points")
        days, months = island(page, "activity-days-data"), island(page, "activity-months-data")
        assert days is not None and months is not None
        assert sums(days) == (4.0, 1)  # CP-B, yesterday: Acme's card
        assert sums(months) == (12.0, 2)
    async with login(app, "op", "op-password") as client:
        page = await client.get(f"/activity/charge-points?org={world.acme.id}")
        days = island(page, "activity-days-data")
        assert days is not None and sums(days) == (115.0, 5)


async def test_a_driver_sees_their_months_in_their_language(
    platform: Platform, world: World
) -> None:
    app = create_app(platform)
    async with login(app, "acme-driver1", "driver-pass", language="nl") as client:
        page = await client.get("/my/sessions")
        assert island(page, "activity-days-data") is None  # per month only, on a phone
        months = island(page, "activity-months-data")
        assert months is not None
        assert sums(months) == (4.0, 1)
        yesterday = world.today - timedelta(days=1)
        assert months["x"][-1 if yesterday.month == world.today.month else -2] == (
            yesterday.replace(day=1).isoformat()
        )
        assert months["series"][0]["label"] == "Energie (kWh)"
        assert '<html lang="nl"' in page.text
    async with login(app, "op", "op-password") as client:
        mine = await client.get("/my/sessions")
        assert island(mine, "activity-months-data") is None
        assert "No sessions in the last 12 months." in mine.text
