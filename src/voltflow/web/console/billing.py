"""Billing in the console: the operator's run of a period (a preview, then finalised in the
background while the page shows its progress), the documents issued, one document with its
downloads, its mail and a credit note's form, a period's reconciliation; and the statements a
driver or a host is paid by.

Every page calls the billing service with the person logged in: what a page shows is what the
service lets that person read, so another organisation's document is not found here either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, Role
from voltflow.domain.billing.documents import DocumentKind, DocumentLine, VatCategory
from voltflow.domain.billing.records import DocumentFilter, DocumentRecord, DocumentState
from voltflow.domain.billing.runs import KIND_ORDER, BillingPeriod, PeriodError, SkipReason
from voltflow.domain.paging import PageRequest
from voltflow.i18n import Lazy, _, formats, lazy, lazy_p, terms
from voltflow.services.access import require
from voltflow.services.billing import (
    E_INVOICES,
    BillingError,
    DocumentFormat,
    DocumentNotFound,
    RunResult,
    recipient_of,
)
from voltflow.web.api.billing import NUMBER, download
from voltflow.web.auth import ConsoleUser, CsrfChecked, PlatformDep
from voltflow.web.console.common import (
    PAGE,
    FieldErrors,
    P,
    customer_choices,
    flash,
    is_partial,
    parse_int,
    redirect,
    render,
)
from voltflow.web.lengths import KEY_MAX
from voltflow.web.schemas import MAX_ID

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

MonthQuery = Annotated[str | None, Query(max_length=KEY_MAX)]
TextQuery = Annotated[str | None, Query(max_length=KEY_MAX)]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_ID)]
# A preview lists this many documents and skipped sessions at most; the rest are counted.
SHOWN = 500
# A document's page lists this many sessions of its annex; the PDF has them all.
ANNEX_SHOWN = 500
# A customer's page lists its latest documents, this many at a time.
CUSTOMER_PAGE = 10
LONGEST_REASON = 500

SKIP_REASONS: dict[str, Lazy] = {
    SkipReason.INVALID: lazy("an invalid session: never billed"),
    SkipReason.WHITELIST: lazy("free charging on a whitelist"),
    SkipReason.NO_CUSTOMER: lazy("its card belongs to no customer"),
    SkipReason.NO_PAYEE: lazy("nobody known to pay out to"),
    SkipReason.NO_PRICE: lazy("not priced: no tariff or rate applied"),
    SkipReason.MIXED_VAT: lazy("its tariff states more than one VAT rate"),
    SkipReason.CURRENCY: lazy("not in the platform's currency"),
}
STATES: dict[str, Lazy] = {
    "issued": lazy_p("document state", "issued"),
    "paid": lazy_p("document state", "paid"),
    "overdue": lazy_p("document state", "overdue"),
}
# The reconciliation's checks and figures, as people read them.
CHECKS: dict[str, Lazy] = {
    "ledger balances": lazy("Ledger balances"),
    "charging": lazy("Public charging"),
    "charging revenue": lazy("Charging revenue"),
    "subscriptions": lazy("Subscriptions"),
    "subscription revenue": lazy("Subscription revenue"),
    "VAT": lazy("VAT"),
    "receivables": lazy("Receivables"),
    "reimbursements": lazy("Reimbursements"),
    "reimbursements passed through": lazy("Reimbursements passed through"),
    "host remuneration": lazy("Host remuneration"),
}
FIGURES: dict[str, Lazy] = {
    "debits": lazy("debits"),
    "credits": lazy("credits"),
    "invoice lines": lazy("invoice lines"),
    "billed": lazy("billed"),
    "priced sessions": lazy("priced sessions"),
    "invoice lines less credit notes": lazy("invoice lines less credit notes"),
    "ledger": lazy("ledger"),
    "invoices less credit notes": lazy("invoices less credit notes"),
    "invoices and payment requests less credit notes": lazy(
        "invoices and payment requests less credit notes"
    ),
    "payment requests": lazy("payment requests"),
    "reimbursement statements": lazy("reimbursement statements"),
    "ledger payables": lazy("ledger payables"),
    "zero": lazy("zero"),
    "self-billing statements": lazy("self-billing statements"),
}


VAT_SHORT: dict[str, Lazy] = {
    VatCategory.EXEMPT: lazy_p("VAT category, short", "exempt"),
    VatCategory.REVERSE_CHARGE: lazy_p("VAT category, short", "reverse charge"),
    VatCategory.NOT_SUBJECT: lazy_p("VAT category, short", "no VAT"),
}
VAT_CATEGORIES: dict[str, Lazy] = {
    VatCategory.STANDARD: lazy_p("VAT category", "Standard rate"),
    VatCategory.ZERO: lazy_p("VAT category", "Zero rate"),
    VatCategory.EXEMPT: lazy_p("VAT category", "Exempt from VAT"),
    VatCategory.REVERSE_CHARGE: lazy_p("VAT category", "Reverse charge"),
    VatCategory.NOT_SUBJECT: lazy_p("VAT category", "Not subject to VAT"),
}


def vat_rate(category: VatCategory, rate: Decimal) -> str:
    """A line's VAT as its PDF writes it: the rate, or what keeps it out of VAT."""
    short = VAT_SHORT.get(category)
    return str(short) if short is not None else f"{formats.number(rate)} %"


