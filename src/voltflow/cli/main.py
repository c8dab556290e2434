"""``voltflow``: serve the platform, run the demo, manage stations, tokens and users, send commands.

Every command reports problems as a message and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import resource
import secrets
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict
from typing import Any, ParamSpec, TypeVar

import click

from voltflow.bootstrap import Platform, build
from voltflow.config import Settings
from voltflow.domain.access import PLATFORM
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import OrganisationFilter, SessionFilter, StationFilter
from voltflow.domain.records import CardDetail

P = ParamSpec("P")
R = TypeVar("R")

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_TOKEN = "DEMO0001"
DEMO_COMPANY = "Demo Company NV"
DEMO_FLEET_MANAGER = "fleet@demo"


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def run_async(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """Run an async command, turning the errors people can fix into messages."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return asyncio.run(fn(*args, **kwargs))
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except (OSError, ValueError, LookupError) as exc:
            raise _fail(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError):
                raise _fail(
                    f"database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
                ) from exc
            raise

    return wrapper


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


async def _open(settings: Settings, *, migrate: bool = True) -> Platform:
    from voltflow.bootstrap import upgrade

    platform = build(settings)
    if migrate:
        await upgrade(platform.db)
    await platform.start(ocpp=False)
    return platform


async def _with_platform(settings: Settings, work: Callable[[Platform], Awaitable[R]]) -> R:
    platform = await _open(settings)
    try:
        return await work(platform)
    finally:
        await platform.stop()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    envvar="VOLTFLOW_DATABASE_URL",
    default=None,
    help="Database URL (default: SQLite file ./voltflow.db; postgresql://… for PostgreSQL).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def main(ctx: click.Context, database: str | None, verbose: bool) -> None:
    """Voltflow: run electric-vehicle charging."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("voltflow").setLevel(logging.INFO)
        # Every simulated frame would be a line: only with --verbose.
        logging.getLogger("voltflow.simulator.ocpp").setLevel(logging.WARNING)
    settings = Settings.from_env()
    if database:
        settings.database_url = database
    ctx.obj = settings


# -- serving ------------------------------------------------------------------------------------
def _raise_file_limit() -> None:
    """Each station holds a socket: let the process use every descriptor it is allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


OnReady = Callable[[], Coroutine[Any, Any, None]]


async def _serve(platform: Platform, on_ready: OnReady | None = None) -> None:
    import uvicorn

    from voltflow.bootstrap import upgrade
    from voltflow.logs import collapse_repeats
    from voltflow.ocpp.server import tune_gc
    from voltflow.web import create_app

    settings = platform.settings
    # A database outage fails every station message alike: one line and a count, not a
    # traceback each (see voltflow.logs).
    collapse_repeats()
    await upgrade(platform.db)
    await platform.start()
    tune_gc()  # thousands of station sockets: see its docstring
    config = uvicorn.Config(
        create_app(platform),
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="off",
        # Forwarded headers are the application's to believe, from VOLTFLOW_TRUSTED_PROXIES only
        # (web/proxy.py), not uvicorn's from its own list as well.
        proxy_headers=False,
    )
    # Uvicorn's config gives its loggers handlers of their own: those repeat themselves too.
    collapse_repeats(("uvicorn", "uvicorn.access"))
    server = uvicorn.Server(config)
    click.echo(
        f"OCPP 1.6J endpoint  ws://{_display_host(settings.ocpp_host)}:{platform.ocpp.port}/ocpp/{{station_id}}"
    )
    click.echo(
        f"Operator console    http://{_display_host(settings.http_host)}:{settings.http_port}/"
    )
    extra: asyncio.Task[None] | None = None
    try:
        if on_ready is not None:
            extra = asyncio.create_task(on_ready())
        await server.serve()
    finally:
        if extra is not None:
            extra.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await extra
        await platform.stop()


def _display_host(host: str) -> str:
    return "localhost" if host in ("0.0.0.0", "::", "") else host


def _server_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--host", default=None, help="HTTP listen address (default 127.0.0.1).")(fn)
    fn = click.option(
        "--port", "http_port", type=int, default=None, help="HTTP port (default 8000)."
    )(fn)
    fn = click.option(
        "--ocpp-port", type=int, default=None, help="OCPP WebSocket port (default 9000)."
    )(fn)
    return fn


