"""``voltflow card``: stock import, look-up, blocking."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import fail, run_async, settings_of, with_platform
from voltflow.domain.records import CardDetail
from voltflow.i18n import _, ngettext


def _cli_actor() -> Any:
    import getpass

    from voltflow.domain.access import system_actor

    return system_actor(f"cli ({getpass.getuser()})")


def _card_text(card: CardDetail) -> str:
    from voltflow.domain.emaid import parse_emaid

    facts = [
        (_("uid"), card.uid),
        (_("printed number"), card.printed_number or "-"),
        (_("contract id"), parse_emaid(card.contract_id) if card.contract_id else "-"),
        (_("state"), card.state),
        (_("organisation"), card.organisation_id or "-"),
        (_("driver"), card.driver_id or "-"),
        (_("expires"), card.expires_at or "-"),
    ]
    # The values in one column, however long the labels are in the language of the moment.
    width = max(16, *(len(label) for label, _value in facts)) + 1
    lines = [f"{label:<{width}}{value}" for label, value in facts]
    lines.append(_("history:"))
    for e in card.history:
        why = f"  ({e.detail})" if e.detail else ""
        by = _("by %(actor)s") % {"actor": e.actor_name}
        lines.append(
            f"  {e.at:%Y-%m-%d %H:%M:%S}Z  {e.action:<16} {e.from_state or '':>11} → "
            f"{e.to_state:<11} {by}{why}"
        )
    return "\n".join(lines)


@click.group()
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
        raise fail(
            _("cannot read %(file)s: %(error)s") % {"file": file, "error": exc.strerror or exc}
        ) from exc
    except UnicodeDecodeError as exc:
        raise fail(
            _("%(file)s is not UTF-8 text: %(error)s") % {"file": file, "error": exc}
        ) from exc

    async def work(p: Platform) -> None:
        try:
            uids = await p.cards.import_csv(_cli_actor(), text)
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
        n = len(uids)
        click.echo(
            ngettext("%(n)s card imported into stock", "%(n)s cards imported into stock", n)
            % {"n": n}
        )

    await with_platform(settings_of(ctx), work)


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
            raise fail(_("no card %(uid)s") % {"uid": uid}) from exc
        click.echo(
            json.dumps(asdict(found), default=str, indent=2) if as_json else _card_text(found)
        )

    await with_platform(settings_of(ctx), work)


def _card_step(name: str, action: str, help_text: str, done: Callable[[int], str]) -> None:
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
                raise fail(_("no card %(uid)s") % {"uid": exc.args[0]}) from exc
            except CardError as exc:
                raise fail(str(exc)) from exc
            click.echo(done(len(uids)) % {"n": len(uids)})

        await with_platform(settings_of(ctx), work)


_card_step(
    "block",
    "block",
    "Block cards: every station refuses them, online or not.",
    lambda n: ngettext("%(n)s card blocked", "%(n)s cards blocked", n),
)
_card_step(
    "unblock",
    "unblock",
    "Unblock cards.",
    lambda n: ngettext("%(n)s card unblocked", "%(n)s cards unblocked", n),
)
