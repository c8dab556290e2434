"""The employer's split-billing pages over real HTTP: the list with its empty state, adding a
licence, a licence's rate history and sessions with their reimbursement, changing the rate
(CSRF as every form), in Dutch and French too; another employer's licence does not exist."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.factories import Company, company, operator, stock_csv
from voltflow.bootstrap import Platform, build
from voltflow.domain.contracts import ContractKind
from voltflow.domain.licences import DeviceKind, FixedRate
from voltflow.web import create_app

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


class HandClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@dataclass
class Site:
    platform: Platform
    app: FastAPI
    acme: Company
    globex: Company
    uids: list[str]


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Site]:
    platform = build(make_settings(database_url), clock=HandClock())
    await platform.start(ocpp=False)
    try:
        op = await operator(platform)
        acme = await company(platform, op, "Acme", drivers=1)
        globex = await company(platform, op, "Globex", drivers=1)
        await platform.contracts.create(op, acme.id, ContractKind.EMSP, starts_on=date(2026, 1, 1))
        uids = await platform.cards.import_csv(op, stock_csv(1))
        await platform.cards.distribute(op, uids, acme.id)
        await platform.cards.assign(acme.manager, uids[0], acme.drivers[0].user_id)
        await platform.cards.activate(acme.manager, uids)
        await platform.stations.add("HOME-1", "station-pass-0001")
        yield Site(platform, create_app(platform), acme, globex, uids)
    finally:
        await platform.stop()


async def logged_in(
    app: FastAPI, username: str, password: str, language: str = "en"
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50123))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Accept-Language": language}
    ) as client:
        page = await client.get("/login")
        token = CSRF_INPUT.search(page.text)
        assert token
        answer = await client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token.group(1)},
        )
        assert answer.status_code == 303, answer.text
        page = await client.get("/licences")
        found = CSRF_INPUT.search(page.text)
        assert found, page.text
        yield client, found.group(1)


@pytest.fixture
async def manager(site: Site) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async for pair in logged_in(site.app, site.acme.manager.username, "manager-pass"):
        yield pair


async def test_an_employer_adds_a_licence_and_changes_its_rate(
    site: Site, manager: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = manager
    page = await client.get("/licences")
    assert page.status_code == 200
    assert 'href="/licences"' in page.text  # in the navigation
    assert "No split-billing licences yet" in page.text

    refused = await client.post("/licences", data={"device": "HOME-1", "cards": site.uids[0]})
    assert refused.status_code == 403  # no CSRF token

    invalid = await client.post(
        "/licences",
        data={"csrf_token": csrf, "device": "HOME-1", "cards": site.uids[0], "rate": "abc"},
    )
    assert invalid.status_code == 422
    assert "a rate in €/kWh" in invalid.text

    added = await client.post(
        "/licences",
        data={
            "csrf_token": csrf,
            "device": "HOME-1",
            "device_kind": "station",
            "cards": site.uids[0],
            "rate_kind": "fixed",
            "rate": "0,6654",
            "valid_from": "2026-11-01",
        },
    )
    assert added.status_code == 303, added.text
    url = added.headers["location"]
    page = await client.get(url)
    assert page.status_code == 200
    assert "Rate history" in page.text and "€0.6654/kWh" in page.text
    assert "No split-billing sessions yet" in page.text

    # A rate change may not reach back; from today on it is saved.
    back = await client.post(
        f"{url}/rate",
        data={
            "csrf_token": csrf,
            "rate_kind": "creg",
            "region": "flanders",
            "effective": "2026-11-19",
        },
    )
    assert back.status_code == 422 and "now or later" in back.text
    saved = await client.post(
        f"{url}/rate",
        data={
            "csrf_token": csrf,
            "rate_kind": "creg",
            "region": "flanders",
            "effective": "2026-11-20",
        },
    )
    assert saved.status_code == 303
    page = await client.get(url)
    assert "CREG rate, Flanders" in page.text

    listing = await client.get("/licences")
    assert 'data-licence="' in listing.text and "HOME-1" in listing.text


async def test_a_licence_page_shows_its_sessions_and_reimbursements(site: Site) -> None:
    p = site.platform
    record = await p.licences.add(
        site.acme.manager,
        "NRG-1",
        site.uids,
        FixedRate(Decimal("0.6654")),
        valid_from=datetime(2026, 11, 1, tzinfo=UTC),
        device_kind=DeviceKind.CABLE,
    )
    await p.licences.import_sessions(
        site.acme.manager,
        "NRG-1",
        "started_at,stopped_at,kwh,card_uid\n"
        f"2026-11-10T14:50:16+01:00,2026-11-10T15:05:18+01:00,3.667,{site.uids[0]}\n"
        f"2026-11-09T07:30:37+01:00,2026-11-09T07:50:39+01:00,7.334,{site.uids[0]}\n",
    )
    # Each person in a language of their own (a login keeps the language it was made in): the
    # employer's fleet manager, the employee (their own licence) and the operator.
    for (username, password), language, texts in (
        (
            (site.acme.manager.username, "manager-pass"),
            "en",
            ["3.667 kWh – 0:15:02", "7.334 kWh – 0:20:02", "€2.44", "€4.88", "€7.32"],
        ),
        (
            (site.acme.drivers[0].username, "driver-pass"),
            "nl",
            ["3,667 kWh – 0:15:02", "€ 2,44", "€ 4,88", "Tarief"],
        ),
        (("op", "op-password"), "fr", ["3,667 kWh – 0:15:02", "2,44", "Remboursement"]),
    ):
        async for client, _csrf in logged_in(site.app, username, password, language):
            page = await client.get(f"/licences/{record.id}")
            assert page.status_code == 200
            for text in texts:
                assert text in page.text, (language, text)


async def test_another_employers_licence_does_not_exist(site: Site) -> None:
    record = await site.platform.licences.add(
        site.acme.manager, "HOME-1", site.uids, FixedRate(Decimal("0.30"))
    )
    async for client, csrf in logged_in(site.app, site.globex.manager.username, "manager-pass"):
        page = await client.get(f"/licences/{record.id}")
        missing = await client.get(f"/licences/{record.id + 100}")
        assert page.status_code == missing.status_code == 404
        assert f"no licence {record.id}" in page.text
        assert page.text.replace(f"no licence {record.id}", "no licence N") == (
            missing.text.replace(f"no licence {record.id + 100}", "no licence N")
        )
        changed = await client.post(
            f"/licences/{record.id}/rate",
            data={
                "csrf_token": csrf,
                "rate_kind": "fixed",
                "rate": "0.9",
                "effective": "2026-12-01",
            },
        )
        assert changed.status_code == 404
        listing = await client.get("/licences")
        assert "HOME-1" not in listing.text
