"""A minimal WebSocket client on :class:`asyncio.Protocol`, for load generation.

Thousands of these run in one process beside the server being measured on a 2-core machine, so
each does the least it can: the opening handshake is one literal HTTP request (HTTP Basic auth
included), frames are parsed by hand, text frames are masked with websockets' C helper, pings are
answered. No fragmentation, no extensions: the servers under test send neither to this client.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA
SUBPROTOCOL = "ocpp1.6"


def handshake_request(host: str, port: int, station_id: str, password: str | None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET /ocpp/{station_id} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Protocol: {SUBPROTOCOL}",
    ]
    if password:
        token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
        lines.append(f"Authorization: Basic {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    return header + mask + apply_mask(payload, mask)


class HandshakeFailed(Exception):
    pass


class RawWebSocket(asyncio.Protocol):
    """One client connection. ``opened`` resolves once the server answered 101 Switching
    Protocols; every text frame then goes to :meth:`on_text`; ``closed`` resolves when the TCP
    connection ends."""

    def __init__(self, request: bytes, on_text: Callable[[RawWebSocket, bytes], None]) -> None:
        loop = asyncio.get_running_loop()
        self._request = request
        self._on_text = on_text
        self._buf = bytearray()
        self._open = False
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeFailed(f"connection lost: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self._open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status_line = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or parts[1] != b"101":
                if not self.opened.done():
                    self.opened.set_exception(HandshakeFailed(status_line.decode("latin-1")))
                assert self.transport is not None
                self.transport.close()
                return
            self._open = True
            if not self.opened.done():
                self.opened.set_result(None)
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            n = buf[1] & 0x7F
            pos = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n = int.from_bytes(buf[2:4], "big")
                pos = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = int.from_bytes(buf[2:10], "big")
                pos = 10
            if len(buf) < pos + n:
                return
            payload = bytes(buf[pos : pos + n])
            del buf[: pos + n]
            if opcode in (OP_TEXT, OP_BINARY):
                self._on_text(self, payload)
            elif opcode == OP_PING:
                self._write(_frame(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                self._write(_frame(OP_CLOSE, payload[:2]))
                assert self.transport is not None
                self.transport.close()
                return

    # -- sending -----------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send_text(self, payload: bytes) -> None:
        self._write(_frame(OP_TEXT, payload))

    def close(self) -> None:
        """Start the closing handshake (code 1000); the server closes TCP after answering."""
        self._write(_frame(OP_CLOSE, (1000).to_bytes(2, "big")))

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def connect(
    host: str,
    port: int,
    station_id: str,
    password: str | None,
    on_text: Callable[[RawWebSocket, bytes], None],
    timeout: float = 30,
) -> RawWebSocket:
    loop = asyncio.get_running_loop()
    request = handshake_request(host, port, station_id, password)
    _, proto = await asyncio.wait_for(
        loop.create_connection(lambda: RawWebSocket(request, on_text), host, port), timeout
    )
    try:
        await asyncio.wait_for(asyncio.shield(proto.opened), timeout)
    except BaseException:
        proto.abort()
        raise
    return proto
