"""Events after commit, across crashes: ``voltflow serve`` killed (SIGKILL) right after a
StopTransaction was answered and before the session's closed event was published (consumed in
the process, or by a worker over NATS JetStream), or after its consumer applied it and before
the outbox knew; a worker killed after applying the event and before acknowledging it to
JetStream. After each restart the consumer has applied the event
exactly once: the station's daily totals count the session once, and its receipt is there once.

The moments are held open with failpoints (``voltflow.failpoints``) set in the process's
environment: the process runs as it would, and stops at exactly that place."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.chaos.support import ID_TAG, PASSWORD, ServerProcess, register
from voltflow.store.database import blocking_url
from voltflow.store.tables import event_receipts, outbox, station_daily_totals

pytestmark = pytest.mark.chaos

STATION = "EVENTS-0001"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CONSUMER = "station-daily-totals"


async def charge_once(ocpp_url: str, meter_start: int, energy_wh: int) -> int:
    """One session, in literal OCPP 1.6 frames; returns once the StopTransaction is answered."""
    auth = base64.b64encode(f"{STATION}:{PASSWORD}".encode()).decode()
    ids = itertools.count(1)
    async with connect(
        f"{ocpp_url}/{STATION}",
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers={"Authorization": f"Basic {auth}"},
    ) as ws:

        async def call(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            message_id = f"ev-{next(ids)}"
            await ws.send(json.dumps([2, message_id, action, payload]))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if frame[0] == 3 and frame[1] == message_id:
                    answer: dict[str, Any] = frame[2]
                    return answer
                assert frame[0] != 4, frame

        await call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "E1"})
        started = await call(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": ID_TAG,
                "meterStart": meter_start,
                "timestamp": T0.isoformat().replace("+00:00", "Z"),
            },
        )
        transaction = int(started["transactionId"])
        await call(
            "StopTransaction",
            {
                "transactionId": transaction,
                "meterStop": meter_start + energy_wh,
                "timestamp": (T0 + timedelta(minutes=40)).isoformat().replace("+00:00", "Z"),
                "reason": "Local",
            },
        )
        return transaction


class Ledger:
    """What the database says of the session's closed event."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(blocking_url(database_url))

    def closed_event(self, session_id: int) -> tuple[str, datetime | None]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.payload, outbox.c.published_at).where(
                    outbox.c.kind == "session.closed"
                )
            ).all()
        found = [
            (r.id, r.published_at)
            for r in rows
            if json.loads(r.payload)["session_id"] == str(session_id)
        ]
        assert len(found) == 1, rows
        return found[0]

    def totals(self) -> list[tuple[int, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(station_daily_totals.c.sessions, station_daily_totals.c.energy_wh).where(
                    station_daily_totals.c.station_id == STATION
                )
            ).all()
        return [(int(r.sessions), int(r.energy_wh)) for r in rows]

    def receipts(self, event_id: str) -> int:
        with self.engine.connect() as conn:
            return len(
                conn.execute(
                    select(event_receipts.c.consumer).where(
                        event_receipts.c.event_id == event_id, event_receipts.c.consumer == CONSUMER
                    )
                ).all()
            )

    def unpublished(self) -> int:
        with self.engine.connect() as conn:
            return len(
                conn.execute(select(outbox.c.seq).where(outbox.c.published_at.is_(None))).all()
            )

    async def wait(self, what: str, check: Any, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not check():
            assert loop.time() < deadline, f"never: {what}"
            await asyncio.sleep(0.1)

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    found = Ledger(database_url)
    yield found
    found.close()


async def test_killed_before_publishing_the_closed_event_publishes_it_once_on_restart(
    database_url: str, tmp_path: Path, ledger: Ledger
) -> None:
    await register(database_url, [STATION])
    server = ServerProcess(database_url, tmp_path)
    server.env = {"VOLTFLOW_FAILPOINTS": "outbox.before_publish=pause"}
    await server.start()
    try:
        session = await charge_once(server.ocpp_url, 1000, 3667)
        event_id, published = ledger.closed_event(session)
        assert published is None and ledger.totals() == []
        server.kill()
        server.env = {}
        await server.start()
        await ledger.wait("the session counted", lambda: ledger.totals() == [(1, 3667)])
        await ledger.wait("everything published", lambda: ledger.unpublished() == 0)
        # A relay round more (it polls every second): nothing changes.
        await asyncio.sleep(1.5)
        assert ledger.totals() == [(1, 3667)]
        assert ledger.receipts(event_id) == 1
    finally:
        await server.stop()


async def test_killed_after_applying_before_marking_published_applies_nothing_twice(
    database_url: str, tmp_path: Path, ledger: Ledger
) -> None:
    await register(database_url, [STATION])
    server = ServerProcess(database_url, tmp_path)
    server.env = {"VOLTFLOW_FAILPOINTS": "outbox.before_mark:session.closed=pause"}
    await server.start()
    try:
        session = await charge_once(server.ocpp_url, 5000, 7334)
        await ledger.wait("the session counted", lambda: ledger.totals() == [(1, 7334)])
        event_id, published = ledger.closed_event(session)
        assert published is None  # applied, but the outbox does not know it
        server.kill()
        server.env = {}
        await server.start()
        await ledger.wait("published again", lambda: ledger.closed_event(session)[1] is not None)
        assert ledger.totals() == [(1, 7334)]
        assert ledger.receipts(event_id) == 1
    finally:
        await server.stop()


async def test_over_jetstream_a_worker_applies_the_event_once_across_both_kills(
    database_url: str, tmp_path: Path, ledger: Ledger, nats_ready: str
) -> None:
    """Two processes: the server publishes to JetStream, a worker consumes. The server is killed
    after answering the StopTransaction and before publishing its event; the worker after
    applying it and before acknowledging it."""
    import nats

    prefix = f"chaos{uuid.uuid4().hex[:10]}"
    shared = {
        "VOLTFLOW_NATS_URL": nats_ready,
        "VOLTFLOW_NATS_PREFIX": prefix,
        "VOLTFLOW_CONSUMERS": "off",
    }
    await register(database_url, [STATION])
    server = ServerProcess(database_url, tmp_path, "server")
    worker = ServerProcess(database_url, tmp_path, "worker")
    server.env = {**shared, "VOLTFLOW_FAILPOINTS": "outbox.before_publish=pause"}
    worker.env = {**shared, "VOLTFLOW_FAILPOINTS": "consumer.before_ack=pause"}
    await server.start()
    await worker.start(worker=True)
    try:
        session = await charge_once(server.ocpp_url, 9000, 3667)
        event_id, published = ledger.closed_event(session)
        assert published is None
        server.kill()
        server.env = dict(shared)
        await server.start()
        await ledger.wait("the worker applied it", lambda: ledger.totals() == [(1, 3667)])
        # Applied and committed; the worker stops before acknowledging, and dies there.
        worker.kill()
        worker.env = dict(shared)
        await worker.start(worker=True)
        # JetStream delivers it again once its wait for an acknowledgement is over; the new
        # worker finds its receipt, changes nothing, and acknowledges it.
        nc = await nats.connect(nats_ready)
        try:
            js = nc.jetstream()
            stream, durable = f"{prefix.upper()}_EVENTS", f"{prefix}-{CONSUMER}"
            assert (await js.consumer_info(stream, durable)).num_ack_pending >= 1
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90
            while (await js.consumer_info(stream, durable)).num_ack_pending:
                assert loop.time() < deadline, "never delivered again and acknowledged"
                await asyncio.sleep(0.5)
        finally:
            await nc.close()
        assert ledger.totals() == [(1, 3667)]
        assert ledger.receipts(event_id) == 1
    finally:
        await worker.stop()
        await server.stop()
        nc = await nats.connect(nats_ready)
        try:
            await nc.jetstream().delete_stream(prefix.upper() + "_EVENTS")
        finally:
            await nc.close()
