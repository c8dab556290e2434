"""``voltflow tariff``: OCPI 2.2.1 tariffs, and what a session costs under one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from voltflow.cli._common import fail
from voltflow.domain.tariffs import (
    DEFAULT_TIME_ZONE,
    TariffError,
    dumps,
    loads,
    parse_tariff,
    price_cdr,
    time_zone_of,
)
from voltflow.i18n import _, refusals


@click.group()
def tariff() -> None:
    """OCPI tariffs: price a session with one."""


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
