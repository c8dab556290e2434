"""Sessions exports over real HTTP (httpx against the app), on both databases: the API's and the
console's files hold the sessions the list shows to the person, in its order and with its
filters, and nothing of another organisation's; large console exports run in the background
and only the person who started one finds it."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from sqlalchemy import insert

from tests import factories
from voltflow.bootstrap import Platform
from voltflow.store.tables import charging_sessions
from voltflow.web import create_app
from voltflow.web.console import exports as console_exports
from voltflow.web.console import stations as console_stations

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRF-Token": "([^"]+)"')
START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@dataclass
class World:
    platform: Platform
    app: FastAPI
    alpha_manager: str
    beta_manager: str


async def _sessions(platform: Platform, station_id: str, count: int, offset_h: int) -> None:
    rows: list[dict[str, Any]] = []
    for i in range(count):
        began = START + timedelta(hours=offset_h + i)
        rows.append(
            {
                "station_id": station_id,
                "evse_id": 1,
                "connector_id": 1,
                "id_tag": f"TAG{station_id[-1]}{i}",
                "auth_status": "Accepted",
                "started_at": began,
                "meter_start_wh": 0,
                "stopped_at": began + timedelta(minutes=30),
                "meter_stop_wh": 1000 * (i + 1) + 234,
                "energy_wh": 1000 * (i + 1) + 234,
                "stop_reason": "Local",
                "session_type": "normal",
                "created_at": began,
            }
        )
    async with platform.db.writes.begin() as conn:
        await conn.execute(insert(charging_sessions), rows)


@pytest.fixture
async def world(platform: Platform) -> World:
    op = await factories.operator(platform)
    alpha = await factories.company(platform, op, "Alpha", drivers=0)
    beta = await factories.company(platform, op, "Beta", drivers=0)
    for org, station in ((alpha, "CP-A"), (beta, "CP-B")):
        await platform.stations.add(station, "station-pass-0001", actor=op)
        await platform.stations.set_owner(op, station, org.id)
    await _sessions(platform, "CP-A", 3, 0)
    await _sessions(platform, "CP-B", 2, 10)
    return World(platform, create_app(platform), alpha.manager.username, beta.manager.username)


@pytest.fixture
async def clients(world: World) -> AsyncIterator[list[httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []
    yield made
    for c in made:
        await c.aclose()


async def api_client(
    world: World, username: str, made: list[httpx.AsyncClient]
) -> httpx.AsyncClient:
    key = await world.platform.accounts.create_api_key(username)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=world.app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    )
    made.append(client)
    return client


async def console_client(
    world: World, username: str, password: str, made: list[httpx.AsyncClient]
) -> tuple[httpx.AsyncClient, str]:
    """Logged in through the form; with the session's CSRF token."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url="http://test")
    made.append(client)
    page = await client.get("/login")
    found = CSRF_INPUT.search(page.text)
    assert found
    answer = await client.post(
        "/login", data={"username": username, "password": password, "csrf_token": found.group(1)}
    )
    assert answer.status_code == 303, answer.text
    token = CSRF_HEADER.search((await client.get("/sessions")).text)
    assert token
    return client, token.group(1)


def rows_of(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.text, newline="")))