def _apply(
    settings: Settings, host: str | None, http_port: int | None, ocpp_port: int | None
) -> None:
    if host:
        settings.http_host = host
    if http_port is not None:
        settings.http_port = http_port
    if ocpp_port is not None:
        settings.ocpp_port = ocpp_port


@main.command()
@_server_options
@click.option(
    "--auto-register", is_flag=True, default=None, help="Accept unknown stations as Pending."
)
@click.pass_context
@run_async
async def serve(
    ctx: click.Context,
    host: str | None,
    http_port: int | None,
    ocpp_port: int | None,
    auto_register: bool | None,
) -> None:
    """Run the platform: OCPP endpoint, REST API and operator console."""
    settings = _settings(ctx)
    _apply(settings, host, http_port, ocpp_port)
    if auto_register is not None:
        settings.auto_register = auto_register
    _raise_file_limit()
    await _serve(build(settings))


@main.command()
@_server_options
@click.option(
    "--stations", "count", type=int, default=3, show_default=True, help="Simulated stations."
)
@click.pass_context
@run_async
async def demo(
    ctx: click.Context, host: str | None, http_port: int | None, ocpp_port: int | None, count: int
) -> None:
    """Run the platform with demo data and simulated stations charging (SQLite by default)."""
    settings = _settings(ctx)
    if ctx.find_root().params.get("database") is None and "VOLTFLOW_DATABASE_URL" not in os.environ:
        settings.database_url = "sqlite:///./voltflow-demo.db"
    _apply(settings, host, http_port, ocpp_port)
    settings.heartbeat_interval = 60
    platform = build(settings)
    password = "demo-station-key"
    ids = [f"DEMO-{i:02d}" for i in range(1, count + 1)]

    async def seed_and_simulate() -> None:
        api_key = await _seed_demo(platform, ids, password)
        click.echo(f"Demo login          {DEMO_USER} / {DEMO_PASSWORD}  (operator)")
        click.echo(f"                    {DEMO_FLEET_MANAGER} / {DEMO_PASSWORD}  (fleet manager)")
        click.echo(f"API key             {api_key}")
        click.echo(f"Simulating {len(ids)} stations: {', '.join(ids)}  (Ctrl+C stops everything)")
        from voltflow.simulator import simulate

        await simulate(
            f"ws://127.0.0.1:{platform.ocpp.port}/ocpp",
            ids,
            password=password,
            id_tag=DEMO_TOKEN,
            heartbeat_interval=60,
            meter_interval=10,
            session_seconds=180,
            idle_seconds=20,
        )

    await _serve(platform, seed_and_simulate)


async def _seed_demo(platform: Platform, ids: list[str], password: str) -> str:
    from voltflow.services.accounts import AccountError
    from voltflow.services.stations import StationError
    from voltflow.services.tokens import TokenError

    with contextlib.suppress(AccountError):
        await platform.organisations.add_operator(DEMO_USER, DEMO_PASSWORD)
    for station_id in ids:
        with contextlib.suppress(StationError):
            await platform.stations.add(station_id, password)
    with contextlib.suppress(TokenError):
        await platform.tokens.add(DEMO_TOKEN)
    found = await platform.organisations.search(
        PLATFORM, OrganisationFilter(q=DEMO_COMPANY), PageRequest()
    )
    if not found.items:
        await _seed_demo_company(platform, ids[0] if ids else None)
    return await platform.accounts.create_api_key(DEMO_USER, "demo")