def quantity(line: DocumentLine) -> str:
    if line.unit_code == "KWH":
        return f"{formats.number(line.quantity, 3)} kWh"
    return formats.number(line.quantity)


def state_names() -> list[str]:
    """The states a document may be in (the model's own list, whatever it grows to)."""
    found = {v for k, v in vars(DocumentState).items() if k.isupper() and isinstance(v, str)}
    known = [s for s in STATES if s in found]
    return known + sorted(found - set(known))


def document_state(value: str) -> str:
    label = STATES.get(value)
    return str(label) if label is not None else value.replace("_", " ")


def _labels() -> dict[str, Any]:
    """What the billing templates name: kinds, states, reasons, checks, in the page's language."""
    return {
        "document_kind": lambda kind: terms.document_kind(str(kind)),
        "document_state": document_state,
        "skip_reason": lambda reason: str(SKIP_REASONS.get(reason, reason)),
        "check_name": lambda name: str(CHECKS.get(name, name)),
        "figure_name": lambda name: str(FIGURES.get(name, name)),
        "month_of": formats.month,
        "vat_rate": vat_rate,
        "vat_category": lambda category: str(VAT_CATEGORIES.get(category, category)),
        "quantity": quantity,
        "e_invoices": E_INVOICES,
    }


# -- a run finalised in the background ------------------------------------------------------------
@dataclass
class RunTask:
    """A finalising run under way in this process, for the person who started it."""

    id: str
    owner: int
    period: BillingPeriod
    organisation_id: int | None
    done: int = 0
    total: int | None = None  # known once the run has read what it bills
    state: str = "running"  # running | done | failed
    result: RunResult | None = None
    error: str | None = None
    finished_at: float | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0


class RunTasks:
    """The console's finalising runs, as :mod:`voltflow.exports.jobs` keeps its exports: per
    process, found only by who started them, forgotten an hour after they ended. The run
    itself is the service's one unit of work: a restart mid-way leaves none of it."""

    KEEP_SECONDS = 3600

    def __init__(self) -> None:
        self._tasks: dict[str, RunTask] = {}

    def start(
        self,
        owner: int,
        period: BillingPeriod,
        organisation_id: int | None,
        work: Callable[[Callable[[int, int], None]], Awaitable[RunResult]],
    ) -> RunTask:
        """A run under way for ``owner``; the one already under way, if they started one."""
        self._forget_old()
        for running in self._tasks.values():
            if running.owner == owner and running.state == "running":
                return running
        run = RunTask(secrets.token_urlsafe(16), owner, period, organisation_id)

        def progress(done: int, total: int) -> None:
            run.done, run.total = done, total

        async def go() -> None:
            try:
                run.result = await work(progress)
                run.state = "done"
            except BillingError as exc:
                run.error = str(exc)
                run.state = "failed"
            except Exception:
                log.exception("billing run %s of %s failed", run.id, period.label)
                run.error = _("The run failed and issued nothing; try again.")
                run.state = "failed"
            finally:
                run.finished_at = time.monotonic()

        run.task = asyncio.create_task(go())
        self._tasks[run.id] = run
        return run

    def get(self, task_id: str, owner: int) -> RunTask | None:
        found = self._tasks.get(task_id)
        return found if found is not None and found.owner == owner else None

    def _forget_old(self) -> None:
        now = time.monotonic()
        for run in list(self._tasks.values()):
            if run.finished_at is not None and now - run.finished_at > self.KEEP_SECONDS:
                del self._tasks[run.id]

    async def close(self) -> None:
        """Cancels the runs under way (each leaves nothing: its unit of work rolls back)."""
        for run in self._tasks.values():
            if run.task is not None and not run.task.done():
                run.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run.task
        self._tasks.clear()


