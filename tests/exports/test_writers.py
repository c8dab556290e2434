"""The export writers: CSV in machine formats whatever the language, XLSX read back with openpyxl
(cell types and number formats per language), and both streamed: chunks come as rows come."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from voltflow.domain.money import Money
from voltflow.domain.records import Session
from voltflow.exports import Column, Kind, aiter_csv, aiter_xlsx, iter_csv, iter_xlsx
from voltflow.exports.csv_writer import CHUNK_ROWS
from voltflow.exports.sessions import session_columns
from voltflow.exports.xlsx_writer import number_formats
from voltflow.i18n import terms, use


@dataclass
class Row:
    value: Any


def one(kind: Kind, header: str = "Value") -> list[Column[Row]]:
    return [Column("value", lambda: header, kind, lambda r: r.value)]


def csv_lines(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize(
    ("kind", "value", "cells"),
    [
        (Kind.TEXT, 'Lötzinn, "quoted"', ['Lötzinn, "quoted"']),
        (Kind.TEXT, None, [""]),
        (Kind.INTEGER, 42, ["42"]),
        (Kind.DECIMAL, Decimal("1234.5000"), ["1234.5000"]),
        (Kind.DECIMAL, Decimal("0.25"), ["0.25"]),
        (Kind.KWH, 3667, ["3.667"]),
        (Kind.KWH, 1234567, ["1234.567"]),
        (Kind.KWH, -500, ["-0.500"]),
        (Kind.KWH, 0, ["0.000"]),
        (Kind.MONEY, Money(Decimal("2.44"), "EUR"), ["2.44", "EUR"]),
        (Kind.MONEY, None, ["", ""]),
        (
            Kind.DATETIME,
            datetime(2026, 3, 29, 1, 30, 5, tzinfo=UTC),
            ["2026-03-29T01:30:05Z"],
        ),
        # Another offset is written in UTC; a naive value (SQLite's) is UTC already.
        (
            Kind.DATETIME,
            datetime(2026, 7, 1, 12, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Brussels")),
            ["2026-07-01T12:00:00Z"],
        ),
        (Kind.DATETIME, datetime(2026, 7, 1, 12, 0), ["2026-07-01T12:00:00Z"]),
        (Kind.DATE, date(2026, 12, 5), ["2026-12-05"]),
        (Kind.DURATION, timedelta(hours=26, seconds=7), ["93607"]),
        (Kind.DURATION, 90, ["90"]),
    ],
)
@pytest.mark.parametrize("lang", ["en", "nl", "fr"])
def test_csv_machine_formats_in_every_language(
    kind: Kind, value: Any, cells: list[str], lang: str
) -> None:
    with use(lang):
        data = b"".join(iter_csv(one(kind), [Row(value)]))
    assert csv_lines(data)[1] == cells


def test_csv_headers_in_the_persons_language_and_lf_lines() -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    with use("nl"):
        data = b"".join(iter_csv(session_columns(now), []))
    assert data.decode() == (
        "Start,Einde,Laadpaal,Aansluiting,Token,Duur,Energie,Reden van stoppen,Type\n"
    )
    with use("fr"):
        money = b"".join(iter_csv(one(Kind.MONEY, "Montant"), []))
    assert money.decode().startswith("Montant,")
    assert not data.startswith(b"\xef\xbb\xbf")  # no byte-order mark


def session(**changes: Any) -> Session:
    base: dict[str, Any] = {
        "id": 7,
        "station_id": "CP-1",
        "evse_id": 2,
        "connector_id": 2,
        "id_tag": "04A2BC11",
        "auth_status": "Accepted",
        "reservation_id": None,
        "started_at": datetime(2026, 1, 31, 13, 5, tzinfo=UTC),
        "meter_start_wh": 1000,
        "stopped_at": datetime(2026, 1, 31, 14, 20, 30, tzinfo=UTC),
        "meter_stop_wh": 4667,
        "energy_wh": 3667,
        "stop_reason": "EVDisconnected",
        "stop_id_tag": None,
        "session_type": "split_billing",
        "type_reason": None,
        "created_at": datetime(2026, 1, 31, 13, 5, tzinfo=UTC),
    }
    return Session(**{**base, **changes})


def test_a_session_still_charging_has_its_duration_and_energy_so_far() -> None:
    now = datetime(2026, 1, 31, 13, 35, tzinfo=UTC)
    charging = session(stopped_at=None, meter_stop_wh=None, energy_wh=None, live_energy_wh=1500)
    lines = csv_lines(b"".join(iter_csv(session_columns(now), [charging])))
    assert lines[1] == [
        "2026-01-31T13:05:00Z", "", "CP-1", "2", "04A2BC11", "1800", "1.500", "EVDisconnected",
        "split_billing",
    ]  # fmt: skip


def read_xlsx(data: bytes) -> list[list[Any]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [list(row) for row in book.active.iter_rows()]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("lang", "when", "kwh", "euro"),
    [
        ("nl", "dd/mm/yyyy hh:mm", '#,##0.000 "kWh"', "€ #,##0.00"),
        ("fr", "dd/mm/yyyy hh:mm", '#,##0.000 "kWh"', "€ #,##0.00"),
        ("en", "yyyy-mm-dd hh:mm", '#,##0.000 "kWh"', "€#,##0.00"),
    ],
)
def test_xlsx_typed_cells_in_the_languages_formats(
    lang: str, when: str, kwh: str, euro: str
) -> None:
    from voltflow.i18n import pgettext

    now = datetime(2026, 2, 1, tzinfo=UTC)
    columns: list[Column[Any]] = [
        *session_columns(now),
        Column("price", lambda: "Price", Kind.MONEY, lambda s: Money(Decimal("12.34"), "EUR")),
        Column("day", lambda: "Day", Kind.DATE, lambda s: date(2026, 1, 31)),
        Column("rate", lambda: "Rate", Kind.DECIMAL, lambda s: Decimal("0.3456")),
        Column("formula", lambda: "Note", Kind.TEXT, lambda s: "=1+1"),
    ]
    with use(lang):
        data = b"".join(
            iter_xlsx(
                columns,
                [session()],
                timezone="Europe/Brussels",
                sheet=pgettext("charging", "Sessions"),
            )
        )
        headers = [str(c.header()) for c in columns]
        sheet = pgettext("charging", "Sessions")
        type_name = terms.session_type("split_billing")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == [sheet]
    head, row = read_xlsx(data)
    assert [c.value for c in head] == headers
    assert all(c.font.b for c in head)
    (
        start,
        end,
        station,
        connector,
        token,
        duration,
        energy,
        reason,
        kind,
        price,
        day,
        rate,
        note,
    ) = row
    # 13:05 UTC is 14:05 in Brussels in winter: the person's time, as an Excel date.
    assert (start.value, start.number_format) == (datetime(2026, 1, 31, 14, 5), when)
    assert end.value == datetime(2026, 1, 31, 15, 20, 30)
    assert (station.value, station.data_type) == ("CP-1", "s")
    assert (connector.value, connector.number_format) == (2, "0")
    assert (duration.value, duration.number_format) == (
        timedelta(hours=1, minutes=15, seconds=30),
        "[h]:mm:ss",
    )
    assert (energy.value, energy.number_format, energy.data_type) == (3.667, kwh, "n")
    assert (token.value, reason.value) == ("04A2BC11", "EVDisconnected")
    assert kind.value == type_name  # the type's name, not its code
    assert (price.value, price.number_format) == (12.34, euro)
    assert (day.value, day.number_format) == (datetime(2026, 1, 31), when.split(" ")[0])
    assert rate.value == pytest.approx(0.3456)
    assert (note.value, note.data_type) == ("=1+1", "s")  # text, never a formula


def test_xlsx_summer_time_and_an_empty_end() -> None:
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)
    charging = session(
        started_at=datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
        stopped_at=None,
        energy_wh=None,
        live_energy_wh=None,
    )
    _, row = read_xlsx(
        b"".join(iter_xlsx(session_columns(now), [charging], timezone="Europe/Brussels"))
    )
    assert row[0].value == datetime(2026, 7, 1, 12, 0)
    assert row[1].value is None and row[6].value is None
    assert row[5].value == timedelta(hours=2)


def test_number_formats_follow_babels_short_dates() -> None:
    # CLDR: nl_BE d/MM/y, fr_BE d/MM/yy: day first with slashes; English keeps ISO dates.
    assert number_formats("nl").date == "dd/mm/yyyy"
    assert number_formats("fr").datetime == "dd/mm/yyyy hh:mm"
    assert number_formats("en").datetime == "yyyy-mm-dd hh:mm"


class Produced:
    """Rows made on demand, counting how many were asked for."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.made = 0

    def __iter__(self) -> Iterator[Row]:
        for i in range(self.total):
            self.made += 1
            yield Row(i)

    async def __aiter__(self) -> AsyncIterator[Row]:
        for i in range(self.total):
            self.made += 1
            await asyncio.sleep(0)
            yield Row(i)