async def _seed_demo_company(platform: Platform, station_id: str | None) -> None:
    """A company customer with a contract, a fleet manager, employees with cards and a whitelist
    on its car-park station: enough to walk through every page."""
    from datetime import date
    from decimal import Decimal

    from voltflow.domain.access import OrganisationKind, Role
    from voltflow.domain.contracts import ContractKind
    from voltflow.services.lists import ListKind

    op = PLATFORM
    org = await platform.organisations.create(
        op, DEMO_COMPANY, OrganisationKind.COMPANY, "BE0123456749"
    )
    org_id = org.id
    await platform.contracts.create(
        op,
        org_id,
        ContractKind.EMSP,
        starts_on=date(2026, 1, 1),
        fee_per_card=Decimal("2.50"),
        fee_per_licence=Decimal("4.00"),
        mandate_reference="DEMO-2026-0001",
        mandate_iban="BE68539007547034",
        mandate_bic="GKCCBEBB",
        mandate_signed_on=date(2025, 12, 15),
    )
    await platform.organisations.add_person(
        op, org_id, DEMO_FLEET_MANAGER, Role.FLEET_MANAGER, password=DEMO_PASSWORD
    )
    drivers = []
    for name, full in (("ann", "Ann Peeters"), ("bart", "Bart Claes"), ("chloe", "Chloé Maes")):
        person = await platform.organisations.add_person(
            op, org_id, f"{name}@demo", Role.DRIVER, password=DEMO_PASSWORD, full_name=full
        )
        drivers.append(person.user_id)
    rows = "\n".join(f"04D3{i:04X}00,VF-DEMO-{i:03d}" for i in range(1, 9))
    uids = await platform.cards.import_csv(op, f"uid,printed_number\n{rows}\n")
    await platform.cards.distribute(op, uids[:6], org_id)
    for uid, driver in zip(uids, drivers, strict=False):
        await platform.cards.assign(op, uid, driver)
    await platform.cards.activate(op, uids[:3])
    if station_id is not None:
        await platform.stations.set_owner(op, station_id, org_id)
        whitelist = await platform.lists.create_list(
            op, org_id, ListKind.WHITELIST, "Company car park", station_id=station_id
        )
        await platform.lists.add_cards(op, whitelist.id, uids[:2])


