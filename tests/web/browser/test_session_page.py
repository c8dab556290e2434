"""A session's page in a browser: reached from the sessions list, it shows the signed start and end
readings and each signed block in a read-only field to copy; on a phone it fits the screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from tests import ocmf_records as rec
from tests.web.browser.conftest import Console, Screenshots
from tests.web.browser.station import PASSWORD, station

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

BEGIN = rec.as_hex(rec.begin_record())
END = rec.as_wrapper(rec.end_record())


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def signed_session(console: Console) -> int:
    await console.platform.stations.add("CP-EICH", PASSWORD)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    async with station(console.ocpp_url, "CP-EICH") as st:
        await st.boot("ACME", "Wallbox Pro 22")
        answer = await st.call(
            "StartTransaction",
            {"connectorId": 1, "idTag": "04A2BC11", "meterStart": 1234560, "timestamp": iso(start)},
        )
        tx = int(answer["transactionId"])
        stop = start + timedelta(minutes=40)
        await st.call(
            "StopTransaction",
            {
                "transactionId": tx,
                "meterStop": 1246060,
                "timestamp": iso(stop),
                "transactionData": [
                    {
                        "timestamp": iso(start),
                        "sampledValue": [
                            {"value": BEGIN, "format": "SignedData", "context": "Transaction.Begin"}
                        ],
                    },
                    {
                        "timestamp": iso(stop),
                        "sampledValue": [
                            {"value": END, "format": "SignedData", "context": "Transaction.End"}
                        ],
                    },
                ],
            },
        )
    return tx


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_signed_readings_of_a_session(
    ui: Console, phone: Console, screenshots: Screenshots
) -> None:
    tx = await signed_session(ui)
    page = ui.page
    await ui.login()
    await page.goto("/sessions")
    await page.locator(f'#sessions-table tr[data-session="{tx}"] a[href="/sessions/{tx}"]').click()
    await expect(page).to_have_url(f"{ui.url}/sessions/{tx}")
    await expect(page.get_by_role("heading", name=f"Session {tx}")).to_be_visible()
    await expect(page.locator("#signed-start")).to_contain_text("1234.56 kWh")
    await expect(page.locator("#signed-end")).to_contain_text("1246.06 kWh")
    blocks = page.locator("textarea.signed-data")
    await expect(blocks).to_have_count(2)
    await expect(blocks.nth(0)).to_have_value(BEGIN)
    await expect(blocks.nth(1)).to_have_value(END)
    await expect(blocks.nth(0)).not_to_be_editable()
    await expect(page.locator("code.secret", has_text=rec.PUBLIC_KEY)).to_be_visible()
    if screenshots.all:
        await page.screenshot(path=screenshots.dir / "session.png", full_page=True)

    await phone.login()
    await phone.page.goto(f"/sessions/{tx}")
    await expect(phone.page.locator("main h1")).to_be_visible()
    overflow: int = await phone.page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
    if screenshots.all:
        await phone.page.screenshot(path=screenshots.dir / "phone-session.png", full_page=True)
    assert overflow <= 0, f"the session page is {overflow}px wider than the phone"
