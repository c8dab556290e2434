"""XLSX exports for people: typed cells in the person's formats, in constant memory.

Numbers are numbers (a spreadsheet sums them), times are Excel dates in the person's time zone,
durations are time values shown ``[h]:mm:ss``; each column carries the display format of the
person's language (CLDR's, through Babel: day first with ``/`` in Belgian Dutch and French, ISO
dates in English as the console writes them). Excel shows the digits' separators as its own
locale says: the formats name only their places.

XlsxWriter in ``constant_memory`` mode writes each row to a temporary file as it comes and
keeps none of them; the workbook is zipped into a spooled temporary file (memory up to
``SPOOL_BYTES``, then disk) when the rows end, and read out in chunks. A zip's central
directory comes last, but a hand-rolled zip stream could send the first bytes sooner; it would
not use less memory (``bench/export_cost.py`` measures the peak: under 100 MiB for a million
rows), and XlsxWriter's cells, formats and column widths are the tested ones. A person's large
export runs in the background in the console (``voltflow.exports.jobs``) rather than waiting on
a request for the file's first byte.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import IO, Any
from zoneinfo import ZoneInfo

import xlsxwriter
from babel.dates import get_date_format, get_time_format
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from voltflow.exports.columns import Column, Columns, Kind, headers
from voltflow.i18n import formats, language

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
# Rows handed to the writer's thread at a time by the async writer.
BATCH_ROWS = 2000
_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year quirk: dates after)
_WIDTHS = {
    Kind.TEXT: 18,
    Kind.INTEGER: 10,
    Kind.DECIMAL: 12,
    Kind.MONEY: 13,
    Kind.KWH: 14,
    Kind.DATETIME: 17,
    Kind.DATE: 11,
    Kind.DURATION: 10,
}


@dataclass(frozen=True, slots=True)
class NumberFormats:
    """Excel number formats of a language."""

    integer: str
    decimal: str
    kwh: str
    money: str  # with ``¤`` where the currency's symbol goes
    datetime: str
    date: str
    duration: str

    def currency(self, code: str, lang: str) -> str:
        symbol = formats.locale(lang).currency_symbols.get(code, code)
        return self.money.replace("¤", symbol if symbol == "€" else f'"{symbol}"')


@cache
def number_formats(lang: str) -> NumberFormats:
    """``nl``/``fr``: ``dd/mm/yyyy hh:mm``, ``€ #,##0.00``; ``en``: ``yyyy-mm-dd hh:mm``,
    ``€#,##0.00``; ``#,##0.000 "kWh"`` in all."""
    day = _excel_date(lang)
    return NumberFormats(
        integer="0",
        decimal="#,##0.00####",
        kwh='#,##0.000 "kWh"',
        money=formats.CURRENCY_PATTERNS.get(lang, formats.CURRENCY_PATTERNS["en"]),
        datetime=f"{day} {_excel_time(lang)}",
        date=day,
        duration="[h]:mm:ss",
    )


_DATE_FIELD = re.compile(r"([dMy])\1*")


def _excel_date(lang: str) -> str:
    """The order and separator of the language's short date (CLDR), with two-digit days and
    months and four-digit years: ``d/MM/yy`` (fr_BE) → ``dd/mm/yyyy``."""
    iso = formats.ISO_PATTERNS.get(lang)
    pattern = iso["date"] if iso else str(get_date_format("short", locale=formats.locale(lang)))
    fields = list(_DATE_FIELD.finditer(pattern))
    if len(fields) != 3:
        return "yyyy-mm-dd"
    separator = pattern[fields[0].end() : fields[1].start()] or "-"
    names = {"d": "dd", "M": "mm", "y": "yyyy"}
    return separator.join(names[f.group(1)] for f in fields)


def _excel_time(lang: str) -> str:
    pattern = str(get_time_format("short", locale=formats.locale(lang)))
    return "hh:mm" if "H" in pattern else "h:mm AM/PM"


