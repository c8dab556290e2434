"""Stations retry, reconnect and replay: nothing is stored twice, nothing is lost, and nothing is
acknowledged before it is durable."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from tests.conftest import make_settings
from tests.ocpp.support import (
    PASSWORD,
    RECV_TIMEOUT,
    RawStation,
    add_station,
    basic,
    eventually,
    fresh_rows,
    iso,
    log_rows,
    raw_station,
)
from voltflow.bootstrap import Platform, build
from voltflow.domain.stations import Registration
from voltflow.store.database import create_database
from voltflow.store.tables import (
    charging_sessions,
    connector_status_history,
    connectors,
    meter_values,
    stations,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "Wallbox"}


def at(minutes: float) -> str:
    return iso(T0 + timedelta(minutes=minutes))


def start(minutes: float = 0, meter: int = 1000, connector: int = 1) -> dict[str, Any]:
    return {
        "connectorId": connector,
        "idTag": "04A2",
        "meterStart": meter,
        "timestamp": at(minutes),
    }


def status(state: str, minutes: float, connector: int = 1) -> dict[str, Any]:
    return {
        "connectorId": connector,
        "errorCode": "NoError",
        "status": state,
        "timestamp": at(minutes),
    }


def energy(minutes: float, wh: int, tx: int | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "connectorId": 1,
        "meterValue": [{"timestamp": at(minutes), "sampledValue": [{"value": str(wh)}]}],
    }
    if tx is not None:
        payload["transactionId"] = tx
    return payload


async def counts(platform: Platform) -> dict[str, int]:
    out = {}
    async with platform.db.engine.connect() as conn:
        for table in (charging_sessions, meter_values, connector_status_history):
            out[table.name] = (
                await conn.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return out


async def tx_for(st: RawStation, **kw: Any) -> int:
    transaction_id: int = (await st.result("StartTransaction", start(**kw)))["transactionId"]
    return transaction_id


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("StartTransaction", start()),
        ("StatusNotification", status("Charging", 1)),
        ("MeterValues", energy(5, 2000)),
        ("BootNotification", BOOT),
    ],
)
async def test_a_repeated_message_id_gets_the_same_answer_and_stores_nothing(
    platform: Platform, ocpp_url: str, action: str, payload: dict[str, Any]
) -> None:
    await add_station(platform, "CP-1")
    frame = orjson.dumps([2, "same-id", action, payload]).decode()
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(frame)
        first = await st.recv_text()
        stored = await counts(platform)
        await st.send_raw(frame)
        again = await st.recv_text()
        await st.heartbeat()
    assert again == first, "byte for byte the same answer"
    assert orjson.loads(first)[0] == 3
    assert await counts(platform) == stored
    logged = await log_rows(platform, "CP-1", message_id="same-id", direction="in")
    assert sorted(r["note"] or "" for r in logged) == [
        "",
        "repeated message id: answered as before",
    ]


async def test_a_repeated_message_id_with_another_action_is_a_new_message(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.result("StatusNotification", status("Charging", 1), message_id="m1")
        answer = await st.result("StartTransaction", start(), message_id="m1")
    assert "transactionId" in answer
    assert (await counts(platform))["charging_sessions"] == 1


def literal(message_id: str, action: str, payload: dict[str, Any]) -> str:
    return orjson.dumps([2, message_id, action, payload]).decode()


async def test_message_ids_used_again_on_a_new_connection_are_new_messages(
    platform: Platform, ocpp_url: str
) -> None:
    """Message ids are unique within a connection only: a station that reboots counts from 1
    again, and what it says under the ids of its last connection is new."""
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(literal("1", "StartTransaction", start(0, meter=1000)))
        first = orjson.loads(await st.recv_text())[2]["transactionId"]
        for n, minute in (("2", 1), ("3", 2), ("4", 3)):
            await st.send_raw(literal(n, "MeterValues", energy(minute, 1000 + minute, first)))
            assert orjson.loads(await st.recv_text()) == [3, n, {}]
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(literal("1", "StartTransaction", start(10, meter=5000)))
        answer = orjson.loads(await st.recv_text())
        second = answer[2]["transactionId"]
        assert second != first, answer
        for n, minute in (("2", 11), ("3", 12), ("4", 13)):
            await st.send_raw(literal(n, "MeterValues", energy(minute, 5000 + minute, second)))
            assert orjson.loads(await st.recv_text()) == [3, n, {}]
        # The same ids once more, as MeterValues where there was a StartTransaction: new too.
        for n, minute in (("1", 14), ("2", 15), ("3", 16)):
            await st.send_raw(literal(n, "MeterValues", energy(minute, 5000 + minute, second)))
            assert orjson.loads(await st.recv_text()) == [3, n, {}]
    assert [r.value for r in (await platform.sessions.get(first)).meter_values] == [
        1001,
        1002,
        1003,
    ]
    session = await platform.sessions.get(second)
    assert (session.started_at, session.meter_start_wh) == (T0 + timedelta(minutes=10), 5000)
    assert [r.value for r in session.meter_values] == [5000 + m for m in range(11, 17)]
    assert (await counts(platform))["charging_sessions"] == 2
    logged = await log_rows(platform, "CP-1", direction="in")
    assert not [r for r in logged if r["note"]], "none of them taken for a repeat"


async def test_a_message_sent_again_is_answered_as_before_on_its_connection_and_after(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    frames = [
        literal("7", "StatusNotification", status("Charging", 1)),
        literal("8", "MeterValues", energy(5, 2000)),
        literal("9", "StartTransaction", start()),
    ]
    async with raw_station(ocpp_url, "CP-1") as st:
        answers = []
        for frame in frames:
            await st.send_raw(frame)
            answers.append(await st.recv_text())
        stored = await counts(platform)
        for frame, answer in zip(frames, answers, strict=True):
            await st.send_raw(frame)
            assert await st.recv_text() == answer
    # The connection dropped before the station heard the answers: it sends them again.
    async with raw_station(ocpp_url, "CP-1") as st:
        for frame, answer in zip(frames, answers, strict=True):
            await st.send_raw(frame)
            assert await st.recv_text() == answer
        await st.heartbeat()
    assert await counts(platform) == stored
    assert stored == {"connector_status_history": 1, "meter_values": 1, "charging_sessions": 1}
    for message_id in ("7", "8", "9"):
        logged = await log_rows(platform, "CP-1", message_id=message_id, direction="in")
        assert [r["note"] for r in logged] == [None] + 2 * [
            "repeated message id: answered as before"
        ]


async def test_the_same_id_with_another_payload_is_a_new_message(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        for state, minute in (("Preparing", 1), ("Charging", 2)):
            await st.send_raw(literal("5", "StatusNotification", status(state, minute)))
            assert orjson.loads(await st.recv_text()) == [3, "5", {}]
    [connector] = await platform.stations.connectors("CP-1")
    assert connector.status == "Charging"
    assert (await counts(platform))["connector_status_history"] == 2


async def test_a_boot_that_reads_the_same_after_a_reboot_gets_a_fresh_answer(
    platform: Platform, ocpp_url: str
) -> None:
    """Stations boot with the same payload and, counting from 1 again, often the same id: the
    answer to the last boot (its time, a registration since changed) is not the answer now."""
    await add_station(platform, "CP-1")
    await platform.stations.repo.update("CP-1", registration=Registration.PENDING)
    boot = literal("1", "BootNotification", BOOT)
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(boot)
        assert orjson.loads(await st.recv_text())[2]["status"] == "Pending"
    await platform.stations.claim("CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(boot)
        assert orjson.loads(await st.recv_text())[2]["status"] == "Accepted"
        await st.heartbeat()


async def test_a_retried_start_transaction_returns_the_same_transaction(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        first = await tx_for(st)
        # The station did not get the answer and retries with a new message id...
        assert await tx_for(st) == first
        # ... or reconnects first, and writes its timestamp with an offset this time.
    async with raw_station(ocpp_url, "CP-1") as st:
        payload = {**start(), "timestamp": T0.astimezone(timezone(timedelta(hours=2))).isoformat()}
        assert (await st.result("StartTransaction", payload))["transactionId"] == first
        # A different start is a different transaction.
        other_time = await tx_for(st, minutes=1)
        other_meter = await tx_for(st, meter=1001)
        other_connector = await tx_for(st, connector=2)
    assert len({first, other_time, other_meter, other_connector}) == 4
    assert (await counts(platform))["charging_sessions"] == 4


async def test_start_transaction_retries_are_per_station(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    await add_station(platform, "CP-2")
    async with raw_station(ocpp_url, "CP-1") as one, raw_station(ocpp_url, "CP-2") as two:
        assert await tx_for(one) != await tx_for(two)


async def test_a_repeated_stop_changes_nothing(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        tx = await tx_for(st)
        stop = {"transactionId": tx, "meterStop": 9000, "timestamp": at(30), "reason": "Local"}
        await st.result("StopTransaction", stop)
        closed = await platform.sessions.get(tx)
        stored = await counts(platform)
        # Retried with a new message id; then a late, different stop for the closed session.
        await st.result("StopTransaction", stop)
        await st.result(
            "StopTransaction",
            {"transactionId": tx, "meterStop": 99_000, "timestamp": at(90), "reason": "Remote"},
        )
    assert await platform.sessions.get(tx) == closed
    assert closed.meter_stop_wh == 9000 and closed.stop_reason == "Local"
    assert await counts(platform) == stored


async def test_a_session_its_station_lost_is_closed_by_the_next_one_on_its_connector(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        lost = await tx_for(st, meter=1000)
        other_connector = await tx_for(st, connector=2)
        await st.result("MeterValues", energy(5, 2500, lost))
        await st.result("MeterValues", energy(12, 4000, lost))
    # The station lost its transaction in a power cut and starts a new one on the same connector.
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.result("BootNotification", BOOT)
        after = await tx_for(st, minutes=40, meter=4100)
        assert await tx_for(st, minutes=40, meter=4100) == after  # a retry closes nothing more
    closed = await platform.sessions.get(lost)
    assert (closed.stopped_at, closed.meter_stop_wh, closed.energy_wh) == (
        T0 + timedelta(minutes=12),
        4000,
        3000,
    )
    assert closed.stop_reason == "Superseded"
    assert closed.session_type is not None
    for still_open in (other_connector, after):
        assert (await platform.sessions.get(still_open)).stopped_at is None


async def test_every_earlier_session_left_open_on_the_connector_is_closed(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        later = await tx_for(st, minutes=40, meter=4100)
        # An older start that arrives late closes nothing: the session after it is not lost.
        earlier = await tx_for(st, minutes=0, meter=1000)
        assert (await platform.sessions.get(later)).stopped_at is None
        newest = await tx_for(st, minutes=60, meter=5000)
    for lost in (earlier, later):
        assert (await platform.sessions.get(lost)).stop_reason == "Superseded"
    assert (await platform.sessions.get(newest)).stopped_at is None


async def test_the_stations_own_stop_replaces_what_the_platform_inferred(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        lost = await tx_for(st, meter=1000)  # no readings: closed where it began
        await tx_for(st, minutes=40, meter=4100)
        inferred = await platform.sessions.get(lost)
        assert (inferred.stopped_at, inferred.energy_wh, inferred.stop_reason) == (
            T0,
            0,
            "Superseded",
        )
        assert inferred.session_type == "invalid"
        # The stop comes after all (from a queue the station kept), then again as a retry.
        stop = {"transactionId": lost, "meterStop": 4050, "timestamp": at(20), "reason": "Local"}
        await st.result("StopTransaction", stop)
        stopped = await platform.sessions.get(lost)
        await st.result("StopTransaction", {**stop, "meterStop": 9999, "timestamp": at(50)})
    assert (stopped.stopped_at, stopped.energy_wh, stopped.stop_reason) == (
        T0 + timedelta(minutes=20),
        3050,
        "Local",
    )
    assert await platform.sessions.get(lost) == stopped


async def test_a_stop_for_an_unknown_or_foreign_transaction_changes_nothing(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    await add_station(platform, "CP-2")
    async with raw_station(ocpp_url, "CP-1") as one, raw_station(ocpp_url, "CP-2") as two:
        theirs = await tx_for(two)
        for tx in (theirs, 4242):
            answer = await one.result(
                "StopTransaction", {"transactionId": tx, "meterStop": 1, "timestamp": at(5)}
            )
            assert answer == {}
    session = await platform.sessions.get(theirs)
    assert session.stopped_at is None
    assert (await counts(platform))["charging_sessions"] == 1


async def test_repeated_meter_values_store_no_duplicates(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        tx = await tx_for(st)
        for _ in range(3):  # new message ids each time
            await st.result("MeterValues", energy(5, 2000, tx))
        # The same reading again inside the stop's transactionData.
        await st.result(
            "StopTransaction",
            {
                "transactionId": tx,
                "meterStop": 3000,
                "timestamp": at(10),
                "transactionData": energy(5, 2000)["meterValue"] + energy(10, 3000)["meterValue"],
            },
        )
    readings = (await platform.sessions.get(tx)).meter_values
    assert [(r.sampled_at, r.value) for r in readings] == [
        (T0 + timedelta(minutes=5), 2000),
        (T0 + timedelta(minutes=10), 3000),
    ]


async def test_a_backlog_after_an_outage_is_stored_in_full(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.result("BootNotification", BOOT)
        tx = await tx_for(st)
        await st.result("StatusNotification", status("Charging", 0))
    # Offline for a while; on reconnecting the station replays what it queued, oldest first.
    backlog: list[tuple[str, dict[str, Any]]] = []
    for minute in range(1, 21):
        backlog.append(("MeterValues", energy(minute, 1000 + 100 * minute, tx)))
    backlog[5:5] = [("StatusNotification", status("SuspendedEV", 5.5))]
    backlog[12:12] = [("StatusNotification", status("Charging", 11.5))]
    backlog.append(("StatusNotification", status("Finishing", 21)))
    backlog.append(
        ("StopTransaction", {"transactionId": tx, "meterStop": 3000, "timestamp": at(21)})
    )
    backlog.append(("StatusNotification", status("Available", 22)))
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.result("BootNotification", BOOT)
        for action, payload in backlog:
            await st.result(action, payload)
        # A live status the station sends with its clock...
        await st.result("StatusNotification", status("Preparing", 60))
        # ... and one more queued message it found late: older, so it is history only.
        await st.result("StatusNotification", status("Faulted", 30))

    readings = (await platform.sessions.get(tx)).meter_values
    assert [r.value for r in readings] == [1000 + 100 * m for m in range(1, 21)]
    history = await platform.stations.status_history("CP-1", limit=100)
    assert sorted((h.status_at, h.status) for h in history) == [
        (T0, "Charging"),
        (T0 + timedelta(minutes=5.5), "SuspendedEV"),
        (T0 + timedelta(minutes=11.5), "Charging"),
        (T0 + timedelta(minutes=21), "Finishing"),
        (T0 + timedelta(minutes=22), "Available"),
        (T0 + timedelta(minutes=30), "Faulted"),
        (T0 + timedelta(minutes=60), "Preparing"),
    ]
    [connector] = await platform.stations.connectors("CP-1")
    assert (connector.status, connector.status_at) == ("Preparing", T0 + timedelta(hours=1))
    session = await platform.sessions.get(tx)
    assert (session.stopped_at, session.meter_stop_wh) == (T0 + timedelta(minutes=21), 3000)


async def test_statuses_with_the_same_time_keep_the_last_received(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.result("StatusNotification", status("Preparing", 1))
        await st.result("StatusNotification", status("Charging", 1))
    [connector] = await platform.stations.connectors("CP-1")
    assert connector.status == "Charging"


async def test_meter_values_for_another_stations_transaction_stay_with_their_station(
    platform: Platform, ocpp_url: str
) -> None:
    """Transaction ids are global; a station's stale id must not put its readings into another
    station's session (its live kWh, its detail page)."""
    await add_station(platform, "CP-1")
    await add_station(platform, "CP-2")
    async with raw_station(ocpp_url, "CP-1") as one, raw_station(ocpp_url, "CP-2") as two:
        theirs = await tx_for(two)
        await one.result("MeterValues", energy(5, 777_000, theirs))
        await one.result("MeterValues", energy(6, 5, 999_999))  # a transaction nobody has
    assert (await platform.sessions.get(theirs)).meter_values == []
    rows = await fresh_rows(
        platform, select(meter_values).where(meter_values.c.station_id == "CP-1")
    )
    assert [(r["value"], r["session_id"]) for r in rows] == [(777_000, None), (5, None)]


