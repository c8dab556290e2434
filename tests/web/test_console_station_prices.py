"""A station's prices on its console page over real HTTP: the public tariff with its version in
force and a summary, the host and the host's tariff; the operator's form (tariffs chosen among
those in the platform's currency, the host by login, CSRF as every form) and its refusals next
to the field, in the person's language, with nothing changed; who sees what."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Company, company, operator, tariff_document
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, Role
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import AuditFilter
from voltflow.services.pricing import StationPrices
from voltflow.web import create_app

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
SINCE = "2020-01-01T00:00:00Z"


@dataclass
class Site:
    platform: Platform
    app: FastAPI
    op: Actor
    acme: Company
    globex: Company


@pytest.fixture
async def site(platform: Platform) -> Site:
    """Acme owns CP-1, which charges PUBLIC with Acme's driver 0 as host, paid by HOST-FEE;
    a USD tariff, a tariff that starts in 2099, and Globex with a station of its own."""
    op = await operator(platform)
    acme = await company(platform, op, "Acme", drivers=1)
    globex = await company(platform, op, "Globex", drivers=1)
    await platform.organisations.add_person(
        op, acme.id, "hank@acme", Role.HOST, password="host-password"
    )
    for document in (
        tariff_document("PUBLIC", "0.40", flat="0.50", start=SINCE),
        tariff_document("HOST-FEE", "0.25", start=SINCE),
        tariff_document("CHEAP", "0.30", per_hour="1.20", start=SINCE),
        tariff_document("LATER", "0.45", start="2099-01-01T00:00:00Z"),
        {**tariff_document("DOLLARS", "0.50", start=SINCE), "currency": "USD"},
    ):
        await platform.tariffs.add(document, actor=op)
    for station_id, owner in (("CP-1", acme.id), ("CP-G", globex.id)):
        await platform.stations.add(station_id, "station-pass-0001", actor=op)
        await platform.stations.set_owner(op, station_id, owner)
    await platform.pricing.set_station_prices(
        op,
        "CP-1",
        tariff_id="PUBLIC",
        host=acme.drivers[0].username,
        host_tariff_id="HOST-FEE",
    )
    return Site(platform, create_app(platform), op, acme, globex)


@pytest.fixture
async def as_operator(site: Site) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with logged_in(site.app, "op", "op-password") as pair:
        yield pair


class logged_in:
    """A console session of one person in a language: the client and its CSRF token."""

    def __init__(self, app: FastAPI, username: str, password: str, language: str = "en") -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Accept-Language": language},
        )
        self.username, self.password = username, password

    async def __aenter__(self) -> tuple[httpx.AsyncClient, str]:
        client = self.client
        page = await client.get("/login")
        token = CSRF_INPUT.search(page.text)
        assert token
        answer = await client.post(
            "/login",
            data={
                "username": self.username,
                "password": self.password,
                "csrf_token": token.group(1),
            },
        )
        assert answer.status_code == 303, answer.text
        page = await client.get("/account")
        found = CSRF_INPUT.search(page.text)
        assert found, page.text
        return client, found.group(1)

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()


def section(page: str) -> str:
    """The page's Prices section alone (empty when it has none)."""
    found = re.search(r'<section class="card prices".*?</section>', page, re.S)
    return found.group(0) if found else ""


def field_error(page: str, field: str) -> str:
    """The message shown next to a field of the prices form."""
    found = re.search(rf'id="prices-{field}-error">([^<]*)<', page)
    assert found, section(page)
    return found.group(1)


def options(page: str, field: str) -> list[str]:
    select = re.search(rf'<select id="prices-{field}".*?</select>', page, re.S)
    assert select, section(page)
    return re.findall(r'<option value="([^"]*)"', select.group(0))


def selected(page: str, field: str) -> str:
    select = re.search(rf'<select id="prices-{field}".*?</select>', page, re.S)
    assert select
    found = re.search(r'<option value="([^"]*)" selected', select.group(0))
    return found.group(1) if found else ""


