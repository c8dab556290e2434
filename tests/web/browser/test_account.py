"""A person's own page in a real browser: their sessions, and logging out everywhere ends the one
on their phone too."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.web.browser.conftest import OPERATOR, Console, Screenshots

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_log_out_everywhere_ends_the_session_on_the_phone(
    ui: Console, phone: Console, screenshots: Screenshots
) -> None:
    await phone.login()
    await expect(phone.page).to_have_url(f"{phone.url}/stations")
    await ui.login()
    page = ui.page
    await expect(page).to_have_url(f"{ui.url}/stations")

    await page.get_by_role("link", name=OPERATOR[0], exact=True).click()
    await expect(page).to_have_url(f"{ui.url}/account")
    await expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
    rows = page.locator("#sessions-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="this one")).to_have_count(1)
    await page.screenshot(path=str(screenshots.dir / "account.png"), full_page=True)

    await page.get_by_role("button", name="Log out everywhere").click()
    await expect(page).to_have_url(f"{ui.url}/login")
    await expect(page.get_by_role("status")).to_contain_text("Logged out everywhere")

    await phone.page.goto("/sessions")
    await expect(phone.page).to_have_url(f"{phone.url}/login")
    await page.goto("/stations")
    await expect(page).to_have_url(f"{ui.url}/login")
