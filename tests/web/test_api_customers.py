"""Customers, contracts, cards and lists through the REST API, as an operator and as a fleet
manager, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest

from voltflow.bootstrap import Platform
from voltflow.web import create_app

CSV = "uid,printed_number\n04A1B2C3,VF-0001\n04A1B2C4,VF-0002\n04A1B2C5,VF-0003\n"


@dataclass
class Clients:
    operator: httpx.AsyncClient
    platform: Platform

    def as_key(self, key: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.operator._transport,
            base_url="http://test",
            headers={"Authorization": f"Bearer {key}"},
        )


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[Clients]:
    await platform.organisations.add_operator("op", "op-password")
    key = await platform.accounts.create_api_key("op")
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {key}"}
    ) as client:
        yield Clients(client, platform)


async def test_operator_sets_up_a_company_with_contract_and_mandate(api: Clients) -> None:
    op = api.operator
    org = await op.post("/api/v1/organisations", json={"name": "Acme NV", "kind": "company"})
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    contract = await op.post(
        f"/api/v1/organisations/{org_id}/contracts",
        json={
            "kind": "emsp",
            "starts_on": "2026-01-01",
            "fee_per_card": "2.50",
            "mandate_reference": "ACME-2026-1",
            "mandate_iban": "BE68 5390 0754 7034",
            "mandate_bic": "GKCCBEBB",
            "mandate_signed_on": "2025-12-15",
        },
    )
    assert contract.status_code == 201, contract.text
    assert contract.json()["mandate_iban"] == "BE68539007547034"
    assert Decimal(contract.json()["fee_per_card"]) == Decimal("2.50")

    bad = await op.post(
        f"/api/v1/organisations/{org_id}/contracts",
        json={
            "kind": "emsp",
            "starts_on": "2026-01-01",
            "mandate_reference": "ACME-2026-2",
            "mandate_iban": "BE68 5390 0754 7035",
            "mandate_signed_on": "2025-12-15",
        },
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "mandate_iban"
    assert len((await op.get(f"/api/v1/organisations/{org_id}/contracts")).json()) == 1


async def test_fleet_manager_flow_and_boundaries(api: Clients) -> None:
    op = api.operator
    acme = (await op.post("/api/v1/organisations", json={"name": "Acme", "kind": "company"})).json()
    other = (
        await op.post("/api/v1/organisations", json={"name": "Other", "kind": "company"})
    ).json()
    fm = await op.post(
        f"/api/v1/organisations/{acme['id']}/people",
        json={"username": "fm@acme", "role": "fleet_manager"},
    )
    assert fm.status_code == 201
    assert fm.json()["password"]  # generated, shown once
    imported = await op.post(
        "/api/v1/cards/import", content=CSV, headers={"content-type": "text/csv"}
    )
    assert imported.json()["imported"] == 3
    uids = imported.json()["uids"]
    dist = await op.post(
        "/api/v1/cards/actions",
        json={"action": "distribute", "uids": uids[:2], "organisation_id": acme["id"]},
    )
    assert dist.status_code == 200, dist.text

    key = await api.platform.accounts.create_api_key("fm@acme")
    async with api.as_key(key) as fm_client:
        driver = await fm_client.post(
            f"/api/v1/organisations/{acme['id']}/people",
            json={"username": "ann@acme", "role": "driver", "full_name": "Ann"},
        )
        assert driver.status_code == 201, driver.text
        assigned = await fm_client.post(
            "/api/v1/cards/actions",
            json={"action": "assign", "uids": [uids[0]], "driver_id": driver.json()["user_id"]},
        )
        assert assigned.status_code == 200, assigned.text
        activated = await fm_client.post(
            "/api/v1/cards/actions", json={"action": "activate", "uids": [uids[0]]}
        )
        assert activated.status_code == 200
        card = (await fm_client.get(f"/api/v1/cards/{uids[0]}")).json()
        assert card["state"] == "active"
        assert card["contract_id"].startswith("BE-VFL-C")
        assert [e["action"] for e in card["history"]] == [
            "import",
            "distribute",
            "assign",
            "activate",
        ]

        listed = (await fm_client.get("/api/v1/cards")).json()
        assert {c["uid"] for c in listed["items"]} == set(uids[:2])
        illegal = await fm_client.post(
            "/api/v1/cards/actions", json={"action": "unblock", "uids": [uids[0]]}
        )
        assert illegal.status_code == 422
        assert "cannot unblock" in illegal.json()["detail"]
        # Stock and other customers are out of reach: as if they did not exist.
        assert (await fm_client.get(f"/api/v1/cards/{uids[2]}")).status_code == 404
        stock = await fm_client.post(
            "/api/v1/cards/import", content=CSV, headers={"content-type": "text/csv"}
        )
        assert stock.status_code == 403
        assert (await fm_client.get(f"/api/v1/organisations/{other['id']}")).status_code == 404
        orgs = (await fm_client.get("/api/v1/organisations")).json()
        assert [o["name"] for o in orgs["items"]] == ["Acme"]
        audit = (await fm_client.get("/api/v1/audit")).json()
        assert audit["total"] >= 3
        assert {a["organisation_id"] for a in audit["items"]} == {acme["id"]}


async def test_csv_import_errors_name_row_and_column(api: Clients) -> None:
    response = await api.operator.post(
        "/api/v1/cards/import",
        content="uid,printed_number\n04A1B2C3,VF-1\nxyz,VF-2\n",
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 422
    problem = response.json()
    assert (problem["row"], problem["field"]) == (3, "uid")
    assert problem["problems"][0]["column"] == "uid"
    assert (await api.operator.get("/api/v1/cards")).json()["total"] == 0


async def test_scoped_api_key_cannot_write(api: Clients) -> None:
    from voltflow.domain.access import Permission

    key = await api.platform.accounts.create_api_key(
        "op", "read-only", frozenset({Permission.CARDS_READ})
    )
    async with api.as_key(key) as ro:
        assert (await ro.get("/api/v1/cards")).status_code == 200
        denied = await ro.post(
            "/api/v1/cards/import", content=CSV, headers={"content-type": "text/csv"}
        )
        assert denied.status_code == 403
        assert denied.json()["permission"] == "cards:stock"


async def test_an_organisations_document_language_is_set_and_changed(api: Clients) -> None:
    op = api.operator
    created = await op.post(
        "/api/v1/organisations",
        json={"name": "Vlaamse Bouw BV", "kind": "company", "document_language": "nl"},
    )
    assert created.status_code == 201, created.text
    org_id = created.json()["id"]
    assert created.json()["document_language"] == "nl"

    changed = await op.patch(f"/api/v1/organisations/{org_id}", json={"document_language": "fr"})
    assert changed.status_code == 200, changed.text
    assert (await op.get(f"/api/v1/organisations/{org_id}")).json()["document_language"] == "fr"

    refused = await op.patch(
        f"/api/v1/organisations/{org_id}",
        json={"document_language": "de"},
        headers={"Accept-Language": "fr-BE"},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "document_language", refused.json()
    assert (await op.get(f"/api/v1/organisations/{org_id}")).json()["document_language"] == "fr"

    reset = await op.patch(f"/api/v1/organisations/{org_id}", json={"document_language": None})
    assert reset.json()["document_language"] is None
