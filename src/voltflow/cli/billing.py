"""``voltflow billing``: runs (a preview, or issued), the documents issued, credit notes and a
period's reconciliation; refusals are messages, never tracebacks."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from voltflow.bootstrap import Platform
from voltflow.cli._common import fail, run_async, settings_of, with_platform
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


async def _customer(platform: Platform, name_or_id: str | None) -> int | None:
    from voltflow.services.billing import BillingError

    if name_or_id is None:
        return None
    try:
        return await platform.billing.customer_named(name_or_id)
    except BillingError as exc:
        raise fail(
            _("--customer: no single customer organisation is %(name)s") % {"name": name_or_id}
        ) from exc


def _table(rows: list[list[str]], numeric: set[int]) -> None:
    if not rows:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        click.echo("  ".join(cells).rstrip())


@click.group()
def billing() -> None:
    """Billing runs, the documents they issue, credit notes."""


@billing.command("run")
@click.option("--period", default=None, help="The month to bill, YYYY-MM (default: last month).")
@click.option("--customer", default=None, help="One customer organisation (its id or name).")
@click.option(
    "--finalise",
    is_flag=True,
    help="Issue the documents: numbered, stored, booked and mailed, all or none. "
    "Without it: a preview, nothing stored.",
)
@click.pass_context
@run_async
async def billing_run(
    ctx: click.Context, period: str | None, customer: str | None, finalise: bool
) -> None:
    """Bill a period: every customer's documents, or one customer's."""
    from voltflow.cli.licences import cli_actor
    from voltflow.services.billing import BillingError

    async def work(p: Platform) -> None:
        month = _period(period, p)
        customer_id = await _customer(p, customer)
        shown = [0]

        def progress(done: int, total: int) -> None:
            # A line now and then on stderr: a run of thousands of documents says how far it is.
            step = max(total // 20, 1)
            if done == total or done - shown[0] >= step:
                shown[0] = done
                click.echo(
                    _("issued %(done)s of %(total)s documents") % {"done": done, "total": total},
                    err=True,
                )

        try:
            if finalise:
                result = await p.billing.finalise(
                    cli_actor(), month, customer_id, progress=progress
                )
            else:
                result = await p.billing.preview(cli_actor(), month, customer_id)
        except BillingError as exc:
            raise fail(str(exc)) from exc
        rows = [
            [
                _("Number"),
                _("Document"),
                _("To"),
                _("Excl. VAT"),
                _("VAT"),
                _("Incl. VAT"),
            ]
        ]
        totals: dict[str, Decimal] = {}
        for d in result.documents:
            doc = d.document
            rows.append(
                [
                    doc.number or _("(preview)"),
                    terms.document_kind(doc.kind.value),
                    d.recipient,
                    formats.money(doc.total_excl_vat.amount, doc.currency),
                    formats.money(doc.total_vat.amount, doc.currency),
                    formats.money(doc.total_incl_vat.amount, doc.currency),
                ]
            )
            totals[doc.currency] = totals.get(doc.currency, Decimal(0)) + (
                doc.total_incl_vat.amount
            )
        if result.finalised:
            click.echo(
                _("%(period)s: %(count)s documents issued")
                % {"period": result.period.label, "count": len(result.documents)}
            )
        else:
            click.echo(
                _("%(period)s: %(count)s documents in preview (nothing stored)")
                % {"period": result.period.label, "count": len(result.documents)}
            )
        if len(rows) > 1:
            _table(rows, {3, 4, 5})
        skipped = Counter(s.reason.value for s in result.skipped)
        if skipped:
            click.echo(
                _("not billed: %(reasons)s")
                % {"reasons": ", ".join(f"{reason} {n}" for reason, n in sorted(skipped.items()))}
            )

    await with_platform(settings_of(ctx), work)


@billing.command("documents")
@click.option("--period", default=None, help="The month billed, YYYY-MM (default: all).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, every field.")
@click.pass_context
@run_async
async def billing_documents(ctx: click.Context, period: str | None, as_json: bool) -> None:
    """The documents issued, oldest first."""
    from voltflow.cli.licences import cli_actor
    from voltflow.domain.billing.records import DocumentFilter
    from voltflow.domain.paging import PageRequest

    async def work(p: Platform) -> None:
        month = _period(period, p) if period is not None else None
        offset, found = 0, []
        while True:
            page = await p.billing.documents(
                cli_actor(),
                DocumentFilter(period_start=month.start if month else None),
                PageRequest(offset, 500),
            )
            found += page.items
            offset += len(page.items)
            if not page.items or offset >= page.total:
                break
        if as_json:
            for d in found:
                click.echo(
                    json.dumps(
                        {
                            "number": d.number,
                            "kind": d.kind.value,
                            "recipient": d.recipient,
                            "organisation_id": d.organisation_id,
                            "user_id": d.user_id,
                            "period_start": d.period_start.isoformat(),
                            "period_end": d.period_end.isoformat(),
                            "issue_date": d.issue_date.isoformat(),
                            "due_date": d.due_date.isoformat(),
                            "currency": d.currency,
                            "total_excl_vat": str(d.total_excl_vat),
                            "total_vat": str(d.total_vat),
                            "total_incl_vat": str(d.total_incl_vat),
                            "payment_reference": d.payment_reference,
                            "mandate_reference": d.mandate_reference,
                            "corrects": d.corrects,
                            "state": d.state,
                        },
                        ensure_ascii=False,
                    )
                )
            return
        if not found:
            click.echo(_("no documents yet"))
            return
        rows = [[_("Number"), _("Document"), _("To"), _("Period"), _("Incl. VAT"), _("Reference")]]
        for d in found:
            rows.append(
                [
                    d.number,
                    terms.document_kind(d.kind.value),
                    d.recipient,
                    f"{d.period_start:%Y-%m}",
                    formats.money(d.total_incl_vat, d.currency),
                    d.payment_reference or "",
                ]
            )
        _table(rows, {4})

    await with_platform(settings_of(ctx), work)


@billing.command("credit")
@click.argument("number")
@click.option("--reason", required=True, help="Why: it is printed on the credit note.")
@click.option(
    "--line", "lines", type=int, multiple=True, help="A line to credit (1, 2, …); default: all."
)
@click.pass_context
@run_async
async def billing_credit(
    ctx: click.Context, number: str, reason: str, lines: tuple[int, ...]
) -> None:
    """Credit an issued invoice, in full or some of its lines: a credit note, never an edit."""
    from voltflow.cli.licences import cli_actor
    from voltflow.services.billing import BillingError, DocumentNotFound

    async def work(p: Platform) -> None:
        try:
            issued = await p.billing.credit(cli_actor(), number, reason, list(lines) or None)
        except DocumentNotFound as exc:
            raise fail(_("no document %(number)s") % {"number": number}) from exc
        except BillingError as exc:
            raise fail(str(exc)) from exc
        doc = issued.document
        click.echo(
            _("%(number)s credits %(invoice)s: %(amount)s")
            % {
                "number": doc.number,
                "invoice": number,
                "amount": formats.money(doc.total_incl_vat.amount, doc.currency),
            }
        )

    await with_platform(settings_of(ctx), work)


@billing.command("export")
@click.argument("number")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pdf", "ubl"]),
    default="pdf",
    show_default=True,
    help="pdf: in the language of whom it is issued to; ubl: the e-invoice of an invoice or "
    "credit note (Peppol BIS Billing 3.0), checked against the Peppol rules.",
)
@click.option(
    "-o",
    "--out",
    "output",
    type=click.Path(dir_okay=False, allow_dash=True),
    required=True,
    help="The file to write (- for standard output).",
)
@click.pass_context
@run_async
async def billing_export(ctx: click.Context, number: str, fmt: str, output: str) -> None:
    """An issued document as a file: its PDF, or its e-invoice in UBL."""
    from voltflow.cli.licences import cli_actor
    from voltflow.services.billing import BillingError, DocumentNotFound

    async def work(p: Platform) -> None:
        try:
            rendered = await p.billing.rendered(cli_actor(), number, fmt)
        except DocumentNotFound as exc:
            raise fail(_("no document %(number)s") % {"number": number}) from exc
        except BillingError as exc:
            raise fail(str(exc)) from exc
        if output == "-":
            sys.stdout.buffer.write(rendered.content)
            sys.stdout.buffer.flush()
            return
        # Whole or not at all: a file found at ``output`` is never half a document.
        target = Path(output)
        partial = target.with_name(target.name + ".part")
        try:
            partial.write_bytes(rendered.content)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        click.echo(
            _("%(number)s written to %(file)s (%(size)s bytes)")
            % {"number": number, "file": output, "size": formats.number(len(rendered.content))},
            err=True,
        )

    await with_platform(settings_of(ctx), work)


@billing.command("reconcile")
@click.option("--period", default=None, help="The month, YYYY-MM (default: last month).")
@click.pass_context
@run_async
async def billing_reconcile(ctx: click.Context, period: str | None) -> None:
    """A period's documents, the sessions they bill and the ledger, side by side; exit status
    1 when they disagree."""
    from voltflow.cli.licences import cli_actor

    async def work(p: Platform) -> bool:
        month = _period(period, p)
        result = await p.billing.reconcile(cli_actor(), month)
        for check in result.checks:
            mark = "ok" if check.ok else _("DIFFERS")
            figures = ", ".join(f"{name} {value}" for name, value in check.figures)
            click.echo(f"{mark:8} {check.name}: {figures}")
        return result.ok

    if not await with_platform(settings_of(ctx), work):
        sys.exit(1)