def runs_of_app(app: FastAPI) -> RunTasks:
    runs: RunTasks | None = getattr(app.state, "billing_runs", None)
    if runs is None:
        runs = app.state.billing_runs = RunTasks()
    return runs


# -- reading the forms ----------------------------------------------------------------------------
def _period(text: str | None, errors: FieldErrors, default: BillingPeriod) -> BillingPeriod:
    if not text or not text.strip():
        return default
    try:
        return BillingPeriod.parse(text)
    except PeriodError:
        errors["period"] = _("a month, e.g. 2026-11")
        return default


def _customer(text: str | None, errors: FieldErrors) -> tuple[int | None, str]:
    """The customer chosen (None: every one) and the form's value."""
    value = (text or "").strip()
    if not value:
        return None, ""
    found = parse_int(value)
    if found is None or not 1 <= found <= MAX_ID:
        errors["organisation_id"] = _("choose a customer from the list")
        return None, value
    return found, value


def _summary(result: RunResult) -> list[dict[str, Any]]:
    """Per kind of document: how many, and their totals, per currency."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for d in result.documents:
        doc = d.document
        key = (doc.kind.value, doc.currency)
        row = rows.setdefault(
            key,
            {
                "kind": doc.kind.value,
                "currency": doc.currency,
                "count": 0,
                "excl": Decimal(0),
                "vat": Decimal(0),
                "incl": Decimal(0),
            },
        )
        row["count"] += 1
        row["excl"] += doc.total_excl_vat.amount
        row["vat"] += doc.total_vat.amount
        row["incl"] += doc.total_incl_vat.amount
    order = [k.value for k in KIND_ORDER] + [k.value for k in DocumentKind]
    return [rows[k] for k in sorted(rows, key=lambda k: (order.index(k[0]), k[1]))]


# -- the run page: a period, maybe one customer; its preview; finalise -------------------------
@router.get("/billing")
async def billing_page(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    period: MonthQuery = None,
    organisation_id: TextQuery = None,
) -> HTMLResponse:
    """The run's form; with a period chosen, what a run would issue now (nothing stored)."""
    require(user, P.BILLING_WRITE, None)
    billing = platform.billing
    errors = FieldErrors()
    last = billing.last_month()
    chosen = _period(period, errors, last)
    customer, customer_value = _customer(organisation_id, errors)
    preview: RunResult | None = None
    if period is not None and not errors:
        try:
            preview = await billing.preview(user, chosen, customer)
        except BillingError as exc:
            errors[exc.field if exc.field in ("period",) else "organisation_id"] = str(exc)
    ctx = await _run_context(platform, user, chosen, customer_value, errors, preview)
    return render(request, "billing.html", ctx, 422 if errors else 200)


async def _run_context(
    platform: Platform,
    user: Actor,
    period: BillingPeriod,
    customer_value: str,
    errors: FieldErrors,
    preview: RunResult | None,
) -> dict[str, Any]:
    skipped = Counter(s.reason.value for s in preview.skipped) if preview else Counter()
    return {
        "user": user,
        "form": {"period": period.label, "organisation_id": customer_value},
        "errors": errors,
        "customers": await customer_choices(platform, user),
        "preview": preview,
        "summary": _summary(preview) if preview else [],
        "skipped_by_reason": sorted(skipped.items()),
        "shown": SHOWN,
        "finalisable": platform.billing.today() > period.end,
        "last_month": platform.billing.last_month(),
        **_labels(),
    }


