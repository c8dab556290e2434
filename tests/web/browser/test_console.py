"""The operator console in a real browser: login, stations with live status, a station's page
(connectors, sessions, message log, remote actions), the sessions list, a phone-sized layout."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.web.browser.conftest import LIVE_TIMEOUT_MS, OPERATOR, Console, Screenshots
from tests.web.browser.station import PASSWORD, Station, station
from voltflow.bootstrap import Platform
from voltflow.domain.queries import MessageFilter

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LONG_ID = "CP-0001-WITH-A-RATHER-LONG-IDENTIFIER-FOR-THE-LAYOUT"


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """For what the platform writes behind the station's back (the log of answers it sent)."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - polls the database
            await asyncio.sleep(0.02)


async def logged_frames(platform: Platform, station_id: str, count: int) -> None:
    async def enough() -> bool:
        frames = await platform.stations.message_log(station_id, MessageFilter(limit=1000))
        return len(frames) >= count

    await eventually(enough)


async def charge(
    st: Station, *, start: datetime, minutes: float, meter_start: int, meter_stop: int
) -> int:
    """One whole session on connector 1, as the station reports it."""
    answer = await st.call(
        "StartTransaction",
        {"connectorId": 1, "idTag": "TAG0001", "meterStart": meter_start, "timestamp": iso(start)},
    )
    transaction_id = int(answer["transactionId"])
    await st.call(
        "StopTransaction",
        {
            "transactionId": transaction_id,
            "meterStop": meter_stop,
            "timestamp": iso(start + timedelta(minutes=minutes)),
            "reason": "EVDisconnected",
        },
    )
    return transaction_id


