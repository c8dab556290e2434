"""Column types that keep the domain's promises on every database: UTC times, exact decimals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; returns aware UTC datetimes (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: the platform stores UTC only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, the text SQLAlchemy's DATETIME would store, in one step: every logged
        frame and meter value carries a time, and the two steps cost twice as much."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        # The last time converted and its text: the readings of one MeterValue share their time,
        # row after row. One tuple, replaced whole, so that two threads never see half of it;
        # it holds the time, so the identity test cannot meet a new object at a freed address.
        last: list[tuple[datetime | None, str | None]] = [(None, None)]

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            seen, text = last[0]
            if value is seen:
                return text
            utc = value
            if utc.tzinfo is not UTC:
                if utc.tzinfo is None:
                    raise ValueError("naive datetime refused: the platform stores UTC only")
                utc = utc.astimezone(UTC)
            # SQLAlchemy's SQLite DATETIME format: "YYYY-MM-DD HH:MM:SS.ffffff", here without
            # the "+00:00" an aware time's isoformat ends with (a UTC time, the usual one, is
            # converted in one call).
            text = utc.isoformat(" ", "microseconds")[:26]
            last[0] = (value, text)
            return text

        return process


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC where the database has it; text on SQLite, whose REAL would lose digits."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(24, 6, asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return value
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, the text in one call (three readings a MeterValues message)."""
        if dialect.name == "postgresql":
            return super().bind_processor(dialect)

        def process(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return process
