"""``voltflow licence``: split-billing licences, their rates, external devices' sessions."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import fail, run_async, settings_of, with_platform
from voltflow.domain.access import Actor
from voltflow.domain.licences import (
    CregRate,
    DeviceKind,
    EmployerRate,
    FixedRate,
    LicenceError,
    LicenceRecord,
    Policy,
    RateChange,
    ReimbursementBasis,
    parse_region,
)
from voltflow.i18n import _, formats, ngettext


def cli_actor() -> Actor:
    import getpass

    from voltflow.domain.access import system_actor

    return system_actor(f"cli ({getpass.getuser()})")


def _policy(rate: str | None, employer_rate: str | None, creg_region: str | None) -> Policy:
    given = [x for x in (rate, employer_rate, creg_region) if x is not None]
    if len(given) != 1:
        raise fail(_("give one of --rate, --employer-rate or --creg-region"))
    if creg_region is not None:
        try:
            return CregRate(parse_region(creg_region))
        except LicenceError as exc:
            raise fail(_("--creg-region: one of flanders, wallonia, brussels")) from exc
    text = rate if rate is not None else employer_rate
    assert text is not None
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation as exc:
        raise fail(_("--rate: %(value)s is not a number") % {"value": text}) from exc
    return FixedRate(value) if rate is not None else EmployerRate(value)


def _policy_text(change: RateChange) -> str:
    policy = change.policy
    if isinstance(policy, CregRate):
        return _("CREG rate, %(region)s") % {"region": policy.region.value}
    label = _("fixed") if isinstance(policy, FixedRate) else _("employer's rate")
    return f"€{policy.per_kwh}/kWh ({label})"


def _licence_json(r: LicenceRecord) -> dict[str, Any]:
    lic = r.licence
    return {
        "id": lic.id,
        "employer_id": lic.employer_id,
        "employer": r.employer_name,
        "employee_id": lic.employee_id,
        "employee": r.employee_username,
        "device": {"kind": lic.device.kind.value, "id": lic.device.id},
        "cards": sorted(lic.cards),
        "valid_from": lic.valid_from.isoformat(),
        "valid_until": lic.valid_until.isoformat() if lic.valid_until else None,
        "rates": [
            {
                "effective_from": c.effective_from.isoformat(),
                "source": c.policy.source.value,
                "per_kwh": None if isinstance(c.policy, CregRate) else str(c.policy.per_kwh),
                "region": c.policy.region.value if isinstance(c.policy, CregRate) else None,
            }
            for c in lic.rates
        ],
    }


def _licence_line(r: LicenceRecord) -> str:
    lic = r.licence
    until = f"{lic.valid_until:%Y-%m-%d}" if lic.valid_until else "…"
    return (
        f"{lic.id:>5}  {r.employer_name:<20} {lic.device.id:<16} {','.join(sorted(lic.cards)):<22}"
        f" {lic.valid_from:%Y-%m-%d} – {until:<10}  {_policy_text(lic.rates[-1])}"
    )


@click.group()
def licence() -> None:
    """Split-billing licences: an employee's home device, their cards, the employer's rate."""


@licence.command("add")
@click.argument("device")
@click.option(
    "--card", "cards", multiple=True, required=True, help="The employee's card uid (repeatable)."
)
@click.option("--rate", default=None, help="Fixed rate, €/kWh (0.6654).")
@click.option("--employer-rate", default=None, help="The employer's own rate, €/kWh.")
@click.option(
    "--creg-region", default=None, help="The CREG rate of a region: flanders, wallonia, brussels."
)
@click.option(
    "--from",
    "valid_from",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day (default: now).",
)
@click.option(
    "--until",
    "valid_until",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Day it ends (excluded).",
)
@click.option(
    "--employer", default=None, help="Employer: name or id (default: the cards' organisation)."
)
@click.option(
    "--device-kind",
    type=click.Choice(["cable", "meter"]),
    default=None,
    help="Register DEVICE as an external device of this kind (not a station).",
)
@click.pass_context
@run_async
async def licence_add(
    ctx: click.Context,
    device: str,
    cards: tuple[str, ...],
    rate: str | None,
    employer_rate: str | None,
    creg_region: str | None,
    valid_from: Any,
    valid_until: Any,
    employer: str | None,
    device_kind: str | None,
) -> None:
    """Add a licence for DEVICE (a station id, or an external device's id)."""
    from voltflow.services.licences import LicenceProblem

    policy = _policy(rate, employer_rate, creg_region)

    async def work(p: Platform) -> None:
        actor = cli_actor()
        svc = p.licences
        try:
            employer_id = await svc.resolve_employer(actor, employer) if employer else None
            record = await svc.add(
                actor,
                device,
                list(cards),
                policy,
                valid_from=svc.local_start(valid_from.date()) if valid_from else None,
                valid_until=svc.local_start(valid_until.date()) if valid_until else None,
                employer_id=employer_id,
                device_kind=DeviceKind(device_kind) if device_kind else None,
            )
        except LicenceProblem as exc:
            raise fail(str(exc)) from exc
        click.echo(
            _("licence %(id)s added: %(device)s for %(employer)s, %(rate)s")
            % {
                "id": record.id,
                "device": record.licence.device.id,
                "employer": record.employer_name,
                "rate": _policy_text(record.licence.rates[-1]),
            }
        )

    await with_platform(settings_of(ctx), work)


@licence.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@run_async
async def licence_list(ctx: click.Context, as_json: bool) -> None:
    """List the licences."""

    async def work(p: Platform) -> None:
        found = await p.licences.listing(cli_actor())
        if as_json:
            click.echo(json.dumps([_licence_json(r) for r in found], indent=2))
            return
        if not found:
            click.echo(_("no licences yet: add one with `voltflow licence add`"))
            return
        for r in found:
            click.echo(_licence_line(r))

    await with_platform(settings_of(ctx), work)


@licence.command("rate")
@click.argument("licence_id", type=int, metavar="LICENCE")
@click.option("--rate", default=None, help="Fixed rate, €/kWh.")
@click.option("--employer-rate", default=None, help="The employer's own rate, €/kWh.")
@click.option("--creg-region", default=None, help="The CREG rate of a region.")
@click.option(
    "--from",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="Day from which sessions that start get the new rate (today: from now).",
)
@click.pass_context
@run_async
async def licence_rate(
    ctx: click.Context,
    licence_id: int,
    rate: str | None,
    employer_rate: str | None,
    creg_region: str | None,
    day: Any,
) -> None:
    """Change a licence's rate for sessions starting from a day on (earlier ones keep theirs)."""
    from voltflow.services.licences import LicenceNotFound, LicenceProblem

    policy = _policy(rate, employer_rate, creg_region)

    async def work(p: Platform) -> None:
        svc = p.licences
        try:
            record = await svc.change_rate(
                cli_actor(), licence_id, policy, svc.effective_from(day.date())
            )
        except LicenceNotFound as exc:
            raise fail(_("no licence %(id)s") % {"id": licence_id}) from exc
        except LicenceProblem as exc:
            raise fail(str(exc)) from exc
        last = record.licence.rates[-1]
        click.echo(
            _("licence %(id)s: %(rate)s for sessions from %(from)s")
            % {
                "id": licence_id,
                "rate": _policy_text(last),
                "from": f"{last.effective_from:%Y-%m-%d %H:%M}Z",
            }
        )

    await with_platform(settings_of(ctx), work)


@licence.command("import")
@click.argument("device")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default=None,
    help="Default: from the file's name (.json), else CSV.",
)
@click.pass_context
@run_async
async def licence_import(ctx: click.Context, device: str, file: str, fmt: str | None) -> None:
    """Import an external device's sessions (CSV or JSON: started_at, stopped_at, energy_wh or
    kwh, card_uid). A bad row rejects the whole file; sessions imported before are skipped."""
    from voltflow.services.licences import DeviceNotFound, ImportRejected, LicenceProblem

    try:
        with click.open_file(file, encoding="utf-8-sig") as f:
            text = f.read()
    except OSError as exc:
        raise fail(
            _("cannot read %(file)s: %(error)s") % {"file": file, "error": exc.strerror or exc}
        ) from exc
    except UnicodeDecodeError as exc:
        raise fail(
            _("%(file)s is not UTF-8 text: %(error)s") % {"file": file, "error": exc}
        ) from exc
    format = fmt or ("json" if file.lower().endswith(".json") else "csv")

    async def work(p: Platform) -> None:
        try:
            result = await p.licences.import_sessions(cli_actor(), device, text, format=format)
        except DeviceNotFound as exc:
            raise fail(_("no external device %(id)s") % {"id": device}) from exc
        except ImportRejected as exc:
            details = "\n".join(f"  {problem}" for problem in exc.problems)
            n = len(exc.problems)
            raise fail(
                ngettext(
                    "nothing imported, %(n)s problem:\n%(details)s",
                    "nothing imported, %(n)s problems:\n%(details)s",
                    n,
                )
                % {"n": n, "details": details}
            ) from exc
        except LicenceProblem as exc:
            raise fail(str(exc)) from exc
        n = len(result.added)
        click.echo(
            ngettext("%(n)s session imported", "%(n)s sessions imported", n) % {"n": n}
            + (
                _(" (%(k)s already stored)") % {"k": result.already_stored}
                if result.already_stored
                else ""
            )
        )
        paid = len(result.amounts)
        if paid:
            currency = p.settings.currency
            click.echo(
                ngettext(
                    "reimbursement: %(amount)s for %(n)s split-billing session",
                    "reimbursement: %(amount)s for %(n)s split-billing sessions",
                    paid,
                )
                % {"amount": formats.money(result.total, currency), "n": paid}
            )
        unrated = sum(
            1
            for s in result.added
            if s.reimbursement is not None and s.reimbursement.basis is ReimbursementBasis.NO_RATE
        )
        if unrated:
            click.echo(
                ngettext(
                    "%(n)s split-billing session has no rate: the CREG table lacks its quarter",
                    "%(n)s split-billing sessions have no rate: the CREG table lacks their quarter",
                    unrated,
                )
                % {"n": unrated}
            )

    await with_platform(settings_of(ctx), work)


__all__ = ["cli_actor", "licence"]
