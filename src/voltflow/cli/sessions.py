"""``voltflow sessions``: charging sessions."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import run_async, settings_of, with_platform
from voltflow.domain.access import PLATFORM
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import SessionFilter
from voltflow.domain.session_prices import Party, PriceLine, line_of
from voltflow.i18n import _, formats, pgettext, terms


def _amount(line: PriceLine | None) -> str:
    return "-" if line is None else formats.money(line.incl_vat, line.currency)


@click.group()
def sessions() -> None:
    """Charging sessions."""


@sessions.command("list")
@click.option("--station", "station_id", default=None, help="Only this station.")
@click.option("--active", is_flag=True, help="Only sessions still charging.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@run_async
async def sessions_list(
    ctx: click.Context, station_id: str | None, active: bool, limit: int, as_json: bool
) -> None:
    """List the most recent sessions with their types and prices: what the driver pays, and
    what the host or the employee receives."""
    from voltflow.domain.sessions import format_duration, format_kwh

    async def work(p: Platform) -> None:
        page = await p.sessions.search(
            SessionFilter(station_id=station_id, active=True if active else None),
            PageRequest(limit=limit),
        )
        lines = await p.pricing.repo.current([s.id for s in page.items])
        if as_json:
            rows = [
                {**asdict(s), "price_lines": [asdict(line) for line in lines.get(s.id, ())]}
                for s in page.items
            ]
            click.echo(json.dumps(rows, default=str, indent=2))
            return
        if not page.items:
            click.echo(pgettext("charging", "no sessions"))
        for s in page.items:
            stopped = s.stopped_at
            dur = (
                format_duration(stopped - s.started_at)
                if stopped
                else pgettext("session", "charging")
            )
            energy = s.energy_wh if stopped else s.live_energy_wh
            paid = line_of(lines.get(s.id, ()), Party.DRIVER)
            received = line_of(lines.get(s.id, ()), Party.EMPLOYEE) or line_of(
                lines.get(s.id, ()), Party.HOST
            )
            click.echo(
                f"{s.id:>6}  {s.started_at:%Y-%m-%d %H:%M:%S}Z  {s.station_id:<16} "
                f"{s.evse_id:>2}  {s.id_tag:<12} {dur:>9}  {format_kwh(energy):>12}  "
                f"{terms.session_type(s.session_type):<14} "
                f"{_amount(paid):>12} {_amount(received):>12}"
            )

    await with_platform(settings_of(ctx), work)


@sessions.command("correct")
@click.argument("session_id", type=int)
@click.option("--reason", required=True, help="Why: kept with the session's history.")
@click.option(
    "--stop",
    "stopped_at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ"]),
    default=None,
    help="The right stop (ISO 8601 with its offset, or Z).",
)
@click.option(
    "--meter-stop",
    "meter_stop_wh",
    type=click.IntRange(0),
    default=None,
    help="The right last meter reading, in Wh.",
)
@click.pass_context
@run_async
async def sessions_correct(
    ctx: click.Context,
    session_id: int,
    reason: str,
    stopped_at: datetime | None,
    meter_stop_wh: int | None,
) -> None:
    """Put a finished session's stop or meter reading right: it is typed and priced again, its
    earlier prices kept in its history."""

    async def work(p: Platform) -> None:
        stop = (
            stopped_at.replace(tzinfo=UTC) if stopped_at and not stopped_at.tzinfo else stopped_at
        )
        kind = await p.corrections.correct(
            PLATFORM, session_id, reason=reason, stopped_at=stop, meter_stop_wh=meter_stop_wh
        )
        click.echo(
            _("session %(id)s corrected: %(type)s")
            % {"id": session_id, "type": terms.session_type(kind)}
        )

    await with_platform(settings_of(ctx), work)
