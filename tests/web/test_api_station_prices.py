"""A station's prices through the API: read with the version of each tariff in force, set all at
once by an operator; a refusal is a problem naming the field, and nothing changes; the owner's
fleet manager reads them, nobody else does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.factories import Company, company, operator, tariff_document
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor
from voltflow.web import create_app

SINCE = "2020-01-01T00:00:00Z"
EMPTY = {"tariff_id": None, "host": None, "host_tariff_id": None}


@dataclass
class Api:
    platform: Platform
    op: Actor
    acme: Company
    client: httpx.AsyncClient  # the operator's key

    def key_client(self, key: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(self.platform)),
            base_url="http://test",
            headers={"Authorization": f"Bearer {key}"},
        )


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[Api]:
    op = await operator(platform)
    acme = await company(platform, op, "Acme", drivers=1)
    await platform.stations.add("CP-1", "station-pass-0001", actor=op)
    await platform.stations.set_owner(op, "CP-1", acme.id)
    for document in (
        tariff_document("PUBLIC", "0.40", flat="0.50", start=SINCE),
        tariff_document("HOST-FEE", "0.25", start=SINCE),
        tariff_document("LATER", "0.45", start="2099-01-01T00:00:00Z"),
        {**tariff_document("DOLLARS", "0.50", start=SINCE), "currency": "USD"},
    ):
        await platform.tariffs.add(document, actor=op)
    key = await platform.accounts.create_api_key(op.username)
    made = Api(platform, op, acme, httpx.AsyncClient())
    async with made.key_client(key) as client:
        made.client = client
        yield made


async def test_an_operator_sets_and_reads_a_stations_prices(api: Api) -> None:
    before = await api.client.get("/api/v1/stations/CP-1/prices")
    assert before.status_code == 200, before.text
    assert before.json() == {
        "station_id": "CP-1",
        "currency": "EUR",
        "tariff": None,
        "host": None,
        "host_tariff": None,
    }

    driver = api.acme.drivers[0].username
    put = await api.client.put(
        "/api/v1/stations/CP-1/prices",
        json={"tariff_id": "PUBLIC", "host": driver, "host_tariff_id": "LATER"},
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["tariff"] == {
        "id": "PUBLIC",
        "version": 1,
        "in_force": True,
        "currency": "EUR",
        "valid_from": "2020-01-01T00:00:00Z",
        "valid_until": None,
    }
    assert body["host"] == driver
    assert body["host_tariff"]["id"] == "LATER"
    assert body["host_tariff"]["in_force"] is False  # from 2099 on
    assert (await api.client.get("/api/v1/stations/CP-1/prices")).json() == body

    # A PUT sets all three: what it leaves out is none.
    cleared = await api.client.put("/api/v1/stations/CP-1/prices", json={})
    assert cleared.status_code == 200
    assert cleared.json()["tariff"] is None and cleared.json()["host"] is None


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"tariff_id": "NOPE"}, "tariff_id", "no tariff NOPE"),
        ({"host_tariff_id": "NOPE", "host": "op"}, "host_tariff_id", "no tariff NOPE"),
        ({"tariff_id": "DOLLARS"}, "tariff_id", "tariff DOLLARS is in USD"),
        ({"host": "nobody"}, "host", "no person nobody"),
        ({"host_tariff_id": "HOST-FEE"}, "host", "a host's tariff needs a host"),
        ({"tariff_id": ""}, "tariff_id", "at least 1 character"),
        ({"tariff_id": "x" * 37}, "tariff_id", "at most 36 characters"),
        ({"host": "x" * 129}, "host", "at most 128 characters"),
        ({"tariff_id": "PUBLIC", "price": 1}, "price", ""),
    ],
)
async def test_a_refusal_names_the_field_and_changes_nothing(
    api: Api, body: dict[str, object], field: str, detail: str
) -> None:
    await api.platform.pricing.set_station_prices(api.op, "CP-1", tariff_id="PUBLIC")
    answer = await api.client.put("/api/v1/stations/CP-1/prices", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["field"] == field
    assert detail in problem["detail"]
    after = (await api.client.get("/api/v1/stations/CP-1/prices")).json()
    assert after["tariff"]["id"] == "PUBLIC" and after["host"] is None


async def test_a_refusal_speaks_the_callers_language(api: Api) -> None:
    for language, detail in (("nl-BE", "geen tarief NOPE"), ("fr-BE", "pas de tarif NOPE")):
        answer = await api.client.put(
            "/api/v1/stations/CP-1/prices",
            json={"tariff_id": "NOPE"},
            headers={"Accept-Language": language},
        )
        assert answer.status_code == 422
        assert answer.json()["detail"] == detail


async def test_an_unknown_station_is_not_found(api: Api) -> None:
    for answer in (
        await api.client.get("/api/v1/stations/CP-9/prices"),
        await api.client.put("/api/v1/stations/CP-9/prices", json={"tariff_id": "PUBLIC"}),
    ):
        assert answer.status_code == 404, answer.text


async def test_the_owners_fleet_manager_reads_them_and_may_not_set_them(api: Api) -> None:
    await api.platform.pricing.set_station_prices(api.op, "CP-1", tariff_id="PUBLIC")
    key = await api.platform.accounts.create_api_key(api.acme.manager.username)
    async with api.key_client(key) as manager:
        read = await manager.get("/api/v1/stations/CP-1/prices")
        assert read.status_code == 200 and read.json()["tariff"]["id"] == "PUBLIC"
        refused = await manager.put("/api/v1/stations/CP-1/prices", json={"tariff_id": None})
        assert refused.status_code == 403
        assert refused.json()["permission"] == "contracts:write"
    # A driver of the same company may do neither.
    key = await api.platform.accounts.create_api_key(api.acme.drivers[0].username)
    async with api.key_client(key) as driver:
        assert (await driver.get("/api/v1/stations/CP-1/prices")).status_code == 403
        put = await driver.put("/api/v1/stations/CP-1/prices", json={"tariff_id": None})
        assert put.status_code == 403
    after = (await api.client.get("/api/v1/stations/CP-1/prices")).json()
    assert after["tariff"]["id"] == "PUBLIC"
