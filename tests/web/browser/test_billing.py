"""Billing in Chromium: the operator previews last month (every customer's), confirms and
finalises it while the page shows the run's progress, opens the invoice and downloads its PDF;
the company's fleet manager reads its invoices on a phone, without scrolling sideways, and
downloads one there."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from pypdf import PdfReader

from tests import factories
from tests.web.browser.conftest import OPERATOR, Console, Screenshots
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor
from voltflow.domain.contracts import ContractKind
from voltflow.domain.licences import DeviceKind, FixedRate
from voltflow.i18n import formats

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

MANAGER_PASSWORD = "manager-pass"


async def _company(
    platform: Platform, op: Actor, name: str, vat: str, fee: str, device: str
) -> factories.Company:
    """A company with a split-billing licence at its employee's home all last month, billed
    as its contract's subscription: ``fee`` + 21 % VAT."""
    period = platform.billing.last_month()
    company = await factories.company(platform, op, name, drivers=1)
    slug = name.lower()
    await platform.organisations.update(
        op,
        company.id,
        {"vat_number": vat, "city": "Brussel", "billing_email": f"billing@{slug}.example"},
    )
    await platform.contracts.create(
        op,
        company.id,
        ContractKind.EMSP,
        starts_on=period.start - timedelta(days=90),
        fee_per_licence=Decimal(fee),
    )
    uids = await platform.cards.import_csv(op, f"uid,printed_number\n{device[-8:]},PN-{slug}\n")
    await platform.cards.distribute(op, uids, company.id)
    await platform.cards.assign(company.manager, uids[0], company.drivers[0].user_id)
    await platform.cards.activate(company.manager, uids)
    await platform.licences.add(
        company.manager,
        device,
        uids,
        FixedRate(Decimal("0.6654")),
        valid_from=datetime.combine(period.start - timedelta(days=30), time(), UTC),
        device_kind=DeviceKind.CABLE,
    )
    return company


async def _last_month(platform: Platform) -> factories.Company:
    """Last month, whatever the day: two companies' subscriptions to bill, Acme's €2.50 + VAT
    (€3.03), Globex's €4.00 + VAT (€4.84)."""
    op = await factories.operator(platform, "op2")
    acme = await _company(platform, op, "Acme", "BE0403170701", "2.50", "NRG-AC000001")
    await _company(platform, op, "Globex", "BE0477123402", "4.00", "NRG-6B000002")
    return acme


async def _pdf_text(page: Page, click: Awaitable[None]) -> tuple[str, str]:
    """The suggested name and the text of the PDF a click downloads."""
    async with page.expect_download() as started:
        await click
    download = await started.value
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    return download.suggested_filename, text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_operator_finalises_last_month_and_downloads_an_invoice(
    ui: Console, screenshots: Screenshots
) -> None:
    platform = ui.platform
    await _last_month(platform)
    period = platform.billing.last_month()
    page = ui.page
    await ui.login(*OPERATOR)
    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Billing", exact=True).click()
    await expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    # Last month is chosen already, for every customer.
    await expect(page.get_by_label("Month")).to_have_value(period.label)
    await expect(page.get_by_label("Customer")).to_have_value("")
    await page.get_by_role("button", name="Preview").click()

    preview = page.locator("#preview")
    await expect(preview.get_by_role("heading", level=2)).to_contain_text("2 documents")
    summary = preview.locator("#preview-summary tr[data-kind=invoice]")
    await expect(summary).to_contain_text("€6.50")  # excl. VAT
    await expect(summary).to_contain_text("€7.87")  # €3.03 + €4.84
    documents = preview.locator("#preview-documents")
    await expect(documents.locator("tbody tr")).to_have_count(2)
    await expect(documents.locator("tbody tr").first).to_contain_text("Acme")
    await page.screenshot(path=str(screenshots.dir / "billing-preview.png"), full_page=True)

    # Not without the confirmation: the browser itself holds the form back.
    finalise = page.get_by_role("button", name="Finalise")
    await finalise.click()
    confirm = page.get_by_label("Issue these 2 documents")
    assert await confirm.evaluate("box => box.matches(':invalid')")
    await expect(page.locator("#run-progress")).to_be_empty()
    await page.get_by_label("Issue these 2 documents").check()
    await finalise.click()
    done = page.locator("#run-done")
    await expect(done).to_contain_text(
        f"{formats.month(period.start).capitalize()}: 2 documents issued."
    )
    await done.get_by_role("link", name="See the documents").click()

    table = page.locator("#documents-table")
    await expect(table.locator("tbody tr")).to_have_count(2)
    number = f"INV-{platform.billing.today().year}-000001"  # numbered in the year it is issued
    await table.get_by_role("link", name=number).click()
    await expect(page.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
    await expect(page.locator("#total")).to_have_text("€3.03")
    await expect(page.locator("#mail-table")).to_contain_text("billing@acme.example")
    await page.screenshot(path=str(screenshots.dir / "billing-invoice.png"), full_page=True)
    name, text = await _pdf_text(page, page.get_by_role("link", name="Download PDF").click())
    assert name == f"{number}.pdf"
    assert number in text and "€3.03" in text and "€2.50" in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_fleet_manager_reads_the_invoices_on_a_phone(
    phone: Console, screenshots: Screenshots
) -> None:
    platform = phone.platform
    acme = await _last_month(platform)
    found = await platform.accounts.find("op2")
    assert found is not None
    op = await platform.accounts.actor(found.id)
    assert op is not None
    await platform.billing.finalise(op, platform.billing.last_month())
    page = phone.page
    await phone.login(acme.manager.username, MANAGER_PASSWORD)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Company").click()
    invoices = page.locator("#invoices")
    await invoices.scroll_into_view_if_needed()
    await expect(invoices.get_by_role("heading", name="Invoices")).to_be_visible()
    rows = invoices.locator("#customer-documents tbody tr")
    await expect(rows).to_have_count(1)  # Globex's is not Acme's
    year = platform.billing.today().year
    invoice = invoices.locator(f"tr[data-document=INV-{year}-000001]")
    await expect(invoice).to_contain_text("€3.03")
    # Each row is a card of its own on a phone: the column's name beside each value.
    box = await invoice.bounding_box()
    assert box is not None and box["height"] > 100
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= (page.viewport_size or {"width": 0})["width"], "no sideways scrolling"
    await page.screenshot(path=str(screenshots.dir / "phone-invoices.png"), full_page=True)

    name, text = await _pdf_text(page, invoice.get_by_role("link", name="PDF").click())
    assert name == f"INV-{year}-000001.pdf" and "€3.03" in text
    await invoice.get_by_role("link", name=f"INV-{year}-000001").click()
    await expect(page.locator("#total")).to_have_text("€3.03")
    await expect(page.locator("#credit-form")).to_have_count(0)
    if screenshots.all:
        await page.screenshot(path=str(screenshots.dir / "phone-invoice.png"), full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= (page.viewport_size or {"width": 0})["width"], "no sideways scrolling"