@main.command()
@click.pass_context
@run_async
async def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema."""
    from voltflow.bootstrap import create_database, upgrade

    db = create_database(_settings(ctx).database_url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    click.echo("database is up to date")


# -- stations -------------------------------------------------------------------------------------
@main.group()
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

    settings = _settings(ctx)

    async def work(p: Platform) -> None:
        try:
            new = await p.stations.add(
                station_id, password, generate_password=generate_password, lenient=lenient
            )
        except StationError as exc:
            raise _fail(str(exc)) from exc
        click.echo(f"station {new.record.id} added")
        click.echo(f"  OCPP URL  ws://<this host>:{settings.ocpp_port}/ocpp/{new.record.id}")
        if new.password:
            click.echo(f"  password  {new.password}")
        else:
            click.echo(
                "  no password: the station connects without HTTP Basic auth (security profile 0)"
            )

    await _with_platform(settings, work)


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
            click.echo("no stations yet: add one with `voltflow station add ID --password PW`")
        for s in page.items:
            state = "online " if s.online else "offline"
            keyless = "" if s.has_key else "  (no key: anyone may connect as it)"
            click.echo(
                f"{s.id:<24} {state} {s.registration:<9} {s.vendor or '-'} {s.model or ''}{keyless}"
            )

    await _with_platform(_settings(ctx), work)


def _api_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--api-key", envvar="VOLTFLOW_API_KEY", default=None, help="Or set VOLTFLOW_API_KEY."
    )(fn)
    return click.option(
        "--api-url", envvar="VOLTFLOW_API_URL", default="http://127.0.0.1:8000", show_default=True
    )(fn)


def _api_post(api_url: str, api_key: str, path: str, timeout: float = 40) -> dict[str, Any]:
    """POST to the running server's API; its problem details become the message."""
    import httpx

    try:
        response = httpx.post(
            f"{api_url.rstrip('/')}/api/v1{path}",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach the server at {api_url}: {exc}") from exc
    data = response.json() if response.headers.get("content-type", "").endswith("json") else {}
    if response.status_code != 200:
        raise _fail(data.get("detail") or data.get("title") or f"HTTP {response.status_code}")
    result: dict[str, Any] = data
    return result


def _echo_key(key: str | None, delivery: str | None) -> None:
    if key:
        click.echo(f"  new key   {key}   (shown once)")
    if delivery:
        click.echo(f"  key       {delivery}")


@station.command("claim")
@click.argument("station_id")
@_api_options
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
        data = _api_post(api_url, api_key, f"/stations/{quote(station_id, safe='')}/claim")
        click.echo(f"station {station_id} accepted; it is told so at its next BootNotification")
        _echo_key(data.get("key"), data.get("key_delivery"))
        return

    async def work(p: Platform) -> None:
        try:
            claimed = await p.stations.claim(station_id)
        except StationNotFound as exc:
            raise _fail(f"no station {station_id}") from exc
        click.echo(f"station {station_id} accepted; it is told so at its next BootNotification")
        _echo_key(claimed.key, claimed.delivery)

    await _with_platform(_settings(ctx), work)


@station.command("rotate-key")
@click.argument("station_id")
@_api_options
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the station.")
def station_rotate_key(
    station_id: str, api_url: str, api_key: str | None, timeout: float | None
) -> None:
    """Give an online station a new random key (ChangeConfiguration AuthorizationKey) through
    the running server, and print it once. Its old key stays valid until it reconnects with
    the new one."""
    from urllib.parse import quote

    if not api_key:
        raise _fail(
            "the running server sends the new key: an API key is needed "
            "(`voltflow apikey create USER`, then --api-key or VOLTFLOW_API_KEY)"
        )
    path = f"/stations/{quote(station_id, safe='')}/rotate-key"
    if timeout is not None:
        path += f"?timeout={timeout:g}"
    data = _api_post(api_url, api_key, path, (timeout or 30) + 10)
    if not data.get("key"):
        raise _fail(
            f"station {station_id} refused the new key ({data['status']}): it keeps its key"
        )
    click.echo(f"station {station_id} answered {data['status']}")
    click.echo(f"  new key   {data['key']}   (shown once)")
    click.echo("  its old key stays valid until it reconnects with the new one")


# -- tokens ---------------------------------------------------------------------------------------
@main.group()
def token() -> None:
    """Charging tokens (RFID cards) allowed to charge."""


@token.command("add")
@click.argument("uid")
@click.pass_context
@run_async
async def token_add(ctx: click.Context, uid: str) -> None:
    """Add an active token."""
    from voltflow.services.tokens import TokenError

    async def work(p: Platform) -> None:
        try:
            t = await p.tokens.add(uid)
        except TokenError as exc:
            raise _fail(str(exc)) from exc
        click.echo(f"token {t.uid} added, active")

    await _with_platform(_settings(ctx), work)


@token.command("list")
@click.pass_context
@run_async
async def token_list(ctx: click.Context) -> None:
    """List tokens."""

    async def work(p: Platform) -> None:
        page = await p.tokens.search(PageRequest(limit=1000))
        for t in page.items:
            click.echo(f"{t.uid:<22} {t.state}")
        if not page.items:
            click.echo("no tokens yet: add one with `voltflow token add UID`")

    await _with_platform(_settings(ctx), work)


# -- cards ----------------------------------------------------------------------------------------
def _cli_actor() -> Any:
    import getpass

    from voltflow.domain.access import system_actor

    return system_actor(f"cli ({getpass.getuser()})")


def _card_text(card: CardDetail) -> str:
    from voltflow.domain.emaid import parse_emaid

    lines = [
        f"uid              {card.uid}",
        f"printed number   {card.printed_number or '-'}",
        f"contract id      {parse_emaid(card.contract_id) if card.contract_id else '-'}",
        f"state            {card.state}",
        f"organisation     {card.organisation_id or '-'}",
        f"driver           {card.driver_id or '-'}",
        f"expires          {card.expires_at or '-'}",
        "history:",
    ]
    for e in card.history:
        why = f"  ({e.detail})" if e.detail else ""
        lines.append(
            f"  {e.at:%Y-%m-%d %H:%M:%S}Z  {e.action:<16} {e.from_state or '':>11} → "
            f"{e.to_state:<11} by {e.actor_name}{why}"
        )
    return "\n".join(lines)


@main.group()
def card() -> None:
    """Charging cards: stock import, look-up, blocking."""


@card.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.pass_context
@run_async
async def card_import(ctx: click.Context, file: str) -> None:
    """Import cards into stock from CSV (columns uid, printed_number[, contract_id]).

    A bad row rejects the whole file: nothing is imported, and every problem is named by row and
    column."""
    from voltflow.services.cards import ImportRejected

    try:
        with click.open_file(file, encoding="utf-8-sig") as f:
            text = f.read()
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _fail(f"{file} is not UTF-8 text: {exc}") from exc

    async def work(p: Platform) -> None:
        try:
            uids = await p.cards.import_csv(_cli_actor(), text)
        except ImportRejected as exc:
            details = "\n".join(f"  {problem}" for problem in exc.problems)
            raise _fail(f"nothing imported, {len(exc.problems)} problem(s):\n{details}") from exc
        click.echo(f"{len(uids)} card(s) imported into stock")

    await _with_platform(_settings(ctx), work)


@card.command("show")
@click.argument("uid")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@run_async
async def card_show(ctx: click.Context, uid: str, as_json: bool) -> None:
    """Show a card with its history."""
    from voltflow.services.cards import CardNotFound

    async def work(p: Platform) -> None:
        try:
            found = await p.cards.get(_cli_actor(), uid)
        except CardNotFound as exc:
            raise _fail(f"no card {uid}") from exc
        click.echo(
            json.dumps(asdict(found), default=str, indent=2) if as_json else _card_text(found)
        )

    await _with_platform(_settings(ctx), work)


def _card_step(name: str, action: str, help_text: str) -> None:
    @card.command(name, help=help_text)
    @click.argument("uids", nargs=-1, required=True)
    @click.pass_context
    @run_async
    async def step(ctx: click.Context, uids: tuple[str, ...]) -> None:
        from voltflow.domain.cards import CardAction
        from voltflow.services.cards import CardError, CardNotFound

        async def work(p: Platform) -> None:
            try:
                await p.cards.apply_action(_cli_actor(), CardAction(action), list(uids))
            except CardNotFound as exc:
                raise _fail(f"no card {exc.args[0]}") from exc
            except CardError as exc:
                raise _fail(str(exc)) from exc
            click.echo(f"{len(uids)} card(s): {name} done")

        await _with_platform(_settings(ctx), work)


_card_step("block", "block", "Block cards: every station refuses them, online or not.")
_card_step("unblock", "unblock", "Unblock cards.")


# -- sessions -------------------------------------------------------------------------------------
@main.group()
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
    """List the most recent sessions."""
    from voltflow.domain.sessions import format_duration, format_kwh

    async def work(p: Platform) -> None:
        page = await p.sessions.search(
            SessionFilter(station_id=station_id, active=True if active else None),
            PageRequest(limit=limit),
        )
        if as_json:
            click.echo(json.dumps([asdict(s) for s in page.items], default=str, indent=2))
            return
        if not page.items:
            click.echo("no sessions")
        for s in page.items:
            stopped = s.stopped_at
            dur = format_duration(stopped - s.started_at) if stopped else "charging"
            energy = s.energy_wh if stopped else s.live_energy_wh
            click.echo(
                f"{s.id:>6}  {s.started_at:%Y-%m-%d %H:%M:%S}Z  {s.station_id:<16} "
                f"{s.evse_id:>2}  {s.id_tag:<12} {dur:>9}  {format_kwh(energy):>12}  "
                f"{s.session_type or '-'}"
            )

    await _with_platform(_settings(ctx), work)


# -- users ----------------------------------------------------------------------------------------
@main.group()
def user() -> None:
    """People who log in to the console and the API."""


@user.command("add")
@click.argument("username")
@click.option("--password", default=None, help="Asked for when not given.")
@click.option("--role", default="operator", show_default=True, type=click.Choice(["operator"]))
@click.pass_context
@run_async
async def user_add(ctx: click.Context, username: str, password: str | None, role: str) -> None:
    """Create a user."""
    from voltflow.services.accounts import AccountError

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    assert password is not None

    async def work(p: Platform) -> None:
        try:
            u = await p.organisations.add_operator(username, password)
        except AccountError as exc:
            raise _fail(str(exc)) from exc
        click.echo(f"user {u.username} ({role}) created")

    await _with_platform(_settings(ctx), work)


@user.command("disable")
@click.argument("username")
@click.pass_context
@run_async
async def user_disable(ctx: click.Context, username: str) -> None:
    """Stop a user: no login, and their console sessions and API keys stop working at once."""

    async def work(p: Platform) -> None:
        found = await p.accounts.find(username)
        if found is None:
            raise _fail(f"no user {username}")
        await p.accounts.disable(found.id)
        click.echo(f"user {username} disabled; their console sessions have ended")

    await _with_platform(_settings(ctx), work)


@user.command("enable")
@click.argument("username")
@click.pass_context
@run_async
async def user_enable(ctx: click.Context, username: str) -> None:
    """Let a disabled user log in again (and their API keys work again)."""

    async def work(p: Platform) -> None:
        found = await p.accounts.find(username)
        if found is None:
            raise _fail(f"no user {username}")
        await p.accounts.enable(found.id)
        click.echo(f"user {username} enabled")

    await _with_platform(_settings(ctx), work)


@main.group()
def apikey() -> None:
    """API keys for the REST API and the `command` command."""


@apikey.command("create")
@click.argument("username")
@click.option("--label", default="cli", show_default=True)
@click.pass_context
@run_async
async def apikey_create(ctx: click.Context, username: str, label: str) -> None:
    """Create an API key for a user and print it (once)."""
    from voltflow.services.accounts import AccountError

    async def work(p: Platform) -> None:
        try:
            key = await p.accounts.create_api_key(username, label)
        except AccountError as exc:
            raise _fail(str(exc)) from exc
        click.echo(key)

    await _with_platform(_settings(ctx), work)


# -- remote commands ------------------------------------------------------------------------------
@main.command()
@click.argument("station_id")
@click.argument("action")
@click.option(
    "--payload", default=None, help="OCPP payload as a JSON object (default: the usual one)."
)
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the station.")
@click.option(
    "--api-url", envvar="VOLTFLOW_API_URL", default="http://127.0.0.1:8000", show_default=True
)
@click.option("--api-key", envvar="VOLTFLOW_API_KEY", default=None, help="Or set VOLTFLOW_API_KEY.")
def command(
    station_id: str,
    action: str,
    payload: str | None,
    timeout: float | None,
    api_url: str,
    api_key: str | None,
) -> None:
    """Send a remote command (Reset, RemoteStartTransaction, …) through the running server."""
    import httpx

    from voltflow.domain.commands import RemoteAction

    try:
        remote = RemoteAction.parse(action)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    body: dict[str, Any] = {}
    if payload is not None:
        try:
            body["payload"] = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise _fail(f"--payload is not valid JSON: {exc}") from exc
        if not isinstance(body["payload"], dict):
            raise _fail("--payload must be a JSON object")
    if timeout is not None:
        body["timeout"] = timeout
    if not api_key:
        raise _fail(
            "an API key is needed: `voltflow apikey create USER`, "
            "then --api-key or VOLTFLOW_API_KEY"
        )
    url = f"{api_url.rstrip('/')}/api/v1/stations/{station_id}/commands/{remote.value}"
    try:
        response = httpx.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=(timeout or 30) + 10,
        )
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach the server at {api_url}: {exc}") from exc
    data = response.json() if response.headers.get("content-type", "").endswith("json") else {}
    if response.status_code != 200:
        raise _fail(data.get("detail") or data.get("title") or f"HTTP {response.status_code}")
    click.echo(json.dumps(data.get("payload", data), indent=2))