@router.post("/billing/runs", dependencies=[CsrfChecked])
async def start_run(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    period: Annotated[str, Form(max_length=KEY_MAX)] = "",
    organisation_id: Annotated[str, Form(max_length=KEY_MAX)] = "",
    confirm: Annotated[str, Form(max_length=KEY_MAX)] = "",
) -> Response:
    """Finalises the period in the background: the answer is its progress, polled."""
    require(user, P.BILLING_WRITE, None)
    billing = platform.billing
    errors = FieldErrors()
    chosen = _period(period, errors, billing.last_month())
    if not period.strip():
        errors["period"] = _("required")
    customer, customer_value = _customer(organisation_id, errors)
    if not confirm:
        errors["confirm"] = _("tick this box to issue the documents")
    if not errors and billing.today() <= chosen.end:
        errors["period"] = _(
            "%(period)s has not ended yet: preview it, finalise it once it has"
        ) % {"period": chosen.label}
    if errors:
        if is_partial(request):
            text = " ".join(errors.values())
            return render(request, "partials/billing_run.html", {"run": None, "error": text}, 422)
        # The preview again, with the error next to what caused it.
        preview = None
        if "organisation_id" not in errors:
            with contextlib.suppress(BillingError):
                preview = await billing.preview(user, chosen, customer)
        ctx = await _run_context(platform, user, chosen, customer_value, errors, preview)
        return render(request, "billing.html", ctx, 422)

    async def work(progress: Callable[[int, int], None]) -> RunResult:
        return await billing.finalise(user, chosen, customer, progress=progress)

    run = runs_of_app(request.app).start(user.user_id, chosen, customer, work)
    if is_partial(request):
        return render(request, "partials/billing_run.html", _run_view(run))
    return redirect(f"/billing/runs/{run.id}")


def _run_view(run: RunTask) -> dict[str, Any]:
    return {"run": run, "error": None, **_labels()}


@router.get("/billing/runs/{task_id}")
async def run_progress(
    request: Request,
    task_id: str,
    platform: PlatformDep,
    user: ConsoleUser,
) -> HTMLResponse:
    """A run's progress: the fragment htmx polls, or a page of its own."""
    run = runs_of_app(request.app).get(task_id[:64], user.user_id)
    if run is None:
        view: dict[str, Any] = {"run": None, "error": _("This run is no longer shown here.")}
        if is_partial(request):
            return render(request, "partials/billing_run.html", view, 404)
        return render(request, "billing_run.html", {"user": user, **view}, 404)
    if is_partial(request):
        return render(request, "partials/billing_run.html", _run_view(run))
    return render(request, "billing_run.html", {"user": user, **_run_view(run)})


# -- the documents --------------------------------------------------------------------------------
@router.get("/billing/documents")
async def documents_page(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    period: MonthQuery = None,
    kind: TextQuery = None,
    organisation_id: TextQuery = None,
    state: TextQuery = None,
    offset: OffsetQuery = 0,
) -> HTMLResponse:
    """Every document issued, newest first, filtered (operators)."""
    require(user, P.BILLING_WRITE, None)
    errors = FieldErrors()
    month: BillingPeriod | None = None
    if period and period.strip():
        try:
            month = BillingPeriod.parse(period)
        except PeriodError:
            errors["period"] = _("a month, e.g. 2026-11")
    chosen_kind = DocumentKind(kind) if kind in {k.value for k in DocumentKind} else None
    states = state_names()
    chosen_state = state if state in states else None
    customer = parse_int(organisation_id)
    page = await platform.billing.documents(
        user,
        DocumentFilter(
            period_start=month.start if month else None,
            kind=chosen_kind,
            organisation_id=customer,
            state=chosen_state,
        ),
        PageRequest(offset, PAGE),
        newest_first=True,
    )
    return render(
        request,
        "billing_documents.html",
        {
            "user": user,
            "page": page,
            "offset": offset,
            "limit": PAGE,
            "errors": errors,
            "filters": {
                "period": period or "",
                "kind": chosen_kind.value if chosen_kind else "",
                "organisation_id": str(customer) if customer else "",
                "state": chosen_state or "",
            },
            "kinds": [k.value for k in DocumentKind],
            "states": states,
            "customers": await customer_choices(platform, user),
            **_labels(),
        },
        422 if errors else 200,
    )


