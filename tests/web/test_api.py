"""The REST API over real HTTP semantics (httpx against the ASGI app) on both databases."""

from __future__ import annotations

import asyncio
import base64
import json
import re

import httpx
import pytest
import websockets
from fastapi.routing import iter_route_contexts

from voltflow.bootstrap import Platform
from voltflow.web import create_app


async def test_every_api_route_needs_a_key(platform: Platform) -> None:
    app = create_app(platform)
    transport = httpx.ASGITransport(app=app)
    checked = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as anon:
        # Included routers stay nested in app.routes (FastAPI ≥ 0.137): flattened here.
        for route in iter_route_contexts(app.routes):
            path = route.path or ""
            if not path.startswith("/api/v1/") or path in (
                "/api/v1/health",
                "/api/v1/health/live",
                "/api/v1/health/ready",
                "/api/v1/openapi.json",
            ):
                continue
            url = re.sub(r"{\w+}", "1", path.replace("{action}", "Reset"))
            for method in (route.methods or set()) - {"HEAD", "OPTIONS"}:
                response = await anon.request(method, url, headers={"Authorization": "Bearer nope"})
                assert response.status_code == 401, (method, url, response.text)
                assert response.headers["content-type"] == "application/problem+json"
                checked += 1
    assert checked >= 30, "the route table went quiet: no API route was checked"


async def test_add_station_and_read_it_back(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/stations", json={"id": "CP-1", "generate_password": True})
    assert created.status_code == 201, created.text
    body = created.json()
    assert len(body["password"]) >= 16
    assert body["ocpp_url"].endswith("/ocpp/CP-1")
    station = (await api.get("/api/v1/stations/CP-1")).json()
    assert station["id"] == "CP-1"
    assert station["online"] is False
    assert "password_hash" not in station
    listed = (await api.get("/api/v1/stations", params={"q": "CP"})).json()
    assert listed["total"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "has space"}, "id"),
        ({"id": ""}, "id"),
        ({"id": "CP-2", "password": "short"}, "password"),
        ({}, "id"),
    ],
)
async def test_bad_station_input_names_the_field(
    api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await api.post("/api/v1/stations", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == field
    assert problem["status"] == 422
    assert (await api.get("/api/v1/stations")).json()["total"] == 0


async def test_duplicate_station_is_refused_and_the_first_kept(api: httpx.AsyncClient) -> None:
    assert (
        await api.post("/api/v1/stations", json={"id": "CP-1", "password": "first-password-0001"})
    ).status_code == 201
    again = await api.post("/api/v1/stations", json={"id": "CP-1", "password": "second-pass-0001"})
    assert again.status_code == 422
    assert again.json()["field"] == "id"


async def test_unknown_station_and_session_are_404(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/stations/NOPE")).status_code == 404
    assert (await api.get("/api/v1/sessions/999")).status_code == 404
    assert (await api.get("/api/v1/stations/NOPE/messages")).status_code == 404


async def test_commands_report_offline_and_unknown_actions(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/stations", json={"id": "CP-1"})
    offline = await api.post("/api/v1/stations/CP-1/commands/Reset")
    assert offline.status_code == 409
    assert offline.json()["kind"] == "offline"
    unknown = await api.post("/api/v1/stations/CP-1/commands/Explode")
    assert unknown.status_code == 422


async def test_command_round_trip_with_a_connected_station(
    api: httpx.AsyncClient, platform: Platform, ocpp_url: str
) -> None:
    await api.post("/api/v1/stations", json={"id": "CP-1", "password": "station-pass-0001"})
    auth = base64.b64encode(b"CP-1:station-pass-0001").decode()
    async with websockets.connect(
        f"{ocpp_url}/CP-1",
        subprotocols=["ocpp1.6"],
        additional_headers={"Authorization": f"Basic {auth}"},
    ) as ws:

        async def station() -> None:
            msg = json.loads(await ws.recv())
            assert msg[2] == "GetConfiguration"
            await ws.send(
                json.dumps(
                    [
                        3,
                        msg[1],
                        {
                            "configurationKey": [
                                {"key": "HeartbeatInterval", "readonly": False, "value": "300"}
                            ]
                        },
                    ]
                )
            )
            msg = json.loads(await ws.recv())
            await ws.send(json.dumps([4, msg[1], "NotSupported", "no", {}]))

        task = asyncio.create_task(station())
        ok = await api.post(
            "/api/v1/stations/CP-1/commands/GetConfiguration",
            json={"payload": {"key": ["HeartbeatInterval"]}},
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["payload"]["configurationKey"][0]["value"] == "300"
        rejected = await api.post("/api/v1/stations/CP-1/commands/ClearCache")
        assert rejected.status_code == 502
        assert rejected.json()["code"] == "NotSupported"
        await task
        bad = await api.post(
            "/api/v1/stations/CP-1/commands/Reset", json={"payload": {"type": "Gentle"}}
        )
        assert bad.status_code == 422
        assert bad.json()["kind"] == "invalid"
    log = (
        await api.get("/api/v1/stations/CP-1/messages", params={"action": "GetConfiguration"})
    ).json()
    assert {(m["direction"], m["message_type"]) for m in log} == {("out", 2), ("in", 3)}


async def test_sessions_filters_and_time_zone_rule(api: httpx.AsyncClient) -> None:
    naive = await api.get("/api/v1/sessions", params={"from": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
    assert naive.json()["field"] == "from"
    ok = await api.get("/api/v1/sessions", params={"from": "2026-01-01T00:00:00+01:00"})
    assert ok.status_code == 200
    assert ok.json() == {"items": [], "total": 0, "offset": 0, "limit": 50}


async def test_tokens_are_active_cards_without_owner(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/tokens", json={"uid": "04:a2:bc"})
    assert created.json() == {"uid": "04A2BC", "state": "active", "expires_at": None}
    blocked = await api.post("/api/v1/cards/actions", json={"action": "block", "uids": ["04A2BC"]})
    assert blocked.json()["done"] == ["04A2BC"]
    assert (await api.get("/api/v1/cards/04A2BC")).json()["state"] == "blocked"
    missing = await api.post("/api/v1/cards/actions", json={"action": "block", "uids": ["NOPE"]})
    assert missing.status_code == 404
    bad = await api.post("/api/v1/tokens", json={"uid": "!!"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "uid"


async def test_openapi_document_lists_the_routes(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/api/v1/openapi.json")).json()
    assert "/api/v1/stations/{station_id}/commands/{action}" in doc["paths"]
