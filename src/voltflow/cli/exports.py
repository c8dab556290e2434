"""``voltflow export``: lists as CSV or XLSX files, written as they are read."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import run_async, settings_of, with_platform
from voltflow.domain.access import PLATFORM
from voltflow.domain.activity import ActivityFilter, ActivityRow, View
from voltflow.domain.queries import SessionFilter
from voltflow.domain.records import Session
from voltflow.domain.session_types import SessionType
from voltflow.exports.activity import activity_file, rows_of
from voltflow.exports.sessions import FORMATS, sessions_file
from voltflow.i18n import _, formats

# Progress is worth a line on stderr from this many rows on, every this many rows.
PROGRESS_FROM = 20_000
PROGRESS_EVERY = 50_000


def file_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """What every export takes: its format, its days and the file to write."""
    for option in reversed(
        [
            click.option(
                "--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
                help="csv: machine formats (UTC, kWh with a decimal point); xlsx: spreadsheets.",
            ),
            click.option(
                "--from", "day_from", type=click.DateTime(["%Y-%m-%d"]), default=None,
                help="Sessions started on this day or later (in the platform's time zone).",
            ),
            click.option(
                "--to", "day_to", type=click.DateTime(["%Y-%m-%d"]), default=None,
                help="Sessions started on this day or earlier (in the platform's time zone).",
            ),
            click.option(
                "-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), required=True,
                help="The file to write (- for standard output).",
            ),
        ]
    ):  # fmt: skip
        command = option(command)
    return command


async def _save(chunks: AsyncIterator[bytes], output: str) -> None:
    """Into ``output`` whole or not at all (a partial file is renamed once complete)."""
    if output == "-":
        await _write(chunks, sys.stdout.buffer)
        return
    target = Path(output)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as out:
            await _write(chunks, out)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


@click.group("export")
def export() -> None:
    """Export lists to files."""


@export.command("sessions")
@file_options
@click.option("--station", "station_id", default=None, help="Only this station's sessions.")
@click.pass_context
@run_async
async def export_sessions(
    ctx: click.Context,
    fmt: str,
    station_id: str | None,
    day_from: datetime | None,
    day_to: datetime | None,
    output: str,
) -> None:
    """Every session (or a station's, or those of some days), newest first."""
    settings = settings_of(ctx)
    zone = ZoneInfo(settings.timezone)
    filters = SessionFilter(
        station_id=station_id,
        started_from=_start_of(day_from.date(), zone) if day_from else None,
        started_to=_start_of(day_to.date() + timedelta(days=1), zone) if day_to else None,
    )

    async def work(platform: Platform) -> None:
        total = await platform.sessions.count(filters)
        file = sessions_file(fmt, now=datetime.now(UTC), timezone=settings.timezone)
        progress = _Progress(total)
        if fmt == "csv":
            # Lines as they come (from the database's COPY on PostgreSQL), counted as written.
            chunks = progress.lines(file.stream(platform.sessions, filters))
        else:
            chunks = file.write(progress.rows(platform.sessions.export(filters)))
        await _save(chunks, output)
        if output == "-":
            return
        click.echo(
            _("%(count)s sessions written to %(file)s")
            % {"count": formats.number(total), "file": output},
            err=True,
        )

    await with_platform(settings, work)


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


async def _write(chunks: AsyncIterator[bytes], out: IO[bytes]) -> None:
    async for chunk in chunks:
        out.write(chunk)
    out.flush()


class _Progress:
    """A line on stderr every ``PROGRESS_EVERY`` sessions of a large export."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.said = 0

    def _add(self, n: int) -> None:
        self.done += n
        if self.total < PROGRESS_FROM:
            return
        while self.done - self.said >= PROGRESS_EVERY:
            self.said += PROGRESS_EVERY
            click.echo(
                _("%(done)s of %(total)s sessions…")
                % {"done": formats.number(self.said), "total": formats.number(self.total)},
                err=True,
            )

    async def rows(self, rows: AsyncIterator[Session]) -> AsyncIterator[Session]:
        async for row in rows:
            yield row
            self._add(1)

    async def lines(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """CSV chunks, counted by their lines (the header's too: one more than the rows, at
        most; a line break inside a quoted field would count once more)."""
        first = True
        async for chunk in chunks:
            yield chunk
            lines = chunk.count(b"\n")
            if first:
                lines -= 1
                first = False
            self._add(lines)


@export.command("activity")
@file_options
@click.option(
    "--view", type=click.Choice(["charge-points", "mobility"]), default="mobility",
    show_default=True, help="charge-points: the stations' side; mobility: the cards' side.",
)  # fmt: skip
@click.option(
    "--type", "types", multiple=True, type=click.Choice([str(t) for t in SessionType]),
    help="Only sessions of this type (again for more).",
)  # fmt: skip
@click.option(
    "--organisation",
    "organisation_id",
    type=int,
    default=None,
    help="Only this organisation's stations (charge-points) or cards (mobility).",
)
@click.pass_context
@run_async
async def export_activity(
    ctx: click.Context,
    view: str,
    fmt: str,
    types: tuple[str, ...],
    organisation_id: int | None,
    day_from: datetime | None,
    day_to: datetime | None,
    output: str,
) -> None:
    """Finished sessions as an activity view shows them, with their types and prices."""
    settings = settings_of(ctx)
    zone = ZoneInfo(settings.timezone)
    chosen = View.CHARGE_POINTS if view == "charge-points" else View.MOBILITY
    filters = ActivityFilter(
        types=frozenset(SessionType(t) for t in types),
        organisation_id=organisation_id,
        started_from=_start_of(day_from.date(), zone) if day_from else None,
        started_to=_start_of(day_to.date() + timedelta(days=1), zone) if day_to else None,
    )

    async def work(platform: Platform) -> None:
        file = activity_file(chosen, fmt, now=datetime.now(UTC), timezone=settings.timezone)
        counted = _Counted()
        batches = platform.activity_views.rows(PLATFORM, chosen, filters)
        chunks = file.write(counted.rows(rows_of(batches)))
        await _save(chunks, output)
        if output == "-":
            return
        click.echo(
            _("%(count)s sessions written to %(file)s")
            % {"count": formats.number(counted.count), "file": output},
            err=True,
        )

    await with_platform(settings, work)


class _Counted:
    def __init__(self) -> None:
        self.count = 0

    async def rows(self, rows: AsyncIterator[ActivityRow]) -> AsyncIterator[ActivityRow]:
        async for row in rows:
            self.count += 1
            yield row
