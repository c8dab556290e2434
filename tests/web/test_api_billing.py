"""The billing API: runs (operators), documents (each reader their own), and the billing details
of organisations and people, refused with problem details that name the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.services.billing_world import Month, month
from voltflow.bootstrap import Platform
from voltflow.web import create_app

__all__ = ["month"]  # the fixture


class Clients:
    def __init__(self, platform: Platform) -> None:
        self.transport = httpx.ASGITransport(app=create_app(platform))
        self.platform = platform
        self.open: list[httpx.AsyncClient] = []

    async def of(self, username: str) -> httpx.AsyncClient:
        key = await self.platform.accounts.create_api_key(username)
        client = httpx.AsyncClient(
            transport=self.transport,
            base_url="http://test",
            headers={"Authorization": f"Bearer {key}"},
        )
        self.open.append(client)
        return client


@pytest.fixture
async def clients(month: Month) -> AsyncIterator[Clients]:
    made = Clients(month.platform)
    try:
        yield made
    finally:
        for client in made.open:
            await client.aclose()


def problem(response: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_an_operator_previews_then_finalises_a_run(month: Month, clients: Clients) -> None:
    op = await clients.of(month.op.username)
    preview = await op.post("/api/v1/billing/runs", json={"period": "2026-11"})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["finalised"] is False and body["run_id"] is None
    assert [(d["kind"], d["number"], d["total_incl_vat"]) for d in body["documents"]] == [
        ("invoice", None, "19.36"),
        ("invoice", None, "2.42"),
        ("payment_request", None, "7.32"),
        ("reimbursement_statement", None, "7.32"),
        ("self_billing", None, "3.03"),
    ]
    assert {s["reason"] for s in body["skipped"]} == {"whitelist", "invalid"}
    listed = await op.get("/api/v1/billing/documents")
    assert listed.json()["total"] == 0

    # Without a period: last month, November (the clock says the 2nd of December).
    done = await op.post("/api/v1/billing/runs", json={"finalise": True})
    assert done.status_code == 200, done.text
    issued = done.json()
    assert issued["period"] == "2026-11" and issued["finalised"] is True
    assert [d["number"] for d in issued["documents"]] == [
        "INV-2026-000001",
        "INV-2026-000002",
        "PR-2026-000001",
        "RS-2026-000001",
        "SB-2026-000001",
    ]
    request = issued["documents"][2]
    assert request["payment_reference"] == "+++226/0000/00108+++"
    assert request["mandate_reference"] == "ACME-2026"
    assert request["sessions"] == 2

    page = (await op.get("/api/v1/billing/documents", params={"limit": 2, "offset": 1})).json()
    assert page["total"] == 5 and [d["number"] for d in page["items"]] == [
        "INV-2026-000002",
        "PR-2026-000001",
    ]
    only = await op.get(
        "/api/v1/billing/documents", params={"period": "2026-11", "kind": "payment_request"}
    )
    assert [(d["number"], Decimal(d["total_incl_vat"])) for d in only.json()["items"]] == [
        ("PR-2026-000001", Decimal("7.32"))
    ]
    other = await op.get("/api/v1/billing/documents", params={"period": "2026-10"})
    assert other.json()["total"] == 0


async def test_a_customer_sees_only_its_own_documents_and_runs_none(
    month: Month, clients: Clients
) -> None:
    await month.platform.billing.finalise(month.op, month.last_period)
    acme = await clients.of(month.acme.manager.username)
    globex = await clients.of(month.other.manager.username)
    driver = await clients.of(month.acme.drivers[0].username)
    host = await clients.of(month.host.username)

    async def numbers(client: httpx.AsyncClient, **params: Any) -> list[str]:
        answer = await client.get("/api/v1/billing/documents", params=params)
        assert answer.status_code == 200, answer.text
        return [d["number"] for d in answer.json()["items"]]

    assert await numbers(acme) == ["INV-2026-000001", "PR-2026-000001", "RS-2026-000001"]
    assert await numbers(globex) == ["INV-2026-000002"]
    assert await numbers(globex, organisation_id=month.acme.id) == []
    assert await numbers(driver) == ["RS-2026-000001"]
    assert await numbers(host) == ["SB-2026-000001"]
    refused = await acme.post("/api/v1/billing/runs", json={"organisation_id": month.acme.id})
    assert refused.status_code == 403


async def test_a_run_is_refused_naming_the_field(month: Month, clients: Clients) -> None:
    op = await clients.of(month.op.username)
    for body, field in (
        ({"period": "2026-13"}, "period"),
        ({"period": "november"}, "period"),
        ({"period": "2026-12", "finalise": True}, "period"),  # not over yet
        ({"organisation_id": 987654}, "customer"),
        ({"finalize": True}, "finalize"),
    ):
        answer = problem(await op.post("/api/v1/billing/runs", json=body))
        assert answer["field"] == field, (body, answer)
    bad = problem(await op.get("/api/v1/billing/documents", params={"period": "2026-1"}))
    assert bad["field"] == "period"


async def test_an_organisations_billing_details_are_checked_and_kept(
    month: Month, clients: Clients
) -> None:
    op = await clients.of(month.op.username)
    made = await op.post(
        "/api/v1/organisations",
        json={
            "name": "Initech",
            "kind": "company",
            "vat_number": "BE 0123.456.749",
            "street": "Rue Neuve 5",
            "postal_code": "1000",
            "city": "Bruxelles",
            "iban": "BE71 0961 2345 6769",
        },
    )
    assert made.status_code == 201, made.text
    org = made.json()
    assert (org["vat_number"], org["peppol_id"]) == ("BE0123456749", "0208:0123456749")
    assert (org["iban"], org["bic"], org["country"]) == ("BE71096123456769", "GKCCBEBB", None)
    url = f"/api/v1/organisations/{org['id']}"
    for body, field in (
        ({"iban": "BE71096123456760"}, "iban"),
        ({"bic": "DEUTDEFF"}, "bic"),  # a German bank for a Belgian account
        ({"peppol_id": "0208:0123456789"}, "peppol_id"),  # wrong check digits
        ({"peppol_id": "not an id"}, "peppol_id"),
        ({"vat_number": "BE0123456789"}, "vat_number"),
        ({"country": "Belgium"}, "country"),
        ({"postal_code": "10 00 00 00 00 00 00"}, "postal_code"),
        ({"billing_email": "nobody"}, "billing_email"),
        ({"login_domain": "taken"}, "login_domain"),
    ):
        answer = problem(await op.patch(url, json=body))
        assert answer["field"] == field, (body, answer)
        assert answer["detail"], answer
    kept = (await op.get(url)).json()
    assert kept["iban"] == "BE71096123456769" and kept["peppol_id"] == "0208:0123456749"
    # Only what is given changes; a Peppol id given stays when the VAT number changes.
    changed = await op.patch(url, json={"peppol_id": "9925:BE0123456749", "country": "be"})
    assert changed.status_code == 200, changed.text
    again = await op.patch(url, json={"vat_number": "BE0403170701", "billing_email": None})
    assert again.status_code == 200, again.text
    after = again.json()
    assert (after["vat_number"], after["peppol_id"], after["country"], after["street"]) == (
        "BE0403170701",
        "9925:BE0123456749",
        "BE",
        "Rue Neuve 5",
    )
    cleared = (await op.patch(url, json={"iban": None})).json()
    assert (cleared["iban"], cleared["bic"]) == (None, None)


async def test_a_persons_iban_is_where_they_are_paid(month: Month, clients: Clients) -> None:
    manager = await clients.of(month.acme.manager.username)
    driver = month.acme.drivers[0]
    url = f"/api/v1/organisations/{month.acme.id}/people/{driver.user_id}"
    answer = await manager.patch(url, json={"iban": "be68 5390 0754 7034"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["iban"] == "BE68539007547034"
    assert problem(await manager.patch(url, json={"iban": "BE00"}))["field"] == "iban"
    stranger = f"/api/v1/organisations/{month.acme.id}/people/{month.other.drivers[0].user_id}"
    assert problem(await manager.patch(stranger, json={"iban": None}), 404)["title"]
    await month.platform.billing.finalise(month.op, month.last_period)
    _, statement = await month.platform.billing.document(month.op, "RS-2026-000001")
    assert statement.seller.iban == "BE68539007547034"
