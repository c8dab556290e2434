"""Commands travel over a real NATS server to the gateway that holds the station's socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
import websockets
from nats.aio.client import Client

from tests.conftest import make_settings
from voltflow.bootstrap import Platform, build
from voltflow.bus import NatsStationLink, station_subject
from voltflow.services.commands import CommandService
from voltflow.services.ports import CommandRejected, InvalidCommand, StationOffline


@pytest.fixture
async def nats_clients(nats_ready: str) -> AsyncIterator[tuple[Client, Client]]:
    a = await nats.connect(nats_ready)
    b = await nats.connect(nats_ready)
    yield a, b
    await a.close()
    await b.close()


@pytest.fixture
async def other_gateway(database_url: str) -> AsyncIterator[Platform]:
    """A second process's worth of platform: same database, holds no station sockets."""
    p = build(make_settings(database_url))
    await p.start()
    yield p
    await p.stop()


@pytest.mark.parametrize(
    ("station_id", "subject"),
    [
        ("CP-1", "vf.CP-1.call"),
        ("site.a*b>c d", "vf.site%2Ea%2Ab%3Ec%20d.call"),
        ("50%", "vf.50%25.call"),
    ],
)
def test_station_ids_become_single_subject_tokens(station_id: str, subject: str) -> None:
    assert station_subject("vf", station_id) == subject


async def test_command_reaches_the_gateway_holding_the_station(
    platform: Platform, other_gateway: Platform, ocpp_url: str, nats_clients: tuple[Client, Client]
) -> None:
    prefix = f"vftest{uuid.uuid4().hex[:12]}"
    holder = NatsStationLink(nats_clients[0], platform.ocpp, prefix)
    remote = CommandService(
        NatsStationLink(nats_clients[1], other_gateway.ocpp, prefix),
        other_gateway.stations.repo,
        uow=other_gateway.uow,
        clock=other_gateway.clock,
    )
    await platform.stations.add("CP-1")

    with pytest.raises(StationOffline, match="not connected to any gateway"):
        await remote.send("CP-1", "Reset", {"type": "Soft"}, timeout=2)

    async with websockets.connect(f"{ocpp_url}/CP-1", subprotocols=["ocpp1.6"]) as ws:
        await holder.attach("CP-1")

        async def station() -> None:
            call = json.loads(await ws.recv())
            assert call[2:] == ["Reset", {"type": "Hard"}]
            await ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))
            call = json.loads(await ws.recv())
            await ws.send(json.dumps([4, call[1], "NotSupported", "not here", {}]))

        task = asyncio.create_task(station())
        result = await remote.send("CP-1", "Reset", {"type": "Hard"}, timeout=3)
        assert result.payload == {"status": "Accepted"}
        with pytest.raises(CommandRejected) as rejected:
            await remote.send("CP-1", "ClearCache", {}, timeout=3)
        assert rejected.value.code == "NotSupported"
        await task
        with pytest.raises(InvalidCommand):
            await remote.send("CP-1", "Reset", {"type": "Gentle"}, timeout=3)
        await holder.detach("CP-1")

    with pytest.raises(StationOffline):
        await remote.send("CP-1", "Reset", {"type": "Soft"}, timeout=2)


async def test_two_gateways_share_the_work(database_url: str, nats_ready: str) -> None:
    """Gateway A holds the station's socket; a command given to gateway B reaches it over NATS."""
    a = build(make_settings(database_url, nats_url=nats_ready))
    b = build(make_settings(database_url, nats_url=nats_ready))
    await a.start()
    await b.start()
    try:
        await a.stations.add("CP-9")
        async with websockets.connect(
            f"ws://127.0.0.1:{a.ocpp.port}/ocpp/CP-9", subprotocols=["ocpp1.6"]
        ) as ws:
            await ws.send(json.dumps([2, "1", "Heartbeat", {}]))
            await ws.recv()

            async def station() -> None:
                call = json.loads(await ws.recv())
                await ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))

            task = asyncio.create_task(station())
            result = await b.commands.send("CP-9", "Reset", {"type": "Soft"}, timeout=3)
            await task
            assert result.payload == {"status": "Accepted"}
        await asyncio.sleep(0.2)  # the socket's close reaches gateway A
        with pytest.raises(StationOffline):
            await b.commands.send("CP-9", "Reset", {"type": "Soft"}, timeout=2)
    finally:
        await b.stop()
        await a.stop()
