"""The OCPP-J WebSocket endpoint ``/ocpp/{station_id}``: handshake, message loop, remote calls.

The WebSocket layer (``websocket``) hands over each message as it arrives. A CALL from the
station waits its turn behind the station's earlier ones, is validated, handed to
:class:`StationEvents` (which returns only once its effects are durable), and answered, all by
the OCPP version its connection negotiated (``versions``); a
CALLRESULT or CALLERROR answers one of our own calls and is taken at once. The server is also
the in-process :class:`StationLink`: it carries remote commands to the stations whose sockets
it holds.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import gc
import hashlib
import itertools
import logging
import math
import secrets
from collections import OrderedDict, deque
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any, NamedTuple, Protocol
from urllib.parse import unquote

from websockets.datastructures import Headers
from websockets.frames import CloseCode
from websockets.http11 import Request, Response

from voltflow.domain.addresses import forwarded_client, parse_networks
from voltflow.domain.station_keys import KEY_MAX, KEY_MIN, verify_station_password
from voltflow.domain.stations import Registration
from voltflow.ocpp import frames, versions
from voltflow.ocpp.errors import InternalError, OcppError
from voltflow.ocpp.protocol import OcppVersion, StationContext
from voltflow.ocpp.throttle import HandshakeThrottle
from voltflow.ocpp.websocket import Socket, WebSocketServer
from voltflow.services.ports import (
    Answer,
    Clock,
    CommandRejected,
    CommandResult,
    CommandTimeout,
    FrameLog,
    InvalidCommand,
    LoggedFrame,
    ProtocolCatalogue,
    StationOffline,
)
from voltflow.services.station_events import StationEvents
from voltflow.services.stations import STATION_ID

log = logging.getLogger(__name__)

PATH_PREFIX = "/ocpp/"
# Answers to a station's recent messages: a message sent again gets the same answer, untouched.
RECENT_ANSWERS = 4
# Seconds a station's recent answers are kept once it has gone: long enough for a station that
# lost its connection to come back and send again what it got no answer to.
ANSWERS_KEPT_FOR = 300.0
# Frames a station may send ahead of our answers before we stop reading from it (a station
# waits for each answer before its next call; only a misbehaving one gets here).
INBOX_LIMIT = 4
# Seconds a station is asked to wait when its handshake cannot be decided (the database is down).
UNAVAILABLE_RETRY_AFTER = 10


class Reply(NamedTuple):
    """A station's answer to one of our calls: the frame parsed, as sent, and when it came."""

    frame: frames.CallResult | frames.CallError
    raw: str
    at: datetime

    def answer_of(self) -> Answer:
        return Answer(self.raw, frames.message_type(self.frame), self.at)


# A station's call (or what could not be read as a frame) waiting its turn: as parsed, as
# received, and when.
_Taken = tuple["frames.Call | frames.FrameError", str, datetime]

# A station's frame as logged: time, text, type, message id, action, note.
_Received = tuple[datetime, str, int | None, str | None, str | None, str | None]

# A recent answer: the digest of the station's frame as received, our answer, the connection it
# came on. A digest, not the frame: a frame may be a megabyte, and every station keeps a few.
_Recent = tuple[bytes, str, int]

_connection_numbers = itertools.count(1)


class _Admitted(NamedTuple):
    """A station let in, between its handshake and its connection's opening."""

    context: StationContext
    version: OcppVersion
    # Where it presented its key from, when that is not the source stored with it: stored with
    # its online mark.
    new_trusted_source: str | None


class PresenceListener(Protocol):
    """Told when this process starts or stops holding a station's socket."""

    async def station_connected(self, station_id: str) -> None: ...

    async def station_disconnected(self, station_id: str) -> None: ...