def _serial(value: datetime | date, zone: ZoneInfo) -> float:
    """Excel's day number of a moment (in ``zone``) or a date."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # stored UTC, read back naive from SQLite
            value = value.replace(tzinfo=UTC)
        local = value.astimezone(zone).replace(tzinfo=None)
        return (local - _EPOCH).total_seconds() / 86400
    return float((value - _EPOCH.date()).days)


Cell = Callable[[Worksheet, int, int, Any], None]


class XlsxEncoder:
    """Rows into one worksheet of a workbook written to ``out``."""

    def __init__(
        self, columns: Columns, out: IO[bytes], *, timezone: str, sheet: str = "Export"
    ) -> None:
        self.columns = list(columns)
        self.lang = language()
        self.zone = ZoneInfo(timezone)
        self.book = xlsxwriter.Workbook(
            out,
            {
                "constant_memory": True,
                # Values are written by their kind: text stays text, whatever it looks like.
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        self.sheet = self.book.add_worksheet(_sheet_name(sheet))
        self._row = 0
        self._writers = [self._cell_writer(c) for c in self.columns]
        for i, column in enumerate(self.columns):
            self.sheet.set_column(i, i, _WIDTHS[column.kind])

    def header(self) -> None:
        bold = self.book.add_format({"bold": True})
        for i, name in enumerate(headers(self.columns)):
            self.sheet.write_string(0, i, name, bold)
        self.sheet.freeze_panes(1, 0)
        self._row = 1

    def rows(self, rows: Iterable[Any]) -> None:
        sheet = self.sheet
        writers = self._writers
        n = self._row
        for row in rows:
            for i, write in enumerate(writers):
                write(sheet, n, i, row)
            n += 1
        self._row = n

    def close(self) -> None:
        self.book.close()

    def _format(self, code: str) -> Format:
        return self.book.add_format({"num_format": code})

    def _cell_writer(self, column: Column[Any]) -> Callable[[Worksheet, int, int, Any], None]:
        get = column.value
        fmts = number_formats(self.lang)
        kind = column.kind
        if kind is Kind.TEXT:
            display = column.display

            def text(sheet: Worksheet, r: int, c: int, row: Any) -> None:
                value = get(row)
                if value is not None:
                    sheet.write_string(r, c, display(value) if display else str(value))

            return text
        if kind is Kind.MONEY:
            by_currency: dict[str, Format] = {}

            def money(sheet: Worksheet, r: int, c: int, row: Any) -> None:
                value = get(row)
                if value is None:
                    return
                fmt = by_currency.get(value.currency)
                if fmt is None:
                    fmt = by_currency[value.currency] = self._format(
                        fmts.currency(value.currency, self.lang)
                    )
                sheet.write_number(r, c, float(value.amount), fmt)

            return money
        zone = self.zone
        convert: Callable[[Any], float]
        if kind is Kind.INTEGER:
            code, convert = fmts.integer, int
        elif kind is Kind.DECIMAL:
            code, convert = fmts.decimal, float
        elif kind is Kind.KWH:
            code, convert = fmts.kwh, lambda wh: int(wh) / 1000
        elif kind is Kind.DATETIME:
            code, convert = fmts.datetime, lambda v: _serial(v, zone)
        elif kind is Kind.DATE:
            code, convert = fmts.date, lambda v: _serial(v, zone)
        else:
            code, convert = fmts.duration, _days_of_duration
        fmt = self._format(code)

        def number(sheet: Worksheet, r: int, c: int, row: Any) -> None:
            value = get(row)
            if value is not None:
                sheet.write_number(r, c, convert(value), fmt)

        return number


def _days_of_duration(value: timedelta | int | Decimal) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return seconds / 86400


def _sheet_name(name: str) -> str:
    """Excel's rules: at most 31 characters, none of ``[]:*?/\\``."""
    return re.sub(r"[\[\]:*?/\\]", " ", name)[:31] or "Export"


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    spool.seek(0)
    while chunk := spool.read(CHUNK_BYTES):
        yield chunk


def iter_xlsx(
    columns: Columns, rows: Iterable[Any], *, timezone: str, sheet: str = "Export"
) -> Iterator[bytes]:
    """The XLSX file of ``rows`` in chunks, once the last row is written."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        encoder = XlsxEncoder(columns, spool, timezone=timezone, sheet=sheet)
        encoder.header()
        encoder.rows(rows)
        encoder.close()
        yield from _chunks(spool)


async def aiter_xlsx(
    columns: Columns, rows: AsyncIterable[Any], *, timezone: str, sheet: str = "Export"
) -> AsyncIterator[bytes]:
    """:func:`iter_xlsx` of rows read asynchronously: the cells are written in a thread, a
    batch at a time, so that the event loop serves other requests meanwhile."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        encoder = XlsxEncoder(columns, spool, timezone=timezone, sheet=sheet)
        encoder.header()
        batch: list[Any] = []
        async for row in rows:
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                await asyncio.to_thread(encoder.rows, batch)
                batch = []
        if batch:
            await asyncio.to_thread(encoder.rows, batch)
        await asyncio.to_thread(encoder.close)
        for chunk in _chunks(spool):
            yield chunk
