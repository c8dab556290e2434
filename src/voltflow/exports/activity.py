"""The activity views (``domain.activity``) as files: each view's columns, in its order, with
its filters. The mobility view's "kWh – h:mm:ss" is two typed columns here, energy and duration,
so that a spreadsheet can add them up."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime
from decimal import Decimal

from voltflow.domain.activity import ActivityRow, View
from voltflow.domain.money import Money
from voltflow.exports import csv_writer, xlsx_writer
from voltflow.exports.columns import Column, Kind
from voltflow.exports.csv_writer import aiter_csv
from voltflow.exports.sessions import ExportFile, export_filename
from voltflow.exports.xlsx_writer import aiter_xlsx
from voltflow.i18n import _, terms


def _money(amount: Decimal | None, currency: str | None) -> Money | None:
    return None if amount is None else Money(amount, currency or "EUR")


def _duration(row: ActivityRow) -> object:
    return None if row.stopped_at is None else row.stopped_at - row.started_at


def _driver_price(row: ActivityRow) -> Money | None:
    # As the views show it: a price for public sessions; split billing, whitelist and invalid
    # sessions cost the driver nothing.
    if row.session_type != "normal":
        return None
    return _money(row.price_incl_vat, row.currency)


def _reimbursement(row: ActivityRow) -> Money | None:
    # What the employee receives for a split-billing session; nothing for the other types.
    return _money(row.host_amount, row.currency) if row.host_party == "employee" else None


def _type() -> Column[ActivityRow]:
    return Column(
        "session_type",
        lambda: _("Session type"),
        Kind.TEXT,
        lambda r: r.session_type,
        display=terms.session_type,
    )


def activity_columns(view: View) -> list[Column[ActivityRow]]:
    if view is View.CHARGE_POINTS:
        return [
            Column("started_at", lambda: _("Start time"), Kind.DATETIME, lambda r: r.started_at),
            Column("stopped_at", lambda: _("End time"), Kind.DATETIME, lambda r: r.stopped_at),
            Column("station_id", lambda: _("Charging station"), Kind.TEXT, lambda r: r.station_id),
            Column("connector", lambda: _("Connector"), Kind.INTEGER, lambda r: r.evse_id),
            Column("duration", lambda: _("Duration"), Kind.DURATION, _duration),
            Column("energy", lambda: _("kWh"), Kind.KWH, lambda r: r.energy_wh),
            Column(
                "price_host",
                lambda: _("Price (host)"),
                Kind.MONEY,
                lambda r: _money(r.host_amount, r.currency),
            ),
            Column("service_provider", lambda: _("SP"), Kind.TEXT, lambda r: r.service_provider),
            _type(),
        ]
    columns: list[Column[ActivityRow]] = [
        Column("started_at", lambda: _("Time"), Kind.DATETIME, lambda r: r.started_at),
        Column("user", lambda: _("User"), Kind.TEXT, lambda r: r.driver or r.id_tag),
        Column("operator", lambda: _("Operator"), Kind.TEXT, lambda r: r.operator),
        Column("energy", lambda: _("kWh"), Kind.KWH, lambda r: r.energy_wh),
        Column("duration", lambda: _("Duration"), Kind.DURATION, _duration),
        _type(),
        Column("price_incl_vat", lambda: _("Price (incl. VAT)"), Kind.MONEY, _driver_price),
    ]
    if view is View.MINE:
        columns.append(
            Column("reimbursed", lambda: _("Reimbursed to you"), Kind.MONEY, _reimbursement)
        )
    else:
        # The employer's side of a split-billing session (a station's or an imported one).
        columns.append(
            Column("reimbursement", lambda: _("Reimbursement"), Kind.MONEY, _reimbursement)
        )
    return columns


async def rows_of(batches: AsyncIterable[list[ActivityRow]]) -> AsyncIterator[ActivityRow]:
    async for batch in batches:
        for row in batch:
            yield row


def activity_file(view: View, fmt: str, *, now: datetime, timezone: str) -> ExportFile:
    """The view in ``fmt`` (``csv`` or ``xlsx``), its headers in the language of the moment."""
    columns = activity_columns(view)
    name = f"activity-{view.value.replace('_', '-')}"
    if fmt == "csv":
        return ExportFile(
            fmt,
            csv_writer.MEDIA_TYPE,
            export_filename(name, "csv", now),
            columns,
            now,
            lambda rows: aiter_csv(columns, rows),
        )
    if fmt == "xlsx":
        sheet = _("Activity")
        return ExportFile(
            fmt,
            xlsx_writer.MEDIA_TYPE,
            export_filename(name, "xlsx", now),
            columns,
            now,
            lambda rows: aiter_xlsx(columns, rows, timezone=timezone, sheet=sheet),
        )
    raise ValueError(f"unknown export format: {fmt}")
