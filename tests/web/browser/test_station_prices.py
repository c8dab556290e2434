"""A station's prices in a real browser: the operator picks the public tariff and the host's
tariff from the tariffs in the platform's currency and types the host's login; a login nobody has
is refused next to its field and changes nothing; the owner's fleet manager then reads the prices
without a form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.async_api import expect

from tests import factories
from tests.web.browser.conftest import OPERATOR, Console, Screenshots
from tests.web.browser.station import PASSWORD
from tests.web.browser.test_console import assert_fits

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SINCE = "2020-01-01T00:00:00Z"


async def test_operator_sets_a_stations_prices_and_the_owner_reads_them(ui: Console) -> None:
    platform, page = ui.platform, ui.page
    op = await factories.operator(platform, "boss")
    acme = await factories.company(platform, op, "Acme", drivers=1)
    await platform.stations.add("CP-ACME-1", PASSWORD, actor=op)
    await platform.stations.set_owner(op, "CP-ACME-1", acme.id)
    for document in (
        factories.tariff_document("PUBLIC", "0.40", flat="0.50", start=SINCE),
        factories.tariff_document("HOST-FEE", "0.25", start=SINCE),
        {**factories.tariff_document("DOLLARS", "0.50", start=SINCE), "currency": "USD"},
    ):
        await platform.tariffs.add(document, actor=op)
    host = acme.drivers[0].username

    await ui.login(*OPERATOR)
    await page.goto("/stations/CP-ACME-1")
    prices = page.locator("#prices")
    await expect(prices.get_by_role("heading", name="Prices")).to_be_visible()
    await expect(page.locator("#station-tariff")).to_have_text("none")
    await expect(prices).to_contain_text("public sessions here are not priced")
    public = page.get_by_label("Public tariff")
    # Only the tariffs in euro are offered.
    await expect(public.locator("option")).to_have_count(3)
    await expect(public.locator("option", has_text="DOLLARS")).to_have_count(0)

    # A login nobody has: refused next to the field, the choices kept, nothing stored.
    await public.select_option("PUBLIC")
    await page.get_by_label("Host (login)").fill("ghost")
    await page.get_by_label("Host's remuneration tariff").select_option("HOST-FEE")
    await page.get_by_role("button", name="Set prices").click()
    await expect(page.locator("#prices-host-error")).to_have_text("no person ghost")
    await expect(page.get_by_label("Host (login)")).to_have_attribute("aria-invalid", "true")
    await expect(public).to_have_value("PUBLIC")
    await expect(page.locator("#station-tariff")).to_have_text("none")
    assert (await platform.pricing.station_prices(op, "CP-ACME-1")).tariff is None

    await page.get_by_label("Host (login)").fill(host)
    await page.get_by_role("button", name="Set prices").click()
    await expect(page.locator(".flash").last).to_contain_text("Prices of CP-ACME-1 set")
    await expect(page.locator("#station-tariff")).to_contain_text(
        "€0.40/kWh, €0.50 per session excl. VAT"
    )
    await expect(page.locator("#station-tariff")).to_contain_text("version 1, in force since")
    await expect(page.locator("#station-host")).to_have_text(host)
    await expect(page.locator("#station-host-tariff")).to_contain_text("€0.25/kWh excl. VAT")
    await expect(page.locator("#prices-host-error")).to_have_count(0)
    stored = await platform.pricing.station_prices(op, "CP-ACME-1")
    assert stored.tariff is not None and stored.tariff.tariff_id == "PUBLIC"
    assert stored.host == host
    assert stored.host_tariff is not None and stored.host_tariff.tariff_id == "HOST-FEE"

    # The owner's fleet manager reads them, without the form.
    await page.get_by_role("button", name="Log out").click()
    await ui.login(acme.manager.username, "manager-pass")
    await page.goto("/stations/CP-ACME-1")
    await expect(page.locator("#station-tariff")).to_contain_text("PUBLIC")
    await expect(page.locator("#station-host")).to_have_text(host)
    await expect(page.locator("#prices-form")).to_have_count(0)


# Layout does not depend on the database.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_prices_fit_a_phone(phone: Console, screenshots: Screenshots) -> None:
    """Tariffs whose summaries are long (several elements, some under conditions) in the
    selects and the facts: the page still fits a phone's width."""
    platform, page = phone.platform, phone.page
    op = await factories.operator(platform, "boss")
    await platform.stations.add("CP-1", PASSWORD, actor=op)
    wordy = factories.tariff_document(
        "WORDY-TARIFF-WITH-A-LONG-NAME", "0.4567", flat="1.50", per_hour="2.40", start=SINCE
    )
    wordy["elements"].insert(
        0,
        {
            "price_components": [
                {"type": "PARKING_TIME", "price": Decimal("6.00"), "vat": 21, "step_size": 60}
            ],
            "restrictions": {"start_time": "08:00", "end_time": "20:00"},
        },
    )
    await platform.tariffs.add(wordy, actor=op)
    await platform.pricing.set_station_prices(
        op, "CP-1", tariff_id=wordy["id"], host="boss", host_tariff_id=wordy["id"]
    )

    await phone.login()
    await page.goto("/stations/CP-1")
    await expect(page.locator("#station-tariff")).to_contain_text("(under conditions)")
    await assert_fits(page, "station prices", screenshots)
    await page.get_by_label("Host (login)").fill("nobody-" + "x" * 60)
    await page.get_by_role("button", name="Set prices").click()
    await expect(page.locator("#prices-host-error")).to_be_visible()
    await assert_fits(page, "station prices refused", screenshots)
    if screenshots.all:
        await page.screenshot(path=screenshots.dir / "phone-station-prices.png", full_page=True)
