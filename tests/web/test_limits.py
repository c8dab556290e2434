"""Request bodies over the limit are refused 413 before anything reads them: from Content-Length,
or while they stream in. httpx against the ASGI app counts what the app consumed of a body; a
real uvicorn on a socket shows what a client sees when it declares 60 MB and sends one byte."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import make_settings
from voltflow.bootstrap import Platform, build
from voltflow.web import create_app
from voltflow.web.api.cards import MAX_IMPORT_BYTES
from voltflow.web.limits import DEFAULT_LIMIT

SIXTY_MB = 60 * 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture
async def platform(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Platform]:
    """No database is involved in refusing a body: SQLite only."""
    shutil.copy(sqlite_template, tmp_path / "voltflow.db")
    p = build(make_settings(f"sqlite:///{tmp_path / 'voltflow.db'}"))
    await p.start(ocpp=False)
    try:
        yield p
    finally:
        await p.stop()


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


class CountedBody:
    """A request body that counts how much of it was taken: ``size`` bytes in chunks."""

    def __init__(self, size: int, chunk: int = CHUNK) -> None:
        self.size = size
        self.chunk = chunk
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.size:
            piece = min(self.chunk, self.size - self.sent)
            self.sent += piece
            yield b" " * piece


@contextlib.asynccontextmanager
async def client(app: FastAPI, **headers: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as c:
        yield c


def _assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 413
    assert "larger than" in problem["detail"]


async def test_a_declared_60_mb_body_is_refused_unread_and_unauthenticated(app: FastAPI) -> None:
    body = CountedBody(SIXTY_MB)
    async with client(app) as anon:
        response = await anon.post(
            "/api/v1/stations",
            content=body,
            headers={"Content-Type": "application/json", "Content-Length": str(SIXTY_MB)},
        )
    _assert_too_large(response)
    assert body.sent == 0  # not one byte taken
    assert response.headers["connection"] == "close"


async def test_a_chunked_body_is_refused_once_it_passes_the_limit(app: FastAPI) -> None:
    body = CountedBody(SIXTY_MB)
    async with client(app, Authorization="Bearer whatever") as anon:
        response = await anon.post(
            "/api/v1/stations", content=body, headers={"Content-Type": "application/json"}
        )
    _assert_too_large(response)
    # Taken up to the first chunk past the limit, and not one more.
    assert body.sent == (DEFAULT_LIMIT // CHUNK + 1) * CHUNK


async def test_a_body_within_the_limit_reaches_the_route(app: FastAPI) -> None:
    async with client(app) as anon:
        response = await anon.post("/api/v1/stations", json={"id": "CP-1", "pad": "x" * 500_000})
    assert response.status_code == 401  # read, then refused for its missing key


async def test_a_card_import_may_be_larger_than_other_bodies(
    app: FastAPI, platform: Platform
) -> None:
    await platform.organisations.add_operator("op", "op-password")
    key = await platform.accounts.create_api_key("op")
    rows = "".join(f"{i:08X},PN-{i:07d}\n" for i in range(1, 110_001))
    csv = f"uid,printed_number\n{rows}"
    assert DEFAULT_LIMIT < len(csv) < MAX_IMPORT_BYTES
    async with client(app, Authorization=f"Bearer {key}") as api:
        imported = await api.post(
            "/api/v1/cards/import", content=csv, headers={"Content-Type": "text/csv"}
        )
        assert imported.status_code == 201, imported.text[:500]
        assert imported.json()["imported"] == 110_000
        # As large a JSON body elsewhere is refused.
        other = await api.post(
            "/api/v1/stations",
            content=json.dumps({"id": "CP-1", "pad": csv}),
            headers={"Content-Type": "application/json"},
        )
        _assert_too_large(other)
    async with client(app) as anon:
        huge = await anon.post(
            "/api/v1/cards/import",
            content=CountedBody(SIXTY_MB),
            headers={"Content-Type": "text/csv", "Content-Length": str(SIXTY_MB)},
        )
    _assert_too_large(huge)


async def test_the_console_answers_a_page(app: FastAPI) -> None:
    async with client(app) as browser:
        response = await browser.post(
            "/login",
            content=CountedBody(2 * DEFAULT_LIMIT),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "Request body too large" in response.text


# -- over a real socket ---------------------------------------------------------------------------


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[tuple[str, int]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not uv.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield "127.0.0.1", port
    finally:
        uv.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


async def _exchange(address: tuple[str, int], head: bytes, body: bytes) -> bytes:
    """Send ``head`` and ``body``, nothing more, and read the answer until the server closes."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(head + body)
        await writer.drain()
        # A server waiting for the rest of the body would never answer: the guard fails the test.
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_over_http_a_60_mb_declaration_is_answered_without_the_body(
    server: tuple[str, int],
) -> None:
    head = (
        "POST /api/v1/stations HTTP/1.1\r\n"
        "Host: voltflow\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {SIXTY_MB}\r\n\r\n"
    ).encode()
    answer = await _exchange(server, head, b"{")
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 413 Request Entity Too Large", answer[:300]
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    assert json.loads(body)["status"] == 413


async def test_over_http_chunks_past_the_limit_are_refused(server: tuple[str, int]) -> None:
    head = (
        b"POST /api/v1/stations HTTP/1.1\r\n"
        b"Host: voltflow\r\n"
        b"Content-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (CHUNK, b" " * CHUNK)
    # Past the limit, then silence: no last chunk, no end.
    answer = await _exchange(server, head, chunk * (DEFAULT_LIMIT // CHUNK + 1))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
