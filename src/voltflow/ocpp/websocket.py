"""The OCPP endpoint's WebSocket connections: websockets' Sans-I/O protocol on asyncio.Protocol.

The protocol itself stays websockets' (handshake validation and subprotocol negotiation,
framing, size limits, control frames, the closing handshake); this module is only the I/O
around it. websockets' own asyncio server puts a task, a message assembler, locks and a
keepalive task behind every connection and several hand-overs between them behind every
message: at a fleet's pace that machinery is a third to a half of a bare echo server's CPU a
message (97–115 µs against 50–68 µs for the same echo here, ``bench/ocpp_message_cost.py --only
echo,sansio``). Here a message goes from ``data_received`` straight to the endpoint, and an
answer straight to the transport.

What the endpoint sees: an awaited ``handshake`` (accept, or refuse with an HTTP response),
then ``opened``, ``received`` for every message in order, and ``closed`` once, from the event
loop's callbacks (so ``received`` must not block: it queues work and returns).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Protocol

from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

log = logging.getLogger(__name__)

MAX_MESSAGE = 2**20  # bytes; websockets' default
OPEN_TIMEOUT = 10.0  # seconds from the TCP connection to a finished opening handshake
CLOSE_TIMEOUT = 10.0  # seconds for the peer to finish the closing handshake
# Our answers are small and a station reads each one before it sends its next call: a peer
# whose unread data piles up past this is not reading at all.
WRITE_BUFFER_LIMIT = 1024 * 1024
KEEPALIVE_BUCKETS = 60


class Endpoint(Protocol):
    """What serves the connections: the OCPP server."""

    async def handshake(self, socket: Socket, request: Request) -> Response | None:
        """None accepts the connection; a response (``socket.reject``) refuses it."""

    def opened(self, socket: Socket) -> None: ...

    def received(self, socket: Socket, message: str | bytes) -> None: ...

    def closed(self, socket: Socket) -> None: ...


class Socket(asyncio.Protocol):
    """One WebSocket connection."""

    __slots__ = (
        "_alive",
        "_bucket",
        "_early",
        "_fragments",
        "_opened",
        "_paused",
        "_server",
        "_timer",
        "attachment",
        "handshake_task",
        "protocol",
        "transport",
    )

    def __init__(self, server: WebSocketServer) -> None:
        self._server = server
        self.protocol = ServerProtocol(subprotocols=server.subprotocols, max_size=MAX_MESSAGE)
        self.transport: asyncio.Transport | None = None
        # The endpoint's own state for this connection.
        self.attachment: Any = None
        self.handshake_task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None  # opening or closing deadline
        # A fragmented message being assembled: its opcode and parts.
        self._fragments: tuple[Opcode, list[bytes]] | None = None
        # Messages sent before our 101 (which RFC 6455 does not allow, but costs nothing to keep).
        self._early: list[tuple[Opcode, bytes]] | None = None
        self._opened = False
        self._alive = True  # data came since the last keepalive ping
        self._paused = False  # we stopped reading: the peer's data waits unread
        self._bucket = -1

    # -- what the endpoint calls ---------------------------------------------------------------
    def reject(self, status: HTTPStatus, text: str) -> Response:
        """A plain-text HTTP response that refuses the handshake."""
        return self.protocol.reject(status, text)

    def send(self, message: str) -> bool:
        """Send a text message; False when the connection is no longer open."""
        if self.protocol.state is not State.OPEN:
            return False
        self.protocol.send_text(message.encode())
        self._flush()
        return True

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake (the peer has ``CLOSE_TIMEOUT`` to finish it)."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(code, reason)
            self._flush()
        elif self.protocol.state is State.CONNECTING and self.transport is not None:
            self.transport.close()

    def pause_reading(self) -> None:
        """Stop reading (back-pressure): meanwhile, the peer's silence is ours, not its own."""
        self._paused = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        self._paused = False
        # What the peer sent meanwhile (its pong with it) is read from now: a full ping interval
        # before its silence counts.
        self._alive = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_BUFFER_LIMIT)
        self._server.sockets.add(self)
        self._timer = asyncio.get_running_loop().call_later(OPEN_TIMEOUT, self._deadline)

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        protocol.receive_data(data)
        events = protocol.events_received()
        self._flush()  # what the protocol answers by itself: pongs, the closing handshake
        self._alive = True
        for event in events:
            if type(event) is Frame:
                self._frame(event)
            elif isinstance(event, Request):
                self.handshake_task = asyncio.get_running_loop().create_task(self._handshake(event))

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None  # close the transport: after a WebSocket's EOF nothing is written

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()  # idempotent: the protocol is CLOSED whatever happened
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._server.forget(self)
        # A handshake still deciding runs to its end (cancelled, it would cut a database read
        # short) and then finds the connection gone.
        if self._opened:
            self._opened = False
            self._server.endpoint.closed(self)
        self.attachment = None

    def pause_writing(self) -> None:
        log.warning("closing a connection that does not read: %d bytes unsent", WRITE_BUFFER_LIMIT)
        # Not from here: the transport calls this from within a write, with more to come.
        asyncio.get_running_loop().call_soon(self._not_reading)

    # -- internals -----------------------------------------------------------------------------
    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                self._deliver(opcode, bytes(frame.data))
            else:  # the first fragment: its opcode is the message's
                self._fragments = (opcode, [bytes(frame.data)])
        elif opcode is Opcode.CONT and self._fragments is not None:
            self._fragments[1].append(bytes(frame.data))
            if frame.fin:
                (first, parts), self._fragments = self._fragments, None
                self._deliver(first, b"".join(parts))

    def _deliver(self, opcode: Opcode, data: bytes) -> None:
        if not self._opened:  # sent before our 101: held until the handshake is through
            if self._early is None:
                self._early = []
            self._early.append((opcode, data))
            return
        message: str | bytes = data
        if opcode is Opcode.TEXT:
            try:
                message = data.decode()
            except UnicodeDecodeError as exc:
                self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                self._flush()
                return
        try:
            self._server.endpoint.received(self, message)
        except Exception:
            log.exception("closing a connection: its message could not be taken")
            self.protocol.fail(CloseCode.INTERNAL_ERROR)
            self._flush()

    async def _handshake(self, request: Request) -> None:
        protocol = self.protocol
        server = self._server
        try:
            response = await server.endpoint.handshake(self, request)
        except Exception:
            log.exception("opening handshake failed")
            response = protocol.reject(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "Failed to open a WebSocket connection.\nSee server log for more information.\n",
            )
        if response is None:
            response = protocol.accept(request)
        response.headers["Server"] = server.server_header
        if response.status_code == HTTPStatus.SWITCHING_PROTOCOLS and not server.is_serving:
            response = protocol.reject(HTTPStatus.SERVICE_UNAVAILABLE, "Server is shutting down.\n")
        self.handshake_task = None
        transport = self.transport
        if protocol.state is not State.CONNECTING or transport is None:
            return  # the connection went while we were deciding
        if protocol.eof_sent:
            # The peer broke the protocol before our answer (a frame it may not send yet, a
            # close): the protocol has given up on the connection already.
            transport.abort()
            return
        protocol.send_response(response)
        self._flush()
        if response.status_code != HTTPStatus.SWITCHING_PROTOCOLS:
            transport.close()  # refused: the response goes out, then the connection
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._opened = True
        server.keep_alive(self)
        server.endpoint.opened(self)
        early, self._early = self._early, None
        for opcode, data in early or ():
            self._deliver(opcode, data)

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        try:
            for data in self.protocol.data_to_send():
                if data:
                    transport.write(data)
                elif transport.can_write_eof():  # the protocol's cue to half-close
                    transport.write_eof()
                else:
                    transport.close()
        except (OSError, RuntimeError):  # written after the end: nothing more can go out
            transport.abort()
            return
        if self.protocol.close_expected() and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self._deadline)

    def _not_reading(self) -> None:
        """The peer leaves our answers unread: told why, in case it ever reads again, and gone
        once ``CLOSE_TIMEOUT`` has passed if it does not; nothing more it sends is taken."""
        if self.protocol.state is State.OPEN:
            self.protocol.fail(CloseCode.POLICY_VIOLATION, "answers left unread")
            self._flush()
        elif self.transport is not None:
            self.transport.abort()

    def _deadline(self) -> None:
        """The opening or the closing handshake took too long."""
        self._timer = None
        if self.transport is not None:
            self.transport.abort()

    def _keepalive(self) -> None:
        """Called every ping interval: a connection silent since the last ping is dead.

        Not while we are not reading (a station that sent more than we take at once): its
        data, its pong with it, waits on our side, and it is not silent."""
        protocol = self.protocol
        if protocol.state is not State.OPEN or self._paused:
            return
        if not self._alive:
            protocol.fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
        else:
            self._alive = False
            protocol.send_ping(b"")
        self._flush()


