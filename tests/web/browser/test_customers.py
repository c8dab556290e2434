"""Organisations, people and charging cards in a real browser: a fleet manager hands a card to an
employee and whitelists it at a company station; an operator sets up a customer with its contract
and imports card stock; a fleet manager is refused another company's things; the pages fit a
phone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from playwright.async_api import Locator, Page, expect

from tests import factories
from tests.web.browser.conftest import OPERATOR, Console, Screenshots
from tests.web.browser.station import PASSWORD
from tests.web.browser.test_console import assert_fits
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor
from voltflow.domain.cards import CardState
from voltflow.domain.contracts import ContractKind
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import CardFilter
from voltflow.services.lists import ListKind

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

MANAGER_PASSWORD = "manager-pass"  # what tests.factories.company gives the fleet manager
GOOD_IBAN = "BE68 5390 0754 7034"
BAD_IBAN = "BE68 5390 0754 7035"  # one digit off: the checksum fails


@dataclass
class Companies:
    op: Actor
    acme: factories.Company
    globex: factories.Company
    acme_uids: list[str]  # handed to Acme by the operator
    globex_uid: str


async def companies(platform: Platform) -> Companies:
    """Two companies with a fleet manager and drivers; Acme owns a station; the operator has
    imported cards and handed two to Acme, one to Globex."""
    op = await factories.operator(platform, OPERATOR[0])
    acme = await factories.company(platform, op, "Acme", drivers=2)
    globex = await factories.company(platform, op, "Globex", drivers=1)
    await platform.stations.add("CP-ACME-1", PASSWORD, actor=op)
    await platform.stations.set_owner(op, "CP-ACME-1", acme.id)
    uids = await platform.cards.import_csv(op, factories.stock_csv(3))
    await platform.cards.distribute(op, uids[:2], acme.id)
    await platform.cards.distribute(op, uids[2:], globex.id)
    return Companies(op, acme, globex, uids[:2], uids[2])


def flash(page: Page) -> Locator:
    """The notice a step leaves on the page it leads to."""
    return page.locator(".flash").last


async def test_fleet_manager_assigns_activates_and_whitelists_a_card(
    ui: Console, screenshots: Screenshots
) -> None:
    page = ui.page
    world = await companies(ui.platform)
    acme, uid = world.acme, world.acme_uids[0]
    driver = acme.drivers[0]

    await ui.login(acme.manager.username, MANAGER_PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    # Only what a fleet manager may use: their company, not the operator's customer list.
    for name in ("Stations", "Sessions", "Company", "Cards", "Lists", "Audit log"):
        await expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    await expect(nav.get_by_role("link", name="Customers")).to_have_count(0)

    # Their cards only: Globex's is not listed.
    await nav.get_by_role("link", name="Cards").click()
    rows = page.locator("#cards-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator(f'tr[data-card="{world.globex_uid}"]')).to_have_count(0)
    await expect(page.get_by_text("Import cards", exact=True)).to_have_count(0)
    await page.get_by_role("link", name="VF-000001").click()

    # The card, with the company: assign it to an employee.
    await expect(page).to_have_url(f"{ui.url}/cards/{uid}")
    await expect(page.get_by_role("heading", name="Card VF-000001")).to_be_visible()
    facts = page.locator("#card-facts")
    await expect(facts).to_contain_text("With distributor")
    await expect(facts).to_contain_text("Acme")
    await expect(facts).to_contain_text(re.compile(r"BE-VFL-C\d{8}-[0-9A-Z]"))
    # Steps of other states are not offered; stock steps are the operator's.
    await expect(page.get_by_role("button", name="Activate")).to_have_count(0)
    await expect(page.get_by_role("button", name="Return to stock")).to_have_count(0)
    employee = page.get_by_label("Employee")
    await expect(employee.locator("option")).to_have_count(3)  # the prompt and two drivers
    if screenshots.all:
        await page.screenshot(path=screenshots.dir / "card-to-assign.png", full_page=True)
    await employee.select_option(label=driver.username)
    await page.get_by_role("button", name="Assign to employee").click()
    await expect(flash(page)).to_have_text(f"Card VF-000001 assigned to {driver.username}.")
    await expect(facts).to_contain_text("Assigned")
    await expect(facts).to_contain_text(driver.username)

    await page.get_by_role("button", name="Activate").click()
    await expect(flash(page)).to_have_text("Card VF-000001 activated.")
    await expect(facts.locator(".state-active")).to_have_text("Active")
    # Acme has no eMSP contract yet: the page says the card will not charge.
    await expect(facts).to_contain_text("none in force")
    await expect(page.get_by_role("button", name="Block")).to_be_visible()
    history = page.locator("#card-history tbody tr")
    await expect(history).to_have_count(4)
    await expect(history.nth(0)).to_contain_text("activate")
    await expect(history.nth(0)).to_contain_text("Assigned → Active")
    await expect(history.nth(0)).to_contain_text(acme.manager.username)
    await expect(history.nth(1)).to_contain_text(f"to {driver.username}")
    await expect(history.nth(3)).to_contain_text("import")

    card = await ui.platform.cards.get(acme.manager, uid)
    assert card.state == CardState.ACTIVE
    assert card.driver_id == driver.user_id
    assert [e.action for e in card.history] == ["import", "distribute", "assign", "activate"]

    # A whitelist for the company's station, and the card on it.
    await nav.get_by_role("link", name="Lists").click()
    await expect(page.get_by_text("No lists yet")).to_be_visible()
    form = page.locator("#list-form")
    await form.get_by_label("Name").fill("Staff")
    await form.get_by_label("Station or group").select_option("station:CP-ACME-1")
    await expect(form.get_by_label("Tariff")).to_be_hidden()  # whitelists charge nothing
    await form.get_by_role("button", name="Create list").click()
    await expect(page.get_by_role("heading", name="Staff")).to_be_visible()
    await expect(page.get_by_text("No cards on this list yet")).to_be_visible()
    await page.get_by_label("Card", exact=True).fill("vf-000001")
    await page.get_by_role("button", name="Add to the list").click()
    await expect(flash(page)).to_contain_text("Card VF-000001 added")
    listed = page.locator("#list-cards-table tbody tr")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("VF-000001")
    await expect(listed).to_contain_text("Active")
    # The station is offline: its local list follows when it connects.
    await expect(page.locator('#sync-table tr[data-station="CP-ACME-1"]')).to_contain_text(
        "offline"
    )

    list_id = int(page.url.rsplit("/", 1)[1])
    found = await ui.platform.lists.get(acme.manager, list_id)
    assert found.kind == ListKind.WHITELIST
    assert found.station_id == "CP-ACME-1"
    assert [c.card_uid for c in found.cards] == [uid]
    assert await ui.platform.lists.whitelisted("CP-ACME-1", uid)

    # A card number that is not theirs is not found, and nothing is added.
    await page.get_by_label("Card", exact=True).fill("VF-000003")
    await page.get_by_role("button", name="Add to the list").click()
    await expect(page.locator("#add-card-error")).to_contain_text("no card VF-000003")
    assert len((await ui.platform.lists.get(acme.manager, list_id)).cards) == 1

    # Another company's card and customer page: not found, as if there were none.
    for path, heading in (
        (f"/cards/{world.globex_uid}", "Card not found"),
        (f"/customers/{world.globex.id}", "Organisation not found"),
    ):
        response = await page.goto(path)
        assert response is not None and response.status == 404, path
        await expect(page.get_by_role("heading", name=heading)).to_be_visible()
        await expect(page.get_by_text("may have been removed")).to_be_visible()
        await expect(page.get_by_text("Globex")).to_have_count(0)

    # Their own company is their page: people, cards, the station.
    await page.goto("/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Company").click()
    await expect(page.get_by_role("heading", name="Acme")).to_be_visible()
    await expect(page.locator("#people-table tbody tr")).to_have_count(3)
    await expect(page.locator(f'#customer-cards tr[data-card="{uid}"]')).to_contain_text("Active")
    await expect(page.locator("#customer-stations")).to_contain_text("CP-ACME-1")
    await expect(page.get_by_role("button", name="Add a contract")).to_have_count(0)


async def test_operator_sets_up_a_customer_contract_and_card_stock(
    ui: Console, screenshots: Screenshots
) -> None:
    page = ui.page
    platform = ui.platform
    await platform.stations.add("CP-INI-1", PASSWORD)
    op = await _op(platform)
    await ui.login()
    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Customers").click()

    # A new customer.
    await page.get_by_text("Add a customer", exact=True).click()
    form = page.locator("#customer-form")
    await form.get_by_label("Name").fill("Initech")
    await form.get_by_label("Kind").select_option("company")
    await form.get_by_label("VAT number").fill("BE0123456749")
    await form.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("heading", name="Initech")).to_be_visible()
    await expect(flash(page)).to_contain_text("Customer Initech created")
    org_id = int(page.url.rsplit("/", 1)[1])
    await expect(page.get_by_text("No contract yet")).to_be_visible()
    await expect(page.get_by_text("Nobody yet")).to_be_visible()

    # A contract whose IBAN is wrong: said next to the IBAN, nothing stored.
    await page.get_by_text("Add a contract", exact=True).click()
    contract = page.locator("#contract-form")
    await contract.get_by_label("Kind").select_option("emsp")
    await contract.get_by_label("Starts on").fill("2026-01-01")
    await contract.get_by_label("Per card").fill("2.50")
    await contract.get_by_label("Mandate reference").fill("INITECH-2026-1")
    await contract.get_by_label("IBAN").fill(BAD_IBAN)
    await contract.get_by_label("BIC").fill("GKCCBEBB")
    await contract.get_by_label("Signed on").fill("2025-12-15")
    await contract.get_by_role("button", name="Create contract").click()
    iban = contract.get_by_label("IBAN")
    await expect(iban).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#contract-mandate_iban-error")).to_contain_text("checksum")
    await expect(iban).to_have_accessible_description(re.compile("checksum"))
    await expect(contract.get_by_role("alert")).to_contain_text("1 field to correct")
    if screenshots.all:
        await page.screenshot(path=screenshots.dir / "contract-error.png", full_page=True)
    # What was typed stays; the other fields are not at fault.
    await expect(contract.get_by_label("Mandate reference")).to_have_value("INITECH-2026-1")
    await expect(contract.get_by_label("Per card")).to_have_value("2.50")
    await expect(contract.get_by_label("Starts on")).not_to_have_attribute("aria-invalid", "true")
    assert await platform.contracts.of_organisation(op, org_id) == []

    await iban.fill(GOOD_IBAN)
    await contract.get_by_role("button", name="Create contract").click()
    await expect(flash(page)).to_contain_text("eMSP contract from 2026-01-01 created")
    row = page.locator("#contracts-table tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("2026-01-01 → open-ended")
    await expect(row).to_contain_text(GOOD_IBAN)
    await expect(row).to_contain_text("GKCCBEBB")
    await expect(row).to_contain_text("2.50 / 0.00 / 0.00 EUR")
    stored = await platform.contracts.of_organisation(op, org_id)
    assert len(stored) == 1
    assert stored[0].kind == ContractKind.EMSP
    assert stored[0].mandate_iban == "BE68539007547034"
    assert stored[0].starts_on == date(2026, 1, 1)

    # A fleet manager, with a password shown once.
    await page.get_by_text("Add a person", exact=True).click()
    person = page.locator("#person-form")
    await person.get_by_label("Username").fill("ines@initech")
    await person.get_by_label("Full name").fill("Ines Tech")
    await person.get_by_label("Role").select_option("fleet_manager")
    await person.get_by_role("button", name="Add").click()
    notice = page.locator("#new-person")
    await expect(notice).to_contain_text("ines@initech added as fleet manager")
    password = await notice.locator("code.secret").inner_text()
    assert len(password) >= 12
    assert await platform.accounts.authenticate("ines@initech", password) is not None
    await expect(page.locator('#people-table tr[data-user="ines@initech"]')).to_contain_text(
        "fleet manager"
    )
    await page.reload()
    await expect(page.get_by_text(password)).to_have_count(0)

    # Card stock from a file with a bad row: every problem shown, nothing imported.
    await nav.get_by_role("link", name="Cards").click()
    await expect(page.get_by_text("No cards yet: import the card stock")).to_be_visible()
    await page.get_by_text("Import cards", exact=True).click()
    bad = "uid,printed_number\n04A1B2C3,INI-0001\nnot-hex,INI-0002\n04A1B2C5,INI-0001\n"
    await page.get_by_label("CSV file").set_input_files(
        {"name": "stock.csv", "mimeType": "text/csv", "buffer": bad.encode()}
    )
    await page.get_by_role("button", name="Import into stock").click()
    problems = page.locator("#import-problems")
    await expect(problems).to_contain_text("Nothing imported: 2 problems in stock.csv")
    lines = problems.locator("tbody tr")
    await expect(lines).to_have_count(2)
    for line, (row, column, message) in enumerate(
        [("3", "uid", "not an RFID uid"), ("4", "printed_number", "INI-0001 repeats row 2")]
    ):
        cells = lines.nth(line).locator("td")
        await expect(cells.nth(0)).to_have_text(row)
        await expect(cells.nth(1)).to_have_text(column)
        await expect(cells.nth(2)).to_contain_text(message)
    assert (await platform.cards.search(op, CardFilter(), PageRequest())).total == 0
    if screenshots.all:
        await page.screenshot(path=screenshots.dir / "import-problems.png", full_page=True)

    good = "uid,printed_number\n04A1B2C3,INI-0001\n04A1B2C4,INI-0002\n"
    await page.get_by_label("CSV file").set_input_files(
        {"name": "stock.csv", "mimeType": "text/csv", "buffer": good.encode()}
    )
    await page.get_by_role("button", name="Import into stock").click()
    await expect(flash(page)).to_have_text("2 cards imported into stock.")
    rows = page.locator("#cards-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("In stock")
    # The search filters as one types, and the address keeps it.
    await page.get_by_label("Search cards").fill("ini-0002")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("04A1B2C4")
    await expect(page).to_have_url(re.compile(r"q=ini-0002"))
    await page.get_by_label("Search cards").fill("")
    await expect(rows).to_have_count(2)

    # Both to Initech at once.
    await page.get_by_label("All on this page").check()
    await page.get_by_label("Action on the selected cards").select_option("distribute")
    await page.get_by_label("Distributor").select_option(label="Initech (company)")
    await page.get_by_role("button", name="Apply to selected").click()
    await expect(flash(page)).to_have_text("2 cards handed to Initech.")
    cards = (
        await platform.cards.search(op, CardFilter(organisation_id=org_id), PageRequest())
    ).items
    assert {c.uid for c in cards} == {"04A1B2C3", "04A1B2C4"}
    assert {c.state for c in cards} == {CardState.DISTRIBUTED}

    # A station of theirs.
    await page.goto("/stations/CP-INI-1")
    await expect(page.locator("#station-owner")).to_contain_text("No customer owns this station")
    await page.get_by_label("Owner organisation").select_option(label="Initech (company)")
    await page.get_by_role("button", name="Set owner").click()
    await expect(flash(page)).to_have_text("CP-INI-1 now belongs to Initech.")
    await expect(page.locator("#station-owner")).to_contain_text("Initech")
    assert (await platform.stations.get("CP-INI-1")).organisation_id == org_id
    await page.locator("#station-owner").get_by_role("link", name="Initech").click()
    await expect(page.locator("#customer-stations")).to_contain_text("CP-INI-1")
    await expect(page.locator("#customer-cards tbody tr")).to_have_count(2)

    # All of it is in the audit log.
    await nav.get_by_role("link", name="Audit log").click()
    log = page.locator("#audit-table")
    for action in ("organisation.create", "contract.create", "person.add", "card.distribute"):
        await expect(log).to_contain_text(action)


async def _op(platform: Platform) -> Actor:
    user = await platform.accounts.find(OPERATOR[0])
    assert user is not None
    actor = await platform.accounts.actor(user.id)
    assert actor is not None
    return actor


# Layout does not depend on the database.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_pages_fit_a_phone_and_screenshots(
    ui: Console, phone: Console, screenshots: Screenshots
) -> None:
    platform = ui.platform
    world = await companies(platform)
    op, acme = world.op, world.acme
    await platform.contracts.create(
        op,
        acme.id,
        ContractKind.EMSP,
        starts_on=date(2026, 1, 1),
        fee_per_card=Decimal("2.5"),
        mandate_reference="ACME-2026-1",
        mandate_iban=GOOD_IBAN,
        mandate_bic="GKCCBEBB",
        mandate_signed_on=date(2025, 12, 15),
    )
    uid = world.acme_uids[0]
    await platform.cards.assign(acme.manager, uid, acme.drivers[0].user_id)
    await platform.cards.activate(acme.manager, [uid])
    whitelist = await platform.lists.create_list(
        acme.manager, acme.id, ListKind.WHITELIST, "Staff", station_id="CP-ACME-1"
    )
    await platform.lists.add_cards(acme.manager, whitelist.id, [uid])
    await platform.lists.wait_idle()
    pages = {
        "customers": "/customers",
        "customer": f"/customers/{acme.id}",
        "cards": "/cards",
        "card": f"/cards/{uid}",
        "lists": "/lists",
        "list": f"/lists/{whitelist.id}",
        "audit": "/audit",
    }

    await phone.login()
    for name, path in pages.items():
        await phone.page.goto(path)
        await expect(phone.page.locator("main h1")).to_be_visible()
        await assert_fits(phone.page, path, screenshots)
        if screenshots.all:
            await phone.page.screenshot(path=screenshots.dir / f"phone-{name}.png", full_page=True)
    # Forms opened, with their errors, must fit too.
    await phone.page.goto(f"/customers/{acme.id}")
    await phone.page.get_by_text("Add a contract", exact=True).click()
    await phone.page.locator("#contract-form").get_by_role("button", name="Create contract").click()
    await expect(phone.page.locator("#contract-starts_on-error")).to_have_text("required")
    await assert_fits(phone.page, "contract form with errors", screenshots)
    if screenshots.all:
        await phone.page.screenshot(
            path=screenshots.dir / "phone-contract-form.png", full_page=True
        )

    await ui.login()
    for name, path in pages.items():
        await ui.page.goto(path)
        await expect(ui.page.locator("main h1")).to_be_visible()
        await ui.page.screenshot(path=screenshots.dir / f"{name}.png", full_page=True)
