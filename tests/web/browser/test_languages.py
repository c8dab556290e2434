"""The console in Dutch, French and English: the header's switch, the person's choice kept over
a logout, the session types as the French release note names them, amounts and dates per
language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.async_api import expect
from sqlalchemy import insert

from tests import factories
from tests.web.browser.conftest import OPERATOR, Console
from tests.web.browser.station import PASSWORD
from voltflow.bootstrap import Platform
from voltflow.domain.contracts import ContractKind
from voltflow.store.tables import charging_sessions

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

MANAGER_PASSWORD = "manager-pass"
DRIVER_PASSWORD = "driver-pass"


async def _world(platform: Platform) -> factories.Company:
    """A company with a contract (fees to show), a station, and a driver whose card charged four
    times, one session of each type."""
    op = await factories.operator(platform, OPERATOR[0])
    acme = await factories.company(platform, op, "Acme", drivers=1)
    await platform.contracts.create(
        op,
        acme.id,
        ContractKind.EMSP,
        starts_on=datetime(2026, 1, 1).date(),
        currency="EUR",
        fee_per_card=Decimal("2.5"),
    )
    await platform.stations.add("CP-ACME-1", PASSWORD, actor=op)
    await platform.stations.set_owner(op, "CP-ACME-1", acme.id)
    uids = await platform.cards.import_csv(op, factories.stock_csv(1))
    await platform.cards.distribute(op, uids, acme.id)
    await platform.cards.assign(acme.manager, uids[0], acme.drivers[0].user_id)
    start = datetime(2026, 1, 31, 13, 5, tzinfo=UTC)
    rows = []
    for i, (kind, wh) in enumerate(
        [("whitelist", 3667), ("invalid", 500), ("normal", 7334), ("split_billing", 12000)]
    ):
        began = start + timedelta(hours=i)
        rows.append(
            {
                "station_id": "CP-ACME-1",
                "evse_id": 1,
                "connector_id": 1,
                "id_tag": uids[0],
                "auth_status": "Accepted",
                "started_at": began,
                "meter_start_wh": 0,
                "stopped_at": began + timedelta(minutes=15),
                "meter_stop_wh": wh,
                "energy_wh": wh,
                "stop_reason": "Local",
                "session_type": kind,
                "created_at": began,
            }
        )
    async with platform.db.writes.begin() as conn:
        await conn.execute(insert(charging_sessions), rows)
    return acme


async def _switch(ui: Console, code: str) -> None:
    await ui.page.locator("#language-switch").get_by_role("button", name=code.upper()).click()
    await expect(ui.page.locator("html")).to_have_attribute("lang", code)


async def test_fleet_manager_switches_language_and_keeps_it(ui: Console) -> None:
    page = ui.page
    acme = await _world(ui.platform)
    await ui.login(acme.manager.username, MANAGER_PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Cards", exact=True)).to_be_visible()

    await _switch(ui, "nl")
    nav = page.get_by_role("navigation", name="Hoofdmenu")
    for name in ("Laadpalen", "Laadsessies", "Bedrijf", "Kaarten", "Lijsten", "Auditlog"):
        await expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    await nav.get_by_role("link", name="Bedrijf").click()
    await expect(page.locator("#contracts-table")).to_contain_text("2,50 / 0,00 / 0,00 EUR")
    await expect(page.locator("#contracts-table")).to_contain_text("van kracht")
    await expect(page.get_by_role("heading", name="Personen")).to_be_visible()

    await _switch(ui, "fr")
    nav = page.get_by_role("navigation", name="Menu principal")
    await expect(nav.get_by_role("link", name="Entreprise", exact=True)).to_be_visible()
    await expect(page.locator("#contracts-table")).to_contain_text("en vigueur")
    await nav.get_by_role("link", name="Sessions de recharge").click()
    table = page.locator("#sessions-table")
    await expect(table).to_contain_text("Liste blanche")
    await expect(table).to_contain_text("3,667 kWh")
    await expect(table).to_contain_text("0:15:00")
    await expect(table).to_contain_text("31/01/26 14:05")

    # Logged out and in again: the person's own language, not the browser's English.
    await page.get_by_role("button", name="Se déconnecter").click()
    await expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    await page.get_by_label("Nom d'utilisateur").fill(acme.manager.username)
    await page.get_by_label("Mot de passe").fill(MANAGER_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("navigation", name="Menu principal")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "fr")

    await _switch(ui, "en")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Company").click()
    await expect(page.locator("#contracts-table")).to_contain_text("2.50 / 0.00 / 0.00 EUR")
    await expect(page.locator("#contracts-table")).to_contain_text("in force")


async def test_driver_reads_session_types_in_french(ui: Console) -> None:
    page = ui.page
    acme = await _world(ui.platform)
    await ui.login(acme.drivers[0].username, DRIVER_PASSWORD)
    await _switch(ui, "fr")
    await page.goto(f"{ui.url}/sessions")
    table = page.locator("#sessions-table")
    await expect(table.locator("thead")).to_contain_text("Type")
    for label in ("Liste blanche", "Non valable", "Normal", "Split billing"):
        await expect(table.get_by_text(label, exact=True)).to_be_visible()
    await expect(table).to_contain_text("7,334 kWh")
    await _switch(ui, "nl")
    await expect(table.get_by_text("Witte lijst", exact=True)).to_be_visible()
    await expect(table.get_by_text("Ongeldig", exact=True)).to_be_visible()


async def test_station_and_card_pages_in_french(ui: Console) -> None:
    page = ui.page
    acme = await _world(ui.platform)
    await ui.login(acme.manager.username, MANAGER_PASSWORD)
    await _switch(ui, "fr")

    await page.goto(f"{ui.url}/stations/CP-ACME-1")
    await expect(page.get_by_role("heading", name="Sessions de recharge récentes")).to_be_visible()
    sessions = page.locator("#station-sessions")
    for label in ("Liste blanche", "Non valable", "Split billing"):
        await expect(sessions.get_by_text(label, exact=True)).to_be_visible()
    await expect(sessions).to_contain_text("3,667 kWh")
    await expect(sessions).to_contain_text("31/01/26 14:05")
    await expect(page.locator("#station-owner")).to_contain_text("ses personnes voient cette borne")
    await expect(page.get_by_role("heading", name="Journal des messages OCPP")).to_be_visible()
    log = page.locator("#messages")
    await expect(log).to_contain_text("la borne ne s'est pas encore connectée")

    await page.goto(f"{ui.url}/cards")
    await page.get_by_role("link", name="VF-000001").click()
    await expect(page.get_by_role("heading", name="Carte VF-000001")).to_be_visible()
    facts = page.locator("#card-facts")
    await expect(facts).to_contain_text("Attribuée")
    await expect(facts).to_contain_text("en vigueur")
    history = page.locator("#card-history")
    await expect(history).to_contain_text("attribution")
    await expect(history).to_contain_text("Chez le distributeur → Attribuée")
    await page.get_by_role("button", name="Activer", exact=True).click()
    await expect(page.locator(".flash")).to_have_text("Carte VF-000001 activée.")
    await expect(facts).to_contain_text("Active")

    await _switch(ui, "nl")
    await expect(page.get_by_role("heading", name="Geschiedenis")).to_be_visible()
    await expect(history).to_contain_text("activeren")
