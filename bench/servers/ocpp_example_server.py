"""Reference (b): a central system written the way the ``ocpp`` package's examples write one.

An ``ocpp.v16.ChargePoint`` subclass with ``@on`` handlers, served by ``websockets.serve``. It
validates every message against the OCPP schemas (the package does that) and stores nothing.
The examples also turn on INFO logging of every frame; here logging stays at WARNING unless
``--log-level INFO`` is given, so the reference is the cheaper of the two.

    .venv/bin/python bench/servers/ocpp_example_server.py --port 9101
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from datetime import UTC, datetime
from typing import Any

import websockets
from _runtime import raise_nofile_limit, ready, server_arguments, until_stopped
from ocpp.routing import on
from ocpp.v16 import ChargePoint as cp
from ocpp.v16 import call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus

_transaction_ids = itertools.count(1)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class ChargePoint(cp):  # type: ignore[misc]
    @on(Action.boot_notification)
    def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> Any:
        return call_result.BootNotification(
            current_time=_now(), interval=300, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)
    def on_heartbeat(self) -> Any:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **kwargs: Any
    ) -> Any:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str) -> Any:
        return call_result.Authorize(id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))

    @on(Action.start_transaction)
    def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kwargs: Any
    ) -> Any:
        return call_result.StartTransaction(
            transaction_id=next(_transaction_ids),
            id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted),
        )

    @on(Action.stop_transaction)
    def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **kwargs: Any
    ) -> Any:
        return call_result.StopTransaction(
            id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted)
        )

    @on(Action.meter_values)
    def on_meter_values(self, connector_id: int, meter_value: list[Any], **kwargs: Any) -> Any:
        return call_result.MeterValues()


async def on_connect(websocket: Any) -> None:
    charge_point_id = websocket.request.path.strip("/").rsplit("/", 1)[-1]
    charge_point = ChargePoint(charge_point_id, websocket)
    with contextlib.suppress(websockets.exceptions.ConnectionClosed):
        await charge_point.start()


async def main(host: str, port: int, watch_stdin: bool = False) -> None:
    raise_nofile_limit()
    server = await websockets.serve(
        on_connect, host, port, subprotocols=["ocpp1.6"], ping_interval=60, ping_timeout=60
    )
    ready(next(iter(server.sockets)).getsockname()[1])
    await until_stopped(watch_stdin)
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    parser = server_arguments(__doc__)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level)
    asyncio.run(main(args.host, args.port, args.watch_stdin))
