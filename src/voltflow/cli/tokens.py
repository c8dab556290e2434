"""``voltflow token``: charging tokens allowed to charge."""

from __future__ import annotations

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import fail, run_async, settings_of, with_platform
from voltflow.domain.paging import PageRequest
from voltflow.i18n import _


@click.group()
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
            raise fail(str(exc)) from exc
        click.echo(_("token %(uid)s added, active") % {"uid": t.uid})

    await with_platform(settings_of(ctx), work)


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
            click.echo(_("no tokens yet: add one with `voltflow token add UID`"))

    await with_platform(settings_of(ctx), work)