# -- login ---------------------------------------------------------------------------------------
async def test_console_requires_login(ui: Console) -> None:
    page = ui.page
    await page.goto("/stations")
    await expect(page).to_have_url(f"{ui.url}/login")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    # Nothing of the console shows before logging in.
    await expect(page.get_by_role("link", name="Sessions")).to_have_count(0)

    await ui.login(OPERATOR[0], "not-the-password")
    await expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    await expect(page).to_have_url(f"{ui.url}/login")

    await ui.login()
    await expect(page).to_have_url(f"{ui.url}/stations")
    await expect(page.get_by_role("heading", name="Stations", exact=True)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Stations")).to_have_attribute("aria-current", "page")
    await expect(page.get_by_text(OPERATOR[0], exact=True)).to_be_visible()
    await page.goto("/login")  # already in: straight to the console
    await expect(page).to_have_url(f"{ui.url}/stations")

    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(f"{ui.url}/login")
    await page.goto("/sessions")
    await expect(page).to_have_url(f"{ui.url}/login")


# -- stations ------------------------------------------------------------------------------------
async def test_add_station_shows_its_url_and_password_once(ui: Console) -> None:
    page = ui.page
    await ui.login()
    await expect(page.get_by_text("No stations yet")).to_be_visible()

    await page.get_by_text("Add a station").click()
    await page.get_by_label("Station id").fill("CP-NEW")
    await page.get_by_role("button", name="Add", exact=True).click()

    notice = page.get_by_role("status")
    await expect(notice).to_contain_text("Station CP-NEW added")
    await expect(notice.locator("code.url")).to_have_text(f"{ui.ocpp_url}/CP-NEW")
    password = await notice.locator("code.secret").inner_text()
    assert 16 <= len(password) <= 40, password
    row = page.locator('#stations-table tr[data-station="CP-NEW"]')
    await expect(row).to_contain_text("offline")
    await expect(row).to_contain_text("never")

    # The station connects with exactly what the page showed.
    async with station(ui.ocpp_url, "CP-NEW", password) as st:
        await st.boot()

    await page.goto("/stations")
    await expect(row).to_contain_text("Acme Wallbox 22")
    await expect(page.get_by_text(password)).to_have_count(0)

    # Adding it again is refused, with the reason.
    await page.get_by_text("Add a station").click()
    await page.get_by_label("Station id").fill("CP-NEW")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("CP-NEW already exists")
    await expect(page.locator("#stations-table tbody tr")).to_have_count(1)


async def test_station_status_shows_live(ui: Console) -> None:
    """One poll of each page shows a station coming online and another going offline."""
    page = ui.page
    await ui.platform.stations.add("CP-1", PASSWORD)
    await ui.platform.stations.add("CP-2", PASSWORD)
    async with station(ui.ocpp_url, "CP-2") as leaving:
        await leaving.boot("Old", "Box")
        await ui.login()
        row = page.locator('#stations-table tr[data-station="CP-1"]')
        other = page.locator('#stations-table tr[data-station="CP-2"]')
        await expect(row).to_contain_text("offline")
        await expect(row).to_contain_text("never")
        await expect(other.locator(".badge.ok")).to_have_text("online")
        # The pages of both stations, open in their own tabs.
        arriving_page = await page.context.new_page()
        await arriving_page.goto("/stations/CP-1")
        arriving = arriving_page.locator("dl.facts")
        await expect(arriving.locator(".badge.off")).to_have_text("offline")
        await expect(arriving_page.get_by_text("No status reported yet")).to_be_visible()
        leaving_page = await page.context.new_page()
        await leaving_page.goto("/stations/CP-2")
        await expect(leaving_page.locator("dl.facts .badge.ok")).to_have_text("online")
        for p in (page, arriving_page, leaving_page):
            await p.evaluate("window.notReloaded = true")

    async with station(ui.ocpp_url, "CP-1") as st:
        await st.boot("Acme", "Wallbox 22")
        await st.status(0, "Available")
        await st.status(1, "Available")
        await st.status(2, "Faulted", "GroundFailure")

        # The list polls.
        await expect(row.locator(".badge.ok")).to_have_text("online", timeout=LIVE_TIMEOUT_MS)
        await expect(row).to_contain_text("1: Available")
        await expect(row).to_contain_text("2: Faulted")
        await expect(row).to_contain_text("Acme Wallbox 22")
        await expect(row).to_contain_text(re.compile(r"\d+ s ago"))
        await expect(other.locator(".badge.off")).to_have_text("offline", timeout=LIVE_TIMEOUT_MS)
        # So do the station pages.
        await expect(arriving.locator(".badge.ok")).to_have_text("online", timeout=LIVE_TIMEOUT_MS)
        await expect(arriving).to_contain_text("Acme / Wallbox 22")
        connectors = arriving_page.locator("#connectors")
        await expect(connectors.locator('tr[data-evse="0"]')).to_contain_text("Available")
        await expect(connectors.locator('tr[data-evse="1"]')).to_contain_text("Available")
        await expect(connectors.locator('tr[data-evse="2"]')).to_contain_text("Faulted")
        await expect(connectors.locator('tr[data-evse="2"]')).to_contain_text("GroundFailure")
        await expect(leaving_page.locator("dl.facts .badge.off")).to_have_text(
            "offline", timeout=LIVE_TIMEOUT_MS
        )
        for p in (page, arriving_page, leaving_page):
            assert await p.evaluate("window.notReloaded") is True, f"{p.url} was reloaded"

        # Filters: online only.
        await page.get_by_label("Connection").select_option("online")
        await expect(page.locator("#stations-table tbody tr")).to_have_count(1)
        await expect(row).to_be_visible()
        await expect(page).to_have_url(re.compile(r"status=online"))
        # The next poll keeps the filter: the poller came with the filtered table.
        await expect(page.locator("#stations > [hx-trigger='every 5s']")).to_have_attribute(
            "hx-get", re.compile(r"status=online")
        )

        await row.get_by_role("link", name="CP-1").click()
        await expect(page).to_have_url(f"{ui.url}/stations/CP-1")
        await expect(page.get_by_role("heading", name="CP-1", exact=True)).to_be_visible()
        facts = page.locator("dl.facts")
        await expect(facts).to_contain_text("Acme / Wallbox 22")
        await expect(facts).to_contain_text(f"{ui.ocpp_url}/CP-1")
        await expect(page.locator('#connectors tr[data-evse="2"]')).to_contain_text("Faulted")


# -- remote actions ------------------------------------------------------------------------------
async def test_remote_actions_show_the_answer(ui: Console) -> None:
    page = ui.page
    await ui.platform.stations.add("CP-1", PASSWORD)
    await ui.platform.stations.add("CP-OFF", PASSWORD)
    await ui.login()
    actions = page.get_by_role("region", name="Remote actions")
    action = actions.get_by_label("Action")
    payload = actions.get_by_label("Payload (JSON)")
    send = actions.get_by_role("button", name="Send")
    result = actions.locator("#command-result")

    async with station(ui.ocpp_url, "CP-1") as st:
        await st.boot()
        await page.goto("/stations/CP-1")

        await action.select_option("GetConfiguration")
        await expect(payload).to_have_value("{}")
        await payload.fill('{"key": ["HeartbeatInterval"]}')
        await send.click()
        await expect(result.get_by_role("status")).to_contain_text(
            "GetConfiguration: the station answered"
        )
        await expect(result.locator("pre")).to_contain_text('"key": "HeartbeatInterval"')
        await expect(result.locator("pre")).to_contain_text('"value": "300"')
        assert st.received[-1] == ("GetConfiguration", {"key": ["HeartbeatInterval"]})
        # The message log below refreshes with the exchange.
        log = page.get_by_role("region", name="OCPP message log")
        await expect(log.locator("tbody tr").first).to_contain_text("↳ GetConfiguration")
        await expect(log.locator("tbody tr").first).to_contain_text('"value":"300"')

        await action.select_option("Reset")
        await expect(payload).to_have_value('{"type": "Soft"}')
        await payload.fill('{"type": "Hard"}')
        await send.click()
        await expect(result.get_by_role("status")).to_contain_text("Reset: the station answered")
        await expect(result.locator("pre")).to_contain_text('"status": "Accepted"')
        assert st.received[-1] == ("Reset", {"type": "Hard"})

        # The station answers with a CALLERROR.
        await action.select_option("ClearCache")
        await send.click()
        await expect(result.get_by_role("alert")).to_contain_text("ClearCache failed")
        await expect(result.get_by_role("alert")).to_contain_text("NotImplemented")

        assert st.received[-1] == ("ClearCache", {})

        # Never sent: not JSON, or not what the action takes.
        sent = len(st.received)
        await action.select_option("Reset")
        await payload.fill('{"type": ')
        await send.click()
        await expect(result.get_by_role("alert")).to_contain_text(
            "Reset failed — the payload is not valid JSON"
        )
        await payload.fill('{"type": "Sideways"}')
        await send.click()
        await expect(result.get_by_role("alert")).to_contain_text(
            "Reset failed — invalid payload, not sent"
        )
        await expect(result.get_by_role("alert")).to_contain_text("type must be one of")
        assert len(st.received) == sent

    await page.goto("/stations/CP-OFF")
    await action.select_option("Reset")
    await send.click()
    await expect(result.get_by_role("alert")).to_contain_text(
        "Reset failed — station offline: station CP-OFF is not connected"
    )


# -- message log ---------------------------------------------------------------------------------
async def test_message_log_lists_and_filters_frames(ui: Console) -> None:
    page = ui.page
    await ui.platform.stations.add("CP-1", PASSWORD)
    async with station(ui.ocpp_url, "CP-1") as st:
        await st.boot()
        await st.status(1, "Available")
        await st.status(2, "Faulted", "GroundFailure")
        await st.call("Heartbeat", {})
        await ui.platform.commands.send("CP-1", "Reset", {"type": "Soft"})
    # 4 CALLs from the station and their answers, our Reset and its answer.
    await logged_frames(ui.platform, "CP-1", 10)

    await ui.login()
    await page.goto("/stations/CP-1")
    log = page.get_by_role("region", name="OCPP message log")
    rows = log.locator("#message-log tbody tr")
    await expect(rows).to_have_count(10)
    # Newest first: the Reset's answer came last.
    await expect(rows.first).to_contain_text("RESULT")
    await expect(rows.first).to_contain_text("↳ Reset")
    await expect(rows.first).to_contain_text('"status":"Accepted"')
    await expect(log.locator("tr", has_text="BootNotification").last).to_contain_text("Acme")

    await log.get_by_label("Action").fill("StatusNotification")
    await expect(rows).to_have_count(4)
    # The CALLs, and the answers to them.
    for text in await rows.locator("td.action").all_inner_texts():
        assert text.removeprefix("↳ ") == "StatusNotification"

    await log.get_by_label("Direction").select_option("in")
    await expect(rows).to_have_count(2)
    await log.get_by_label("Text").fill("GroundFailure")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text('"connectorId":2')

    await log.get_by_label("Action").fill("Reset")
    await log.get_by_label("Text").fill("")
    await log.get_by_label("Direction").select_option("out")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text('"type":"Soft"')

    await log.get_by_label("Action").fill("Authorize")
    await expect(log.get_by_text("No messages match these filters")).to_be_visible()


# -- sessions ------------------------------------------------------------------------------------
async def test_finished_sessions_are_listed(ui: Console) -> None:
    page = ui.page
    platform = ui.platform
    await platform.stations.add("CP-1", PASSWORD)
    await platform.stations.add("CP-2", PASSWORD)
    await platform.tokens.add("TAG0001")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    async with station(ui.ocpp_url, "CP-1") as st:
        await st.boot()
        await charge(st, start=start, minutes=83.5, meter_start=1000, meter_stop=13345)
    async with station(ui.ocpp_url, "CP-2") as st:
        await st.boot()
        await charge(
            st, start=start + timedelta(hours=1), minutes=30, meter_start=500, meter_stop=7750
        )

    await ui.login()
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    await expect(page).to_have_url(f"{ui.url}/sessions")
    rows = page.locator("#sessions-table tbody tr")
    await expect(rows).to_have_count(2)
    first = rows.filter(has_text="CP-1")
    await expect(first).to_contain_text("12.345 kWh")
    await expect(first).to_contain_text("1:23:30")
    await expect(first).to_contain_text("TAG0001")
    await expect(first).to_contain_text("EVDisconnected")
    second = rows.filter(has_text="CP-2")
    await expect(second).to_contain_text("7.250 kWh")
    await expect(second).to_contain_text("0:30:00")

    await page.get_by_label("Station").fill("CP-2")
    await page.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(re.compile(r"station_id=CP-2"))
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("CP-2")
    await expect(page.get_by_label("Station")).to_have_value("CP-2")

    await page.get_by_label("Station").fill("CP-9")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_text("No sessions match these filters")).to_be_visible()

    # The station's page lists its own sessions and links to the filtered list.
    await page.goto("/stations/CP-1")
    recent = page.locator("#station-sessions tbody tr")
    await expect(recent).to_have_count(1)
    await expect(recent).to_contain_text("12.345 kWh")
    await page.get_by_role("link", name="All sessions of this station").click()
    await expect(page).to_have_url(re.compile(r"/sessions\?station_id=CP-1"))
    await expect(rows).to_have_count(1)


