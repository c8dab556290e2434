"""The group-commit writer: concurrent commits share a transaction, one failing item fails only
itself, ``enqueue`` rides along without waiting, nothing is acknowledged before it is durable."""

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError, StatementError

from tests.factories import meter_row
from voltflow.domain.sessions import MeterSample
from voltflow.domain.stations import ConnectorRef
from voltflow.store.database import Database, create_database
from voltflow.store.prepared import Tx
from voltflow.store.statements import Statements
from voltflow.store.tables import connectors, meter_values, ocpp_messages, stations
from voltflow.store.writer import DurableWriter, Write, WriterClosed

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
# Long-lived statement objects, as the repositories keep them: writes sharing one are batched.
LOG = insert(ocpp_messages)
TOUCH = (
    update(stations)
    .where(stations.c.id == bindparam("b_id"))
    .values(last_seen_at=bindparam("b_seen"), online=True)
)
SET_VENDOR = update(stations).where(stations.c.id == bindparam("b_id"))
ADD_STATION = insert(stations)
STATION = select(stations.c.id).where(stations.c.id == bindparam("b_id"))


def logged(message_id: str, **overrides: Any) -> Write:
    row = {
        "station_id": "CP-1",
        "at": NOW,
        "direction": "in",
        "message_type": 2,
        "message_id": message_id,
        "action": "Heartbeat",
        "payload": f"[2,{message_id!r},...]",
        "note": None,
    }
    row.update(overrides)
    return Write(LOG, row)


BROKEN = {"payload": None}  # NOT NULL: the database refuses the row


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    d = create_database(database_url, synchronous="NORMAL")
    async with d.engine.begin() as conn:
        await conn.execute(
            insert(stations), [{"id": sid, "created_at": NOW} for sid in ("CP-1", "CP-2")]
        )
    try:
        yield d
    finally:
        await d.dispose()


@pytest.fixture
async def writer(db: Database) -> AsyncIterator[DurableWriter]:
    w = DurableWriter(db)
    await w.start()
    try:
        yield w
    finally:
        await w.stop()


async def message_ids(url: str) -> list[str]:
    """Read through a new engine: what is durable, not what one connection happens to see."""
    fresh = create_database(url)
    try:
        async with fresh.engine.connect() as conn:
            rows = await conn.execute(
                select(ocpp_messages.c.message_id).order_by(ocpp_messages.c.id)
            )
            return [r[0] for r in rows]
    finally:
        await fresh.dispose()


async def test_commit_returns_once_durable(db: Database, writer: DurableWriter) -> None:
    assert await writer.commit([logged("m1"), logged("m2")]) is None
    assert await message_ids(db.url) == ["m1", "m2"]


async def test_concurrent_commits_share_one_transaction(
    db: Database, writer: DurableWriter
) -> None:
    before = writer.batches
    await asyncio.gather(*(writer.commit([logged(f"m{i}")]) for i in range(50)))
    assert writer.batches - before == 1, "one group commit, not one per message"
    assert await message_ids(db.url) == [f"m{i}" for i in range(50)]


async def test_a_batch_has_at_most_max_batch_items(db: Database) -> None:
    writer = DurableWriter(db, max_batch=10)
    await writer.start()
    try:
        await asyncio.gather(*(writer.commit([logged(f"m{i}")]) for i in range(25)))
    finally:
        await writer.stop()
    assert writer.items == 25
    assert writer.batches >= 3, "25 items in batches of at most 10"
    assert len(await message_ids(db.url)) == 25


async def test_work_runs_in_the_commits_transaction_and_returns_its_result(
    db: Database, writer: DurableWriter
) -> None:
    def work(tx: Tx) -> int:
        tx.execute(SET_VENDOR, {"b_id": "CP-1", "vendor": "Acme"})
        return 42

    assert await writer.commit([logged("m1")], work) == 42
    async with db.engine.connect() as conn:
        vendor = (
            await conn.execute(select(stations.c.vendor).where(stations.c.id == "CP-1"))
        ).scalar()
    assert vendor == "Acme"
    assert await message_ids(db.url) == ["m1"]


