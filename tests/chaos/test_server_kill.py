"""``voltflow serve`` killed with SIGKILL while stations charge, three times, and started again:
every message a station was answered for is in the database, and the stations, reconnecting by
themselves, carry on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.support import Fleet, ServerProcess, check_stored, register, station_ids

pytestmark = pytest.mark.chaos

STATIONS = 100
KILLS = 3


async def test_sigkill_mid_stream_loses_nothing_acknowledged(
    database_url: str, tmp_path: Path
) -> None:
    ids = station_ids(STATIONS)
    await register(database_url, ids)
    server = ServerProcess(database_url, tmp_path)
    await server.start()
    fleet = Fleet(server.ocpp_url, ids)
    fleet.start()
    lost_at_kills: list[int] = []
    try:
        await fleet.progress(each=3)
        for _ in range(KILLS):
            connections = [s.connections for s in fleet.stations]
            await fleet.mid_stream()
            lost = fleet.ledger.lost_answers
            server.kill()
            await server.start()
            # Every station finds the new process by itself and is answered again.
            await fleet.progress(each=3)
            assert all(
                s.connections > before
                for s, before in zip(fleet.stations, connections, strict=True)
            )
            lost_at_kills.append(fleet.ledger.lost_answers - lost)
        await fleet.stop()
    finally:
        await fleet.cancel()
        await server.stop()
    # The kills came mid-stream: answers to messages on their way were lost.
    assert sum(lost_at_kills) > 0, lost_at_kills
    ledger = fleet.ledger
    assert len(ledger.starts) >= STATIONS and ledger.readings
    print(f"acks={ledger.acks} starts={len(ledger.starts)} lost={lost_at_kills}")
    check_stored(database_url, ledger)
