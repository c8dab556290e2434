"""In a browser: the mobility view draws its cards' energy and sessions per day and per month
with the platform's own uPlot (two canvases, no console error); the month chart is labelled
by months."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from playwright.async_api import ConsoleMessage, expect

from tests.web.browser.conftest import Console

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_mobility_view_charts_days_and_months(ui: Console) -> None:
    platform = ui.platform
    today = datetime.now(ZoneInfo(platform.settings.timezone)).date()
    # The totals as the consumer keeps them: organisation 1's cards, driver 0 (none).
    await platform.activity.repo.add_many_card_totals(
        [(1, 0, today - timedelta(days=d), d + 1, 7400 * (d + 1)) for d in (0, 3, 40, 100)]
    )
    page = ui.page
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "favicon" not in message.location.get("url", ""):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    await ui.login()
    await page.goto("/activity/mobility")
    days = page.locator("#activity-days")
    months = page.locator("#activity-months")
    await expect(days.locator("canvas")).to_have_count(1)
    await expect(months.locator("canvas")).to_have_count(1)
    await expect(months.locator(".u-legend")).to_contain_text("Energy (kWh)")
    await expect(months.locator(".u-legend")).to_contain_text("Sessions")
    for chart in (days, months):
        box = await chart.locator("canvas").bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
    # The month under the cursor, as the page's language writes it.
    over = months.locator(".u-over")
    await over.hover(
        position={"x": (await over.bounding_box() or {"width": 10})["width"] - 5, "y": 20}
    )
    month = format_date(today, "MMMM", locale="en_GB")
    await expect(months.locator(".u-legend")).to_contain_text(f"{month} {today.year}")
    assert not errors, errors