async def test_work_results_go_to_their_own_callers(writer: DurableWriter) -> None:
    def work_for(n: int) -> Any:
        def work(tx: Tx) -> int:
            return n

        return work

    results = await asyncio.gather(*(writer.commit([], work_for(n)) for n in range(20)))
    assert results == list(range(20))


async def test_a_failing_work_fails_only_its_own_commit(
    db: Database, writer: DurableWriter
) -> None:
    def failing(tx: Tx) -> None:
        tx.execute(SET_VENDOR, {"b_id": "CP-2", "vendor": "Half"})
        raise ValueError("no such transaction")

    before = writer.batches
    results = await asyncio.gather(
        *(writer.commit([logged(f"a{i}")]) for i in range(5)),
        writer.commit([logged("bad")], failing),
        *(writer.commit([logged(f"b{i}")]) for i in range(5)),
        return_exceptions=True,
    )
    assert isinstance(results[5], ValueError)
    assert [r for i, r in enumerate(results) if i != 5] == [None] * 10
    assert writer.batches - before == 1
    ids = await message_ids(db.url)
    assert "bad" not in ids, "the failed item's own writes are not stored"
    assert sorted(ids) == sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)])
    async with db.engine.connect() as conn:
        vendor = (
            await conn.execute(select(stations.c.vendor).where(stations.c.id == "CP-2"))
        ).scalar()
    assert vendor is None, "what the failed work did is rolled back"


async def test_a_write_the_database_refuses_fails_only_its_own_commit(
    db: Database, writer: DurableWriter
) -> None:
    # The bad row shares its statement with the good ones: they go to the database together.
    results = await asyncio.gather(
        *(writer.commit([logged(f"a{i}")]) for i in range(5)),
        writer.commit([logged("x1"), logged("bad", **BROKEN)]),
        *(
            writer.commit([logged(f"b{i}"), Write(TOUCH, {"b_id": "CP-1", "b_seen": NOW})])
            for i in range(5)
        ),
        return_exceptions=True,
    )
    assert isinstance(results[5], IntegrityError)
    assert [r for i, r in enumerate(results) if i != 5] == [None] * 10
    ids = await message_ids(db.url)
    assert "x1" not in ids, "an item is all or nothing"
    assert sorted(ids) == sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)])


async def test_a_database_error_inside_work_fails_only_its_own_commit(
    db: Database, writer: DurableWriter
) -> None:
    def duplicate(tx: Tx) -> None:
        tx.execute(ADD_STATION, {"id": "CP-1", "created_at": NOW})

    def fine(tx: Tx) -> str:
        tx.execute(SET_VENDOR, {"b_id": "CP-2", "vendor": "Acme"})
        return "fine"

    results = await asyncio.gather(
        writer.commit([logged("a")], fine),
        writer.commit([logged("bad")], duplicate),
        writer.commit([logged("b")]),
        return_exceptions=True,
    )
    assert results[0] == "fine" and results[2] is None
    assert isinstance(results[1], IntegrityError)
    assert await message_ids(db.url) == ["a", "b"]


async def test_enqueue_does_not_wait_and_rides_with_the_next_batch(
    db: Database, writer: DurableWriter
) -> None:
    assert writer.enqueue([logged("out-1")]) is None
    writer.enqueue([logged("out-2")])
    await writer.commit([logged("in-3")])
    # Queued before the commit, so committed with it or before it.
    assert await message_ids(db.url) == ["out-1", "out-2", "in-3"]


async def test_stop_writes_what_is_queued(db: Database) -> None:
    writer = DurableWriter(db)
    await writer.start()
    for i in range(10):
        writer.enqueue([logged(f"m{i}")])
    await writer.stop()
    assert await message_ids(db.url) == [f"m{i}" for i in range(10)]


