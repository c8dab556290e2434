"""In a browser: the station page draws its 30 days of energy and sessions with the platform's
own uPlot (a canvas, no console error), or says there were none; the sessions page's CSV and
XLSX links download the list."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from babel.dates import format_date
from playwright.async_api import ConsoleMessage, expect
from sqlalchemy import insert

from tests.web.browser.conftest import Console
from tests.web.browser.station import PASSWORD
from voltflow.store.tables import charging_sessions

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_station_chart_and_sessions_downloads(ui: Console) -> None:
    platform = ui.platform
    for station in ("CP-CHART", "CP-QUIET"):
        await platform.stations.add(station, PASSWORD)
    today = datetime.now(ZoneInfo(platform.settings.timezone)).date()
    await platform.activity.repo.add_many_station_totals(
        [("CP-CHART", today - timedelta(days=d), d + 1, 7400 * (d + 1)) for d in (0, 3, 4, 12)]
    )
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    async with platform.db.writes.begin() as conn:
        await conn.execute(
            insert(charging_sessions),
            [
                {
                    "station_id": "CP-CHART",
                    "evse_id": 1,
                    "connector_id": 1,
                    "id_tag": f"04AA{i:04d}",
                    "auth_status": "Accepted",
                    "started_at": began + timedelta(minutes=10 * i),
                    "meter_start_wh": 0,
                    "stopped_at": began + timedelta(minutes=10 * i + 5),
                    "meter_stop_wh": 1500,
                    "energy_wh": 1500,
                    "created_at": began,
                }
                for i in range(3)
            ],
        )
    page = ui.page
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The browser's own favicon.ico request is no page's error.
        if message.type == "error" and "favicon" not in message.location.get("url", ""):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    await ui.login()
    await page.goto("/stations/CP-CHART")
    chart = page.locator("#station-activity")
    await expect(chart.locator("canvas")).to_have_count(1)
    await expect(chart.locator(".u-legend")).to_contain_text("Energy (kWh)")
    await expect(chart.locator(".u-legend")).to_contain_text("Sessions")
    box = await chart.locator("canvas").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100

    # In Dutch: the series' names from the page, the day under the cursor as nl-BE writes it
    # (the month's name in lower case: "5 december 2026"; en-GB would write "December").
    await page.locator("#language-switch").get_by_role("button", name="NL").click()
    await expect(page.locator("html")).to_have_attribute("lang", "nl")
    legend = page.locator("#station-activity .u-legend")
    await expect(legend).to_contain_text("Energie (kWh)")
    over = page.locator("#station-activity .u-over")
    await over.hover(
        position={"x": (await over.bounding_box() or {"width": 10})["width"] - 5, "y": 20}
    )
    month = format_date(today, "MMMM", locale="nl_BE")
    await expect(legend).to_contain_text(f"{today.day} {month} {today.year}")
    await page.locator("#language-switch").get_by_role("button", name="EN").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")

    await page.goto("/stations/CP-QUIET")
    await expect(page.get_by_text("No sessions in the last 30 days.")).to_be_visible()
    await expect(page.locator("canvas")).to_have_count(0)

    await page.goto("/sessions?station_id=CP-CHART")
    async with page.expect_download() as csv_download:
        await page.locator(".exports").get_by_role("link", name="CSV").click()
    download = await csv_download.value
    assert download.suggested_filename.endswith(".csv")
    text = (await asyncio.to_thread(Path(await download.path()).read_bytes)).decode()
    assert text.count("CP-CHART") == 3 and text.startswith("Start,End,Station")

    async with page.expect_download() as xlsx_download:
        await page.locator(".exports").get_by_role("link", name="XLSX").click()
    download = await xlsx_download.value
    assert download.suggested_filename.endswith(".xlsx")
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert [r[4] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        "04AA0002",
        "04AA0001",
        "04AA0000",
    ]
    assert not errors, errors
