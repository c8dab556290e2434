"""``voltflow demo``: the platform with demo data and simulated stations charging."""

from __future__ import annotations

import contextlib
import os

import click

from voltflow.bootstrap import Platform, build
from voltflow.cli._common import run_async, settings_of
from voltflow.cli.runtime import apply_server_options, serve_platform, server_options
from voltflow.domain.access import PLATFORM
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import OrganisationFilter
from voltflow.i18n import _, terms

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_TOKEN = "DEMO0001"
DEMO_COMPANY = "Demo Company NV"
DEMO_FLEET_MANAGER = "fleet@demo"


@click.command()
@server_options
@click.option(
    "--stations", "count", type=int, default=3, show_default=True, help="Simulated stations."
)
@click.pass_context
@run_async
async def demo(
    ctx: click.Context, host: str | None, http_port: int | None, ocpp_port: int | None, count: int
) -> None:
    """Run the platform with demo data and simulated stations charging (SQLite by default)."""
    settings = settings_of(ctx)
    if ctx.find_root().params.get("database") is None and "VOLTFLOW_DATABASE_URL" not in os.environ:
        settings.database_url = "sqlite:///./voltflow-demo.db"
    apply_server_options(settings, host, http_port, ocpp_port)
    settings.heartbeat_interval = 60
    platform = build(settings)
    password = "demo-station-key"
    ids = [f"DEMO-{i:02d}" for i in range(1, count + 1)]

    async def seed_and_simulate() -> None:
        api_key = await _seed_demo(platform, ids, password)
        login, key = _("Demo login"), _("API key")
        width = max(19, len(login), len(key)) + 1
        operator, manager = terms.role("operator"), terms.role("fleet_manager")
        click.echo(f"{login:<{width}}{DEMO_USER} / {DEMO_PASSWORD}  ({operator})")
        click.echo(f"{'':<{width}}{DEMO_FLEET_MANAGER} / {DEMO_PASSWORD}  ({manager})")
        click.echo(f"{key:<{width}}{api_key}")
        click.echo(
            _("Simulating %(n)s stations: %(ids)s  (Ctrl+C stops everything)")
            % {"n": len(ids), "ids": ", ".join(ids)}
        )
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

    await serve_platform(platform, seed_and_simulate)


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
        if len(ids) >= 3:
            await _seed_prices_and_history(platform, ids[:3], password)
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
    # Its documents and its people's mail in Dutch; Chloé reads French. Each driver gets a mail
    # with their login: without VOLTFLOW_SMTP_URL the console's Mail page shows them.
    await platform.organisations.set_document_language(op, org_id, "nl")
    chloe = await platform.accounts.add_user(
        "chloe@demo", DEMO_PASSWORD, full_name="Chloé Maes", email="chloe@demo.example"
    )
    await platform.accounts.set_preferences(chloe.id, language="fr")
    drivers = []
    for name, full in (("ann", "Ann Peeters"), ("bart", "Bart Claes"), ("chloe", "Chloé Maes")):
        person = await platform.organisations.add_person(
            op,
            org_id,
            f"{name}@demo",
            Role.DRIVER,
            password=DEMO_PASSWORD,
            full_name=full,
            email=f"{name}@demo.example",
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


async def _seed_prices_and_history(platform: Platform, ids: list[str], password: str) -> None:
    """Tariffs, a host, a discount list and a licence on the first three stations, and four
    weeks of their sessions reported as a backlog, for the views and the charts."""
    from datetime import UTC, datetime

    from voltflow.cli import demo_history

    found = await platform.organisations.search(
        PLATFORM, OrganisationFilter(q=DEMO_COMPANY), PageRequest()
    )
    org_id = found.items[0].id
    # The company's first three cards, as _seed_demo_company numbers them: Ann's, Bart's, Chloé's.
    uids = [f"04D3{i:04X}00" for i in range(1, 4)]
    now = datetime.now(UTC)
    await demo_history.seed_prices(platform, org_id, ids, uids, "bart@demo", now)
    plan = demo_history.history_plan(ids, uids, DEMO_TOKEN, now)
    url = f"ws://127.0.0.1:{platform.ocpp.port}/ocpp"
    reported = await demo_history.report_history(url, password, plan)
    click.echo(_("%(n)s sessions of the last four weeks reported") % {"n": reported})
