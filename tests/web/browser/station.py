"""A charging station for the browser tests: a raw OCPP 1.6J WebSocket client that sends its own
CALLs and answers the platform's (remote actions from the console) from a table of replies."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

PASSWORD = "browser-station-key-0123"
TIMEOUT = 5.0

_ids = itertools.count(1)


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Station:
    def __init__(self, ws: ClientConnection, station_id: str) -> None:
        self.ws = ws
        self.id = station_id
        # What the station answers to the platform's CALLs, by action.
        self.replies: dict[str, dict[str, Any]] = {
            "Reset": {"status": "Accepted"},
            "GetConfiguration": {
                "configurationKey": [
                    {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                ]
            },
        }
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._pending: dict[str, asyncio.Future[list[Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = orjson.loads(raw)
            if frame[0] == 2:  # a CALL from the platform: answer it
                _, message_id, action, payload = frame
                self.received.append((action, payload))
                reply = self.replies.get(action)
                answer = (
                    [3, message_id, reply]
                    if reply is not None
                    else [4, message_id, "NotImplemented", f"no reply for {action}", {}]
                )
                await self.ws.send(orjson.dumps(answer).decode())
            else:
                future = self._pending.pop(frame[1], None)
                if future is not None and not future.done():
                    future.set_result(frame)

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CALL and return the CALLRESULT's payload (a CALLERROR fails the test)."""
        message_id = f"{self.id}-{next(_ids)}"
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self.ws.send(orjson.dumps([2, message_id, action, payload]).decode())
        answer = await asyncio.wait_for(future, TIMEOUT)
        assert answer[0] == 3, answer
        result: dict[str, Any] = answer[2]
        return result

    async def boot(self, vendor: str = "Acme", model: str = "Wallbox 22") -> None:
        answer = await self.call(
            "BootNotification", {"chargePointVendor": vendor, "chargePointModel": model}
        )
        assert answer["status"] == "Accepted", answer

    async def status(self, connector_id: int, status: str, error_code: str = "NoError") -> None:
        await self.call(
            "StatusNotification",
            {
                "connectorId": connector_id,
                "status": status,
                "errorCode": error_code,
                "timestamp": now_iso(),
            },
        )

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        await self.ws.close()


@contextlib.asynccontextmanager
async def station(
    ocpp_url: str, station_id: str, password: str = PASSWORD
) -> AsyncIterator[Station]:
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
    async with connect(
        f"{ocpp_url}/{station_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers={"Authorization": f"Basic {token}"},
        open_timeout=TIMEOUT,
        close_timeout=1,
    ) as ws:
        st = Station(ws, station_id)
        try:
            yield st
        finally:
            await st.close()
