"""``voltflow tariff``: OCPI 2.2.1 tariffs, their versions, and what a session costs under one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import fail, run_async, settings_of, with_platform
from voltflow.domain.tariffs import (
    DEFAULT_TIME_ZONE,
    TariffError,
    dumps,
    loads,
    parse_tariff,
    price_cdr,
    time_zone_of,
)
from voltflow.i18n import _, formats, refusals


@click.group()
def tariff() -> None:
    """OCPI tariffs: add versions, show and list them, price a session with one."""


def _read(path: Path) -> Any:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise fail(
            _("cannot read %(file)s: %(error)s") % {"file": path, "error": exc.strerror or exc}
        ) from exc
    return loads(text, str(path))


def _in_file(path: Path, exc: TariffError) -> click.ClickException:
    """The refusal, saying which file the field is in."""
    if exc.reason == "json":
        return fail(refusals.tariff_error(exc))
    return fail(
        _("%(file)s: %(problem)s") % {"file": path.name, "problem": refusals.tariff_error(exc)}
    )


@tariff.command("price")
@click.argument("tariff_file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("cdr_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--time-zone",
    default=DEFAULT_TIME_ZONE,
    show_default=True,
    help="The site's time zone: restrictions on time of day, day and date are read in it.",
)
def tariff_price(tariff_file: Path, cdr_file: Path, time_zone: str) -> None:
    """Price an OCPI CDR's charging periods with an OCPI tariff.

    Prints the CDR as JSON with the totals computed: total_cost, total_energy_cost,
    total_time_cost, total_parking_cost, total_fixed_cost (each excl_vat and incl_vat, rounded to
    the cent per line), total_energy, total_time and total_parking_time.
    """
    try:
        zone = time_zone_of(time_zone)
    except TariffError as exc:
        raise fail(refusals.tariff_error(exc)) from exc
    try:
        tariff_data = _read(tariff_file)
        parsed = parse_tariff(tariff_data)
    except TariffError as exc:
        raise _in_file(tariff_file, exc) from exc
    try:
        cdr = _read(cdr_file)
        if not isinstance(cdr, dict):
            raise TariffError("must be an object", "", "not_object")
        priced = price_cdr(parsed, cdr, time_zone=zone)
    except TariffError as exc:
        raise _in_file(cdr_file, exc) from exc
    click.echo(dumps(priced))


@tariff.command("add")
@click.argument("tariff_file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
@run_async
async def tariff_add(ctx: click.Context, tariff_file: Path) -> None:
    """Add an OCPI tariff (JSON file) as the next version of its id.

    A session is priced by the version in force when it started: from the tariff's
    start_date_time (else from now) until its end_date_time or a later version's start.
    """
    from voltflow.services.tariffs import TariffServiceError

    try:
        document = _read(tariff_file)
    except TariffError as exc:
        raise _in_file(tariff_file, exc) from exc
    settings = settings_of(ctx)

    async def work(p: Platform) -> None:
        try:
            added = await p.tariffs.add(document)
        except TariffError as exc:
            raise _in_file(tariff_file, exc) from exc
        except TariffServiceError as exc:
            raise fail(str(exc)) from exc
        click.echo(
            _("tariff %(id)s version %(version)s added, in force from %(from)s")
            % {
                "id": added.tariff_id,
                "version": added.version,
                "from": formats.when(added.valid_from, settings.timezone),
            }
        )

    await with_platform(settings, work)


@tariff.command("show")
@click.argument("tariff_id")
@click.option("--version", "version", type=int, default=None, help="Default: the latest.")
@click.pass_context
@run_async
async def tariff_show(ctx: click.Context, tariff_id: str, version: int | None) -> None:
    """Print a version of a tariff as OCPI JSON."""
    from voltflow.services.tariffs import TariffServiceError

    async def work(p: Platform) -> None:
        try:
            click.echo(dumps(await p.tariffs.export(tariff_id, version)))
        except TariffServiceError as exc:
            raise fail(str(exc)) from exc

    await with_platform(settings_of(ctx), work)


@tariff.command("list")
@click.pass_context
@run_async
async def tariff_list(ctx: click.Context) -> None:
    """The tariffs, each with its latest version."""
    settings = settings_of(ctx)

    async def work(p: Platform) -> None:
        found = await p.tariffs.latest()
        if not found:
            click.echo(_("no tariffs yet: add one with `voltflow tariff add FILE`"))
            return
        for v in found:
            values = {
                "id": v.tariff_id,
                "version": v.version,
                "currency": v.tariff.currency,
                "from": formats.when(v.valid_from, settings.timezone),
            }
            if v.valid_until is None:
                line = _("%(id)s  version %(version)s  %(currency)s  from %(from)s") % values
            else:
                values["until"] = formats.when(v.valid_until, settings.timezone)
                line = (
                    _("%(id)s  version %(version)s  %(currency)s  from %(from)s until %(until)s")
                    % values
                )
            click.echo(line)

    await with_platform(settings, work)