def tune_gc() -> None:
    """Garbage-collector settings for a process that holds thousands of station connections.

    Each connection is a few dozen objects that the cyclic collector tracks (the transport,
    websockets' protocol and its parser, our record of the station), so with 10,000 stations a
    full collection walks several hundred thousand objects and holds the event loop for a large
    part of a second, during which every station waits. With the default threshold (700
    allocations), a few objects of each message in flight survive into the oldest generation,
    and a full collection comes every half minute or so.

    Call once the platform has started: what is loaded by then (modules, schemas, compiled
    statements) lives as long as the process and is frozen out of every collection, and the
    youngest generation is collected every 50,000 allocations instead of 700, so that a
    message's objects are freed by reference counting before a collection sees them. Process
    wide, so for entry points (``voltflow serve``, the benchmark server), not for tests.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


@dataclass
class OcppServerSettings:
    host: str = "0.0.0.0"
    port: int = 9000
    auto_register: bool = False
    ping_interval: float | None = 60
    command_timeout: float = 30
    answers_kept_for: float = ANSWERS_KEPT_FOR
    # Proxies (addresses, networks) whose X-Forwarded-For names the station's address: behind
    # the TLS-terminating proxy of security profile 2, every station's peer is the proxy.
    trusted_proxies: tuple[str, ...] = ()


class StationConnection:
    """A connected station: its socket, what we know of it, its frames waiting their turn and
    our calls waiting for its answers."""

    __slots__ = ("_lock", "context", "inbox", "number", "pending", "socket", "task", "version")

    def __init__(
        self, socket: Socket, context: StationContext, version: OcppVersion = versions.DEFAULT
    ) -> None:
        self.socket = socket
        self.context = context
        # The OCPP version the connection negotiated: what its frames mean.
        self.version = version
        # Tells what the station sent on this connection from what it sent on earlier ones.
        self.number = next(_connection_numbers)
        # The station's frames, handled one at a time in order by ``task`` (a task while there
        # is something to handle, none while the station is idle: most of them, most of the time).
        self.inbox: deque[_Taken] = deque()
        self.task: asyncio.Task[None] | None = None
        # Our outstanding call(s) by message id, with their action and payload: answers carry
        # neither.
        self.pending: dict[str, tuple[str, dict[str, Any], asyncio.Future[Reply]]] = {}
        self._lock: asyncio.Lock | None = None

    @property
    def lock(self) -> asyncio.Lock:
        # Created on first remote command: most stations never get one, and they are many.
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock


class OcppServer:
    def __init__(
        self,
        events: StationEvents,
        messages: FrameLog,
        clock: Clock,
        settings: OcppServerSettings | None = None,
    ) -> None:
        self.events = events
        self.messages = messages
        self.clock = clock
        self.settings = settings or OcppServerSettings()
        self.connections: dict[str, StationConnection] = {}
        # Per station, by message id; kept across reconnects, for a station that sends again
        # what it got no answer to before its connection dropped.
        self._answers: dict[str, OrderedDict[str, _Recent]] = {}
        # Stations gone, by id: when their recent answers are to be forgotten.
        self._forget: dict[str, asyncio.TimerHandle] = {}
        # A closed connection whose frames are still being handled, by station id: a new
        # connection of the station handles nothing before it is done (what it sends again may
        # be what the old one is still storing).
        self._draining: dict[str, StationConnection] = {}
        self._server: WebSocketServer | None = None
        # What a closed connection leaves to do (the offline mark, presence listeners).
        self._closing: set[asyncio.Task[None]] = set()
        self.presence: list[PresenceListener] = []
        self.throttle = HandshakeThrottle()
        self.proxies = parse_networks(self.settings.trusted_proxies)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        server = WebSocketServer(
            self,
            subprotocols=list(versions.VERSIONS),
            server_header="Voltflow",
            ping_interval=self.settings.ping_interval,
        )
        await server.start(self.settings.host, self.settings.port, backlog=4096)
        self._server = server

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.port

    async def stop(self) -> None:
        """Close every station's connection; return once the frames each sent are handled and
        its offline mark is written."""
        if self._server is not None:
            await self._server.stop()
            self._server = None
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        for timer in self._forget.values():
            timer.cancel()
        self._forget.clear()

    # -- handshake -----------------------------------------------------------------------------
    async def handshake(self, socket: Socket, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if not path.startswith(PATH_PREFIX) or len(path) <= len(PATH_PREFIX):
            return _refuse(socket, HTTPStatus.NOT_FOUND, "OCPP endpoint is /ocpp/{station_id}\n")
        station_id = unquote(path[len(PATH_PREFIX) :])
        if not STATION_ID.match(station_id):
            return _refuse(socket, HTTPStatus.NOT_FOUND, "invalid station id\n")
        offered = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        version = versions.negotiate(offered.split(","))
        if version is None:
            served = " or ".join(versions.VERSIONS)
            return _refuse(socket, HTTPStatus.BAD_REQUEST, f"subprotocol {served} required\n")
        # Slowed before anything is looked up, let alone verified (``throttle``).
        peer = socket.transport.get_extra_info("peername") if socket.transport else None
        host = peer[0] if isinstance(peer, tuple) and peer and isinstance(peer[0], str) else None
        if self.proxies:
            forwarded = ",".join(request.headers.get_all("X-Forwarded-For"))
            host = forwarded_client(host, forwarded or None, self.proxies)
        attempt = self.throttle.begin(host, station_id)
        if attempt.check_source():
            return _slow_down(socket, station_id, attempt.retry_after)
        failed = key_checked = False
        try:
            credentials = _basic_credentials(request.headers, station_id)
            try:
                admitted = await self.events.admission(station_id)
                if admitted is None and self.settings.auto_register:
                    admitted = await self.events.register_pending(station_id, _text(credentials))
            except Exception as exc:
                return _unavailable(socket, station_id, exc)
            if admitted is None:
                failed = True
                log.info("refused unknown station %s", station_id)
                return _refuse(socket, HTTPStatus.NOT_FOUND, "unknown station\n")
            if admitted.registration is Registration.REJECTED:
                return _refuse(socket, HTTPStatus.FORBIDDEN, "station rejected\n")
            current, pending = admitted.password_hash, admitted.pending_password_hash
            if current is not None or pending is not None:
                attempt.trust_stored(admitted.trusted_source)
                if attempt.check_station():
                    return _slow_down(socket, station_id, attempt.retry_after)
                if pending is not None and _verify(credentials, pending):
                    key_checked = True
                    # Its new key: from now on the only one (the old one is dropped).
                    try:
                        await self.events.new_key_used(station_id, pending)
                    except Exception as exc:
                        return _unavailable(socket, station_id, exc)
                    log.info("station %s connected with its new key", station_id)
                elif current is not None:
                    key_checked = True
                    if not _verify(credentials, current):
                        failed = True
                        log.info("refused station %s: bad credentials", station_id)
                        response = _refuse(socket, HTTPStatus.UNAUTHORIZED, "invalid credentials\n")
                        response.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
                        return response
                # else: claimed without a key, its new one not yet used: let in as it came
            context = StationContext(station_id, admitted.registration, admitted.lenient)
            trusted = attempt.source if key_checked else None
            socket.attachment = _Admitted(
                context, version, trusted if trusted != admitted.trusted_source else None
            )
            return None
        finally:
            attempt.end(failed=failed, key_checked=key_checked)

    # -- the station's frames, in order -----------------------------------------------------
    def opened(self, socket: Socket) -> None:
        context, version, new_trusted_source = socket.attachment
        station_id = context.station_id
        conn = socket.attachment = StationConnection(socket, context, version)
        previous = self.connections.get(station_id)
        self.connections[station_id] = conn
        timer = self._forget.pop(station_id, None)
        if timer is not None:
            timer.cancel()
        earlier = [c for c in (self._draining.get(station_id), previous) if c is not None]
        if previous is not None:  # the station reconnected before we noticed it left
            previous.socket.close(CloseCode.NORMAL_CLOSURE, "replaced by a new connection")
        # Its first frames wait for its earlier connection's frames to be handled (one it sends
        # again is then found answered, not stored twice), and for the station to be marked
        # online: the effects of what it says come after its connection, in storage as on the
        # wire.
        conn.task = asyncio.create_task(
            self._handle(conn, self._online(conn, earlier, new_trusted_source))
        )

    def received(self, socket: Socket, message: str | bytes) -> None:
        conn: StationConnection = socket.attachment
        now = self.clock.now()
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        frame: frames.Call | frames.FrameError
        try:
            parsed = frames.parse(message)
        except frames.FrameError as err:
            frame = err
        else:
            if not isinstance(parsed, frames.Call):
                # Answers to our calls go at once, not behind the station's own calls: the
                # station may answer and then hang up (a Reset) before its calls are handled.
                self._on_answer(conn, parsed, text, now)
                return
            frame = parsed
        conn.inbox.append((frame, text, now))
        if conn.task is None:
            conn.task = asyncio.create_task(self._handle(conn))
        elif len(conn.inbox) >= INBOX_LIMIT:
            socket.pause_reading()

    def closed(self, socket: Socket) -> None:
        conn: StationConnection = socket.attachment
        station_id = conn.context.station_id
        for _, _, fut in conn.pending.values():
            if not fut.done():
                fut.set_exception(StationOffline(f"{station_id} disconnected before answering"))
        if self.connections.get(station_id) is conn:
            del self.connections[station_id]
            self._forget[station_id] = asyncio.get_running_loop().call_later(
                self.settings.answers_kept_for, self._forget_answers, station_id
            )
        if conn.task is not None:
            self._draining[station_id] = conn
        task = asyncio.create_task(self._offline(conn))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _forget_answers(self, station_id: str) -> None:
        del self._forget[station_id]
        if station_id not in self.connections:
            self._answers.pop(station_id, None)

    async def _online(
        self,
        conn: StationConnection,
        earlier: list[StationConnection],
        new_trusted_source: str | None,
    ) -> None:
        station_id = conn.context.station_id
        for old in earlier:
            while old.task is not None:
                await asyncio.gather(old.task, return_exceptions=True)
        await self.events.connected(station_id, new_trusted_source)
        for listener in self.presence:
            await listener.station_connected(station_id)

    async def _offline(self, conn: StationConnection) -> None:
        """After a connection's last frame is handled (which may still mark it online), the
        station is offline, unless it is back on a new connection already."""
        while conn.task is not None:
            await asyncio.gather(conn.task, return_exceptions=True)
        station_id = conn.context.station_id
        if self._draining.get(station_id) is conn:
            del self._draining[station_id]
        if station_id in self.connections:
            return
        for listener in self.presence:
            with contextlib.suppress(Exception):
                await listener.station_disconnected(station_id)
        if station_id in self.connections:
            return  # back meanwhile: its new connection marks it online after this
        with contextlib.suppress(Exception):
            await self.events.disconnected(station_id)

    async def _handle(self, conn: StationConnection, first: Awaitable[None] | None = None) -> None:
        """The station's frames, one at a time, until none is left."""
        inbox = conn.inbox
        try:
            if first is not None:
                await first
            while inbox:
                if len(inbox) == INBOX_LIMIT:
                    conn.socket.resume_reading()
                await self._on_frame(conn, inbox.popleft())
        except Exception:
            log.exception("%s: closing the connection", conn.context.station_id)
            conn.socket.resume_reading()  # its closing frame must get through
            conn.socket.close(CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            conn.task = None

    def _on_answer(
        self,
        conn: StationConnection,
        frame: frames.CallResult | frames.CallError,
        text: str,
        now: datetime,
    ) -> None:
        outstanding = conn.pending.get(frame.unique_id)
        if outstanding is not None and not outstanding[2].done():
            action, payload, fut = outstanding
            result = frame.payload if isinstance(frame, frames.CallResult) else None
            conn.version.answered(conn.context, action, payload, result, now)
            # Logged with its call, by ``call``, once the exchange is over.
            fut.set_result(Reply(frame, text, now))
            return
        self.messages.record(
            LoggedFrame(
                conn.context.station_id,
                now,
                "in",
                text,
                frames.message_type(frame),
                frame.unique_id,
                None,
                "answer to no outstanding call",
            )
        )

    async def _on_frame(self, conn: StationConnection, taken: _Taken) -> None:
        frame, text, now = taken
        if isinstance(frame, frames.Call):
            await self._on_call(conn, frame, text, now)
            return
        self._answer(
            conn,
            (now, text, None, frame.unique_id, None, frame.error.code),
            frames.call_error(frame.unique_id or "-1", frame.error),
            frames.CALLERROR,
        )

    async def _on_call(
        self, conn: StationConnection, call: frames.Call, text: str, now: datetime
    ) -> None:
        ctx = conn.context
        answers = self._answers.get(ctx.station_id)
        recent = answers.get(call.unique_id) if answers is not None else None
        if recent is not None:
            digest, answer, number = recent
            # An id alone proves nothing: ids are unique within a connection only, and a station
            # that reboots counts from 1 again. The same frame is a repeat on the same
            # connection; on a later one only if it dates what it reports (a Heartbeat or a
            # BootNotification that reads the same after a reboot is a new message).
            if digest == _digest(text) and (
                number == conn.number or conn.version.says_when(call.action, call.payload)
            ):
                repeated = "repeated message id: answered as before"
                self._answer(
                    conn,
                    (now, text, frames.CALL, call.unique_id, call.action, repeated),
                    answer,
                    frames.CALLRESULT,
                )
                return
        note: str | None = None
        try:
            if call.action == "BootNotification":
                # An operator may have claimed the station since it connected.
                admitted = await self.events.admission(ctx.station_id)
                if admitted is not None:
                    ctx.registration, ctx.lenient = admitted.registration, admitted.lenient
            version = conn.version
            deviations = version.schemas.validate(call.action, call.payload, lenient=ctx.lenient)
            if deviations:
                note = "lenient: " + "; ".join(d.message for d in deviations)
                log.info("%s %s accepted leniently: %s", ctx.station_id, call.action, note)
            handler = version.handler_for(call.action, ctx, now)
            result = await handler(self.events, ctx, call.payload)
        except OcppError as err:
            self._reject(conn, call, text, now, err)
            return
        except Exception:
            log.exception("%s: %s failed", ctx.station_id, call.action)
            self._reject(
                conn, call, text, now, InternalError(f"{call.action} could not be processed")
            )
            return
        answer = frames.call_result(call.unique_id, result)
        if answers is None:  # (the station's earlier connection may have made it meanwhile)
            answers = self._answers.setdefault(ctx.station_id, OrderedDict())
        answers[call.unique_id] = (_digest(text), answer, conn.number)
        if recent is not None:  # an id used before: now the most recent
            answers.move_to_end(call.unique_id)
        if len(answers) > RECENT_ANSWERS:
            answers.popitem(last=False)
        self._answer(
            conn,
            (now, text, frames.CALL, call.unique_id, call.action, note),
            answer,
            frames.CALLRESULT,
        )

    def _reject(
        self, conn: StationConnection, call: frames.Call, text: str, now: datetime, err: OcppError
    ) -> None:
        self._answer(
            conn,
            (now, text, frames.CALL, call.unique_id, call.action, f"{err.code}: {err.description}"),
            frames.call_error(call.unique_id, err),
            frames.CALLERROR,
        )

    def _answer(
        self, conn: StationConnection, received: _Received, answer: str, answer_type: int
    ) -> None:
        """Send our answer to a station's frame, then log the two in one row.

        Logged after the answer, not in the transaction of the call's effects: the row needs the
        answer, and what the call says is stored already (``StationEvents``). The log rides
        with the next commit, within ``DurableWriter.log_delay``."""
        conn.socket.send(answer)  # a station gone meanwhile: its frame is logged all the same
        at, raw, message_type, unique_id, action, note = received
        self.messages.record(
            LoggedFrame(
                conn.context.station_id,
                at,
                "in",
                raw,
                message_type,
                unique_id,
                action,
                note,
                Answer(answer, answer_type, self.clock.now()),
            )
        )

    # -- StationLink: remote commands ---------------------------------------------------------
    def is_connected(self, station_id: str) -> bool:
        return station_id in self.connections

    def catalogue(self, station_id: str) -> ProtocolCatalogue:
        conn = self.connections.get(station_id)
        return (conn.version if conn is not None else versions.DEFAULT).catalogue

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> CommandResult:
        timeout = timeout or self.settings.command_timeout
        conn = self.connections.get(station_id)
        version = conn.version if conn is not None else versions.DEFAULT
        try:
            version.schemas.validate(action, payload)
        except OcppError as err:
            raise InvalidCommand(
                f"{action} payload: {err.description}", code=err.code, details=err.details
            ) from err
        if conn is None:
            raise StationOffline(f"station {station_id} is not connected")
        async with conn.lock:  # OCPP allows one outstanding CALL per direction: the rest queue here
            if self.connections.get(station_id) is not conn:
                raise StationOffline(f"station {station_id} disconnected")
            unique_id = secrets.token_hex(8)
            future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
            conn.pending[unique_id] = (action, payload, future)
            raw = frames.call(unique_id, action, payload)
            sent_at = self.clock.now()
            reply: Reply | None = None
            note: str | None = None
            try:
                if not conn.socket.send(raw):
                    note = "not sent: the station disconnected"
                    raise StationOffline(f"station {station_id} disconnected")
                try:
                    reply = await asyncio.wait_for(future, timeout)
                except TimeoutError as exc:
                    note = f"no answer within {timeout:g} s"
                    raise CommandTimeout(
                        f"{station_id} did not answer {action} within {timeout:g} s"
                    ) from exc
                except StationOffline:
                    note = "the station disconnected before answering"
                    raise
            finally:
                conn.pending.pop(unique_id, None)
                # The call and the station's answer, one row, once the exchange is over; stored
                # before the caller hears back, who may well read the log next (commands are
                # few: the wait costs the fleet nothing).
                with contextlib.suppress(Exception):
                    await self.messages.record_now(
                        LoggedFrame(
                            station_id,
                            sent_at,
                            "out",
                            _loggable(version, unique_id, action, payload, raw),
                            frames.CALL,
                            unique_id,
                            action,
                            note,
                            reply.answer_of() if reply is not None else None,
                        )
                    )
        answer = reply.frame
        if isinstance(answer, frames.CallError):
            raise CommandRejected(
                f"{station_id} answered {action} with {answer.code}: {answer.description}",
                code=answer.code,
                details=answer.details,
            )
        try:
            version.schemas.validate(
                action + "Response", answer.payload, lenient=conn.context.lenient
            )
        except OcppError as err:
            raise CommandRejected(
                f"{station_id} answered {action} with an invalid payload: {err.description}",
                code=err.code,
            ) from err
        return CommandResult(station_id, action, answer.payload)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _refuse(socket: Socket, status: HTTPStatus, body: str) -> Response:
    return socket.reject(status, body)


def _loggable(
    version: OcppVersion, unique_id: str, action: str, payload: dict[str, Any], raw: str
) -> str:
    """The frame as the message log keeps it (a station's new key is not written down)."""
    kept = version.loggable(action, payload)
    return raw if kept is None else frames.call(unique_id, action, kept)


def _slow_down(socket: Socket, station_id: str, wait: float) -> Response:
    log.info("refused station %s: too many failed attempts", station_id)
    seconds = max(1, math.ceil(wait))
    response = socket.reject(
        HTTPStatus.TOO_MANY_REQUESTS, f"too many failed attempts: try again in {seconds} s\n"
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def _unavailable(socket: Socket, station_id: str, exc: BaseException) -> Response:
    """The station's keys cannot be read (or its new key stored): it is asked to come back
    rather than told it is refused. One line, no traceback: a fleet retries in a loop."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    log.warning(
        "handshake of %s answered 503: database unavailable (%s: %s)",
        station_id,
        type(exc).__name__,
        first_line[:200],
    )
    response = socket.reject(HTTPStatus.SERVICE_UNAVAILABLE, "temporarily unavailable\n")
    response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


def _basic_credentials(headers: Headers, station_id: str) -> bytes | None:
    """The password of HTTP Basic credentials for ``station_id``, as sent (bytes: a station
    that reads its AuthorizationKey as hexadecimal sends the octets it stands for)."""
    value = headers.get("Authorization")
    if not value or not value.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(value[6:].strip(), validate=True)
    except binascii.Error:
        return None
    user, sep, password = decoded.partition(b":")
    if not sep or user != station_id.encode():
        return None
    return password


def _text(credentials: bytes | None) -> str | None:
    if credentials is None:
        return None
    try:
        return credentials.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _verify(credentials: bytes | None, stored: str) -> bool:
    """The key as text, or, for a station that takes its AuthorizationKey as hexadecimal (the
    1.6 security whitepaper's reading), the octets that the stored hexadecimal key stands for."""
    if credentials is None:
        return False
    text = _text(credentials)
    if text is not None and verify_station_password(text, stored):
        return True
    return KEY_MIN // 2 <= len(credentials) <= KEY_MAX // 2 and verify_station_password(
        credentials.hex(), stored
    )
