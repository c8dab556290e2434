"""The Mail page in a browser: an operator finds a person's invitation, in that person's
language, and reads it as its recipient would, in a frame that runs nothing."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests import factories
from tests.web.browser.conftest import OPERATOR, Console
from voltflow.domain.access import OrganisationKind, Role

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_an_operator_reads_an_invitation_as_its_recipient_does(ui: Console) -> None:
    platform = ui.platform
    op = await factories.operator(platform, "op2")
    org = await platform.organisations.create(op, "Laadpunt Gent", OrganisationKind.COMPANY)
    await platform.organisations.set_document_language(op, org.id, "nl")
    await platform.organisations.add_person(
        op, org.id, "an", Role.DRIVER, password="an-secret-pw", email="an@gent.example"
    )
    await ui.login(*OPERATOR)
    page = ui.page
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Mail").click()
    await expect(page.get_by_role("heading", name="Mail", exact=True)).to_be_visible()
    row = page.locator("#mail-table tbody tr").first
    await expect(row).to_contain_text("an@gent.example")
    await expect(row).to_contain_text("Nederlands")
    await expect(row).to_contain_text("pending")

    await row.get_by_role("link", name="Uw toegang tot Laadpunt Gent").click()
    await expect(page.get_by_role("heading", name="Uw toegang tot Laadpunt Gent")).to_be_visible()
    mail = page.frame_locator("#mail-html iframe")
    await expect(mail.get_by_role("link", name="Aanmelden")).to_be_visible()
    await expect(mail.locator("body")).to_contain_text("U hebt nu de rol bestuurder")
    await expect(page.locator("#mail-text pre")).to_contain_text("Beste,")
