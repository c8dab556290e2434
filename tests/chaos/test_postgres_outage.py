"""PostgreSQL stopped hard and started again while stations charge: the platform answers with
errors while it is down, loses nothing it acknowledged, recovers by itself, and its log says so in
a few lines rather than a traceback a message."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.chaos.support import (
    Fleet,
    ServerProcess,
    ThrowawayPostgres,
    check_stored,
    register,
    station_ids,
)

pytestmark = [pytest.mark.chaos, pytest.mark.postgres]

STATIONS = 100
# A traceback from the database driver is some 40 lines; a few kinds of failure (station
# messages, the group commit, handshakes), each written once and then counted, stay well under
# this. A traceback a message would be thousands of lines.
LOG_LINES_DURING_OUTAGE = 600


async def test_database_outage_under_load(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    cluster = throwaway_postgres
    ids = station_ids(STATIONS)
    await register(cluster.url, ids)
    server = ServerProcess(cluster.url, tmp_path)
    await server.start()
    fleet = Fleet(server.ocpp_url, ids)
    fleet.start()
    try:
        await fleet.progress(each=3)
        acks, log_before = fleet.ledger.acks, server.log_size()
        await fleet.mid_stream()
        await asyncio.to_thread(cluster.crash)
        # A tenth of the stations lose their connection meanwhile: they cannot be let in again
        # until the database is back.
        dropped = fleet.drop(every=10)
        # Down: every station is told so (InternalError, a refused handshake), again and again
        # as it retries.
        await fleet.trouble(each=3)
        during_outage = fleet.ledger.acks - acks
        await asyncio.to_thread(cluster.start)
        # Back: every station is answered again, without anyone restarting the platform.
        await fleet.progress(each=3)
        assert server.alive
        assert all(s.connections >= 2 for s in dropped)
        outage_log = server.log_bytes()[log_before:].decode(errors="replace").splitlines()
        assert len(outage_log) < LOG_LINES_DURING_OUTAGE, "\n".join(outage_log[:200])
        # The failures held back are counted when their window (10 s) ends.
        await server.wait_for_log(b"repeated", after=log_before, timeout=30)
        await fleet.stop()
    finally:
        await fleet.cancel()
        await server.stop()
    log = server.log_bytes()[log_before:].decode(errors="replace").splitlines()
    print(
        f"acks={fleet.ledger.acks} acked while down={during_outage} "
        f"errors={dict(fleet.ledger.call_errors)} lost={fleet.ledger.lost_answers} "
        f"refused={dict(fleet.ledger.refused)} "
        f"log={len(outage_log)} lines during the outage, {len(log)} up to the end"
    )
    assert fleet.ledger.call_errors["InternalError"] > 0
    assert fleet.ledger.refused.total() > 0, "no handshake was refused while down"
    assert len(log) < LOG_LINES_DURING_OUTAGE, "\n".join(log[:200])
    check_stored(cluster.url, fleet.ledger)
