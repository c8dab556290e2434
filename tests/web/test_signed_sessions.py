"""A session's signed meter values in the API and on its console page, for a transparency tool
to check: the blocks exactly as the station sent them, their OCMF records decoded, the signed
start and end reading marked. The session is charged over a real OCPP socket, on both databases."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from tests import ocmf_records as rec
from tests.ocpp.support import add_station, iso, raw_station
from voltflow.bootstrap import Platform
from voltflow.web import create_app

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BEGIN = rec.as_hex(rec.begin_record())
END = rec.as_wrapper(rec.end_record())
BROKEN = rec.as_hex("OCMF|{oops}|{}")
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def at(minutes: float) -> str:
    return iso(T0 + timedelta(minutes=minutes))


def signed(value: str, context: str) -> dict[str, Any]:
    return {"value": value, "format": "SignedData", "context": context}


async def charge(platform: Platform, ocpp_url: str, *, with_signed: bool = True) -> int:
    """A session at CP-EICH whose stop carries a signed start and end reading (the end one
    wrapped with the meter's public key), and an undecodable block between them."""
    await add_station(platform, "CP-EICH")
    async with raw_station(ocpp_url, "CP-EICH") as st:
        await st.result("BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "W"})
        start = {"connectorId": 1, "idTag": "04A2BC11", "meterStart": 1234560, "timestamp": at(0)}
        tx: int = (await st.result("StartTransaction", start))["transactionId"]
        data = [
            {"timestamp": at(0), "sampledValue": [signed(BEGIN, "Transaction.Begin")]},
            {"timestamp": at(20), "sampledValue": [signed(BROKEN, "Sample.Clock")]},
            {"timestamp": at(40), "sampledValue": [signed(END, "Transaction.End")]},
        ]
        stop = {"transactionId": tx, "meterStop": 1246060, "timestamp": at(40)}
        if with_signed:
            stop["transactionData"] = data
        await st.result("StopTransaction", stop)
    return tx


@pytest.fixture
async def console(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    await platform.organisations.add_operator("op2", "op2-password")
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        found = CSRF_INPUT.search((await client.get("/login")).text)
        assert found
        answer = await client.post(
            "/login",
            data={"username": "op2", "password": "op2-password", "csrf_token": found.group(1)},
        )
        assert answer.status_code == 303, answer.text
        yield client


async def test_the_session_resource_carries_its_signed_values(
    platform: Platform, ocpp_url: str, api: httpx.AsyncClient
) -> None:
    tx = await charge(platform, ocpp_url)
    response = await api.get(f"/api/v1/sessions/{tx}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["meter_stop_wh"], body["energy_wh"]) == (1246060, 11500)
    begin, broken, end = body["signed_meter_values"]
    assert [v["data"] for v in (begin, broken, end)] == [BEGIN, BROKEN, END]
    assert [v["context"] for v in (begin, broken, end)] == [
        "Transaction.Begin",
        "Sample.Clock",
        "Transaction.End",
    ]
    assert {v["format"] for v in (begin, broken, end)} == {"SignedData"}
    assert [(v["session_start"], v["session_end"]) for v in (begin, broken, end)] == [
        (True, False),
        (False, False),
        (False, True),
    ]
    assert (begin["encoding"], broken["encoding"], end["encoding"]) == ("hex", "hex", "json+base64")
    assert begin["public_key"] is None and end["public_key"] == rec.PUBLIC_KEY
    assert broken["ocmf"] is None
    assert broken["note"].startswith("OCMF record could not be decoded")
    ocmf = begin["ocmf"]
    assert (ocmf["meter_serial"], ocmf["pagination"], ocmf["signature_data"]) == (
        rec.METER_SERIAL,
        "T1742",
        rec.SIGNATURE_BEGIN,
    )
    assert ocmf["signature_algorithm"] == "ECDSA-secp256r1-SHA256"
    assert ocmf["payload_text"].startswith('{"FV":"1.0"')
    [reading] = ocmf["readings"]
    assert reading["value"] == "1234.56"  # the digits the meter signed, as text
    assert (reading["transaction"], reading["unit"], reading["obis"]) == ("B", "kWh", "1-b:1.8.0")
    assert reading["at"] == "2025-03-01T12:00:00Z"
    assert end["ocmf"]["readings"][0]["value"] == "1246.06"
    schema = (await api.get("/api/v1/openapi.json")).json()["components"]["schemas"]
    assert "signed_meter_values" in schema["SessionDetailOut"]["properties"]


async def test_a_session_without_signed_values_says_so(
    platform: Platform, ocpp_url: str, api: httpx.AsyncClient, console: httpx.AsyncClient
) -> None:
    tx = await charge(platform, ocpp_url, with_signed=False)
    assert (await api.get(f"/api/v1/sessions/{tx}")).json()["signed_meter_values"] == []
    page = await console.get(f"/sessions/{tx}")
    assert page.status_code == 200
    assert 'id="no-signed"' in page.text


async def test_the_session_page_shows_its_signed_readings_ready_to_copy(
    platform: Platform, ocpp_url: str, console: httpx.AsyncClient
) -> None:
    tx = await charge(platform, ocpp_url)
    listing = await console.get("/sessions")
    assert f'href="/sessions/{tx}"' in listing.text
    page = await console.get(f"/sessions/{tx}")
    assert page.status_code == 200, page.text
    text = page.text
    assert f"Session {tx}" in text
    blocks = re.findall(
        r'<textarea id="signed-\d+-data"[^>]*readonly[^>]*>([^<]*)</textarea>', text
    )
    assert [html.unescape(b) for b in blocks] == [BEGIN, BROKEN, END]
    summary = re.search(r'id="signed-start">(.*?)</dd>.*?id="signed-end">(.*?)</dd>', text, re.S)
    assert summary is not None
    assert "1234.56 kWh" in summary.group(1) and "1246.06 kWh" in summary.group(2)
    assert rec.METER_SERIAL in text and "T1742" in text
    assert rec.PUBLIC_KEY in text
    assert "OCMF record could not be decoded" in text
    assert "not verified here" in text


@pytest.mark.parametrize("path", ["/sessions/999999", "/sessions/0", "/sessions/abc"])
async def test_no_such_session_page(console: httpx.AsyncClient, path: str) -> None:
    page = await console.get(path)
    assert page.status_code in (404, 422)
    assert page.headers["content-type"].startswith("text/html")


async def test_the_transparency_file_of_a_session(
    platform: Platform, ocpp_url: str, api: httpx.AsyncClient, console: httpx.AsyncClient
) -> None:
    tx = await charge(platform, ocpp_url)
    by_api = await api.get(f"/api/v1/sessions/{tx}/transparency")
    assert by_api.status_code == 200, by_api.text
    assert by_api.headers["content-type"].startswith("application/xml")
    assert f'filename="session-{tx}-signed.xml"' in by_api.headers["content-disposition"]
    values = ElementTree.fromstring(by_api.content)
    assert [v.get("context") for v in values] == [
        "Transaction.Begin",
        "Sample.Clock",
        "Transaction.End",
    ]
    begin, broken, end = (v.find("signedData") for v in values)
    assert begin is not None and broken is not None and end is not None
    assert (begin.get("format"), begin.text) == ("OCMF", rec.begin_record())
    assert (end.get("format"), end.text) == ("OCMF", rec.end_record())
    assert begin.get("transactionId") == str(tx)
    assert broken.get("format") == "OCMF" and broken.text == "OCMF|{oops}|{}"
    key = values[2].find("publicKey")
    assert key is not None and key.text == rec.PUBLIC_KEY
    assert values[0].find("publicKey") is None

    page = await console.get(f"/sessions/{tx}")
    assert f'href="/sessions/{tx}/transparency.xml"' in page.text
    by_console = await console.get(f"/sessions/{tx}/transparency.xml")
    assert by_console.status_code == 200
    assert by_console.content == by_api.content
    assert (await api.get("/api/v1/sessions/999999/transparency")).status_code == 404