# -- nothing is acknowledged before it is durable -----------------------------------------------

# What the rows must show, given when the message was sent.
Check = Callable[[list[dict[str, Any]], datetime], bool]


def of_station(table: Any) -> Callable[[str], Any]:
    return lambda sid: select(table).where(table.c.station_id == sid)


def station_row(sid: str) -> Any:
    return select(stations).where(stations.c.id == sid)


# (case, action, payload, what to read for the station, what it must show)
DURABLE: list[tuple[str, str, dict[str, Any], Callable[[str], Any], Check]] = [
    (
        "boot",
        "BootNotification",
        {**BOOT, "chargePointSerialNumber": "SN-D"},
        station_row,
        lambda rows, _: rows[0]["serial_number"] == "SN-D",
    ),
    (
        "status",
        "StatusNotification",
        status("Faulted", 3),
        of_station(connectors),
        lambda rows, _: [r["status"] for r in rows] == ["Faulted"],
    ),
    (
        "status-history",
        "StatusNotification",
        status("Faulted", 3),
        of_station(connector_status_history),
        lambda rows, _: len(rows) == 1,
    ),
    (
        "start",
        "StartTransaction",
        start(),
        of_station(charging_sessions),
        lambda rows, _: [r["meter_start_wh"] for r in rows] == [1000],
    ),
    (
        "meter-values",
        "MeterValues",
        energy(2, 1500),
        of_station(meter_values),
        lambda rows, _: [r["value"] for r in rows] == [1500],
    ),
    (
        "diagnostics",
        "DiagnosticsStatusNotification",
        {"status": "Uploaded"},
        station_row,
        lambda rows, _: rows[0]["diagnostics_status"] == "Uploaded",
    ),
    (
        "firmware",
        "FirmwareStatusNotification",
        {"status": "Installed"},
        station_row,
        lambda rows, _: rows[0]["firmware_status"] == "Installed",
    ),
    # Sent after the connection's own touch: only the heartbeat's can be this late.
    ("heartbeat", "Heartbeat", {}, station_row, lambda rows, sent: rows[0]["last_seen_at"] >= sent),
    # Authorize and DataTransfer store nothing but their exchange in the message log, which
    # follows the answer (test_message_log).
]


