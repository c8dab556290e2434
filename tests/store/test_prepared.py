"""Statements compiled once and run on the driver give what SQLAlchemy would give: the same
parameters (constants, repeated names, type conversions), the same converted results, on both
databases; statements that need SQLAlchemy at execution time are refused, not run wrongly."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from tests.factories import meter_row
from voltflow.store.database import Database, create_database
from voltflow.store.prepared import Plans, Tx, compile_plan
from voltflow.store.statements import Statements
from voltflow.store.tables import charging_sessions, meter_values, stations
from voltflow.store.writer import DurableWriter

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
S = charging_sessions

INSERT_SESSION = insert(S).returning(S.c.id)
SESSIONS_OF = (
    select(S.c.id, S.c.started_at, S.c.id_tag)
    .where(S.c.station_id == bindparam("station"), S.c.id_tag != bindparam("station"))
    .order_by(S.c.id)
    .limit(2)
)
ADD_SAMPLE = insert(meter_values)
SAMPLE = select(meter_values.c.value, meter_values.c.sampled_at).where(
    meter_values.c.station_id == bindparam("station")
)


@pytest.fixture
async def writer(database_url: str) -> AsyncIterator[DurableWriter]:
    db: Database = create_database(database_url, synchronous="NORMAL")
    async with db.engine.begin() as conn:
        await conn.execute(insert(stations), [{"id": "CP-1", "created_at": NOW}])
    w = DurableWriter(db)
    await w.start()
    try:
        yield w
    finally:
        await w.stop()
        await db.dispose()


def session(n: int, started_at: datetime = NOW) -> dict[str, Any]:
    return {
        "station_id": "CP-1",
        "evse_id": 1,
        "connector_id": 1,
        "id_tag": f"TAG{n}",
        "auth_status": "Accepted",
        "reservation_id": None,
        "started_at": started_at,
        "meter_start_wh": 0,
        "created_at": NOW,
    }


async def test_insert_returning_gives_the_new_keys(writer: DurableWriter) -> None:
    def work(tx: Tx) -> list[int]:
        rows = [tx.one(INSERT_SESSION, session(n, NOW + timedelta(minutes=n))) for n in range(3)]
        return [int(r["id"]) for r in rows if r is not None]

    ids = await writer.commit([], work)
    assert ids is not None and len(set(ids)) == 3 and ids == sorted(ids)


async def test_results_are_converted_and_parameters_repeat_and_constants_apply(
    writer: DurableWriter,
) -> None:
    paris = timezone(timedelta(hours=1))

    def work(tx: Tx) -> list[dict[str, Any]]:
        for n in range(3):
            tx.execute(INSERT_SESSION, session(n, NOW.astimezone(paris) + timedelta(minutes=n)))
        return tx.all(SESSIONS_OF, {"station": "CP-1"})

    rows = await writer.commit([], work)
    assert rows is not None
    assert [r["id_tag"] for r in rows] == ["TAG0", "TAG1"], "LIMIT 2, bound in the statement"
    # Stored as UTC, read back aware in UTC: the same instants.
    assert [r["started_at"] for r in rows] == [NOW, NOW + timedelta(minutes=1)]
    assert all(r["started_at"].utcoffset() == timedelta(0) for r in rows)


async def test_decimals_go_in_and_come_out_exact(writer: DurableWriter) -> None:
    rows = [
        meter_row(NOW + timedelta(seconds=n), Decimal(value))
        for n, value in enumerate(["0.1", "12345678901234.123456", "7"])
    ]

    def work(tx: Tx) -> list[dict[str, Any]]:
        tx.executemany(ADD_SAMPLE, rows)
        tx.executemany(ADD_SAMPLE, [])  # nothing to do
        return tx.all(SAMPLE, {"station": "CP-1"})

    back = await writer.commit([], work)
    assert back is not None
    assert sorted(r["value"] for r in back) == sorted(r["value"] for r in rows)
    assert all(type(r["value"]) is Decimal for r in back)


async def test_one_is_none_without_a_row(writer: DurableWriter) -> None:
    assert await writer.commit([], lambda tx: tx.one(SAMPLE, {"station": "nobody"})) is None


async def test_a_parameter_only_its_value_types_still_runs(writer: DurableWriter) -> None:
    # PostgreSQL cannot prepare "$1 IS NULL" without being told the parameter's type: the
    # statement then goes unprepared, typed from the value as psycopg's cursor would.
    unknown = select(bindparam("x").is_(None).label("missing"))
    for _ in range(2):  # refused by PREPARE first (the batch done again), then not prepared
        row = await writer.commit([], lambda tx: tx.one(unknown, {"x": 5}))
        assert row is not None and row["missing"] is False


# -- what is refused ------------------------------------------------------------------------------

scratch = Table(
    "scratch",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("made_by", String(8), default=lambda: "python"),  # computed in Python at insert
)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()])
def test_statements_that_need_sqlalchemy_at_execution_are_refused(dialect: Any) -> None:
    assert compile_plan(insert(scratch), ("id",), dialect) is None, "a Python-side default"
    expanding = select(scratch.c.id).where(scratch.c.id.in_(bindparam("ids", expanding=True)))
    assert compile_plan(expanding, ("ids",), dialect) is None, "an expanding IN"
    with pytest.raises(TypeError, match="cannot run on the driver"):
        Plans(dialect).require(expanding, ("ids",))
    # Given its value, the default is no longer needed.
    assert compile_plan(insert(scratch), ("id", "made_by"), dialect) is not None


def test_plans_are_kept_per_statement_object() -> None:
    plans = Plans(sqlite.dialect())
    first = plans.require(SAMPLE, ("station",))
    assert plans.require(SAMPLE, ("station",)) is first
    twin = select(meter_values.c.value, meter_values.c.sampled_at).where(
        meter_values.c.station_id == bindparam("station")
    )
    assert plans.require(twin, ("station",)) is not first
    assert plans.require(twin, ("station",)).sql == first.sql


def test_postgresql_plans_number_each_parameter_once_for_libpq() -> None:
    # A literal percent sign, which psycopg's form doubles, and a parameter used twice.
    odd = select(literal_column("'100%'").label("share"), S.c.id).where(
        S.c.station_id == bindparam("station"), S.c.id_tag != bindparam("station")
    )
    plan = Plans(PG).require(odd, ("station",))
    assert [name for name, _, _ in plan.binds] == ["station"]
    assert "'100%'" in plan.sql and "%%" not in plan.sql and "%(" not in plan.sql
    assert plan.sql.count("$1") == 2 and "$2" not in plan.sql
    assert plan.params({"station": "CP-1"}) == ("CP-1",)


# -- a plain INSERT's rows as one statement (PostgreSQL) -------------------------------------------

PG = postgresql.psycopg.dialect()
SAMPLE_KEYS = ("station_id", "evse_id", "sampled_at", "unit", "value")


def test_plain_inserts_have_a_bulk_form_on_postgresql_only() -> None:
    sql = Statements("postgresql")
    assert Plans(PG).require(ADD_SAMPLE, SAMPLE_KEYS, many=True).bulk_sql is not None
    do_nothing = Plans(PG).require(sql.meter_value, SAMPLE_KEYS, many=True).bulk_sql
    assert do_nothing is not None and do_nothing.endswith("ON CONFLICT DO NOTHING")
    # An upsert could meet one row twice in one statement, which PostgreSQL refuses.
    status_keys = ("station_id", "evse_id", "connector_id", "status", "status_at")
    assert Plans(PG).require(sql.connector_status, status_keys, many=True).bulk_sql is None
    assert Plans(PG).require(INSERT_SESSION, ("station_id",), many=False).bulk_sql is None
    assert Plans(sqlite.dialect()).require(ADD_SAMPLE, SAMPLE_KEYS, many=True).bulk_sql is None


def test_bulk_rows_convert_as_one_by_one_and_refuse_what_json_cannot_hold() -> None:
    plan = Plans(PG).require(ADD_SAMPLE, SAMPLE_KEYS, many=True)
    row = {
        "station_id": "CP-1",
        "evse_id": 1,
        "sampled_at": NOW.astimezone(timezone(timedelta(hours=-5))),
        "unit": "Wh",
        "value": Decimal("0.000001"),
    }
    [document] = plan.bulk_rows([row])
    assert orjson.loads(document) == [
        {
            "station_id": "CP-1",
            "evse_id": 1,
            "sampled_at": "2025-03-01T12:00:00+00:00",
            "unit": "Wh",
            "value": "0.000001",
        }
    ]
    assert plan.bulk_rows([{**row, "unit": b"Wh"}]) is None, "no exact JSON form"
    # A naive time is refused here, and named on the row-by-row path, by the column's processor.
    naive = {**row, "sampled_at": datetime(2025, 3, 1)}
    assert plan.bulk_rows([naive]) is None
    with pytest.raises(ValueError, match="naive"):
        plan.params(naive)