def test_csv_chunks_come_before_the_last_row_is_made() -> None:
    rows = Produced(CHUNK_ROWS * 10)
    chunks = iter_csv(one(Kind.INTEGER), rows)
    assert next(chunks) == b"Value\n"
    assert rows.made == 0  # the header is out before any row is read
    first = next(chunks)
    assert first.startswith(b"0\n1\n")
    assert rows.made == CHUNK_ROWS  # one chunk's rows, not the ten
    rest = b"".join(chunks)
    assert rows.made == rows.total
    assert len(csv_lines(b"Value\n" + first + rest)) == rows.total + 1


async def test_async_csv_chunks_come_before_the_last_row_is_made() -> None:
    rows = Produced(CHUNK_ROWS * 4)
    chunks = aiter_csv(one(Kind.INTEGER), rows)
    await anext(chunks)
    await anext(chunks)
    assert rows.made == CHUNK_ROWS
    assert len([c async for c in chunks]) == 3
    assert rows.made == rows.total


async def test_async_xlsx_holds_every_row() -> None:
    rows = Produced(5000)
    data = b"".join([c async for c in aiter_xlsx(one(Kind.INTEGER), rows, timezone="UTC")])
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    values = [r[0] for r in book.active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    assert values == ["Value", *range(5000)]