async def test_the_answer_leaves_only_once_the_message_is_durable(
    platform: Platform, ocpp_url: str
) -> None:
    """Read through a brand-new engine the moment the answer arrives: a server that answered
    before committing would be caught here. A station per case, so cases cannot help each
    other."""
    for case, action, payload, query, check in DURABLE:
        sid = f"CP-{case}"
        await add_station(platform, sid)
        async with raw_station(ocpp_url, sid) as st:
            sent = datetime.now(UTC)
            await st.result(action, payload)
            rows = await fresh_rows(platform, query(sid))
        assert rows and check(rows, sent), (case, rows)


@contextlib.asynccontextmanager
async def store_blocked(platform: Platform) -> AsyncIterator[None]:
    """Another connection holds the lock every message's commit needs (the log's table), and
    writes nothing: while it holds it, no message can become durable."""
    db = create_database(platform.settings.database_url)
    try:
        async with db.engine.connect() as conn:
            if db.dialect == "sqlite":
                # A write that changes nothing still takes SQLite's one write lock.
                await conn.exec_driver_sql("UPDATE ocpp_messages SET note = note WHERE 0")
            else:
                await conn.exec_driver_sql("LOCK TABLE ocpp_messages IN SHARE ROW EXCLUSIVE MODE")
            try:
                yield
            finally:
                await conn.rollback()
    finally:
        await db.dispose()


