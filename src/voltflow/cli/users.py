"""``voltflow user`` and ``voltflow apikey``: who logs in, and their API keys."""

from __future__ import annotations

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import fail, run_async, settings_of, with_platform
from voltflow.i18n import _, terms


@click.group()
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
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    assert password is not None

    async def work(p: Platform) -> None:
        try:
            u = await p.organisations.add_operator(username, password)
        except AccountError as exc:
            raise fail(str(exc)) from exc
        click.echo(
            _("user %(name)s (%(role)s) created") % {"name": u.username, "role": terms.role(role)}
        )

    await with_platform(settings_of(ctx), work)


@user.command("disable")
@click.argument("username")
@click.pass_context
@run_async
async def user_disable(ctx: click.Context, username: str) -> None:
    """Stop a user: no login, and their console sessions and API keys stop working at once."""

    async def work(p: Platform) -> None:
        found = await p.accounts.find(username)
        if found is None:
            raise fail(_("no user %(name)s") % {"name": username})
        await p.accounts.disable(found.id)
        click.echo(
            _("user %(name)s disabled; their console sessions have ended") % {"name": username}
        )

    await with_platform(settings_of(ctx), work)


@user.command("enable")
@click.argument("username")
@click.pass_context
@run_async
async def user_enable(ctx: click.Context, username: str) -> None:
    """Let a disabled user log in again (and their API keys work again)."""

    async def work(p: Platform) -> None:
        found = await p.accounts.find(username)
        if found is None:
            raise fail(_("no user %(name)s") % {"name": username})
        await p.accounts.enable(found.id)
        click.echo(_("user %(name)s enabled") % {"name": username})

    await with_platform(settings_of(ctx), work)


@click.group()
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
            raise fail(str(exc)) from exc
        click.echo(key)

    await with_platform(settings_of(ctx), work)