def _number(number: str) -> str:
    """A number as typed in a path; one no document can have is not looked up."""
    if len(number) > 32 or not re.match(NUMBER, number):
        raise DocumentNotFound(number[:32])
    return number


async def _document_context(platform: Platform, user: Actor, number: str) -> dict[str, Any]:
    billing = platform.billing
    record, document = await billing.document(user, _number(number))
    operator = user.is_operator
    credited: set[int] = set()
    mails: list[Any] = []
    if operator:
        mails = await platform.mail.of_document(user, record.id)
        if document.kind is DocumentKind.INVOICE:
            credited = await billing.credited_lines(user, record.number)
    notes = None
    if document.kind is DocumentKind.INVOICE:
        notes = await billing.documents(
            user, DocumentFilter(corrects=record.number), PageRequest(0, 100)
        )
    corrected: DocumentRecord | None = None
    if document.corrects:
        with contextlib.suppress(DocumentNotFound):
            corrected = (await billing.document(user, document.corrects))[0]
    return {
        "user": user,
        "record": record,
        "doc": document,
        "recipient": recipient_of(document),
        "statement": document.kind
        in (
            DocumentKind.SELF_BILLING,
            DocumentKind.REIMBURSEMENT_STATEMENT,
        ),
        "lines": list(enumerate(document.lines, start=1)),
        "credited": credited,
        "creditable": operator
        and document.kind is DocumentKind.INVOICE
        and len(credited) < len(document.lines),
        "notes": notes,
        "corrected": corrected,
        "mails": mails,
        "annex": document.annex[:ANNEX_SHOWN],
        "annex_more": max(len(document.annex) - ANNEX_SHOWN, 0),
        "back": _back(user, record),
        "credit_form": {"scope": "all", "reason": "", "lines": []},
        "credit_errors": FieldErrors(),
        "longest_reason": LONGEST_REASON,
        **_labels(),
    }


def _back(user: Actor, record: DocumentRecord) -> tuple[str, str]:
    """Where the document's page leads back to: the list the person reads it from."""
    if user.is_operator:
        return "/billing/documents", _("Documents")
    if record.organisation_id is not None and record.organisation_id in user.organisations(
        P.CUSTOMERS_READ
    ):
        return f"/customers/{record.organisation_id}#invoices", _("Invoices")
    return "/my/statements", _("My statements")