async def test_an_enqueued_write_alone_is_stored_within_the_log_delay(db: Database) -> None:
    writer = DurableWriter(db, log_delay=0.02)
    await writer.start()
    try:
        writer.enqueue([logged("alone")])
        for _ in range(100):
            if await message_ids(db.url) == ["alone"]:
                break
            await asyncio.sleep(0.02)
        assert await message_ids(db.url) == ["alone"]
        assert writer.batches == 1
    finally:
        await writer.stop()


async def test_commits_within_the_commit_interval_share_one_batch(db: Database) -> None:
    """At a steady pace messages come one at a time: a message on a quiet platform is committed
    at once, and what comes within the interval after a commit started waits for its end and
    shares one commit."""
    writer = DurableWriter(db, commit_interval=0.2)
    await writer.start()
    loop = asyncio.get_running_loop()

    async def later(n: int) -> float:
        await asyncio.sleep(0.01 * n)
        await writer.commit([logged(f"m{n}")])
        return loop.time()

    try:
        started = loop.time()
        await writer.commit([logged("quiet")])
        assert loop.time() - started < 0.15, "nothing committed before it: no wait"
        done = await asyncio.gather(*(later(n) for n in range(5)))
        assert writer.batches == 2
        assert min(done) - started >= 0.2, "the next commit waits for the interval's end"
        assert sorted(await message_ids(db.url)) == sorted(["quiet", *(f"m{n}" for n in range(5))])
    finally:
        await writer.stop()


async def test_a_refused_enqueued_write_is_dropped_and_reported(
    db: Database, writer: DurableWriter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="voltflow.store.writer")
    writer.enqueue([logged("bad", **BROKEN)])
    writer.enqueue([logged("fine")])
    await writer.commit([logged("committed")])
    assert await message_ids(db.url) == ["fine", "committed"]
    assert any("dropped" in r.getMessage() for r in caplog.records)


async def test_a_closed_writer_refuses_work(db: Database) -> None:
    writer = DurableWriter(db)
    with pytest.raises(WriterClosed):
        await writer.commit([logged("early")])
    with pytest.raises(WriterClosed):
        writer.enqueue([logged("early")])
    await writer.start()
    await writer.commit([logged("m1")])
    await writer.stop()
    await writer.stop()  # twice is fine
    with pytest.raises(WriterClosed):
        await writer.commit([logged("late")])
    assert await message_ids(db.url) == ["m1"]


async def test_a_caller_that_gives_up_does_not_stop_the_writer(
    db: Database, writer: DurableWriter
) -> None:
    waiting = asyncio.ensure_future(writer.commit([logged("abandoned")]))
    await asyncio.sleep(0)
    waiting.cancel()
    await writer.commit([logged("next")])
    assert await message_ids(db.url) in (["abandoned", "next"], ["next"])


async def test_empty_commits(writer: DurableWriter) -> None:
    assert await writer.commit([]) is None
    assert await asyncio.gather(*(writer.commit([]) for _ in range(5))) == [None] * 5


# -- batched writes mean what the same statements mean one by one ------------------------------


async def test_rows_with_different_columns_share_a_statement(
    db: Database, writer: DurableWriter
) -> None:
    bare = Write(
        LOG,
        {"station_id": "CP-1", "at": NOW, "direction": "out", "payload": "[3]"},
    )
    await asyncio.gather(writer.commit([logged("full", note="n")]), writer.commit([bare]))
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(ocpp_messages).order_by(ocpp_messages.c.id))).all()
    assert [(r.message_id, r.note, r.direction) for r in rows] == [
        ("full", "n", "in"),
        (None, None, "out"),
    ]


