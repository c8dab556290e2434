"""The console's form errors, its own and the services', in the person's language."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests import factories
from voltflow.bootstrap import Platform
from voltflow.web import create_app

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _error(page: str, field_id: str) -> str:
    found = re.search(rf'<span class="field-error" id="{field_id}-error">([^<]*)</span>', page)
    assert found, page[-2000:]
    return found.group(1)


@pytest.fixture
async def french(platform: Platform) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The operator, logged in from a browser that asks for French: the client and a CSRF
    token."""
    op = await factories.operator(platform)
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Accept-Language": "fr-BE"}
    ) as console:
        page = await console.get("/login")
        found = CSRF_INPUT.search(page.text)
        assert found, page.text
        login = {"username": op.username, "password": "op-password", "csrf_token": found.group(1)}
        assert (await console.post("/login", data=login)).status_code == 303
        page = await console.get("/customers")
        token = CSRF_INPUT.search(page.text)
        assert token, page.text
        yield console, token.group(1)


async def test_a_new_customers_field_errors_in_french(
    french: tuple[httpx.AsyncClient, str],
) -> None:
    console, csrf = french
    response = await console.post(
        "/customers", data={"name": " ", "kind": "nope", "csrf_token": csrf}
    )
    assert response.status_code == 422
    assert _error(response.text, "org-kind") == "entreprise, ménage ou installateur"
    assert _error(response.text, "org-name") == "obligatoire"


async def test_a_service_refusal_on_a_customer_form_in_french(
    french: tuple[httpx.AsyncClient, str],
) -> None:
    """The contract service's refusal, from the domain's rule for an IBAN, in French."""
    console, csrf = french
    made = await console.post(
        "/customers", data={"name": "Acme", "kind": "company", "csrf_token": csrf}
    )
    assert made.status_code == 303
    contract = {
        "kind": "emsp",
        "starts_on": "2026-01-01",
        "currency": "EUR",
        "mandate_reference": "VF-1",
        "mandate_iban": "BE68 5390 0754 7035",
        "mandate_signed_on": "2026-01-01",
        "csrf_token": csrf,
    }
    response = await console.post(f"{made.headers['location']}/contracts", data=contract)
    assert response.status_code == 422
    assert _error(response.text, "contract-mandate_iban") == (
        "IBAN &#39;BE68 5390 0754 7035&#39; : chiffres de contrôle incorrects"
    )