# -- layout --------------------------------------------------------------------------------------
# What sticks out of the screen, outside a scrolling table wrapper: "tag.class (right edge)".
_STICKING_OUT = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".table-wrap")) continue;
    const right = el.getBoundingClientRect().right;
    if (right > width + 0.5) out.push(`${el.tagName.toLowerCase()}.${el.className} (${right})`);
  }
  return out.slice(0, 10);
}"""


async def assert_fits(page: Page, what: str, shots: Screenshots) -> None:
    """No sideways scrolling of the page: only tables may scroll, inside their wrapper."""
    overflow: int = await page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
    if overflow > 0:
        shot = shots.dir / f"overflow-{re.sub(r'[^a-z0-9]+', '-', what.lower()).strip('-')}.png"
        await page.screenshot(path=shot, full_page=True)
        sticking_out = await page.evaluate(_STICKING_OUT)
        pytest.fail(f"{what}: {overflow}px wider than the phone: {sticking_out}; see {shot}")


# Layout does not depend on the database.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_layout_on_a_phone_and_screenshots(
    ui: Console, phone: Console, screenshots: Screenshots
) -> None:
    platform = ui.platform
    await platform.stations.add(LONG_ID, PASSWORD)
    await platform.stations.add("CP-2", PASSWORD)
    await platform.tokens.add("TAG0001")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    async with station(ui.ocpp_url, "CP-2") as st:
        await st.boot("Acme Charging", "Wallbox 22 kW Dual")
        await st.status(0, "Available")
        await st.status(1, "Charging")
        await st.status(2, "Faulted", "GroundFailure")
        await charge(st, start=start, minutes=95, meter_start=0, meter_stop=21500)
        await st.call(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "TAG0001",
                "meterStart": 21500,
                "timestamp": iso(start + timedelta(minutes=100)),
            },
        )
        await logged_frames(platform, "CP-2", 12)

        page = phone.page
        await phone.login()
        await expect(page.locator("#stations-table")).to_be_visible()
        await assert_fits(page, "/stations", screenshots)
        # The one-time notice holds a long URL and password: it must wrap, not widen the page.
        await page.get_by_text("Add a station").click()
        await page.get_by_label("Station id").fill("CP-PHONE-" + "0" * 40)
        await page.get_by_role("button", name="Add", exact=True).click()
        await expect(page.get_by_role("status")).to_contain_text("added")
        await assert_fits(page, "new station notice", screenshots)
        if screenshots.all:
            await page.screenshot(path=screenshots.dir / "phone-stations.png", full_page=True)
        for path in ("/sessions", f"/stations/{LONG_ID}", "/stations/CP-2"):
            await page.goto(path)
            await expect(page.locator("main h1")).to_be_visible()
            await assert_fits(page, path, screenshots)
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator("#command-result")).to_contain_text("Reset")
        await assert_fits(page, "command answer", screenshots)
        if screenshots.all:
            await page.screenshot(path=screenshots.dir / "phone-station.png", full_page=True)
        await page.get_by_role("button", name="Log out").click()
        await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        await assert_fits(page, "/login", screenshots)

        desktop = ui.page
        await ui.login()
        await expect(desktop.locator("#stations-table")).to_be_visible()
        await desktop.screenshot(path=screenshots.dir / "stations.png", full_page=True)
        await desktop.goto("/stations/CP-2")
        await desktop.get_by_role("button", name="Send").click()
        await expect(desktop.locator("#command-result")).to_contain_text("Reset")
        await desktop.screenshot(path=screenshots.dir / "station.png", full_page=True)
        if screenshots.all:
            await desktop.goto("/sessions")
            await desktop.screenshot(path=screenshots.dir / "sessions.png", full_page=True)
