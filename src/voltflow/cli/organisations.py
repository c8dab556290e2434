"""``voltflow org``: customers (companies and households)."""

from __future__ import annotations

from typing import Any

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import fail, run_async, settings_of, with_platform
from voltflow.i18n import _


@click.group()
def org() -> None:
    """Organisations: companies (B2B) and households (B2C)."""


_DETAIL_OPTIONS = (
    ("street", "--street", "Street and number, for its documents."),
    ("postal_code", "--postal-code", "Postal code."),
    ("city", "--city", "City."),
    ("country", "--country", "Country, two letters (default BE)."),
    (
        "peppol_id",
        "--peppol-id",
        "Peppol participant id, scheme:identifier (default for a Belgian company with a VAT "
        "number: 0208: and its enterprise number).",
    ),
    ("iban", "--iban", "The account the platform pays it on."),
    ("bic", "--bic", "Its bank's BIC (default: from the IBAN when it tells)."),
    (
        "billing_email",
        "--billing-email",
        "Where its documents are mailed (default: its fleet managers).",
    ),
)


def detail_options(fn: Any) -> Any:
    for name, flag, text in reversed(_DETAIL_OPTIONS):
        fn = click.option(flag, name, default=None, help=text)(fn)
    return fn


def _vat(vat: str | None) -> str | None:
    from voltflow.domain.vat import VatNumberError, belgian_vat_number

    if vat is None:
        return None
    try:
        return belgian_vat_number(vat)
    except VatNumberError as exc:
        if exc.reason == "checksum":
            raise fail(_("--vat: %(vat)s: its check digits are wrong") % {"vat": vat}) from exc
        raise fail(
            _("--vat: %(vat)s is not a Belgian VAT number (BE and ten digits)") % {"vat": vat}
        ) from exc


def _option_error(message: str, field: str | None) -> click.ClickException:
    """A refusal naming the option of the field at fault: ``--postal-code: …``."""
    if field and message.startswith(f"{field}:"):
        message = "--" + field.replace("_", "-") + message[len(field) :]
    return fail(message)


@org.command("add")
@click.argument("name")
@click.option(
    "--kind", type=click.Choice(["company", "household"]), default="company", show_default=True
)
@click.option(
    "--vat", default=None, help="Belgian VAT number (BE0123456749); its check digits are verified."
)
@detail_options
@click.pass_context
@run_async
async def org_add(
    ctx: click.Context, /, name: str, kind: str, vat: str | None, **details: str | None
) -> None:
    """Add a customer organisation."""
    from voltflow.cli.licences import cli_actor
    from voltflow.domain.access import OrganisationKind
    from voltflow.services.organisations import OrganisationError

    vat_number = _vat(vat)
    given = {key: value for key, value in details.items() if value is not None}

    async def work(p: Platform) -> None:
        try:
            found = await p.organisations.create(
                cli_actor(), name, OrganisationKind(kind), vat_number, details=given
            )
        except OrganisationError as exc:
            raise _option_error(str(exc), exc.field) from exc
        click.echo(_("organisation %(id)s added: %(name)s") % {"id": found.id, "name": found.name})
        if found.peppol_id:
            click.echo(_("Peppol id: %(id)s") % {"id": found.peppol_id})

    await with_platform(settings_of(ctx), work)


@org.command("set")
@click.argument("organisation")
@click.option("--vat", default=None, help="Belgian VAT number (BE0123456749).")
@detail_options
@click.pass_context
@run_async
async def org_set(
    ctx: click.Context, /, organisation: str, vat: str | None, **details: str | None
) -> None:
    """Change what an organisation's documents carry (ORGANISATION: its id or name); an empty
    value ("") clears a field."""
    from voltflow.cli.licences import cli_actor
    from voltflow.services.billing import BillingError
    from voltflow.services.organisations import OrganisationError

    given: dict[str, str | None] = {
        key: value or None for key, value in details.items() if value is not None
    }
    if vat is not None:
        given["vat_number"] = _vat(vat) if vat else None
    if not given:
        raise fail(_("nothing to change: give at least one option"))

    async def work(p: Platform) -> None:
        try:
            org_id = await p.billing.customer_named(organisation)
        except BillingError as exc:
            raise fail(
                _("no single customer organisation is %(name)s") % {"name": organisation}
            ) from exc
        try:
            found = await p.organisations.update(cli_actor(), org_id, given)
        except OrganisationError as exc:
            raise _option_error(str(exc), exc.field) from exc
        click.echo(
            _("organisation %(id)s changed: %(name)s") % {"id": found.id, "name": found.name}
        )

    await with_platform(settings_of(ctx), work)


@org.command("iban")
@click.argument("organisation")
@click.argument("username")
@click.argument("iban")
@click.pass_context
@run_async
async def org_iban(ctx: click.Context, organisation: str, username: str, iban: str) -> None:
    """Where the platform pays a person of ORGANISATION (an employee's reimbursements, a host's
    remuneration); "" clears it."""
    from voltflow.cli.licences import cli_actor
    from voltflow.services.billing import BillingError
    from voltflow.services.organisations import OrganisationError, PersonNotFound

    async def work(p: Platform) -> None:
        try:
            org_id = await p.billing.customer_named(organisation)
        except BillingError as exc:
            raise fail(
                _("no single customer organisation is %(name)s") % {"name": organisation}
            ) from exc
        user = await p.accounts.find(username)
        try:
            if user is None:
                raise PersonNotFound(username)
            person = await p.organisations.set_person_iban(
                cli_actor(), org_id, user.id, iban or None
            )
        except PersonNotFound as exc:
            raise fail(_("no person %(id)s in this organisation") % {"id": username}) from exc
        except OrganisationError as exc:
            raise fail(str(exc)) from exc
        click.echo(
            _("%(name)s is paid on %(iban)s")
            % {"name": person.username, "iban": person.iban or "–"}
        )

    await with_platform(settings_of(ctx), work)
