"""``voltflow billing`` after documents are issued: SEPA files, payments by hand, bank
statements, payouts, overdue documents and their reminders, the settlement's checks. Each
refusal is a message, never a traceback."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import fail, run_async, settings_of, with_platform
from voltflow.domain.billing.settlement import SepaFileRow
from voltflow.i18n import _, formats, terms


def _period(text: str | None, platform: Platform) -> Any:
    from voltflow.domain.billing.runs import BillingPeriod, PeriodError

    if text is None:
        return platform.billing.last_month()
    try:
        return BillingPeriod.parse(text)
    except PeriodError as exc:
        raise fail(
            _("--period: %(period)s is not a month written YYYY-MM") % {"period": text}
        ) from exc


def _table(rows: list[list[str]], numeric: set[int]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        click.echo("  ".join(cells).rstrip())


def _problems() -> tuple[type[Exception], ...]:
    from voltflow.services.payments import PaymentProblem

    return (PaymentProblem,)


@click.command("sepa")
@click.option("--period", default=None, help="The month billed, YYYY-MM (default: last month).")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder the month's files are written to.",
)
@click.pass_context
@run_async
async def sepa(ctx: click.Context, period: str | None, out: Path) -> None:
    """Make the month's SEPA files: direct debits (pain.008) of its documents under a mandate,
    a credit transfer (pain.001) of the payouts due; write every file of the month to --out."""
    from voltflow.cli.licences import cli_actor

    async def work(p: Platform) -> None:
        month = _period(period, p)
        actor = cli_actor()
        try:
            result = await p.payments.sepa(actor, month)
        except _problems() as exc:
            raise fail(str(exc)) from exc
        new = {f.id for f in result.files}
        made_files = [
            await p.payments.sepa_file(actor, f.id)
            for f in await p.payments.sepa_files(actor, month)
        ]
        await asyncio.to_thread(_write, out, made_files)
        for made, _content in made_files:
            path = out / f"{made.message_id}.xml"
            what = _("new") if made.id in new else _("made before")
            click.echo(
                _("%(path)s: %(count)s transactions, %(total)s (%(what)s)")
                % {
                    "path": path,
                    "count": made.transactions,
                    "total": formats.money(made.control_sum, "EUR"),
                    "what": what,
                }
            )
        for c in result.collections:
            click.echo(
                _("collect %(number)s from %(debtor)s: %(amount)s on %(day)s (%(sequence)s)")
                % {
                    "number": c.number,
                    "debtor": c.debtor,
                    "amount": formats.money(c.amount, "EUR"),
                    "day": c.collection_date.isoformat(),
                    "sequence": c.sequence_type.value,
                }
            )
        for payout in result.payouts:
            click.echo(
                _("pay %(number)s to %(payee)s: %(amount)s to %(iban)s")
                % {
                    "number": payout.number,
                    "payee": payout.payee,
                    "amount": formats.money(payout.amount, "EUR"),
                    "iban": payout.iban,
                }
            )
        if not result.files:
            click.echo(_("%(period)s: nothing new to collect or pay") % {"period": month.label})
        for e in result.exceptions:
            click.echo(
                _("not in a file: %(number)s (%(party)s, %(amount)s): %(message)s")
                % {
                    "number": e.number,
                    "party": e.party,
                    "amount": formats.money(e.amount, e.currency),
                    "message": e.message,
                }
            )

    await with_platform(settings_of(ctx), work)


def _write(out: Path, files: list[tuple[SepaFileRow, bytes]]) -> None:
    """Each file whole or not at all, where the upload to the bank may pick it up."""
    from voltflow.banking.sepa import SepaFile

    out.mkdir(parents=True, exist_ok=True)
    for row, content in files:
        made = SepaFile(row.schema, row.message_id, content, row.transactions, row.control_sum)
        made.write(out / f"{row.message_id}.xml")


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise fail(_("AMOUNT: %(amount)s is not an amount") % {"amount": text}) from exc
    if not value.is_finite():
        raise fail(_("AMOUNT: %(amount)s is not an amount") % {"amount": text})
    return value


@click.command("pay")
@click.argument("number")
@click.argument("amount")
@click.option("--reference", required=True, help="The payment's own reference (a transfer's).")
@click.option("--currency", default=None, help="Default: the document's.")
@click.option(
    "--on", "received_on", default=None, help="The day it was received, YYYY-MM-DD (today)."
)
@click.pass_context
@run_async
async def pay(
    ctx: click.Context,
    number: str,
    amount: str,
    reference: str,
    currency: str | None,
    received_on: str | None,
) -> None:
    """Register a payment received for a document (an invoice or a payment request)."""
    from voltflow.cli.licences import cli_actor
    from voltflow.services.billing import DocumentNotFound

    value = _amount(amount)
    day = None
    if received_on is not None:
        try:
            day = date.fromisoformat(received_on)
        except ValueError as exc:
            raise fail(_("--on: %(day)s is not a day YYYY-MM-DD") % {"day": received_on}) from exc

    async def work(p: Platform) -> None:
        try:
            done = await p.payments.register(
                cli_actor(), number, value, reference, currency=currency, received_on=day
            )
        except DocumentNotFound as exc:
            raise fail(_("no document %(number)s") % {"number": number}) from exc
        except _problems() as exc:
            raise fail(str(exc)) from exc
        d = done.document
        values = {
            "number": d.number,
            "amount": formats.money(value, d.currency),
            "due": formats.money(d.amount_due, d.currency),
            "state": terms.document_state(d.state),
        }
        if not done.booked:
            click.echo(_("%(number)s: this payment was registered before; nothing added") % values)
        click.echo(_("%(number)s: %(state)s, %(due)s still due") % values)

    await with_platform(settings_of(ctx), work)


@click.command("import-statement")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@run_async
async def import_statement(ctx: click.Context, file: Path) -> None:
    """Book a bank statement (CAMT.053): each credit matched by its structured reference to an
    open document or a prepaid contract; what matches nothing is listed. All or nothing; an
    entry booked before books nothing again."""
    from voltflow.cli.licences import cli_actor

    content = await asyncio.to_thread(file.read_bytes)

    async def work(p: Platform) -> None:
        try:
            result = await p.payments.import_statement(cli_actor(), content)
        except _problems() as exc:
            raise fail(str(exc)) from exc
        rows = [[_("Entry"), _("Amount"), _("Outcome"), _("Document"), _("Note")]]
        for e in result.entries:
            target = e.document or (
                _("contract %(id)s") % {"id": e.contract_id} if e.contract_id else ""
            )
            rows.append(
                [
                    e.entry.entry_reference.rsplit("/", 1)[-1],
                    formats.money(e.entry.amount, e.entry.currency),
                    terms.entry_outcome(e.kind.value),
                    target,
                    e.message or "",
                ]
            )
        _table(rows, {1})
        click.echo(
            _("%(entries)s entries: %(booked)s booked, %(exceptions)s to look at")
            % {
                "entries": len(result.entries),
                "booked": len(result.booked),
                "exceptions": len(result.exceptions),
            }
        )

    await with_platform(settings_of(ctx), work)


@click.command("overdue")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_context
@run_async
async def overdue(ctx: click.Context, as_json: bool) -> None:
    """Documents past their due date with something unpaid."""
    from voltflow.cli.licences import cli_actor

    async def work(p: Platform) -> None:
        late = await p.payments.overdue(cli_actor())
        if as_json:
            for o in late:
                d = o.document
                click.echo(
                    json.dumps(
                        {
                            "number": d.number,
                            "kind": d.kind.value,
                            "recipient": d.recipient,
                            "due_date": d.due_date.isoformat(),
                            "days": o.days,
                            "currency": d.currency,
                            "amount_due": str(d.amount_due),
                            "payment_reference": d.payment_reference,
                            "reminded": o.reminded,
                            "level": o.level,
                        },
                        ensure_ascii=False,
                    )
                )
            return
        if not late:
            click.echo(_("nothing overdue"))
            return
        rows = [[_("Number"), _("To"), _("Due"), _("Days"), _("Still due"), _("Reminders")]]
        for o in late:
            d = o.document
            rows.append(
                [
                    d.number,
                    d.recipient,
                    d.due_date.isoformat(),
                    str(o.days),
                    formats.money(d.amount_due, d.currency),
                    str(o.reminded),
                ]
            )
        _table(rows, {3, 4, 5})

    await with_platform(settings_of(ctx), work)


@click.command("remind")
@click.pass_context
@run_async
async def remind(ctx: click.Context) -> None:
    """Mail the reminders overdue documents have earned (each level once), with the document."""
    from voltflow.cli.licences import cli_actor

    async def work(p: Platform) -> None:
        sent = await p.payments.send_reminders(cli_actor())
        for s in sent:
            line = _("%(number)s: reminder %(level)s") % {"number": s.number, "level": s.level}
            if not s.mailed:
                line += " " + _("(nobody to mail: no billing address)")
            click.echo(line)
        click.echo(_("%(count)s reminders") % {"count": len(sent)})

    await with_platform(settings_of(ctx), work)


@click.command("payouts")
@click.option("--state", type=click.Choice(["due", "sent"]), default=None)
@click.pass_context
@run_async
async def payouts(ctx: click.Context, state: str | None) -> None:
    """Payouts released: due (in the next credit transfer file) or sent."""
    from voltflow.cli.licences import cli_actor
    from voltflow.domain.billing.settlement import PayoutState

    async def work(p: Platform) -> None:
        found = await p.payments.payouts(cli_actor(), PayoutState(state) if state else None)
        if not found:
            click.echo(_("no payouts"))
            return
        rows = [[_("Statement"), _("To"), _("Account"), _("Amount"), _("State")]]
        for payout in found:
            rows.append(
                [
                    payout.number,
                    payout.payee,
                    payout.iban or "–",
                    formats.money(payout.amount, payout.currency),
                    payout.state,
                ]
            )
        _table(rows, {3})

    await with_platform(settings_of(ctx), work)


@click.command("revoke-mandate")
@click.argument("reference")
@click.option("--on", "day", default=None, help="The day it was revoked, YYYY-MM-DD (today).")
@click.pass_context
@run_async
async def revoke_mandate(ctx: click.Context, reference: str, day: str | None) -> None:
    """Record that a customer revoked their direct-debit mandate: nothing is collected under
    it any more."""
    from voltflow.cli.licences import cli_actor
    from voltflow.services.payments import MandateNotFound

    on = None
    if day is not None:
        try:
            on = date.fromisoformat(day)
        except ValueError as exc:
            raise fail(_("--on: %(day)s is not a day YYYY-MM-DD") % {"day": day}) from exc

    async def work(p: Platform) -> None:
        try:
            await p.payments.revoke_mandate(cli_actor(), reference, on)
        except MandateNotFound as exc:
            raise fail(_("no mandate %(id)s") % {"id": reference}) from exc
        click.echo(_("mandate %(id)s revoked") % {"id": reference})

    await with_platform(settings_of(ctx), work)


@click.command("check")
@click.pass_context
@run_async
async def check(ctx: click.Context) -> None:
    """Documents, payments, payouts and prepaid balances against the ledger; exit status 1 when
    they disagree."""
    from voltflow.cli.licences import cli_actor

    async def work(p: Platform) -> bool:
        result = await p.payments.checks(cli_actor())
        for c in result.checks:
            mark = "ok" if c.ok else _("DIFFERS")
            figures = ", ".join(f"{name} {value}" for name, value in c.figures)
            click.echo(f"{mark:8} {c.name}: {figures}")
        return result.ok

    if not await with_platform(settings_of(ctx), work):
        sys.exit(1)


COMMANDS = (sepa, pay, import_statement, overdue, remind, payouts, revoke_mandate, check)
