"""The OCPP endpoint's WebSocket layer on its own, over real sockets, behind an endpoint that
echoes: handshake, messages whole and in order, the protocol's limits, keepalive, shutdown."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import AsyncIterator
from http import HTTPStatus

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from voltflow.ocpp import websocket
from voltflow.ocpp.websocket import Socket, WebSocketServer

OCPP16 = Subprotocol("ocpp1.6")


class Echo:
    """Accepts every path but ``/refused``; answers each text message with itself."""

    def __init__(self) -> None:
        self.opens: list[Socket] = []
        self.closes: list[Socket] = []
        self.messages: list[str | bytes] = []

    async def handshake(self, socket: Socket, request: Request) -> Response | None:
        if request.path == "/refused":
            return socket.reject(HTTPStatus.FORBIDDEN, "not you\n")
        if request.path == "/broken":
            raise RuntimeError("the endpoint failed")
        await asyncio.sleep(0)  # a real endpoint reads its database here
        return None

    def opened(self, socket: Socket) -> None:
        self.opens.append(socket)

    def received(self, socket: Socket, message: str | bytes) -> None:
        self.messages.append(message)
        if isinstance(message, str):
            socket.send(message)

    def closed(self, socket: Socket) -> None:
        self.closes.append(socket)


@pytest.fixture
async def echo() -> AsyncIterator[tuple[Echo, str]]:
    endpoint = Echo()
    server = WebSocketServer(endpoint, subprotocols=["ocpp1.6"], server_header="test")
    await server.start("127.0.0.1", 0)
    try:
        yield endpoint, f"ws://127.0.0.1:{server.port}"
    finally:
        await server.stop()


def handshake_request(path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
    ).encode()


async def eventually(check: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_messages_go_both_ways_in_order(echo: tuple[Echo, str]) -> None:
    endpoint, url = echo
    async with connect(url + "/ocpp/CP-1", subprotocols=[OCPP16]) as ws:
        assert ws.subprotocol == OCPP16
        assert ws.response is not None and ws.response.headers["Server"] == "test"
        for n in range(50):
            await ws.send(f'[2,"{n}","Heartbeat",{{}}]')
        assert [await ws.recv() for _ in range(50)] == [
            f'[2,"{n}","Heartbeat",{{}}]' for n in range(50)
        ]
        await ws.send(b"\x00\x01")  # binary: handed over as bytes
        await eventually(lambda: endpoint.messages[-1] == b"\x00\x01")
    await eventually(lambda: len(endpoint.closes) == 1)
    assert endpoint.opens == endpoint.closes


async def test_a_fragmented_message_arrives_whole(echo: tuple[Echo, str]) -> None:
    endpoint, url = echo
    async with connect(url + "/x", subprotocols=[OCPP16]) as ws:
        await ws.send(["[2,", '"1",', '"Heartbeat",{}]'])
        assert await ws.recv() == '[2,"1","Heartbeat",{}]'
    assert endpoint.messages == ['[2,"1","Heartbeat",{}]']


async def test_refusals_are_http_responses(echo: tuple[Echo, str]) -> None:
    endpoint, url = echo
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url + "/refused", subprotocols=[OCPP16]):
            pass
    assert refused.value.response.status_code == 403
    assert refused.value.response.body == b"not you\n"
    with pytest.raises(InvalidStatus) as failed:
        async with connect(url + "/broken", subprotocols=[OCPP16]):
            pass
    assert failed.value.response.status_code == 500
    assert endpoint.opens == [] and endpoint.closes == []


async def test_invalid_utf8_closes_with_1007(echo: tuple[Echo, str]) -> None:
    endpoint, url = echo
    async with connect(url + "/x", subprotocols=[OCPP16]) as ws:
        await ws.send(b"\xff\xfe", text=True)
        with pytest.raises(ConnectionClosedError):
            await ws.recv()
        assert ws.close_code == 1007
    assert endpoint.messages == []


async def test_a_message_over_the_limit_closes_with_1009(echo: tuple[Echo, str]) -> None:
    endpoint, url = echo
    async with connect(url + "/x", subprotocols=[OCPP16], max_size=None) as ws:
        await ws.send("x" * (websocket.MAX_MESSAGE + 1))
        with pytest.raises(ConnectionClosedError):
            await ws.recv()
        assert ws.close_code == 1009
    assert endpoint.messages == []


async def test_a_peer_that_answers_no_ping_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = Echo()
    server = WebSocketServer(
        endpoint, subprotocols=["ocpp1.6"], server_header="test", ping_interval=0.3
    )
    await server.start("127.0.0.1", 0)
    try:
        # A peer that answers pings stays; one that reads nothing and says nothing goes.
        async with connect(
            f"ws://127.0.0.1:{server.port}/alive", subprotocols=[OCPP16], ping_interval=None
        ) as alive:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(handshake_request("/silent"))
            response = await reader.readuntil(b"\r\n\r\n")
            assert response.startswith(b"HTTP/1.1 101"), await reader.read(200)
            await eventually(lambda: len(endpoint.opens) == 2)
            received = await asyncio.wait_for(reader.read(), timeout=3)  # up to EOF
            assert b"keepalive ping timeout" in received
            writer.close()
            await eventually(lambda: len(endpoint.closes) == 1)
            await alive.send("still here")
            assert await alive.recv() == "still here"
    finally:
        await server.stop()


async def test_a_peer_that_leaves_its_answers_unread_is_told_why(echo: tuple[Echo, str]) -> None:
    """It sends and never reads (the client stops reading once 16 messages wait for it): our
    answers pile up past ``WRITE_BUFFER_LIMIT``, and the close that ends it says why, for
    whenever it reads again."""
    endpoint, url = echo
    message = "x" * (websocket.MAX_MESSAGE // 2)
    async with connect(url + "/x", subprotocols=[OCPP16], max_size=None, max_queue=16) as ws:
        for _ in range(64):  # far more than the kernel's buffers on both sides hold
            await ws.send(message)
        echoed = 0
        with contextlib.suppress(ConnectionClosedError):
            while True:
                assert await ws.recv() == message
                echoed += 1
        assert 0 < echoed < 64
        assert (ws.close_code, ws.close_reason) == (1008, "answers left unread")
    await eventually(lambda: len(endpoint.closes) == 1)


async def test_stopping_closes_every_connection_going_away(echo: tuple[Echo, str]) -> None:
    endpoint, url = echo
    server_stop = None
    async with connect(url + "/x", subprotocols=[OCPP16]) as ws:
        await eventually(lambda: len(endpoint.opens) == 1)
        socket = endpoint.opens[0]
        server_stop = asyncio.create_task(socket._server.stop())
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
        assert ws.close_code == 1001
    await server_stop
    assert endpoint.closes == [socket]


async def test_an_open_handshake_that_never_comes_is_dropped(
    monkeypatch: pytest.MonkeyPatch, echo: tuple[Echo, str]
) -> None:
    monkeypatch.setattr(websocket, "OPEN_TIMEOUT", 0.2)
    endpoint, url = echo
    reader, writer = await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
    assert await asyncio.wait_for(reader.read(), timeout=3) == b""  # closed, unanswered
    writer.close()
    assert endpoint.opens == []


async def test_a_refused_connection_is_closed_by_the_server() -> None:
    endpoint = Echo()
    server = WebSocketServer(endpoint, subprotocols=["ocpp1.6"], server_header="test")
    await server.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(handshake_request("/refused"))
        response = await asyncio.wait_for(reader.read(), timeout=3)  # up to the server's close
        assert response.startswith(b"HTTP/1.1 403") and response.endswith(b"not you\n")
        # Closed whole, not half-closed waiting for a client that may never close its side.
        await eventually(lambda: not server.sockets)
        writer.close()
    finally:
        await server.stop()


async def test_a_frame_that_breaks_the_protocol_before_our_answer_drops_the_connection() -> None:
    endpoint = Echo()
    server = WebSocketServer(endpoint, subprotocols=["ocpp1.6"], server_header="test")
    await server.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        # The request and, at once, an unmasked frame: a client must mask, and must wait.
        writer.write(handshake_request("/x") + b"\x81\x02hi")
        assert await asyncio.wait_for(reader.read(), timeout=3) == b""
        await eventually(lambda: not server.sockets)
        writer.close()
        assert endpoint.opens == [] and endpoint.messages == []
    finally:
        await server.stop()  # nothing left behind to fail it
