"""What an export holds: its columns, each with a header (a message, translated when the export
is written), a kind that says how a value is written, and how a row gives its value."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

R = TypeVar("R")


class Kind(enum.Enum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"  # a domain Money: amount and currency
    KWH = "kwh"  # energy given in Wh (an int), written in kWh
    DATETIME = "datetime"  # an aware UTC datetime, shown in a time zone where people read it
    DATE = "date"
    DURATION = "duration"  # a timedelta, or seconds


@dataclass(frozen=True, slots=True)
class Column(Generic[R]):
    """One column. ``header`` is called when the export is written, in the language of the work
    in hand (pass ``lambda: _("Start")``, never an already translated text). ``value`` gives the
    row's value of the column's kind, or None for an empty cell. ``display``, for text columns,
    is how people read a code (a session type's name): spreadsheets show it, machine formats
    keep the code."""

    name: str
    header: Callable[[], str]
    kind: Kind
    value: Callable[[R], Any]
    display: Callable[[Any], str] | None = None


Columns = Sequence[Column[Any]]


def headers(columns: Columns) -> list[str]:
    return [str(c.header()) for c in columns]
