"""``voltflow card``: stock import, look-up, blocking."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import fail, run_async, settings_of, with_platform
from voltflow.domain.records import CardDetail


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
        raise fail(f"cannot read {file}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise fail(f"{file} is not UTF-8 text: {exc}") from exc

    async def work(p: Platform) -> None:
        try:
            uids = await p.cards.import_csv(_cli_actor(), text)
        except ImportRejected as exc:
            details = "\n".join(f"  {problem}" for problem in exc.problems)
            raise fail(f"nothing imported, {len(exc.problems)} problem(s):\n{details}") from exc
        click.echo(f"{len(uids)} card(s) imported into stock")

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
            raise fail(f"no card {uid}") from exc
        click.echo(
            json.dumps(asdict(found), default=str, indent=2) if as_json else _card_text(found)
        )

    await with_platform(settings_of(ctx), work)


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
                raise fail(f"no card {exc.args[0]}") from exc
            except CardError as exc:
                raise fail(str(exc)) from exc
            click.echo(f"{len(uids)} card(s): {name} done")

        await with_platform(settings_of(ctx), work)


_card_step("block", "block", "Block cards: every station refuses them, online or not.")
_card_step("unblock", "unblock", "Unblock cards.")
