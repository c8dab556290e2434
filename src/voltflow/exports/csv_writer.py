"""CSV exports, streamed: bytes chunks as rows come, never the whole file in memory.

CSV is for programs (accounting imports, scripts, other databases), so values are written in
machine formats whatever the person's language: times in ISO 8601 UTC with ``Z``, a ``.``
decimal point and no grouping, energy in kWh with three decimals (exactly the stored Wh),
durations in seconds, an amount and its ISO currency in two columns, codes rather than their
names. A program reads such a file the same way wherever it was made; a comma decimal or a local
time would depend on who clicked. Only the header row is in the person's language, since people
open these files to see what is in them; spreadsheets for people are the XLSX export's job.
UTF-8, without a byte-order mark, lines ending in LF as PostgreSQL's ``COPY`` ends them (the
sessions export has its text made by the database, see ``SessionRepository.csv_lines``: both
paths give the same bytes).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from voltflow.domain.money import Money
from voltflow.exports.columns import Column, Columns, Kind, headers
from voltflow.i18n import _

MEDIA_TYPE = "text/csv; charset=utf-8"
# Rows per chunk: about 64 KiB of a sessions export, few enough writes to the socket.
CHUNK_ROWS = 500


def _text(value: Any) -> str:
    return str(value)


def _integer(value: Any) -> str:
    return str(int(value))


def _decimal(value: Any) -> str:
    return format(Decimal(value), "f")


def _kwh(wh: Any) -> str:
    wh = int(wh)
    kwh, rest = divmod(-wh if wh < 0 else wh, 1000)
    return f"{'-' if wh < 0 else ''}{kwh}.{rest:03d}"


def _datetime(value: datetime) -> str:
    if value.tzinfo is not UTC:
        # Naive: stored UTC, read back without its zone; another offset: converted.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="seconds")[:19] + "Z"


def _date(value: date) -> str:
    return value.isoformat()


def _duration(value: timedelta | int) -> str:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    return str(int(seconds))


_FORMATS: dict[Kind, Callable[[Any], str]] = {
    Kind.TEXT: _text,
    Kind.INTEGER: _integer,
    Kind.DECIMAL: _decimal,
    Kind.KWH: _kwh,
    Kind.DATETIME: _datetime,
    Kind.DATE: _date,
    Kind.DURATION: _duration,
}


class CsvEncoder:
    """Rows to CSV bytes, a batch at a time."""

    def __init__(self, columns: Columns) -> None:
        self.columns = list(columns)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")
        self._cells = _row_function(self.columns)

    def header(self) -> bytes:
        names: list[str] = []
        for column, name in zip(self.columns, headers(self.columns), strict=True):
            names.append(name)
            if column.kind is Kind.MONEY:
                names.append(_("%(column)s (currency)") % {"column": name})
        return self._flush([names])

    def rows(self, rows: Iterable[Any]) -> bytes:
        return self._flush(list(map(self._cells, rows)))

    def _flush(self, lines: list[list[Any]]) -> bytes:
        self._writer.writerows(lines)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode()


def _money(value: Money | None) -> tuple[str, str]:
    if value is None:
        return ("", "")
    return (format(Decimal(value.amount), "f"), str(value.currency))


def _row_function(columns: list[Column[Any]]) -> Callable[[Any], list[Any]]:
    """One function from a row to its cells, compiled once: a million rows make nine million
    cells, and a call less per cell is a good part of the export's time. Text and integers go
    to the csv module as they are (it writes None as an empty field, a number as its digits).
    The source is made of the column indexes alone."""
    names: dict[str, Any] = {"_money": _money}
    cells: list[str] = []
    for i, column in enumerate(columns):
        names[f"g{i}"] = column.value
        if column.kind is Kind.MONEY:
            cells.append(f"*_money(g{i}(r))")
        elif column.kind in (Kind.TEXT, Kind.INTEGER):
            cells.append(f"g{i}(r)")
        else:
            names[f"f{i}"] = _FORMATS[column.kind]
            cells.append(f"(None if (v{i} := g{i}(r)) is None else f{i}(v{i}))")
    function: Callable[[Any], list[Any]] = eval(f"lambda r: [{', '.join(cells)}]", names)
    return function


def iter_csv(columns: Columns, rows: Iterable[Any]) -> Iterator[bytes]:
    """The CSV file of ``rows``, in chunks: the header first, then a chunk every
    ``CHUNK_ROWS`` rows, as the rows come."""
    encoder = CsvEncoder(columns)
    yield encoder.header()
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK_ROWS:
            yield encoder.rows(batch)
            batch.clear()
    if batch:
        yield encoder.rows(batch)


async def aiter_csv(columns: Columns, rows: AsyncIterable[Any]) -> AsyncIterator[bytes]:
    """:func:`iter_csv` of rows read asynchronously (from the database, as they are fetched)."""
    encoder = CsvEncoder(columns)
    yield encoder.header()
    batch: list[Any] = []
    async for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK_ROWS:
            yield encoder.rows(batch)
            batch.clear()
    if batch:
        yield encoder.rows(batch)