async def stored(site: Site) -> tuple[str | None, str | None, str | None]:
    prices: StationPrices = await site.platform.pricing.station_prices(site.op, "CP-1")
    return (
        prices.tariff.tariff_id if prices.tariff else None,
        prices.host,
        prices.host_tariff.tariff_id if prices.host_tariff else None,
    )


async def test_the_operator_sees_the_prices_and_sets_them(
    site: Site, as_operator: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = as_operator
    page = await client.get("/stations/CP-1")
    assert page.status_code == 200
    prices = section(page.text)
    # The version in force and what it charges, excluding VAT.
    assert "<strong>PUBLIC</strong>" in prices
    assert "version 1, in force since 2020-01-01" in prices
    assert "€0.40/kWh, €0.50 per session excl. VAT" in prices
    assert site.acme.drivers[0].username in prices
    assert "€0.25/kWh excl. VAT" in prices
    # The choices: the platform's currency only, the current ones selected.
    assert options(page.text, "tariff_id") == ["", "CHEAP", "HOST-FEE", "LATER", "PUBLIC"]
    assert options(page.text, "host_tariff_id") == options(page.text, "tariff_id")
    assert selected(page.text, "tariff_id") == "PUBLIC"
    assert selected(page.text, "host_tariff_id") == "HOST-FEE"
    assert 'value="acme-driver0"' in prices
    assert "DOLLARS" not in prices

    # Without the CSRF token: refused, nothing changed.
    forged = await client.post("/stations/CP-1/prices", data={"tariff_id": "CHEAP"})
    assert forged.status_code == 403
    assert await stored(site) == ("PUBLIC", "acme-driver0", "HOST-FEE")

    done = await client.post(
        "/stations/CP-1/prices",
        data={
            "csrf_token": csrf,
            "tariff_id": "CHEAP",
            "host": " hank@acme ",
            "host_tariff_id": "LATER",
        },
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/stations/CP-1#prices"
    assert await stored(site) == ("CHEAP", "hank@acme", "LATER")
    page = await client.get("/stations/CP-1")
    assert "Prices of CP-1 set" in page.text  # the flash
    prices = section(page.text)
    assert "€0.30/kWh, €1.20/h charging excl. VAT" in prices
    assert "not in force yet" in prices and "in force from 2099-01-01" in prices
    assert selected(page.text, "tariff_id") == "CHEAP"
    entries = await site.platform.audit.search(
        site.op, AuditFilter(entity="station"), PageRequest()
    )
    latest = next(e for e in entries.items if e.action == "station.prices")
    assert (latest.actor_name, latest.entity_id) == ("op", "CP-1") and latest.detail is not None
    assert json.loads(latest.detail) == {
        "tariff_id": "CHEAP",
        "host": "hank@acme",
        "host_tariff_id": "LATER",
    }

    # Everything emptied: no prices, no host.
    cleared = await client.post(
        "/stations/CP-1/prices",
        data={"csrf_token": csrf, "tariff_id": "", "host": "", "host_tariff_id": ""},
    )
    assert cleared.status_code == 303
    assert await stored(site) == (None, None, None)
    page = await client.get("/stations/CP-1")
    assert "public sessions here are not priced" in section(page.text)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"tariff_id": "NOPE"}, "tariff_id", "no tariff NOPE"),
        ({"host_tariff_id": "NOPE"}, "host_tariff_id", "no tariff NOPE"),
        ({"tariff_id": "DOLLARS"}, "tariff_id", "tariff DOLLARS is in USD; prices here are in EUR"),
        ({"host": "nobody@nowhere"}, "host", "no person nobody@nowhere"),
        ({"host": "", "host_tariff_id": "HOST-FEE"}, "host", "a host's tariff needs a host"),
    ],
)
async def test_a_refusal_shows_next_to_its_field_and_changes_nothing(
    site: Site,
    as_operator: tuple[httpx.AsyncClient, str],
    form: dict[str, str],
    field: str,
    message: str,
) -> None:
    client, csrf = as_operator
    sent = {"tariff_id": "CHEAP", "host": "hank@acme", "host_tariff_id": "", **form}
    answer = await client.post("/stations/CP-1/prices", data={"csrf_token": csrf, **sent})
    assert answer.status_code == 422
    assert field_error(answer.text, field) == message.replace("'", "&#39;")
    assert re.search(rf'<(select|input) id="prices-{field}"[^>]*aria-invalid="true"', answer.text)
    # The form keeps what was sent, the refused value included.
    for name in ("tariff_id", "host_tariff_id"):
        assert selected(answer.text, name) == sent[name]
    assert await stored(site) == ("PUBLIC", "acme-driver0", "HOST-FEE")


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "nl",
            {
                "tariff_id": "geen tarief NOPE",
                "host": "geen persoon niemand",
                "summary": "€ 0,40/kWh, € 0,50 per laadsessie excl. btw",
            },
        ),
        (
            "fr",
            {
                "tariff_id": "pas de tarif NOPE",
                "host": "personne niemand inconnue",
                "summary": "€ 0,40/kWh, € 0,50 par session HTVA",
            },
        ),
    ],
)
async def test_the_section_and_its_refusals_speak_the_persons_language(
    site: Site, language: str, texts: dict[str, str]
) -> None:
    async with logged_in(site.app, "op", "op-password", language) as (client, csrf):
        page = await client.get("/stations/CP-1")
        assert texts["summary"] in section(page.text)
        assert "Public tariff" not in page.text
        for field, value in (("tariff_id", "NOPE"), ("host", "niemand")):
            answer = await client.post(
                "/stations/CP-1/prices", data={"csrf_token": csrf, field: value}
            )
            assert answer.status_code == 422
            assert field_error(answer.text, field) == texts[field]
    assert await stored(site) == ("PUBLIC", "acme-driver0", "HOST-FEE")