async def test_column_types_apply_in_batches(db: Database, writer: DurableWriter) -> None:
    """UTC times and exact decimals, through the writer as the hot path sends them."""
    sql = Statements(db.dialect)
    plus2 = timezone(timedelta(hours=2))
    samples = [
        MeterSample(
            NOW.astimezone(plus2),
            "Energy.Active.Import.Register",
            Decimal("1234.5"),
            "Wh",
            None,
            None,
            None,
        ),
        MeterSample(
            NOW + timedelta(minutes=1), "Voltage", Decimal("230.000001"), "V", "L1-N", None, None
        ),
    ]
    rows = [
        {
            "station_id": "CP-1",
            "evse_id": 1,
            "session_id": None,
            "sampled_at": s.timestamp,
            "measurand": s.measurand,
            "phase": s.phase or "",
            "location": "",
            "context": "",
            "unit": s.unit,
            "value": s.value,
        }
        for s in samples
    ]
    await asyncio.gather(*(writer.commit([Write(sql.meter_value, r)]) for r in rows))
    # The same readings again: the dialect's ON CONFLICT DO NOTHING keeps one of each.
    await writer.commit([Write(sql.meter_value, r) for r in rows])
    async with db.engine.connect() as conn:
        stored = (
            await conn.execute(select(meter_values).order_by(meter_values.c.sampled_at))
        ).all()
    assert [(r.sampled_at, r.value) for r in stored] == [
        (NOW, Decimal("1234.5")),
        (NOW + timedelta(minutes=1), Decimal("230.000001")),
    ]
    assert all(r.sampled_at.utcoffset() == timedelta(0) for r in stored)


async def test_a_naive_time_is_refused_in_a_batch(db: Database, writer: DurableWriter) -> None:
    results = await asyncio.gather(
        writer.commit([logged("naive", at=datetime(2025, 3, 1, 12, 0))]),
        writer.commit([logged("aware")]),
        return_exceptions=True,
    )
    assert isinstance(results[0], StatementError | ValueError)
    assert results[1] is None
    assert await message_ids(db.url) == ["aware"]


async def test_status_upserts_in_one_batch_keep_the_latest_by_station_time(
    db: Database, writer: DurableWriter
) -> None:
    sql = Statements(db.dialect)
    ref = ConnectorRef.from_ocpp16(1)

    def status(name: str, minutes: int) -> list[Write]:
        at = NOW + timedelta(minutes=minutes)
        # Only the upsert: the history insert is not what this test is about.
        return sql_status(sql, ref, name, at)[:1]

    await asyncio.gather(
        writer.commit(status("Charging", 5)),
        writer.commit(status("Available", 1)),  # older, arrives later in the same batch
        writer.commit(status("Preparing", 3)),
    )
    async with db.engine.connect() as conn:
        [row] = (await conn.execute(select(connectors))).all()
    assert (row.status, row.status_at) == ("Charging", NOW + timedelta(minutes=5))


# Texts a station may send (the log keeps every frame as it came) and amounts at the edges of
# what a NUMERIC(24, 6) holds: on PostgreSQL a plain INSERT's rows travel as one JSON document.
AWKWARD_TEXTS = [
    "plain",
    "'); DROP TABLE ocpp_messages; --",
    "%s %(rows)s %% $$ $1 ? :name",
    "E'\\x41' U&'\\0041'",
    'it\'s "quoted" \\ back\\slashed',
    "ünïcödé ⚡ 電 😀",
    "\t tab and\nnewline",
    '{"looks": ["like", "json"]}',
    "",
    "x" * 5000,
]
AWKWARD_AMOUNTS = ["0", "-0.000001", "0.000001", "1E+3", "123456789012345678.123456", "-42.5"]


