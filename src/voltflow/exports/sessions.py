"""The sessions list as a file: the columns the console's sessions page shows, in its order."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from voltflow.domain.access import PLATFORM, Actor
from voltflow.domain.queries import SessionFilter
from voltflow.domain.records import Session
from voltflow.exports import csv_writer, xlsx_writer
from voltflow.exports.columns import Column, Kind
from voltflow.exports.csv_writer import aiter_csv
from voltflow.exports.xlsx_writer import aiter_xlsx
from voltflow.i18n import _, pgettext, terms
from voltflow.services.sessions import SessionService


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def session_columns(now: datetime) -> list[Column[Session]]:
    """A session still charging has no end; its duration and energy are those so far (at
    ``now``, and its last meter reading), as the page shows them."""

    def duration(s: Session) -> timedelta:
        return _aware(s.stopped_at or now) - _aware(s.started_at)

    def energy(s: Session) -> int | None:
        return s.energy_wh if s.energy_wh is not None else s.live_energy_wh

    return [
        Column("started_at", lambda: _("Start"), Kind.DATETIME, lambda s: s.started_at),
        Column("stopped_at", lambda: _("End"), Kind.DATETIME, lambda s: s.stopped_at),
        Column("station_id", lambda: _("Station"), Kind.TEXT, lambda s: s.station_id),
        Column("connector", lambda: _("Connector"), Kind.INTEGER, lambda s: s.evse_id),
        Column("id_tag", lambda: _("Token"), Kind.TEXT, lambda s: s.id_tag),
        Column("duration", lambda: _("Duration"), Kind.DURATION, duration),
        Column("energy", lambda: _("Energy"), Kind.KWH, energy),
        Column("stop_reason", lambda: _("Stop reason"), Kind.TEXT, lambda s: s.stop_reason),
        Column(
            "session_type",
            lambda: _("Type"),
            Kind.TEXT,
            lambda s: s.session_type,
            display=terms.session_type,
        ),
    ]


def export_filename(kind: str, extension: str, now: datetime) -> str:
    """``sessions-20261205-1412.csv``: what and when, in UTC."""
    return f"{kind}-{now.astimezone(UTC):%Y%m%d-%H%M}.{extension}"


FORMATS = ("csv", "xlsx")


@dataclass(frozen=True, slots=True)
class ExportFile:
    """How to write the sessions in one of the ``FORMATS``: its writer (rows in, bytes chunks
    out), media type and file name."""

    fmt: str
    media_type: str
    filename: str
    columns: Sequence[Column[Any]]
    now: datetime
    write: Callable[[AsyncIterable[Any]], AsyncIterator[bytes]]

    @property
    def disposition(self) -> str:
        return f'attachment; filename="{self.filename}"'

    def stream(
        self, sessions: SessionService, filters: SessionFilter, *, actor: Actor = PLATFORM
    ) -> AsyncIterator[bytes]:
        """The file of the sessions ``filters`` finds for ``actor``. A CSV's lines have their
        text made by the database (``SessionService.csv_lines``), after the header in the
        person's language; an XLSX's rows are read as records and written here."""
        if self.fmt == "csv":
            lines = sessions.csv_lines(filters, actor=actor, now=self.now)
            return _after_header(self.columns, lines)
        return self.write(sessions.export(filters, actor=actor))


async def _after_header(
    columns: Sequence[Column[Any]], lines: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    yield csv_writer.CsvEncoder(columns).header()
    async for chunk in lines:
        yield chunk


def sessions_file(fmt: str, *, now: datetime, timezone: str) -> ExportFile:
    """The sessions export in ``fmt`` (``csv`` or ``xlsx``); XLSX times in ``timezone``. Its
    headers and sheet name are in the language of the work in hand when the file is written."""
    columns = session_columns(now)
    if fmt == "csv":
        return ExportFile(
            fmt,
            csv_writer.MEDIA_TYPE,
            export_filename("sessions", "csv", now),
            columns,
            now,
            lambda rows: aiter_csv(columns, rows),
        )
    if fmt == "xlsx":
        sheet = pgettext("charging", "Sessions")
        return ExportFile(
            fmt,
            xlsx_writer.MEDIA_TYPE,
            export_filename("sessions", "xlsx", now),
            columns,
            now,
            lambda rows: aiter_xlsx(columns, rows, timezone=timezone, sheet=sheet),
        )
    raise ValueError(f"unknown export format: {fmt}")