async def test_api_csv_holds_the_lists_sessions_newest_first(
    world: World, clients: list[httpx.AsyncClient]
) -> None:
    op = await api_client(world, "op", clients)
    response = await op.get("/api/v1/sessions/export", params={"format": "csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="sessions-\d{8}-\d{4}\.csv"', response.headers["content-disposition"]
    )
    lines = rows_of(response)
    assert lines[0][:3] == ["Start", "End", "Station"]
    assert [r[2] for r in lines[1:]] == ["CP-B", "CP-B", "CP-A", "CP-A", "CP-A"]
    assert lines[-1] == [
        "2026-11-30T08:00:00Z", "2026-11-30T08:30:00Z", "CP-A", "1", "TAGA0", "1800", "1.234",
        "Local", "normal",
    ]  # fmt: skip
    listed = (await op.get("/api/v1/sessions")).json()["items"]
    assert [r[4] for r in lines[1:]] == [s["id_tag"] for s in listed]

    # The list's filters: a station, a time range (from inclusive, to exclusive).
    only_a = rows_of(await op.get("/api/v1/sessions/export", params={"station_id": "CP-A"}))
    assert len(only_a) == 4
    ranged = await op.get(
        "/api/v1/sessions/export",
        params={"from": "2026-11-30T09:00:00Z", "to": "2026-11-30T18:30:00+00:00"},
    )
    assert [r[4] for r in rows_of(ranged)[1:]] == ["TAGB0", "TAGA2", "TAGA1"]


async def test_api_export_holds_nothing_of_another_organisation(
    world: World, clients: list[httpx.AsyncClient]
) -> None:
    beta = await api_client(world, world.beta_manager, clients)
    lines = rows_of(await beta.get("/api/v1/sessions/export"))
    assert {r[2] for r in lines[1:]} == {"CP-B"} and len(lines) == 3
    asked = rows_of(await beta.get("/api/v1/sessions/export", params={"station_id": "CP-A"}))
    assert len(asked) == 1  # the header alone
    xlsx = await beta.get("/api/v1/sessions/export", params={"format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    stations = [r[2] for r in book.active.iter_rows(min_row=2, values_only=True)]  # type: ignore[union-attr]
    assert stations == ["CP-B", "CP-B"]


async def test_api_xlsx_in_the_requests_language_and_time_zone(
    world: World, clients: list[httpx.AsyncClient]
) -> None:
    op = await api_client(world, "op", clients)
    response = await op.get(
        "/api/v1/sessions/export",
        params={"format": "xlsx", "station_id": "CP-A", "timezone": "America/New_York"},
        headers={"Accept-Language": "nl-BE"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.active
    assert sheet is not None and sheet.title == "Laadsessies"
    assert sheet["A1"].value == "Start" and sheet["B1"].value == "Einde"
    # 08:00 UTC is 03:00 in New York.
    assert sheet["A4"].value == datetime(2026, 11, 30, 3, 0)
    assert sheet["A4"].number_format == "dd/mm/yyyy hh:mm"
    assert (sheet["G4"].value, sheet["G4"].number_format) == (1.234, '#,##0.000 "kWh"')


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "pdf"}, "format"),
        ({"from": "2026-11-30T09:00:00"}, "from"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "America"}, "timezone"),
    ],
)
async def test_api_export_refuses_what_it_cannot_read(
    world: World, clients: list[httpx.AsyncClient], params: dict[str, str], field: str
) -> None:
    op = await api_client(world, "op", clients)
    response = await op.get("/api/v1/sessions/export", params=params)
    assert response.status_code == 422
    assert field in response.text


async def test_console_links_export_what_the_page_shows(
    world: World, clients: list[httpx.AsyncClient]
) -> None:
    beta, _ = await console_client(world, world.beta_manager, "manager-pass", clients)
    page = await beta.get("/sessions", params={"station_id": "CP-B", "state": "finished"})
    assert 'href="/sessions/export?format=csv&amp;station_id=CP-B&amp;state=finished"' in page.text
    assert 'href="/sessions/export?format=xlsx&amp;station_id=CP-B&amp;state=finished"' in page.text
    lines = rows_of(await beta.get("/sessions/export?format=csv&station_id=CP-B&state=finished"))
    assert [r[4] for r in lines[1:]] == ["TAGB1", "TAGB0"]
    # Another organisation's station, asked by name: nothing.
    assert len(rows_of(await beta.get("/sessions/export?station_id=CP-A"))) == 1
    everything = rows_of(await beta.get("/sessions/export"))
    assert {r[2] for r in everything[1:]} == {"CP-B"}


async def test_a_large_export_runs_in_the_background_for_its_person_alone(
    world: World, clients: list[httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_stations, "BACKGROUND_ROWS", 1)
    beta, token = await console_client(world, world.beta_manager, "manager-pass", clients)
    page = await beta.get("/sessions")
    assert 'hx-post="/exports/sessions"' in page.text
    assert "/sessions/export?format=csv" not in page.text
    started = await beta.post(
        "/exports/sessions",
        data={"format": "csv", "station_id": "", "id_tag": "", "state": ""},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert started.status_code == 200, started.text
    job_id = re.search(r'hx-get="/exports/([\w-]+)"', started.text)
    assert job_id, started.text
    progress = f"/exports/{job_id.group(1)}"

    # Another person finds neither its progress nor its file.
    alpha, _ = await console_client(world, world.alpha_manager, "manager-pass", clients)
    assert (await alpha.get(progress)).status_code == 404
    assert (await alpha.get(f"{progress}/file")).status_code == 404

    async with asyncio.timeout(10):
        while "/file" not in (answer := await beta.get(progress)).text:
            assert answer.status_code == 200
            await asyncio.sleep(0.02)
    assert "2 sessions" in answer.text
    download = await beta.get(f"{progress}/file")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert [r[2] for r in rows_of(download)[1:]] == ["CP-B", "CP-B"]
    assert (await alpha.get(f"{progress}/file")).status_code == 404
    await console_exports.jobs_of_app(world.app).close()


async def test_background_export_needs_the_csrf_token(
    world: World, clients: list[httpx.AsyncClient]
) -> None:
    beta, _ = await console_client(world, world.beta_manager, "manager-pass", clients)
    refused = await beta.post("/exports/sessions", data={"format": "csv"})
    assert refused.status_code == 403