async def test_the_owners_fleet_manager_reads_them_and_may_not_set_them(site: Site) -> None:
    async with logged_in(site.app, site.acme.manager.username, "manager-pass") as (client, csrf):
        page = await client.get("/stations/CP-1")
        assert page.status_code == 200
        prices = section(page.text)
        assert "<strong>PUBLIC</strong>" in prices and "acme-driver0" in prices
        assert 'id="prices-form"' not in page.text
        refused = await client.post(
            "/stations/CP-1/prices", data={"csrf_token": csrf, "tariff_id": "CHEAP"}
        )
        assert refused.status_code == 403
    assert await stored(site) == ("PUBLIC", "acme-driver0", "HOST-FEE")


@pytest.mark.parametrize(
    ("who", "password", "status"),
    [
        # Another company's station does not exist for them.
        ("globex-manager", "manager-pass", 404),
        # The host sees the station, not what it earns nor what the others pay.
        ("hank@acme", "host-password", 403),
    ],
)
async def test_others_see_no_prices_and_change_nothing(
    site: Site, who: str, password: str, status: int
) -> None:
    async with logged_in(site.app, who, password) as (client, csrf):
        page = await client.get("/stations/CP-1")
        if status == 404:
            assert page.status_code == 404
        else:
            assert page.status_code == 200
            assert section(page.text) == "" and "Prices" not in page.text
        refused = await client.post(
            "/stations/CP-1/prices", data={"csrf_token": csrf, "tariff_id": "CHEAP"}
        )
        assert refused.status_code == status
    assert await stored(site) == ("PUBLIC", "acme-driver0", "HOST-FEE")


async def test_a_tariff_the_choices_lack_stays_selected(
    site: Site, as_operator: tuple[httpx.AsyncClient, str]
) -> None:
    """A station that names a tariff in another currency (set before the check, or the platform's
    currency changed since): the form shows it, so that saving it unchanged keeps it."""
    await site.platform.pricing.repo.set_station_prices(
        "CP-1", tariff_id="DOLLARS", host_user_id=None, host_tariff_id=None
    )
    client, _csrf = as_operator
    page = await client.get("/stations/CP-1")
    assert options(page.text, "tariff_id")[-1] == "DOLLARS"
    assert selected(page.text, "tariff_id") == "DOLLARS"
