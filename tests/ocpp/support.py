"""Real clients for the end-to-end tests: a raw WebSocket station speaking literal JSON frames, and
a station built on the ``ocpp`` package's ChargePoint."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from voltflow.bootstrap import Platform
from voltflow.domain.queries import MessageFilter
from voltflow.store.database import create_database

PASSWORD = "station-key-0123456789"
OCPP16 = Subprotocol("ocpp1.6")
# Generous: only reached when something is broken, never waited out by a passing test.
RECV_TIMEOUT = 5.0

T = TypeVar("T")
_ids = itertools.count(1)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def add_station(platform: Platform, station_id: str, *, lenient: bool = False) -> None:
    await platform.stations.add(station_id, PASSWORD, lenient=lenient)


def open_socket(
    ocpp_url: str,
    station_id: str,
    *,
    password: str | None = PASSWORD,
    subprotocols: list[Subprotocol] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """``websockets.connect`` as a station would: ``ocpp1.6`` offered, Basic credentials."""
    if headers is None:
        headers = basic(station_id, password) if password is not None else {}
    return connect(
        f"{ocpp_url}/{station_id}",
        subprotocols=[OCPP16] if subprotocols is None else subprotocols,
        additional_headers=headers,
        open_timeout=RECV_TIMEOUT,
        close_timeout=1,
    )


# Calls the platform makes on its own after a boot (local list synchronisation). They may come
# between any two frames a test expects; the raw station declines them as a station without
# local list support would, and keeps them in ``RawStation.declined``.
BACKGROUND_CALLS = frozenset({"GetLocalListVersion", "SendLocalList"})


class RawStation:
    """A station that writes frames by hand, so that it can write broken ones."""

    def __init__(self, ws: ClientConnection, station_id: str) -> None:
        self.ws = ws
        self.id = station_id
        self.declined: list[list[Any]] = []

    async def send_raw(self, frame: str | bytes) -> None:
        await self.ws.send(frame)

    async def recv_text(self) -> str:
        """The next frame as received, past the background calls."""
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), RECV_TIMEOUT)
            text = raw if isinstance(raw, str) else raw.decode()
            frame = orjson.loads(text)
            if isinstance(frame, list) and frame[:1] == [2] and frame[2] in BACKGROUND_CALLS:
                self.declined.append(frame)
                error = [4, frame[1], "NotSupported", "no local list here", {}]
                await self.ws.send(orjson.dumps(error).decode())
                continue
            return text

    async def recv(self) -> list[Any]:
        text = await self.recv_text()
        frame = orjson.loads(text)
        assert isinstance(frame, list), text
        return frame

    async def send_call(
        self, action: str, payload: dict[str, Any], message_id: str | None = None
    ) -> str:
        message_id = message_id or f"{self.id}-{next(_ids)}"
        await self.ws.send(orjson.dumps([2, message_id, action, payload]).decode())
        return message_id

    async def call(
        self, action: str, payload: dict[str, Any], message_id: str | None = None
    ) -> list[Any]:
        """Send a CALL and return the answer frame, which must answer this message id."""
        message_id = await self.send_call(action, payload, message_id)
        answer = await self.recv()
        assert answer[1] == message_id, answer
        return answer

    async def result(
        self, action: str, payload: dict[str, Any], message_id: str | None = None
    ) -> dict[str, Any]:
        """The payload of a CALLRESULT; a CALLERROR fails the test."""
        answer = await self.call(action, payload, message_id)
        assert answer[0] == 3, answer
        result: dict[str, Any] = answer[2]
        return result

    async def heartbeat(self) -> None:
        """A Heartbeat round trip: proves the connection still works and nothing else is queued
        for this station (the next frame must be the answer)."""
        answer = await self.call("Heartbeat", {})
        assert answer[0] == 3 and "currentTime" in answer[2], answer

    async def answer(self, frame: list[Any], payload: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps([3, frame[1], payload]).decode())


@contextlib.asynccontextmanager
async def raw_station(
    ocpp_url: str, station_id: str, *, password: str | None = PASSWORD
) -> AsyncIterator[RawStation]:
    async with open_socket(ocpp_url, station_id, password=password) as ws:
        yield RawStation(ws, station_id)


class Station(ChargePoint):  # type: ignore[misc]
    """A charge point from the ``ocpp`` package that answers a few remote commands."""

    def __init__(self, station_id: str, ws: ClientConnection) -> None:
        super().__init__(station_id, ws, response_timeout=RECV_TIMEOUT)
        self.received: list[tuple[str, dict[str, Any]]] = []

    @on("Reset")
    def on_reset(self, type: str) -> Any:
        self.received.append(("Reset", {"type": type}))
        return call_result.Reset(status="Accepted")

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None) -> Any:
        self.received.append(("GetConfiguration", {"key": key}))
        return call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        )

    @on("RemoteStartTransaction")
    def on_remote_start(self, id_tag: str, connector_id: int | None = None) -> Any:
        self.received.append(("RemoteStartTransaction", {"idTag": id_tag}))
        return call_result.RemoteStartTransaction(status="Accepted")


@contextlib.asynccontextmanager
async def ocpp_station(ocpp_url: str, station_id: str) -> AsyncIterator[Station]:
    """A running ChargePoint: its receive loop answers the platform's calls while the test sends
    its own."""
    async with open_socket(ocpp_url, station_id) as ws:
        cp = Station(station_id, ws)
        task = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = RECV_TIMEOUT) -> T:
    """Poll ``check`` until it returns something truthy; for effects that are queued, not awaited
    (the log of outgoing frames)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        await asyncio.sleep(0.005)


async def fresh_rows(platform: Platform, statement: Any) -> list[dict[str, Any]]:
    """Rows read through a brand-new engine: what any other process would see right now."""
    db = create_database(platform.settings.database_url)
    try:
        async with db.engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
    finally:
        await db.dispose()
    return [dict(r._mapping) for r in rows]


async def log_rows(platform: Platform, station_id: str, **filters: Any) -> list[dict[str, Any]]:
    """The station's message log, oldest first. Frames are logged once answered, with the next
    commit: whatever was answered before this call is in it."""
    await platform.writer.flush()
    rows = await platform.stations.message_log(station_id, MessageFilter(limit=1000, **filters))
    return [asdict(r) for r in reversed(rows)]


async def sent_calls(
    platform: Platform, station_id: str, action: str | None = None
) -> list[dict[str, Any]]:
    """The CALLs the station sent, oldest first."""
    rows = await log_rows(platform, station_id, action=action, direction="in")
    return [r for r in rows if r["message_type"] == 2]


__all__ = [
    "BACKGROUND_CALLS",
    "OCPP16",
    "PASSWORD",
    "RawStation",
    "Station",
    "add_station",
    "basic",
    "eventually",
    "fresh_rows",
    "iso",
    "log_rows",
    "ocpp_station",
    "open_socket",
    "raw_station",
]


async def transaction(
    cp: ChargePoint, id_tag: str, started_at: datetime, minutes: float, wh: int
) -> int:
    """One finished transaction on connector 1, its meter from 0 to ``wh``: its id."""
    started = await cp.call(
        call.StartTransaction(
            connector_id=1, id_tag=id_tag, meter_start=0, timestamp=iso(started_at)
        ),
        suppress=False,
    )
    await cp.call(
        call.StopTransaction(
            meter_stop=wh,
            timestamp=iso(started_at + timedelta(minutes=minutes)),
            transaction_id=started.transaction_id,
        ),
        suppress=False,
    )
    return int(started.transaction_id)
