"""UTCDateTime and ExactDecimal keep their promises on both databases: aware UTC times in and out,
decimals exactly as stored."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncConnection

from voltflow.store.database import create_database
from voltflow.store.types import ExactDecimal, UTCDateTime

# A temporary table: private to the connection, gone with it, on both databases.
scratch = Table(
    "type_round_trip",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=True),
    Column("value", ExactDecimal, nullable=True),
    prefixes=["TEMPORARY"],
)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[AsyncConnection]:
    db = create_database(database_url)
    try:
        async with db.engine.connect() as c:
            await c.run_sync(scratch.create)
            yield c
            await c.rollback()
    finally:
        await db.dispose()


async def round_trip(conn: AsyncConnection, column: str, values: list[Any]) -> list[Any]:
    await conn.execute(insert(scratch), [{"id": i, column: v} for i, v in enumerate(values)])
    rows = await conn.execute(select(scratch.c[column]).order_by(scratch.c.id))
    return [r[0] for r in rows]


def tz(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


TIMES = [  # distinct instants; the comments give them in UTC
    datetime(2025, 3, 1, 12, 0, tzinfo=UTC),  # 03-01 12:00
    datetime(2025, 3, 1, 12, 0, 0, 1, tzinfo=UTC),  # microseconds survive
    datetime(2025, 3, 1, 15, 0, tzinfo=tz(2)),  # 03-01 13:00
    datetime(2025, 3, 1, 23, 30, tzinfo=tz(-12)),  # 03-02 11:30: the next day
    datetime(2025, 3, 1, 0, 30, tzinfo=tz(14)),  # 02-28 10:30: the previous day
    datetime(2025, 3, 1, 17, 0, tzinfo=tz(5.75)),  # 03-01 11:15
    datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC),
]


async def test_utc_datetime_round_trip(conn: AsyncConnection) -> None:
    back = await round_trip(conn, "at", [*TIMES, None])
    assert back == [*TIMES, None]  # the same instants
    for value in back[:-1]:
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)


async def test_utc_datetime_compares_as_instants_in_sql(conn: AsyncConnection) -> None:
    await round_trip(conn, "at", TIMES)
    rows = await conn.execute(select(scratch.c.at).order_by(scratch.c.at))
    assert [r[0] for r in rows] == sorted(TIMES)
    bound = datetime(2025, 3, 1, 13, 0, tzinfo=tz(1))  # 12:00 UTC
    rows = await conn.execute(select(scratch.c.at).where(scratch.c.at == bound))
    assert [r[0] for r in rows] == [TIMES[0]]
    rows = await conn.execute(
        select(scratch.c.id).where(scratch.c.at > bound).order_by(scratch.c.id)
    )
    assert [r[0] for r in rows] == [1, 2, 3, 8]


async def test_a_naive_datetime_is_refused(conn: AsyncConnection) -> None:
    with pytest.raises(StatementError, match="naive datetime refused"):
        await conn.execute(insert(scratch).values(id=1, at=datetime(2025, 3, 1, 12, 0)))


DECIMALS = [
    Decimal(0),
    Decimal("0.000001"),
    Decimal("-0.5"),
    Decimal("230.1"),
    Decimal("1500.000"),
    Decimal("1E+3"),
    Decimal("-350000"),
    Decimal("123456789012345678.123456"),  # all of NUMERIC(24, 6)
    Decimal("0.1") + Decimal("0.2"),  # what a float would get wrong
]


async def test_exact_decimal_round_trip(conn: AsyncConnection) -> None:
    back = await round_trip(conn, "value", [*DECIMALS, None])
    assert back == [*DECIMALS, None]
    assert all(type(v) is Decimal for v in back[:-1])
    assert back[-2] == Decimal("0.3")


# -- the conversions themselves, for every value hypothesis can think of ----------------------

DIALECTS = [sqlite.dialect(), postgresql.psycopg.dialect()]
aware_times = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.timezones()
)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@given(value=aware_times)
def test_utc_datetime_conversions(dialect: Any, value: datetime) -> None:
    t = UTCDateTime()
    stored = t.process_bind_param(value, dialect)
    assert stored is not None
    if dialect.name == "sqlite":
        assert stored.tzinfo is None  # SQLite keeps no zone: UTC by convention
    back = t.process_result_value(stored, dialect)
    # The same instant. (Not ``back == value``: by PEP 495, a local time in a DST gap never
    # equals a time in another zone.)
    assert back == value.astimezone(UTC) and back is not None
    assert back.timestamp() == value.timestamp() and back.utcoffset() == timedelta(0)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@given(value=st.decimals(allow_nan=False, allow_infinity=False))
def test_exact_decimal_conversions(dialect: Any, value: Decimal) -> None:
    t = ExactDecimal()
    back = t.process_result_value(t.process_bind_param(value, dialect), dialect)
    assert back == value and type(back) is Decimal


def test_none_passes_through() -> None:
    for dialect in DIALECTS:
        assert UTCDateTime().process_bind_param(None, dialect) is None
        assert UTCDateTime().process_result_value(None, dialect) is None
        assert ExactDecimal().process_bind_param(None, dialect) is None
        assert ExactDecimal().process_result_value(None, dialect) is None


@given(value=aware_times)
def test_sqlite_bind_in_one_step_stores_what_sqlalchemy_would(value: datetime) -> None:
    """The fused processor (UTC, then SQLAlchemy's DATETIME text) writes exactly the text the
    two steps wrote, so rows written either way compare and sort alike."""
    dialect = sqlite.dialect()
    t = UTCDateTime()
    fused = t.bind_processor(dialect)
    assert fused is not None
    text_processor = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert text_processor is not None
    assert fused(value) == text_processor(t.process_bind_param(value, dialect))
    assert fused(None) is None
    with pytest.raises(ValueError, match="naive"):
        fused(value.replace(tzinfo=None))


@given(first=aware_times, second=aware_times)
def test_sqlite_bind_repeats_the_last_time_and_no_other(first: datetime, second: datetime) -> None:
    """The same time object twice (a MeterValue's readings) gets the same text; any other time,
    even an equal one in another zone, its own."""
    dialect = sqlite.dialect()
    t = UTCDateTime()
    fused = t.bind_processor(dialect)
    text_processor = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert fused is not None and text_processor is not None

    def expected(value: datetime) -> str:
        return str(text_processor(t.process_bind_param(value, dialect)))

    for value in (first, first, second, first, second, second):
        assert fused(value) == expected(value)


@given(value=st.decimals(allow_nan=False, allow_infinity=False))
def test_sqlite_decimal_bind_is_the_text_the_two_steps_wrote(value: Decimal) -> None:
    dialect = sqlite.dialect()
    t = ExactDecimal()
    fused = t.bind_processor(dialect)
    assert fused is not None
    assert fused(value) == t.process_bind_param(value, dialect)
    assert fused(None) is None