class WebSocketServer:
    """Listens, holds the connections, pings idle ones.

    Keepalive: every connection is pinged once per ``ping_interval`` and closed if nothing at
    all (its pong, or any message) came back before the next ping; one we have stopped reading
    from is left alone until we read again. The connections are spread over
    ``KEEPALIVE_BUCKETS`` buckets visited in turn, so that a fleet that connected at once is not
    pinged at once either: one timer for the server, none per connection.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        subprotocols: Sequence[str],
        server_header: str,
        ping_interval: float | None = 60,
    ) -> None:
        self.endpoint = endpoint
        self.subprotocols = [Subprotocol(p) for p in subprotocols]
        self.server_header = server_header
        self.ping_interval = ping_interval
        self.sockets: set[Socket] = set()
        self._buckets: list[set[Socket]] = [set() for _ in range(KEEPALIVE_BUCKETS)]
        self._next_bucket = 0
        self._visit = 0
        self._ticker: asyncio.TimerHandle | None = None
        self._server: asyncio.Server | None = None
        self._emptied: asyncio.Event | None = None

    async def start(self, host: str, port: int, *, backlog: int = 4096) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: Socket(self), host, port, backlog=backlog)
        if self.ping_interval:
            self._ticker = loop.call_later(self.ping_interval / KEEPALIVE_BUCKETS, self._tick)

    @property
    def is_serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    @property
    def port(self) -> int:
        assert self._server is not None
        for sock in self._server.sockets:
            return int(sock.getsockname()[1])
        raise RuntimeError("server has no socket")

    async def stop(self) -> None:
        """Stop listening, close every connection (1001, going away) and wait for them to go."""
        if self._server is None:
            return
        self._server.close()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        for socket in list(self.sockets):
            socket.close(CloseCode.GOING_AWAY, "server shutting down")
        if self.sockets:
            self._emptied = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._emptied.wait(), CLOSE_TIMEOUT)
            for socket in list(self.sockets):
                if socket.transport is not None:
                    socket.transport.abort()
            for _ in range(10):  # an aborted transport reports its loss on the next turns
                if not self.sockets:
                    break
                await asyncio.sleep(0)
        await self._server.wait_closed()
        self._server = None

    def keep_alive(self, socket: Socket) -> None:
        socket._bucket = self._next_bucket
        self._buckets[socket._bucket].add(socket)
        self._next_bucket = (self._next_bucket + 1) % KEEPALIVE_BUCKETS

    def forget(self, socket: Socket) -> None:
        self.sockets.discard(socket)
        if socket._bucket >= 0:
            self._buckets[socket._bucket].discard(socket)
        if not self.sockets and self._emptied is not None:
            self._emptied.set()

    def _tick(self) -> None:
        assert self.ping_interval
        self._ticker = asyncio.get_running_loop().call_later(
            self.ping_interval / KEEPALIVE_BUCKETS, self._tick
        )
        bucket = self._buckets[self._visit]
        self._visit = (self._visit + 1) % KEEPALIVE_BUCKETS
        for socket in list(bucket):
            socket._keepalive()