# -- simulator ------------------------------------------------------------------------------------
@main.command()
@click.option("--stations", "count", type=click.IntRange(1, 20000), default=1, show_default=True)
@click.option("--url", default="ws://127.0.0.1:9000/ocpp", show_default=True, help="OCPP base URL.")
@click.option("--prefix", default="SIM-", show_default=True, help="Station ids are PREFIX0001, …")
@click.option("--password", default=None, help="HTTP Basic password of the stations.")
@click.option("--id-tag", default=DEMO_TOKEN, show_default=True)
@click.option("--meter-interval", type=float, default=15, show_default=True)
@click.option("--session-seconds", type=float, default=120, show_default=True)
@click.option("--idle-seconds", type=float, default=30, show_default=True)
@click.option("--power-kw", type=float, default=11, show_default=True)
@click.option("--connectors", type=click.IntRange(1, 8), default=1, show_default=True)
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
def simulate(
    count: int,
    url: str,
    prefix: str,
    password: str | None,
    id_tag: str,
    meter_interval: float,
    session_seconds: float,
    idle_seconds: float,
    power_kw: float,
    connectors: int,
    duration: float | None,
    seed: int,
) -> None:
    """Run simulated OCPP 1.6J stations against a platform."""
    from voltflow.simulator import simulate as run

    _raise_file_limit()
    ids = [f"{prefix}{i:04d}" for i in range(1, count + 1)]
    click.echo(f"simulating {count} station(s) against {url}: {ids[0]}…{ids[-1]}")
    try:
        asyncio.run(
            run(
                url,
                ids,
                password=password,
                id_tag=id_tag,
                meter_interval=meter_interval,
                session_seconds=session_seconds,
                idle_seconds=idle_seconds,
                power_kw=power_kw,
                connectors=connectors,
                duration=duration,
                seed=seed,
            )
        )
    except KeyboardInterrupt:
        click.echo("stopped")
    except OSError as exc:
        raise _fail(f"cannot reach {url}: {exc}") from exc


def entry() -> None:
    main(prog_name="voltflow")


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["main", "secrets"]