async def test_rows_written_together_read_back_exactly_as_written(
    db: Database, writer: DurableWriter
) -> None:
    plus13 = timezone(timedelta(hours=13))
    frames = [
        logged(f"t{i}", payload=text, note=None if i % 2 else text[:512], at=NOW.astimezone(plus13))
        for i, text in enumerate(AWKWARD_TEXTS)
    ]
    sql = Statements(db.dialect)
    readings = [
        Write(sql.meter_value, meter_row(NOW + timedelta(seconds=n), Decimal(amount)))
        for n, amount in enumerate(AWKWARD_AMOUNTS)
    ]
    # One batch, a reading twice (ON CONFLICT DO NOTHING keeps one).
    await asyncio.gather(*(writer.commit([w]) for w in [*frames, *readings, readings[0]]))
    async with db.engine.connect() as conn:
        logged_rows = (await conn.execute(select(ocpp_messages).order_by(ocpp_messages.c.id))).all()
        stored = (
            await conn.execute(select(meter_values).order_by(meter_values.c.sampled_at))
        ).all()
    assert [(r.message_id, r.payload, r.note, r.at) for r in logged_rows] == [
        (f"t{i}", text, None if i % 2 else text[:512], NOW) for i, text in enumerate(AWKWARD_TEXTS)
    ]
    assert [r.value for r in stored] == [Decimal(a) for a in AWKWARD_AMOUNTS]


def sql_status(sql: Statements, ref: ConnectorRef, name: str, at: datetime) -> list[Write]:
    row = {
        "station_id": "CP-1",
        "evse_id": ref.evse_id,
        "connector_id": ref.connector_id,
        "status": name,
        "error_code": "NoError",
        "info": None,
        "vendor_error_code": None,
        "status_at": at,
    }
    return [
        Write(sql.connector_status, row),
        Write(sql.status_history, {**row, "received_at": at}),
    ]


# -- other writers on the same database ------------------------------------------------------------


async def test_work_that_reads_first_survives_a_write_from_another_connection(
    db: Database, writer: DurableWriter
) -> None:
    """StartTransaction's work reads (token, retried start) before it inserts, while the server
    marks stations online on connections of its own. With a deferred transaction on SQLite, the
    read's snapshot went stale and the write failed at once ("database is locked", busy_timeout
    not applying), in the item-by-item retry too: stations connecting while others started
    transactions got InternalError. The writer's transactions now take the lock when they
    begin (``Database.writes``)."""

    async def mark_online() -> None:
        other = create_database(db.url)
        try:
            with contextlib.suppress(SQLAlchemyError):
                async with other.engine.begin() as conn:
                    if other.dialect == "sqlite":
                        # The writer holds the write lock and waits for this one below: give
                        # up soon instead of after 10 s.
                        await conn.exec_driver_sql("PRAGMA busy_timeout=100")
                    await conn.execute(
                        update(stations)
                        .where(stations.c.id == "CP-2")
                        .values(online=True, last_seen_at=datetime.now(UTC))  # a change, each time
                    )
        finally:
            await other.dispose()

    def start_transaction_like(tx: Tx) -> str:
        assert tx.one(STATION, {"b_id": "CP-1"}) is not None
        # Another connection writes now, as a connecting station's set_online does. A unit of
        # work is synchronous (it may run on the driver's thread): the other one gets a thread
        # and an event loop of its own.
        other = threading.Thread(target=asyncio.run, args=(mark_online(),))
        other.start()
        other.join()
        tx.execute(LOG, logged("start").params)
        return "started"

    assert await writer.commit([], start_transaction_like) == "started"
    assert await message_ids(db.url) == ["start"]


async def test_updates_of_many_rows_in_one_batch_keep_their_text_exactly(
    db: Database, writer: DurableWriter
) -> None:
    """Rows that are not a plain INSERT (here an UPDATE a row) go through the driver's
    executemany, not as one JSON document: every text comes back as it was written."""
    ids = [f"AWK-{i}" for i in range(len(AWKWARD_TEXTS))]
    await writer.commit([Write(ADD_STATION, {"id": i, "created_at": NOW}) for i in ids])
    await asyncio.gather(
        *(
            writer.commit([Write(SET_VENDOR, {"b_id": i, "vendor": text[:64]})])
            for i, text in zip(ids, AWKWARD_TEXTS, strict=True)
        )
    )
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(stations.c.id, stations.c.vendor).where(stations.c.id.in_(ids))
            )
        ).all()
    assert dict(rows) == {i: text[:64] for i, text in zip(ids, AWKWARD_TEXTS, strict=True)}
