"""The release note's activity views in Chromium: a driver's own sessions on a phone, in French,
with the types as the note names them and what each cost or earned; a fleet manager's mobility
view narrowed with the E-Charging filter."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from tests import factories
from tests.web.browser.conftest import Console
from tests.web.browser.test_languages import DRIVER_PASSWORD, MANAGER_PASSWORD, _switch, _world
from voltflow.bootstrap import Platform
from voltflow.domain.access import PLATFORM
from voltflow.domain.licences import FixedRate
from voltflow.store.tables import charging_sessions

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

TARIFF = {
    "country_code": "BE",
    "party_id": "VFL",
    "id": "PUBLIC",
    "currency": "EUR",
    "start_date_time": "2026-01-01T00:00:00Z",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal("0.40"), "vat": Decimal(21), "step_size": 1}
            ]
        }
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}


async def _priced_world(platform: Platform) -> factories.Company:
    """The languages test's company (a session of each type at its station), with a public
    tariff and a licence on its driver's card, every session priced."""
    acme = await _world(platform)
    await platform.tariffs.add(TARIFF, actor=PLATFORM)
    await platform.pricing.set_station_prices(PLATFORM, "CP-ACME-1", tariff_id="PUBLIC")
    async with platform.db.reading() as conn:
        rows = (
            await conn.execute(select(charging_sessions.c.id, charging_sessions.c.id_tag))
        ).all()
    await platform.cards.activate(acme.manager, [rows[0].id_tag])
    await platform.licences.add(
        acme.manager, "CP-ACME-1", [rows[0].id_tag], FixedRate(Decimal("0.6654"))
    )
    await platform.pricing.pricing.price([row.id for row in rows])
    return acme


async def test_a_driver_reads_their_sessions_on_a_phone_in_french(phone: Console) -> None:
    page = phone.page
    acme = await _priced_world(phone.platform)
    await phone.login(acme.drivers[0].username, DRIVER_PASSWORD)
    await _switch(phone, "fr")
    await page.goto(f"{phone.url}/my/sessions")
    await expect(page.get_by_role("heading", name="Mes sessions")).to_be_visible()
    listing = page.locator("#my-sessions")
    for label in ("Liste blanche", "Non valable", "Normal", "Split billing"):
        await expect(listing.get_by_text(label, exact=True)).to_be_visible()
    # 7.334 kWh × €0,40 + 21 % TVA = € 3,55; 3,667 kWh – 0:15:00 as the release note writes it.
    normal = listing.locator("li[data-type=normal]")
    await expect(normal).to_contain_text("€ 3,55")
    await expect(listing.locator("li[data-type=whitelist]")).to_contain_text("3,667 kWh – 0:15:00")
    await normal.get_by_role("link").click()
    await expect(page.locator("#price")).to_contain_text("€ 3,55")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= (page.viewport_size or {"width": 0})["width"], "no sideways scrolling"


async def test_a_fleet_manager_narrows_the_mobility_view_to_some_types(ui: Console) -> None:
    page = ui.page
    acme = await _priced_world(ui.platform)
    await ui.login(acme.manager.username, MANAGER_PASSWORD)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity").click()
    await page.get_by_role("link", name="Mobility").click()
    table = page.locator("#activity-table")
    await expect(table.locator("tbody tr")).to_have_count(4)
    await page.get_by_label("Whitelist").check()
    await page.get_by_label("Invalid").check()
    await page.get_by_role("button", name="Filter").click()
    await expect(table.locator("tbody tr")).to_have_count(2)
    await expect(table).to_contain_text("Whitelist")
    await expect(table).not_to_contain_text("Normal")
    await _switch(ui, "nl")
    await expect(page.locator("#activity-table")).to_contain_text("Witte lijst")
