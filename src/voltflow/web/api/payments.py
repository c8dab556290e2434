"""Money after documents are issued (operators only): payments by hand, bank statements, SEPA
files, payouts, overdue documents and their reminders, the settlement's checks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from voltflow.domain.billing.documents import DocumentKind
from voltflow.domain.billing.runs import BillingPeriod, PeriodError
from voltflow.domain.billing.settlement import EntryKind, PayoutState, SepaFileRow
from voltflow.services.payments import (
    ImportResult,
    PaymentProblem,
    SepaResult,
)
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.problems import Problem
from voltflow.web.schemas import ShortDecimal, problem_responses

router = APIRouter(prefix="/api/v1")

# A bank's day of statements is a few hundred kilobytes; a month's, a few megabytes.
MAX_STATEMENT_BYTES = 20 * 1024 * 1024
MONTH = r"^\d{4}-\d{2}$"
PeriodQuery = Annotated[
    str | None,
    Query(max_length=7, pattern=MONTH, description="the month, YYYY-MM"),
]
NumberPath = Annotated[str, Path(max_length=32, description="the document's number")]
FileIdPath = Annotated[int, Path(ge=1, le=2**53, description="the SEPA file's id")]


def _period(text: str | None) -> BillingPeriod | None:
    if text is None:
        return None
    try:
        return BillingPeriod.parse(text)
    except PeriodError as exc:
        raise PaymentProblem(str(exc), "period") from exc


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: ShortDecimal = Field(description="what was received, in the document's currency")
    reference: str = Field(
        min_length=1,
        max_length=140,
        description="the payment's own reference (a transfer's): registered once per document",
    )
    currency: str | None = Field(
        default=None, min_length=3, max_length=3, description="none: the document's"
    )
    received_on: date | None = Field(default=None, description="none: today")


class DocumentPaymentOut(BaseModel):
    number: str
    kind: DocumentKind
    currency: str
    payable: Decimal = Field(description="the total less what a prepaid balance paid")
    paid: Decimal
    amount_due: Decimal
    state: str
    booked: bool = Field(description="false: this reference was registered before; nothing added")


class EntryOut(BaseModel):
    entry_reference: str
    booking_date: date
    amount: Decimal
    currency: str
    references: list[str]
    payer: str | None
    outcome: EntryKind
    document: str | None
    contract_id: int | None = Field(description="the prepaid contract topped up")
    applied: Decimal
    surplus: Decimal
    candidates: list[str]
    message: str | None = Field(description="why it was not booked, or what was odd about it")


class ImportOut(BaseModel):
    entries: list[EntryOut]
    booked: int
    exceptions: int


class SepaFileOut(BaseModel):
    id: int
    format: str = Field(description="pain.008.001.02 (direct debits) or pain.001.001.03")
    message_id: str
    period_start: date
    transactions: int
    control_sum: Decimal
    created_at: datetime
    url: str


class SepaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str | None = Field(
        default=None, max_length=7, pattern=MONTH, description="YYYY-MM; none: last month"
    )


class CollectionOut(BaseModel):
    number: str
    debtor: str
    mandate: str
    sequence_type: str
    collection_date: date
    amount: Decimal


class PayoutMadeOut(BaseModel):
    number: str
    payee: str
    iban: str
    amount: Decimal


class SepaExceptionOut(BaseModel):
    kind: str
    number: str
    party: str
    amount: Decimal
    currency: str
    reason: str
    message: str


class SepaOut(BaseModel):
    period: str
    files: list[SepaFileOut]
    collections: list[CollectionOut]
    payouts: list[PayoutMadeOut]
    exceptions: list[SepaExceptionOut]


class PayoutOut(BaseModel):
    id: int
    number: str = Field(description="the statement it pays")
    kind: DocumentKind
    user_id: int
    payee: str
    iban: str | None
    amount: Decimal
    currency: str
    state: PayoutState
    released_by: str
    released_at: datetime
    sepa_file_id: int | None
    sent_at: datetime | None


class OverdueOut(BaseModel):
    number: str
    kind: DocumentKind
    organisation_id: int | None
    recipient: str
    due_date: date
    days: int
    currency: str
    payable: Decimal
    paid: Decimal
    amount_due: Decimal
    payment_reference: str | None
    reminded: int = Field(description="the highest reminder level sent, 0 for none")
    level: int = Field(description="the reminder level it has earned")


class ReminderOut(BaseModel):
    number: str
    level: int
    mailed: bool


class CheckOut(BaseModel):
    name: str
    ok: bool
    figures: dict[str, Decimal]


class ChecksOut(BaseModel):
    ok: bool
    checks: list[CheckOut]


@router.post("/billing/documents/{number}/payments", tags=["billing"])
async def register_payment(
    number: NumberPath, body: PaymentIn, platform: PlatformDep, actor: ApiUser
) -> DocumentPaymentOut:
    """A payment received for a document, by hand; the same reference again books nothing."""
    done = await platform.payments.register(
        actor,
        number,
        body.amount,
        body.reference,
        currency=body.currency,
        received_on=body.received_on,
    )
    d = done.document
    return DocumentPaymentOut(
        number=d.number,
        kind=d.kind,
        currency=d.currency,
        payable=d.payable,
        paid=d.paid,
        amount_due=d.amount_due,
        state=d.state,
        booked=done.booked,
    )


@router.post(
    "/billing/statements",
    tags=["billing"],
    responses=problem_responses(413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/xml": {"schema": {"type": "string", "maxLength": MAX_STATEMENT_BYTES}}
            },
            "description": "a bank statement, ISO 20022 camt.053.001.02",
        }
    },
)
async def import_statement(request: Request, platform: PlatformDep, actor: ApiUser) -> ImportOut:
    """A bank statement's credits matched to open documents and prepaid contracts and booked,
    all or none; an entry booked before books nothing again."""
    body = await request.body()
    if len(body) > MAX_STATEMENT_BYTES:
        raise Problem(413, "File too large", f"at most {MAX_STATEMENT_BYTES // 1024 // 1024} MiB")
    if not body:
        raise PaymentProblem("file: empty", "file")
    return import_out(await platform.payments.import_statement(actor, body))


def import_out(result: ImportResult) -> ImportOut:
    return ImportOut(
        entries=[
            EntryOut(
                entry_reference=e.entry.entry_reference,
                booking_date=e.entry.booking_date,
                amount=e.entry.amount,
                currency=e.entry.currency,
                references=list(e.entry.references),
                payer=e.entry.counterparty_name,
                outcome=e.kind,
                document=e.document,
                contract_id=e.contract_id,
                applied=e.applied,
                surplus=e.surplus,
                candidates=list(e.candidates),
                message=e.message,
            )
            for e in result.entries
        ],
        booked=len(result.booked),
        exceptions=len(result.exceptions),
    )


def _file_out(f: SepaFileRow) -> SepaFileOut:
    return SepaFileOut(
        id=f.id,
        format=f.schema,
        message_id=f.message_id,
        period_start=f.period_start,
        transactions=f.transactions,
        control_sum=f.control_sum,
        created_at=f.created_at,
        url=f"/api/v1/billing/sepa-files/{f.id}",
    )


@router.post("/billing/sepa-files", tags=["billing"])
async def make_sepa_files(body: SepaIn, platform: PlatformDep, actor: ApiUser) -> SepaOut:
    """The month's direct debits (pain.008) and a credit transfer of the payouts due (pain.001),
    each file stored with what it carries; what cannot go is listed."""
    period = _period(body.period) or platform.billing.last_month()
    result = await platform.payments.sepa(actor, period)
    return sepa_out(result)


def sepa_out(result: SepaResult) -> SepaOut:
    return SepaOut(
        period=result.period.label,
        files=[_file_out(f) for f in result.files],
        collections=[
            CollectionOut(
                number=c.number,
                debtor=c.debtor,
                mandate=c.mandate,
                sequence_type=c.sequence_type.value,
                collection_date=c.collection_date,
                amount=c.amount,
            )
            for c in result.collections
        ],
        payouts=[
            PayoutMadeOut(number=p.number, payee=p.payee, iban=p.iban, amount=p.amount)
            for p in result.payouts
        ],
        exceptions=[
            SepaExceptionOut(
                kind=e.kind,
                number=e.number,
                party=e.party,
                amount=e.amount,
                currency=e.currency,
                reason=e.reason,
                message=e.message,
            )
            for e in result.exceptions
        ],
    )


@router.get("/billing/sepa-files", tags=["billing"])
async def list_sepa_files(
    platform: PlatformDep, actor: ApiUser, period: PeriodQuery = None
) -> list[SepaFileOut]:
    """The SEPA files made, oldest first."""
    return [_file_out(f) for f in await platform.payments.sepa_files(actor, _period(period))]


@router.get(
    "/billing/sepa-files/{file_id}",
    tags=["billing"],
    response_class=Response,
    responses={
        200: {
            "description": "the file as it was made, to hand to the bank",
            "content": {"application/xml": {"schema": {"type": "string"}}},
        }
    },
)
async def download_sepa_file(
    file_id: FileIdPath, platform: PlatformDep, actor: ApiUser
) -> Response:
    row, content = await platform.payments.sepa_file(actor, file_id)
    return Response(
        content,
        media_type="application/xml",
        headers={
            "Content-Disposition": f'attachment; filename="{row.message_id}.xml"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/billing/payouts", tags=["billing"])
async def list_payouts(
    platform: PlatformDep,
    actor: ApiUser,
    state: Annotated[PayoutState | None, Query(description="due or sent")] = None,
) -> list[PayoutOut]:
    """Payouts released, oldest first: due (in the next credit transfer file) or sent."""
    return [
        PayoutOut(
            id=p.id,
            number=p.number,
            kind=p.kind,
            user_id=p.user_id,
            payee=p.payee,
            iban=p.iban,
            amount=p.amount,
            currency=p.currency,
            state=PayoutState(p.state),
            released_by=p.released_by,
            released_at=p.released_at,
            sepa_file_id=p.sepa_file_id,
            sent_at=p.sent_at,
        )
        for p in await platform.payments.payouts(actor, state)
    ]


@router.get("/billing/overdue", tags=["billing"])
async def list_overdue(platform: PlatformDep, actor: ApiUser) -> list[OverdueOut]:
    """Documents past their due date with something unpaid, the longest overdue first."""
    return [
        OverdueOut(
            number=o.document.number,
            kind=o.document.kind,
            organisation_id=o.document.organisation_id,
            recipient=o.document.recipient,
            due_date=o.document.due_date,
            days=o.days,
            currency=o.document.currency,
            payable=o.document.payable,
            paid=o.document.paid,
            amount_due=o.document.amount_due,
            payment_reference=o.document.payment_reference,
            reminded=o.reminded,
            level=o.level,
        )
        for o in await platform.payments.overdue(actor)
    ]


@router.post("/billing/reminders", tags=["billing"])
async def send_reminders(platform: PlatformDep, actor: ApiUser) -> list[ReminderOut]:
    """A reminder for each overdue document that earned one not sent yet, mailed with it."""
    return [
        ReminderOut(number=s.number, level=s.level, mailed=s.mailed)
        for s in await platform.payments.send_reminders(actor)
    ]


@router.get("/billing/checks", tags=["billing"])
async def settlement_checks(platform: PlatformDep, actor: ApiUser) -> ChecksOut:
    """Documents, payments, payouts and prepaid balances against the ledger, to the cent."""
    result = await platform.payments.checks(actor)
    return ChecksOut(
        ok=result.ok,
        checks=[CheckOut(name=c.name, ok=c.ok, figures=dict(c.figures)) for c in result.checks],
    )
