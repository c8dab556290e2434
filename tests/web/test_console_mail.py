"""The console's Mail page: operators read what the platform mails (without an SMTP server, the
only place to read it); nobody else reaches it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape as html_unescape

import httpx
import pytest

from tests import factories
from voltflow.bootstrap import Platform
from voltflow.domain.access import OrganisationKind, Role
from voltflow.domain.paging import PageRequest
from voltflow.web import create_app

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _login(client: httpx.AsyncClient, username: str, password: str) -> None:
    page = await client.get("/login")
    found = CSRF_INPUT.search(page.text)
    assert found, page.text
    form = {"username": username, "password": password, "csrf_token": found.group(1)}
    assert (await client.post("/login", data=form)).status_code == 303


@pytest.fixture
async def console(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_operators_read_the_mails_waiting_without_a_mail_server(
    platform: Platform, console: httpx.AsyncClient
) -> None:
    op = await factories.operator(platform)
    org = await platform.organisations.create(op, "Recharge Liège", OrganisationKind.COMPANY)
    await platform.organisations.set_document_language(op, org.id, "fr")
    await platform.organisations.add_person(
        op, org.id, "zoe", Role.DRIVER, password="zoe-secret-pw", email="zoe@liege.example"
    )
    [mail] = (await platform.mail.page(op, PageRequest())).items
    await _login(console, "op", "op-password")

    listing = await console.get("/mail")
    assert listing.status_code == 200
    assert 'href="/mail"' in listing.text  # in the navigation
    row = re.search(rf'<tr data-mail="{mail.id}">.*?</tr>', listing.text, re.S)
    assert row, listing.text
    assert "zoe@liege.example" in row.group(0)
    assert "Votre accès à Recharge Liège" in row.group(0)
    assert "Français" in row.group(0) and 'data-status="pending"' in row.group(0)
    assert "VOLTFLOW_SMTP_URL" in listing.text  # why they wait
    assert (await console.get("/mail?status=sent")).text.count("data-mail=") == 0
    assert (await console.get("/mail?status=pending")).text.count("data-mail=") == 1

    page = await console.get(f"/mail/{mail.id}")
    assert page.status_code == 200
    assert mail.message_id.replace("<", "&lt;").replace(">", "&gt;") in page.text
    frame = re.search(r'<iframe srcdoc="([^"]*)" sandbox=""', page.text)
    assert frame, page.text
    assert html_unescape(frame.group(1)) == (await platform.mail.get(op, mail.id)).html
    assert f'href="/mail/{mail.id}/html"' in page.text
    assert "Bonjour," in page.text  # the plain text, as sent

    html = await console.get(f"/mail/{mail.id}/html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert '<html lang="fr">' in html.text and 'data-layout="footer"' in html.text

    assert (await console.get("/mail/999999")).status_code == 404
    assert (await console.get("/mail/999999/html")).status_code == 404


async def test_no_one_but_an_operator_reaches_the_mails(
    platform: Platform, console: httpx.AsyncClient
) -> None:
    op = await factories.operator(platform)
    company = await factories.company(platform, op, "Acme")
    await platform.organisations.add_person(
        op, company.id, "ann", Role.DRIVER, password="ann-secret-pw", email="ann@acme.example"
    )
    [mail] = (await platform.mail.page(op, PageRequest())).items
    await _login(console, company.manager.username, "manager-pass")

    home = await console.get("/cards")
    assert home.status_code == 200 and 'href="/mail"' not in home.text
    for url in ("/mail", f"/mail/{mail.id}", f"/mail/{mail.id}/html", "/mail/999999"):
        response = await console.get(url)
        assert response.status_code == 403, (url, response.text[:300])
        assert "ann@acme.example" not in response.text


async def test_adding_a_person_with_an_address_says_where_their_mail_goes(
    platform: Platform, console: httpx.AsyncClient
) -> None:
    op = await factories.operator(platform)
    org = await platform.organisations.create(op, "Acme", OrganisationKind.COMPANY)
    await _login(console, "op", "op-password")
    page = await console.get(f"/customers/{org.id}")
    token = CSRF_INPUT.search(page.text)
    assert token, page.text
    form = {"username": "ann", "role": "driver", "csrf_token": token.group(1)}
    silent = await console.post(f"/customers/{org.id}/people", data=form)
    assert silent.status_code == 200 and 'id="person-mailed"' not in silent.text
    mailed = await console.post(
        f"/customers/{org.id}/people",
        data={**form, "username": "bo", "email": "bo@acme.example"},
    )
    assert mailed.status_code == 200
    notice = re.search(r'<p class="muted" id="person-mailed">(.*?)</p>', mailed.text)
    assert notice and "bo@acme.example" in notice.group(1)
    [mail] = (await platform.mail.page(op, PageRequest())).items
    assert mail.recipient == "bo@acme.example"