@router.get("/billing/documents/{number}")
async def document_page(
    request: Request, number: str, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    ctx = await _document_context(platform, user, number)
    return render(request, "billing_document.html", ctx)


@router.get("/billing/documents/{number}/pdf")
async def document_pdf(number: str, platform: PlatformDep, user: ConsoleUser) -> Response:
    return download(await platform.billing.rendered(user, _number(number), DocumentFormat.PDF))


@router.get("/billing/documents/{number}/ubl")
async def document_ubl(number: str, platform: PlatformDep, user: ConsoleUser) -> Response:
    return download(await platform.billing.rendered(user, _number(number), DocumentFormat.UBL))


@router.post("/billing/documents/{number}/credit", dependencies=[CsrfChecked])
async def credit_document(
    request: Request,
    number: str,
    platform: PlatformDep,
    user: ConsoleUser,
    reason: Annotated[str, Form(max_length=2 * LONGEST_REASON)] = "",
    scope: Annotated[str, Form(max_length=KEY_MAX)] = "all",
    lines: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """A credit note of the invoice, whole or some of its lines."""
    billing = platform.billing
    document = (await billing.document(user, _number(number)))[1]
    require(user, P.BILLING_WRITE, None)
    if document.kind is not DocumentKind.INVOICE:
        raise BillingError(
            _("document_number: %(number)s is no invoice; only invoices are credited")
            % {"number": number},
            "document_number",
        )
    errors = FieldErrors()
    chosen: list[int] | None = None
    if scope == "lines":
        picked = [parse_int(v) for v in lines or []]
        chosen = [n for n in picked if n is not None]
        if not chosen or len(chosen) != len(picked):
            errors["lines"] = _("tick the lines to credit")
    elif scope != "all":
        errors["scope"] = _("the whole invoice, or some of its lines")
    if not reason.strip():
        errors["reason"] = _("required: it is printed on the credit note")
    elif len(reason.strip()) > LONGEST_REASON:
        errors["reason"] = _("at most %(n)s characters") % {"n": LONGEST_REASON}
    if not errors:
        try:
            issued = await billing.credit(user, number, reason, chosen)
        except BillingError as exc:
            field_name = exc.field if exc.field in ("reason", "lines") else "scope"
            errors[field_name] = str(exc)
        else:
            assert issued.document.number is not None
            flash(
                request,
                _("%(note)s credits %(number)s: %(amount)s.")
                % {
                    "note": issued.document.number,
                    "number": number,
                    "amount": formats.money(
                        issued.document.total_incl_vat.amount, issued.document.currency
                    ),
                },
            )
            return redirect(f"/billing/documents/{issued.document.number}")
    ctx = await _document_context(platform, user, number)
    if not ctx["creditable"]:
        # No form left to show the error next to (credited in full meanwhile): said alone.
        raise BillingError(" ".join(errors.values()), next(iter(errors)))
    ctx["credit_form"] = {"scope": scope, "reason": reason, "lines": lines or []}
    ctx["credit_errors"] = errors
    return render(request, "billing_document.html", ctx, 422)


# -- a period's reconciliation ------------------------------------------------------------------
@router.get("/billing/reconciliation")
async def reconciliation_page(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    period: MonthQuery = None,
) -> HTMLResponse:
    """The period's documents, the sessions they bill and the ledger, side by side."""
    require(user, P.BILLING_WRITE, None)
    billing = platform.billing
    errors = FieldErrors()
    chosen = _period(period, errors, billing.last_month())
    result = await billing.reconcile(user, chosen)
    counts = []
    for kind in DocumentKind:
        found = await billing.documents(
            user, DocumentFilter(period_start=chosen.start, kind=kind), PageRequest(0, 1)
        )
        counts.append((kind.value, found.total))
    return render(
        request,
        "billing_reconciliation.html",
        {
            "user": user,
            "form": {"period": period or chosen.label},
            "period": chosen,
            "errors": errors,
            "result": result,
            "counts": counts,
            "issued": sum(n for _kind, n in counts),
            **_labels(),
        },
        422 if errors else 200,
    )


# -- a driver's or a host's statements -----------------------------------------------------------
def has_statements(actor: Actor) -> bool:
    """Whether the person may be paid by statements: an employee (driver) or a host."""
    return any(m.role in (Role.DRIVER, Role.HOST) for m in actor.memberships)


@router.get("/my/statements")
async def my_statements(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    offset: OffsetQuery = 0,
) -> HTMLResponse:
    """The statements that pay the person: their home charging's reimbursements, a host's
    remuneration."""
    page = await platform.billing.documents(
        user, DocumentFilter(user_id=user.user_id), PageRequest(offset, PAGE), newest_first=True
    )
    return render(
        request,
        "my_statements.html",
        {
            "user": user,
            "page": page,
            "offset": offset,
            "limit": PAGE,
            "host": any(m.role is Role.HOST for m in user.memberships),
            **_labels(),
        },
    )


# -- a customer's documents, for its page ---------------------------------------------------------
async def customer_documents(
    platform: Platform, user: Actor, organisation_id: int, offset: int
) -> dict[str, Any]:
    """The latest documents issued to an organisation, for the Invoices section of its page."""
    page = await platform.billing.documents(
        user,
        DocumentFilter(organisation_id=organisation_id),
        PageRequest(offset, CUSTOMER_PAGE),
        newest_first=True,
    )
    return {
        "documents": page,
        "documents_offset": offset,
        "documents_limit": CUSTOMER_PAGE,
        **_labels(),
    }


__all__ = ["customer_documents", "has_statements", "router", "runs_of_app"]
