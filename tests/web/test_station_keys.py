"""Station keys through the API and the console: bounds, rotation, claiming a keyless station."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.ocpp.support import RawStation, add_station, raw_station
from voltflow.bootstrap import Platform
from voltflow.web import create_app

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def console(platform: Platform) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    await platform.organisations.add_operator("op", "op-password")
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        page = await client.get("/login")
        found = CSRF_INPUT.search(page.text)
        assert found, page.text
        answer = await client.post(
            "/login",
            data={"username": "op", "password": "op-password", "csrf_token": found.group(1)},
        )
        assert answer.status_code == 303, answer.text
        stations = await client.get("/stations")
        token = CSRF_INPUT.search(stations.text)
        assert token, stations.text
        yield client, token.group(1)


async def answer_change(station: RawStation, status: str = "Accepted") -> str:
    frame = await station.recv()
    assert frame[2] == "ChangeConfiguration" and frame[3]["key"] == "AuthorizationKey", frame
    await station.answer(frame, {"status": status})
    value: str = frame[3]["value"]
    return value


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/stations", {"id": "CP-2", "password": "fifteen-chars-1"}),
        ("POST", "/api/v1/stations", {"id": "CP-2", "password": "with spaces in the key"}),
        ("PATCH", "/api/v1/stations/CP-1", {"password": "fifteen-chars-1"}),
    ],
)
async def test_a_key_outside_the_bounds_is_a_problem_naming_the_field(
    platform: Platform, api: httpx.AsyncClient, method: str, path: str, body: dict[str, Any]
) -> None:
    await add_station(platform, "CP-1")
    response = await api.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "password"
    assert (await api.get("/api/v1/stations")).json()["total"] == 1


async def test_rotate_key_through_the_api(
    platform: Platform, api: httpx.AsyncClient, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    offline = await api.post("/api/v1/stations/CP-1/rotate-key")
    assert offline.status_code == 409 and "not connected" in offline.json()["detail"]
    async with raw_station(ocpp_url, "CP-1") as st:
        rotating = asyncio.create_task(api.post("/api/v1/stations/CP-1/rotate-key"))
        sent = await answer_change(st)
        response = await rotating
    assert response.status_code == 200, response.text
    assert response.json() == {"station_id": "CP-1", "status": "Accepted", "key": sent}
    station = (await api.get("/api/v1/stations/CP-1")).json()
    assert station["has_key"] is True and station["key_change"] == "Accepted"
    assert "pending_password_hash" not in station
    listed = (await api.get("/api/v1/stations")).json()["items"][0]
    assert "pending_password_hash" not in listed and "password_hash" not in listed
    async with raw_station(ocpp_url, "CP-1", password=sent) as st:
        await st.heartbeat()
    assert (await api.get("/api/v1/stations/CP-1")).json()["key_change"] is None


async def test_a_refused_rotation_returns_no_key(
    platform: Platform, api: httpx.AsyncClient, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        rotating = asyncio.create_task(api.post("/api/v1/stations/CP-1/rotate-key"))
        await answer_change(st, "Rejected")
        response = await rotating
    assert response.json() == {"station_id": "CP-1", "status": "Rejected", "key": None}
    assert (await api.get("/api/v1/stations/CP-1")).json()["key_change"] is None


async def test_a_second_rotation_meanwhile_is_a_conflict(
    platform: Platform, api: httpx.AsyncClient, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        first = asyncio.create_task(api.post("/api/v1/stations/CP-1/rotate-key"))
        frame = await st.recv()  # the first change is in flight
        second = await api.post("/api/v1/stations/CP-1/rotate-key")
        await st.answer(frame, {"status": "Accepted"})
        response = await first
    assert response.status_code == 200 and response.json()["key"] == frame[3]["value"]
    assert second.status_code == 409, second.text
    assert second.json()["kind"] == "key-change-busy"


async def test_claiming_a_keyless_station_through_the_api(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    await platform.stations.add("CP-OPEN")
    assert (await api.get("/api/v1/stations/CP-OPEN")).json()["has_key"] is False
    claimed = (await api.post("/api/v1/stations/CP-OPEN/claim")).json()
    assert claimed["registration"] == "Accepted"
    assert claimed["has_key"] is False and claimed["key_change"] == "Offered"
    assert len(claimed["key"]) == 40 and "not sent" in claimed["key_delivery"]


async def test_the_console_rotates_a_key_and_shows_it_once(
    platform: Platform, console: tuple[httpx.AsyncClient, str], ocpp_url: str
) -> None:
    client, csrf = console
    await add_station(platform, "CP-1")
    await platform.stations.add("CP-OPEN")
    assert "no key" in (await client.get("/stations/CP-OPEN")).text
    page = await client.get("/stations/CP-1")
    assert "Rotate key" in page.text and "key set" in page.text
    async with raw_station(ocpp_url, "CP-1") as st:
        rotating = asyncio.create_task(
            client.post(
                "/stations/CP-1/rotate-key",
                data={"csrf_token": csrf},
                headers={"HX-Request": "true"},
            )
        )
        sent = await answer_change(st)
        fragment = await rotating
    assert fragment.status_code == 200, fragment.text
    assert sent in fragment.text and "shown once" in fragment.text
    assert "set-cookie" not in fragment.headers or sent not in fragment.headers["set-cookie"]
    page = await client.get("/stations/CP-1")
    assert sent not in page.text and "new key accepted" in page.text
    offline = await client.post(
        "/stations/CP-OPEN/rotate-key", data={"csrf_token": csrf}, headers={"HX-Request": "true"}
    )
    assert "station offline" in offline.text


async def test_the_console_claims_a_keyless_station(
    platform: Platform, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = console
    await platform.stations.add("CP-OPEN")
    await platform.stations.update("CP-OPEN", registration="Pending")
    page = await client.get("/stations/CP-OPEN")
    assert "Claim this station" in page.text
    fragment = await client.post(
        "/stations/CP-OPEN/claim", data={"csrf_token": csrf}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200, fragment.text
    record = await platform.stations.get("CP-OPEN")
    assert record.registration == "Accepted" and record.pending_password_hash is not None
    key = re.search(r'<pre class="result" id="new-key">([0-9a-f]{40})</pre>', fragment.text)
    assert key, fragment.text


async def test_the_remote_command_endpoint_hands_the_key_over(
    platform: Platform, api: httpx.AsyncClient, ocpp_url: str
) -> None:
    """OCTT TC_073 through the API: the key the operator sends is the one the station's
    reconnection is checked against."""
    await add_station(platform, "CP-1")
    body = {"payload": {"key": "AuthorizationKey", "value": "operator-key-000000001"}}
    short = await api.post(
        "/api/v1/stations/CP-1/commands/ChangeConfiguration",
        json={"payload": {"key": "AuthorizationKey", "value": "short"}},
    )
    assert short.status_code == 422 and "16–40 characters" in short.json()["detail"]
    async with raw_station(ocpp_url, "CP-1") as st:
        sending = asyncio.create_task(
            api.post("/api/v1/stations/CP-1/commands/ChangeConfiguration", json=body)
        )
        assert await answer_change(st) == "operator-key-000000001"
        response = await sending
    assert response.json()["payload"] == {"status": "Accepted"}
    async with raw_station(ocpp_url, "CP-1", password="operator-key-000000001") as st:
        await st.heartbeat()


async def test_the_console_claim_without_htmx_shows_the_key_on_a_page(
    platform: Platform, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = console
    await platform.stations.add("CP-OPEN")
    page = await client.post("/stations/CP-OPEN/claim", data={"csrf_token": csrf})
    assert page.status_code == 200, page.text
    assert re.search(r'id="new-key">[0-9a-f]{40}<', page.text), page.text
    await add_station(platform, "CP-1")  # one with a key: nothing to show, back to its page
    back = await client.post("/stations/CP-1/claim", data={"csrf_token": csrf})
    assert back.status_code == 303 and back.headers["location"] == "/stations/CP-1"
