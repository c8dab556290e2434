"""A session's charging periods in the API (OCPI's shape) and on its console page, in the
person's language; an open session has none yet. Charged over a real OCPP socket, on both
databases."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.ocpp.support import RawStation, add_station, eventually, iso, raw_station
from voltflow.bootstrap import Platform
from voltflow.web import create_app

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # 10:00 in Brussels
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def at(minutes: float) -> str:
    return iso(T0 + timedelta(minutes=minutes))


def power(minutes: float, watts: int) -> dict[str, Any]:
    return {
        "timestamp": at(minutes),
        "sampledValue": [{"value": str(watts), "measurand": "Power.Active.Import", "unit": "W"}],
    }


async def begin(st: RawStation) -> int:
    await st.result("BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "W"})
    start = {"connectorId": 1, "idTag": "04A2BC11", "meterStart": 5000, "timestamp": at(0)}
    transaction_id: int = (await st.result("StartTransaction", start))["transactionId"]
    return transaction_id


async def charge(platform: Platform, ocpp_url: str) -> int:
    """Charging at 7.4 kW for 45 minutes, then parked for 15 until the stop."""
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        tx = await begin(st)
        meter = {"connectorId": 1, "transactionId": tx}
        await st.result("MeterValues", {**meter, "meterValue": [power(1, 7400), power(45, 0)]})
        status = {"connectorId": 1, "errorCode": "NoError", "status": "SuspendedEV"}
        await st.result("StatusNotification", {**status, "timestamp": at(45)})
        await st.result(
            "StopTransaction", {"transactionId": tx, "meterStop": 10550, "timestamp": at(60)}
        )
    await eventually(lambda: platform.charging_periods.of_session(tx))
    return tx


async def logged_in(platform: Platform, language: str) -> AsyncIterator[httpx.AsyncClient]:
    await platform.organisations.add_operator("op2", "op2-password")
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Accept-Language": language}
    ) as client:
        found = CSRF_INPUT.search((await client.get("/login")).text)
        assert found
        answer = await client.post(
            "/login",
            data={"username": "op2", "password": "op2-password", "csrf_token": found.group(1)},
        )
        assert answer.status_code == 303, answer.text
        yield client


@pytest.fixture(params=["en", "nl-BE", "fr-BE"])
async def console(
    platform: Platform, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async for client in logged_in(platform, request.param):
        yield client, request.param[:2]


async def test_the_api_gives_the_periods_in_ocpi_s_shape(
    platform: Platform, ocpp_url: str, api: httpx.AsyncClient
) -> None:
    tx = await charge(platform, ocpp_url)
    response = await api.get(f"/api/v1/sessions/{tx}/charging-periods")
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "start_date_time": "2026-05-04T08:00:00Z",
            "dimensions": [
                {"type": "ENERGY", "volume": 5.55},
                {"type": "TIME", "volume": 0.75},
                {"type": "MAX_POWER", "volume": 7.4},
                {"type": "MIN_POWER", "volume": 7.4},
            ],
            "flags": [],
        },
        {
            "start_date_time": "2026-05-04T08:45:00Z",
            "dimensions": [
                {"type": "ENERGY", "volume": 0},
                {"type": "PARKING_TIME", "volume": 0.25},
                {"type": "MAX_POWER", "volume": 0},
                {"type": "MIN_POWER", "volume": 0},
            ],
            "flags": [],
        },
    ]
    missing = await api.get("/api/v1/sessions/987654/charging-periods")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_an_open_session_has_no_periods_yet(
    platform: Platform, ocpp_url: str, api: httpx.AsyncClient
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        tx = await begin(st)
    assert (await api.get(f"/api/v1/sessions/{tx}/charging-periods")).json() == []


PAGE_WORDS = {
    "en": ("Charging periods", "Charging", "Parking", "Max. power", "5.550 kWh", "7.4 kW"),
    "nl": ("Laadperiodes", "Laden", "Parkeren", "Max. vermogen", "5,550 kWh", "7,4 kW"),
    "fr": ("Périodes de recharge", "Recharge", "Stationnement", "Puissance max.", "5,550 kWh"),
}


async def test_the_session_page_shows_its_periods(
    platform: Platform, ocpp_url: str, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, language = console
    tx = await charge(platform, ocpp_url)
    page = await client.get(f"/sessions/{tx}")
    assert page.status_code == 200
    table = page.text[page.text.index('id="periods"') :]
    table = table[: table.index("</table>")]
    for word in PAGE_WORDS[language]:
        assert word in page.text, word
    rows = re.findall(r'<tr data-period="\d+">(.*?)</tr>', table, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    assert [c[2:4] for c in cells] == [["0:45:00", "–"], ["–", "0:15:00"]]
    assert "10:00:00" in cells[0][0] and "10:45:00" in cells[1][0]  # Brussels time


async def test_an_open_session_s_page_says_it_has_no_periods_yet(
    platform: Platform, ocpp_url: str, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, language = console
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        tx = await begin(st)
    page = await client.get(f"/sessions/{tx}")
    assert page.status_code == 200
    assert 'id="no-periods"' in page.text and 'id="periods"' not in page.text
    if language == "nl":
        assert "Nog geen laadperiodes" in page.text
