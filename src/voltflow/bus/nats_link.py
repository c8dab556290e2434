"""Remote commands over NATS request-reply, for several gateway processes sharing one database.

Each gateway subscribes to ``<prefix>.<station>.call`` for every station whose socket it holds,
and unsubscribes when the socket closes. A command for a station held elsewhere is a NATS request
on that subject; when no gateway holds the station, NATS answers "no responders" at once, which
is exactly "offline" (asked twice, a tenth of a second apart: a subscription that has just been
made can be missed).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from voltflow.services.ports import (
    CommandError,
    CommandRejected,
    CommandResult,
    CommandTimeout,
    InvalidCommand,
    ProtocolCatalogue,
    StationLink,
    StationOffline,
)

log = logging.getLogger(__name__)

_ERRORS: dict[str, type[CommandError]] = {
    cls.kind: cls for cls in (StationOffline, CommandTimeout, CommandRejected, InvalidCommand)
}
# How long to wait before asking again after "no responders" (see ``NatsStationLink.call``).
NO_RESPONDERS_RETRY = 0.1
# NATS subjects split on "." and treat "*", ">" and whitespace specially; station ids may hold any.
_UNSAFE = {".": "%2E", "*": "%2A", ">": "%3E", " ": "%20", "%": "%25"}


def station_subject(prefix: str, station_id: str) -> str:
    token = "".join(_UNSAFE.get(ch, ch) for ch in station_id)
    return f"{prefix}.{token}.call"


class NatsStationLink:
    """A :class:`StationLink` that answers locally held stations directly and reaches the rest
    through NATS."""

    def __init__(self, nc: Client, local: StationLink, prefix: str = "voltflow.station") -> None:
        self.nc = nc
        self.local = local
        self.prefix = prefix
        self._subscriptions: dict[str, Subscription] = {}

    # -- the gateway side: stations whose sockets this process holds ------------------------------
    async def attach(self, station_id: str) -> None:
        if station_id in self._subscriptions:
            return
        subject = station_subject(self.prefix, station_id)

        async def handle(msg: Msg) -> None:
            await msg.respond(await self._answer(station_id, msg.data))

        self._subscriptions[station_id] = await self.nc.subscribe(subject, cb=handle)
        # Until the server has the subscription, other gateways would hear "no responders".
        await self.nc.flush()

    async def detach(self, station_id: str) -> None:
        sub = self._subscriptions.pop(station_id, None)
        if sub is not None:
            await sub.unsubscribe()
            await self.nc.flush()

    # The OCPP server's PresenceListener: subscribe while this process holds the socket.
    station_connected = attach
    station_disconnected = detach

    async def _answer(self, station_id: str, data: bytes) -> bytes:
        try:
            request = orjson.loads(data)
            result = await self.local.call(
                station_id, request["action"], request["payload"], float(request["timeout"])
            )
            return orjson.dumps({"ok": True, "payload": result.payload})
        except CommandError as exc:
            return orjson.dumps(
                {
                    "ok": False,
                    "kind": exc.kind,
                    "message": exc.message,
                    "code": exc.code,
                    "details": exc.details,
                }
            )
        except Exception as exc:  # a bad request must not kill the subscription
            log.exception("command for %s over NATS failed", station_id)
            return orjson.dumps({"ok": False, "kind": "error", "message": f"gateway error: {exc}"})

    # -- StationLink ------------------------------------------------------------------------
    def is_connected(self, station_id: str) -> bool:
        """Whether this process holds the socket; others may hold it too (see ``call``)."""
        return self.local.is_connected(station_id)

    def catalogue(self, station_id: str) -> ProtocolCatalogue:
        """The local connection's version, or the default's. (With several versions served,
        a station held by another gateway would need its version carried here: it is not yet.)"""
        return self.local.catalogue(station_id)

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> CommandResult:
        if self.local.is_connected(station_id):
            return await self.local.call(station_id, action, payload, timeout)
        body = orjson.dumps({"action": action, "payload": payload, "timeout": timeout})
        subject = station_subject(self.prefix, station_id)
        for attempt in range(2):
            try:
                # A little more than the station's own timeout, so the gateway's verdict arrives
                # first.
                msg = await self.nc.request(subject, body, timeout=timeout + 2)
                break
            except NoRespondersError as exc:
                # A gateway that has just taken the station's socket has subscribed, but the
                # server may still tell another connection "no responders" for a moment: ask
                # once more before calling the station offline.
                if attempt:
                    raise StationOffline(
                        f"station {station_id} is not connected to any gateway"
                    ) from exc
                await asyncio.sleep(NO_RESPONDERS_RETRY)
            except NatsTimeout as exc:
                raise CommandTimeout(f"no answer from the gateway holding {station_id}") from exc
        answer: dict[str, Any] = orjson.loads(msg.data)
        if answer.get("ok"):
            return CommandResult(station_id, action, answer["payload"])
        cls = _ERRORS.get(str(answer.get("kind")), CommandError)
        raise cls(
            str(answer.get("message")), code=answer.get("code"), details=answer.get("details")
        )
