"""Liveness and readiness, and what the API and the console answer while the database is out:
503 with Retry-After (problem details, or a page), never a plain-text 500. The outages are real:
a database that cannot be reached from the start (a closed port; a path SQLite cannot open), and
one that goes away under a running platform and comes back (PostgreSQL refusing connections and
dropping those it had; the SQLite file gone from its place)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, make_settings
from voltflow.bootstrap import Platform, build
from voltflow.store.database import create_database
from voltflow.web import create_app

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextlib.asynccontextmanager
async def client(platform: Platform, key: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as c:
        yield c


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["status"] == 503


async def _assert_out(api: httpx.AsyncClient) -> None:
    _unavailable(await api.get("/api/v1/stations"))
    _unavailable(await api.post("/api/v1/stations", json={"id": "CP-9"}))
    ready = await api.get("/api/v1/health/ready")
    _unavailable(ready)
    assert ready.json()["checks"]["database"] != "ok"
    assert "database" in ready.json()["detail"]
    _unavailable(await api.get("/api/v1/health"))
    live = await api.get("/api/v1/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}


async def test_a_working_platform_is_live_and_ready(platform: Platform) -> None:
    async with client(platform) as anon:
        live = await anon.get("/api/v1/health/live")
        assert live.status_code == 200 and live.json() == {"status": "ok"}
        for path in ("/api/v1/health/ready", "/api/v1/health"):
            ready = await anon.get(path)
            assert ready.status_code == 200, ready.text
            assert ready.json() == {"status": "ok", "checks": {"database": "ok", "writer": "ok"}}


async def test_a_stopped_writer_is_not_ready(platform: Platform) -> None:
    async with client(platform) as anon:
        await platform.writer.stop()
        ready = await anon.get("/api/v1/health/ready")
        _unavailable(ready)
        assert ready.json()["checks"]["database"] == "ok"
        assert ready.json()["checks"]["writer"] == "failing (WriterClosed)"
        await platform.writer.start()
        assert (await anon.get("/api/v1/health/ready")).status_code == 200


async def test_nats_configured_but_not_connected_is_not_ready(platform: Platform) -> None:
    platform.settings.nats_url = "nats://127.0.0.1:4222"
    async with client(platform) as anon:
        ready = await anon.get("/api/v1/health/ready")
    _unavailable(ready)
    assert ready.json()["checks"]["nats"] == "failing (ConnectionError)"


def _unreachable(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        # A directory where the database file should be: SQLite cannot open it.
        (tmp_path / "not-a-file.db").mkdir()
        return f"sqlite:///{tmp_path / 'not-a-file.db'}"
    return make_url(database_url).set(port=_closed_port()).render_as_string(hide_password=False)


def _closed_port() -> int:
    """A port that was free a moment ago and that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_unreachable_database_is_503_for_the_api_and_the_console(
    database_url: str, tmp_path: Path
) -> None:
    platform = build(make_settings(_unreachable(database_url, tmp_path)))
    await platform.start(ocpp=False)
    try:
        async with client(platform, "vf_any-key") as api:
            await _assert_out(api)
            ready = await api.get("/api/v1/health/ready")
            assert ready.json()["checks"]["writer"] != "ok"
            # Anyone may ask: where the database is, and why it refused, stay in the log.
            url = make_url(platform.settings.database_url)
            told = ready.text
            assert str(url.port or url.database) not in told, told
        async with client(platform) as browser:
            page = await browser.get("/login")  # asks nothing of the database
            assert page.status_code == 200
            found = CSRF_INPUT.search(page.text)
            assert found
            refused = await browser.post(
                "/login", data={"username": "op", "password": "op-password", "csrf_token": found[1]}
            )
            assert refused.status_code == 503
            assert refused.headers["content-type"].startswith("text/html")
            assert refused.headers["retry-after"] == "5"
            assert "cannot be reached" in refused.text
    finally:
        await platform.stop()


def _move_away(path: Path, aside: Path) -> list[tuple[Path, Path]]:
    """The database's files (with its WAL) elsewhere, a directory in its place."""
    aside.mkdir()
    moved = [(p, aside / p.name) for p in path.parent.glob(path.name + "*") if p.is_file()]
    for where, to in moved:
        where.rename(to)
    path.mkdir()
    return moved


def _move_back(path: Path, moved: list[tuple[Path, Path]]) -> None:
    path.rmdir()
    for where, to in moved:
        to.rename(where)


@contextlib.asynccontextmanager
async def outage(platform: Platform, database_url: str, tmp_path: Path) -> AsyncIterator[None]:
    """The database goes away under the running platform, then comes back."""
    if database_url.startswith("sqlite"):
        path = Path(str(make_url(database_url).database))
        moved = await asyncio.to_thread(_move_away, path, tmp_path / "aside")
        await platform.db.engine.dispose()  # the pool's open files would outlive the move
        try:
            yield
        finally:
            await asyncio.to_thread(_move_back, path, moved)
        return
    name = make_url(database_url).database
    admin = create_database(POSTGRES_URL)

    async def run(statement: str) -> None:
        async with admin.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))

    try:
        await run(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        try:
            yield
        finally:
            await run(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.dispose()


async def test_a_database_lost_and_back(
    platform: Platform, database_url: str, tmp_path: Path
) -> None:
    await platform.organisations.add_operator("op", "op-password")
    key = await platform.accounts.create_api_key("op")
    async with client(platform, key) as api:
        assert (await api.get("/api/v1/stations")).status_code == 200
        async with outage(platform, database_url, tmp_path):
            await _assert_out(api)
        assert (await api.get("/api/v1/health/ready")).status_code == 200
        assert (await api.post("/api/v1/stations", json={"id": "CP-1"})).status_code == 201
        assert (await api.get("/api/v1/stations")).json()["total"] == 1


@pytest.mark.parametrize("path", ["/api/v1/health/live", "/api/v1/health/ready", "/api/v1/health"])
async def test_the_probes_are_in_the_api_document(platform: Platform, path: str) -> None:
    async with client(platform) as anon:
        document = (await anon.get("/api/v1/openapi.json")).json()
    assert "get" in document["paths"][path]
