"""The price of a charge before it starts, as the driver app asks it: typed and priced as the
session would be, with the breakdown, or zero and why."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.factories import operator, tariff_document
from tests.ocpp.support import add_station
from voltflow.bootstrap import Platform
from voltflow.web import create_app


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    op = await operator(platform)
    await add_station(platform, "CP-1")
    await platform.tokens.add("04A2B3C4")
    await platform.tariffs.add(tariff_document("PUBLIC", "0.40", per_hour="1.20"), actor=op)
    await platform.pricing.set_station_prices(op, "CP-1", tariff_id="PUBLIC")
    key = await platform.accounts.create_api_key("op")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(platform)),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield client


async def test_a_public_charge_is_priced_with_its_breakdown(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/api/v1/price-estimates",
        json={"station_id": "CP-1", "card": "04A2B3C4", "kwh": "10", "minutes": 30},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # 10 kWh × 0.40 + 0.5 h × 1.20 = 4.60 excl. VAT, 5.566 → 5.57 incl.
    assert body["session_type"] == "normal"
    assert body["price"] == {"currency": "EUR", "excl_vat": "4.60", "incl_vat": "5.57"}
    assert body["reimbursement"] is None
    assert [line["party"] for line in body["lines"]] == ["driver", "emsp", "cpo"]


@pytest.mark.parametrize(
    ("params", "session_type", "reason"),
    [
        ({"kwh": "351", "minutes": 600}, "invalid", "energy"),
        ({"kwh": "1", "minutes": 1}, "invalid", "lasted"),
    ],
)
async def test_a_charge_that_would_be_invalid_costs_nothing_and_says_why(
    api: httpx.AsyncClient, params: dict[str, object], session_type: str, reason: str
) -> None:
    asked = {"station_id": "CP-1", "card": "04A2B3C4", **params}
    body = (await api.post("/api/v1/price-estimates", json=asked)).json()
    assert body["session_type"] == session_type and reason in body["reason"]
    assert body["price"]["incl_vat"] == "0.00"


async def test_unknown_card_station_or_bad_figures_are_refused(api: httpx.AsyncClient) -> None:
    def asked(**changes: object) -> dict[str, object]:
        return {"station_id": "CP-1", "card": "04A2B3C4", "kwh": "1", "minutes": 30, **changes}

    unknown_card = await api.post("/api/v1/price-estimates", json=asked(card="FFFFFFFF"))
    unknown_station = await api.post("/api/v1/price-estimates", json=asked(station_id="CP-9"))
    negative = await api.post(
        "/api/v1/price-estimates", json=asked(kwh="-1"), headers={"Accept-Language": "fr-BE"}
    )
    assert unknown_card.status_code == 404
    assert unknown_station.status_code == 404
    assert negative.status_code == 422
    assert negative.json()["errors"][0]["field"] == "kwh"
