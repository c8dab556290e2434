"""``voltflow org``: customers (companies and households)."""

from __future__ import annotations

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import fail, run_async, settings_of, with_platform
from voltflow.i18n import _


@click.group()
def org() -> None:
    """Organisations: companies (B2B) and households (B2C)."""


@org.command("add")
@click.argument("name")
@click.option(
    "--kind", type=click.Choice(["company", "household"]), default="company", show_default=True
)
@click.option(
    "--vat", default=None, help="Belgian VAT number (BE0123456749); its check digits are verified."
)
@click.pass_context
@run_async
async def org_add(ctx: click.Context, name: str, kind: str, vat: str | None) -> None:
    """Add a customer organisation."""
    from voltflow.cli.licences import cli_actor
    from voltflow.domain.access import OrganisationKind
    from voltflow.domain.vat import VatNumberError, belgian_vat_number
    from voltflow.services.organisations import OrganisationError

    vat_number = None
    if vat is not None:
        try:
            vat_number = belgian_vat_number(vat)
        except VatNumberError as exc:
            if exc.reason == "checksum":
                raise fail(_("--vat: %(vat)s: its check digits are wrong") % {"vat": vat}) from exc
            raise fail(
                _("--vat: %(vat)s is not a Belgian VAT number (BE and ten digits)") % {"vat": vat}
            ) from exc

    async def work(p: Platform) -> None:
        try:
            found = await p.organisations.create(
                cli_actor(), name, OrganisationKind(kind), vat_number
            )
        except OrganisationError as exc:
            raise fail(str(exc)) from exc
        click.echo(_("organisation %(id)s added: %(name)s") % {"id": found.id, "name": found.name})

    await with_platform(settings_of(ctx), work)