async def test_no_answer_while_the_store_cannot_commit(platform: Platform, ocpp_url: str) -> None:
    """A server that answered first and committed later would answer here while the lock is
    held. (Reading the row back right after the answer cannot tell: the commit usually follows
    within milliseconds.)"""
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.heartbeat()
        for action, payload in [
            ("StatusNotification", status("Charging", 1)),
            ("StartTransaction", start()),
        ]:
            async with store_blocked(platform):
                message_id = await st.send_call(action, payload)
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(st.recv_text(), 0.3)
            answer = await st.recv()
            assert answer[:2] == [3, message_id], (action, answer)
    [connector] = await platform.stations.connectors("CP-1")
    assert connector.status == "Charging"
    assert (await counts(platform))["charging_sessions"] == 1


async def test_stop_is_durable_when_answered(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        tx = await tx_for(st)
        await st.result(
            "StopTransaction",
            {
                "transactionId": tx,
                "meterStop": 5000,
                "timestamp": at(30),
                "transactionData": energy(30, 5000)["meterValue"],
            },
        )
        [session] = await fresh_rows(
            platform, select(charging_sessions).where(charging_sessions.c.id == tx)
        )
        samples = await fresh_rows(
            platform, select(meter_values).where(meter_values.c.session_id == tx)
        )
    assert (session["stopped_at"], session["energy_wh"]) == (T0 + timedelta(minutes=30), 4000)
    assert [s["value"] for s in samples] == [5000]


async def test_many_stations_at_once_each_durable_when_answered(
    platform: Platform, ocpp_url: str
) -> None:
    """Stations connect (the server marks them online on connections of its own) while others
    start transactions in the writer's group commit: every start is answered, and each station
    can read its session back the moment it has the answer. (On SQLite, deferred writer
    transactions once failed here with "database is locked" → InternalError.)"""
    ids = [f"CP-{i}" for i in range(12)]
    for sid in ids:
        await add_station(platform, sid)

    async def one(sid: str) -> list[tuple[str, int]]:
        out = []
        async with raw_station(ocpp_url, sid) as st:
            for minute in range(3):
                tx = await tx_for(st, minutes=minute)
                rows = await fresh_rows(
                    platform,
                    select(charging_sessions.c.station_id).where(charging_sessions.c.id == tx),
                )
                out.append((rows[0]["station_id"], tx))
        return out

    results = await asyncio.gather(*(one(sid) for sid in ids))
    assert [{owner for owner, _ in r} for r in results] == [{sid} for sid in ids]
    assert len({tx for r in results for _, tx in r}) == 3 * len(ids)


# -- a busy station is not a silent one -----------------------------------------------------------

PING_INTERVAL = 0.1


@pytest.fixture
async def pinging(database_url: str) -> AsyncIterator[tuple[Platform, str]]:
    """A platform that pings every station every tenth of a second."""
    p = build(make_settings(database_url))
    p.ocpp.settings.ping_interval = PING_INTERVAL
    await p.start()
    try:
        yield p, f"ws://127.0.0.1:{p.ocpp.port}/ocpp"
    finally:
        await p.stop()


async def test_a_burst_held_back_by_slow_commits_is_not_taken_for_silence(
    pinging: tuple[Platform, str],
) -> None:
    """The station sends calls back to back while no commit can finish: the server stops
    reading from it (its frames wait, its pongs with them) for many ping intervals, and must
    not close it for a keepalive timeout; once the store is back, every call is answered."""
    platform, url = pinging
    await add_station(platform, "CP-1")
    async with raw_station(url, "CP-1") as st:
        await st.heartbeat()
        async with store_blocked(platform):
            sent = [await st.send_call("MeterValues", energy(m, 1000 + m)) for m in range(40)]
            await asyncio.sleep(10 * PING_INTERVAL)
        answers = [await st.recv() for _ in sent]
        await st.heartbeat()
    assert answers == [[3, message_id, {}] for message_id in sent]
    assert (await counts(platform))["meter_values"] == 40


async def test_a_silent_station_is_still_closed_for_it(pinging: tuple[Platform, str]) -> None:
    platform, _ = pinging
    await add_station(platform, "CP-1")
    reader, writer = await asyncio.open_connection("127.0.0.1", platform.ocpp.port)
    try:
        writer.write(
            b"GET /ocpp/CP-1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in basic("CP-1", PASSWORD).items()).encode()
            + b"\r\n"
        )
        response = await reader.readuntil(b"\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 101"), response
        # It reads what comes and answers nothing: not the pings either.
        received = await asyncio.wait_for(reader.read(), RECV_TIMEOUT)  # up to the server's EOF
    finally:
        writer.close()
    reason = b"keepalive ping timeout"
    close = b"\x88" + bytes([2 + len(reason)]) + (1011).to_bytes(2, "big") + reason
    assert received.endswith(close), received
    await eventually(lambda: _not_connected(platform, "CP-1"))


async def _not_connected(platform: Platform, station_id: str) -> bool:
    return not platform.ocpp.is_connected(station_id)


async def test_a_message_sent_again_on_a_new_connection_while_the_first_is_handling_it(
    platform: Platform, ocpp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection drops while the station's reading is being handled (here: the look-up of
    its transaction's owner is slow, as after a restart on a loaded database); the station
    reconnects and sends it again before that is done. The old connection's handling goes on
    after its close: the new one must answer as before, not handle the message a second time."""
    await add_station(platform, "CP-1")
    frame = literal("42", "MeterValues", energy(5, 2000, tx=999))
    read_session = platform.events.sessions.get
    reading = asyncio.Event()
    slow = asyncio.Event()

    async def slow_read(session_id: int) -> Any:
        reading.set()
        await slow.wait()
        return await read_session(session_id)

    monkeypatch.setattr(platform.events.sessions, "get", slow_read)
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(frame)
        await reading.wait()
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(frame)
        with pytest.raises(TimeoutError):  # not before the first one is handled
            await asyncio.wait_for(st.recv_text(), 0.3)
        slow.set()
        answer = orjson.loads(await st.recv_text())
        await st.heartbeat()
    assert answer == [3, "42", {}]
    assert (await counts(platform))["meter_values"] == 1
    logged = await log_rows(platform, "CP-1", message_id="42", direction="in")
    assert sorted(str(r["note"]) for r in logged) == [
        "None",
        "repeated message id: answered as before",
    ]


async def test_a_station_gone_for_a_while_leaves_no_answers_behind(
    platform: Platform, ocpp_url: str
) -> None:
    """Recent answers are kept for a station that comes back soon, as a digest of what it sent
    (a frame may be large), and forgotten once it has been away for longer."""
    platform.ocpp.settings.answers_kept_for = 0.05
    await add_station(platform, "CP-1")
    frame = literal("1", "StartTransaction", start())
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(frame)
        await st.recv_text()
        kept = platform.ocpp._answers["CP-1"]
        assert [len(digest) for digest, _, _ in kept.values()] == [16]
        assert frame not in repr(kept)

    async def forgotten() -> bool:
        return "CP-1" not in platform.ocpp._answers

    await eventually(forgotten)
    # Back within the time kept: what it sent before is still known.
    platform.ocpp.settings.answers_kept_for = 60
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(frame)
        first = await st.recv_text()
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(frame)
        assert await st.recv_text() == first
