"""``voltflow job``: installation jobs."""

from __future__ import annotations

import json
from typing import Any

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import run_async, settings_of, with_platform
from voltflow.domain.access import PLATFORM
from voltflow.domain.installations.jobs import JobFilter, JobKind, JobRecord, JobState
from voltflow.domain.paging import PageRequest
from voltflow.i18n import _, terms


def _job_json(r: JobRecord) -> dict[str, Any]:
    job = r.job
    site = job.planned_station
    return {
        "id": job.id,
        "kind": job.kind.value,
        "state": job.state.value,
        "station_id": job.station_id,
        "site": None
        if site is None
        else {
            "street": site.address.street,
            "postcode": site.address.postcode,
            "city": site.address.city,
            "country": site.address.country,
            "vendor": site.vendor,
            "model": site.model,
        },
        "organisation_id": job.customer_id,
        "organisation": r.customer_name,
        "installer_organisation_id": job.installer_id,
        "installer_organisation": r.installer_name,
        "technician_id": job.technician_id,
        "technician": r.technician_name,
        "planned_at": job.planned_at.isoformat() if job.planned_at else None,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _job_line(r: JobRecord, zone: Any) -> str:
    job = r.job
    where = job.station_id or (
        f"{job.planned_station.address.city} ({job.planned_station.model})"
        if job.planned_station
        else "–"
    )
    planned = f"{job.planned_at.astimezone(zone):%Y-%m-%d %H:%M}" if job.planned_at else "–"
    return (
        f"{job.id:>6}  {terms.job_kind(job.kind.value):<14} {terms.job_state(job.state.value):<12}"
        f" {where:<20} {r.customer_name:<20} {r.installer_name or '–':<20} {planned}"
    )


@click.group()
def job() -> None:
    """Installation jobs: installations, commissionings, inspections, repairs."""


@job.command("list")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([s.value for s in JobState]),
    help="Only jobs in this state (repeatable).",
)
@click.option("--kind", type=click.Choice([k.value for k in JobKind]), default=None)
@click.option("--station", "station_id", default=None, help="Only this station's jobs.")
@click.option(
    "--installer",
    "installer_id",
    type=click.IntRange(min=1),
    default=None,
    help="Installer organisation id.",
)
@click.option("--today", is_flag=True, help="Only jobs planned today.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@run_async
async def job_list(
    ctx: click.Context,
    states: tuple[str, ...],
    kind: str | None,
    station_id: str | None,
    installer_id: int | None,
    today: bool,
    limit: int,
    as_json: bool,
) -> None:
    """List the jobs, the newest first (planned today: in planned order)."""

    async def work(p: Platform) -> None:
        jobs = p.jobs
        start, end = jobs.day_bounds(jobs.today()) if today else (None, None)
        filters = JobFilter(
            states=tuple(JobState(s) for s in states),
            kind=JobKind(kind) if kind else None,
            station_id=station_id,
            installer_id=installer_id,
            planned_from=start,
            planned_until=end,
        )
        page = await jobs.listing(PLATFORM, filters, PageRequest(limit=limit))
        if as_json:
            click.echo(json.dumps([_job_json(r) for r in page.items], indent=2))
            return
        if not page.items:
            click.echo(_("no jobs"))
            return
        for r in page.items:
            click.echo(_job_line(r, jobs.zone))
        if page.total > len(page.items):
            click.echo(
                _("… and %(n)s more (--limit)") % {"n": page.total - len(page.items)}, err=True
            )

    await with_platform(settings_of(ctx), work)
