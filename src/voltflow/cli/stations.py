"""``voltflow station``: register, list, claim stations and rotate their keys."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import api_options, api_post, fail, run_async, settings_of, with_platform
from voltflow.domain.access import PLATFORM
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import StationFilter
from voltflow.i18n import _, pgettext


def _accepted() -> str:
    """One message, said by both ways of claiming."""
    return _("station %(id)s accepted; it is told so at its next BootNotification")


@click.group()
def station() -> None:
    """Register and manage stations."""


@station.command("add")
@click.argument("station_id")
@click.option(
    "--password",
    default=None,
    help="HTTP Basic password the station presents (its AuthorizationKey: 16–40 characters).",
)
@click.option(
    "--generate-password", is_flag=True, help="Generate a strong password and print it once."
)
@click.option(
    "--lenient", is_flag=True, help="Accept known vendor deviations from the OCPP schemas."
)
@click.pass_context
@run_async
async def station_add(
    ctx: click.Context,
    station_id: str,
    password: str | None,
    generate_password: bool,
    lenient: bool,
) -> None:
    """Register a station so it may connect."""
    from voltflow.services.stations import StationError

    settings = settings_of(ctx)

    async def work(p: Platform) -> None:
        try:
            new = await p.stations.add(
                station_id, password, generate_password=generate_password, lenient=lenient
            )
        except StationError as exc:
            raise fail(str(exc)) from exc
        click.echo(_("station %(id)s added") % {"id": new.record.id})
        url, password_label = _("OCPP URL"), _("password")
        width = max(8, len(url), len(password_label)) + 2
        host = _("<this host>")
        click.echo(f"  {url:<{width}}ws://{host}:{settings.ocpp_port}/ocpp/{new.record.id}")
        if new.password:
            # "password" stays the line's first word in English: scripts read the key after it.
            click.echo(f"  {password_label:<{width}}{new.password}")
        else:
            click.echo(
                "  "
                + _(
                    "no password: the station connects without HTTP Basic auth (security profile 0)"
                )
            )

    await with_platform(settings, work)


@station.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@run_async
async def station_list(ctx: click.Context, as_json: bool) -> None:
    """List stations with their status."""

    async def work(p: Platform) -> None:
        page = await p.stations.search(StationFilter(), PageRequest(limit=500))
        if as_json:
            click.echo(json.dumps([asdict(s) for s in page.items], default=str, indent=2))
            return
        if not page.items:
            click.echo(_("no stations yet: add one with `voltflow station add ID --password PW`"))
        online, offline = _("online"), _("offline")
        width = max(len(online), len(offline))
        for s in page.items:
            state = f"{online if s.online else offline:<{width}}"
            keyless = "" if s.has_key else "  (" + _("no key: anyone may connect as it") + ")"
            click.echo(
                f"{s.id:<24} {state} {s.registration:<9} {s.vendor or '-'} {s.model or ''}{keyless}"
            )

    await with_platform(settings_of(ctx), work)


def _key_labels() -> tuple[str, str, int]:
    new_key, key = _("new key"), pgettext("station", "key")
    return new_key, key, max(8, len(new_key), len(key)) + 2


def _echo_key(key: str | None, delivery: str | None) -> None:
    new_label, key_label, width = _key_labels()
    if key:
        once = _("shown once")
        click.echo(f"  {new_label:<{width}}{key}   ({once})")
    if delivery:
        click.echo(f"  {key_label:<{width}}{delivery}")


@station.command("claim")
@click.argument("station_id")
@api_options
@click.pass_context
@run_async
async def station_claim(
    ctx: click.Context, station_id: str, api_url: str, api_key: str | None
) -> None:
    """Accept a station that registered itself and is Pending.

    A station that came without a key is given one: with an API key, through the running
    server, which sends it to the station if it is online; without, the key is stored for the
    installer to set on the station. Until the station connects with it, it is still let in
    without a key, and listed as keyless."""
    from urllib.parse import quote

    from voltflow.services.stations import StationNotFound

    if api_key:
        data = api_post(api_url, api_key, f"/stations/{quote(station_id, safe='')}/claim")
        click.echo(_accepted() % {"id": station_id})
        _echo_key(data.get("key"), data.get("key_delivery"))
        return

    async def work(p: Platform) -> None:
        try:
            claimed = await p.stations.claim(station_id)
        except StationNotFound as exc:
            raise fail(_("no station %(id)s") % {"id": station_id}) from exc
        click.echo(_accepted() % {"id": station_id})
        _echo_key(claimed.key, claimed.delivery)

    await with_platform(settings_of(ctx), work)


@station.command("rotate-key")
@click.argument("station_id")
@api_options
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the station.")
def station_rotate_key(
    station_id: str, api_url: str, api_key: str | None, timeout: float | None
) -> None:
    """Give an online station a new random key (ChangeConfiguration AuthorizationKey) through
    the running server, and print it once. Its old key stays valid until it reconnects with
    the new one."""
    from urllib.parse import quote

    if not api_key:
        raise fail(
            _(
                "the running server sends the new key: an API key is needed "
                "(`voltflow apikey create USER`, then --api-key or VOLTFLOW_API_KEY)"
            )
        )
    path = f"/stations/{quote(station_id, safe='')}/rotate-key"
    if timeout is not None:
        path += f"?timeout={timeout:g}"
    data = api_post(api_url, api_key, path, (timeout or 30) + 10)
    if not data.get("key"):
        raise fail(
            _("station %(id)s refused the new key (%(status)s): it keeps its key")
            % {"id": station_id, "status": data["status"]}
        )
    click.echo(
        _("station %(id)s answered %(status)s") % {"id": station_id, "status": data["status"]}
    )
    _echo_key(data["key"], None)
    click.echo("  " + _("its old key stays valid until it reconnects with the new one"))


@station.command("prices")
@click.argument("station_id")
@click.option("--tariff", "tariff_id", default=None, help="The public tariff's id (none: free).")
@click.option("--host", default=None, help="The login of the person who hosts the station.")
@click.option("--host-tariff", "host_tariff_id", default=None, help="The host's tariff's id.")
@click.pass_context
@run_async
async def station_prices(
    ctx: click.Context,
    station_id: str,
    tariff_id: str | None,
    host: str | None,
    host_tariff_id: str | None,
) -> None:
    """What a public session at the station costs, and who hosts it and is paid by which
    tariff. Sessions that start afterwards are priced with them."""

    async def work(p: Platform) -> None:
        await p.pricing.set_station_prices(
            PLATFORM, station_id, tariff_id=tariff_id, host=host, host_tariff_id=host_tariff_id
        )
        click.echo(
            _("%(station)s: tariff %(tariff)s, host %(host)s (tariff %(host_tariff)s)")
            % {
                "station": station_id,
                "tariff": tariff_id or "-",
                "host": host or "-",
                "host_tariff": host_tariff_id or "-",
            }
        )

    await with_platform(settings_of(ctx), work)
