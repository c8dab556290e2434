"""Billing: the documents issued (each reader sees their own), and runs (operators only)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from voltflow.domain.billing.documents import DocumentKind
from voltflow.domain.billing.records import DocumentFilter
from voltflow.domain.billing.runs import BillingPeriod, PeriodError
from voltflow.domain.paging import PageRequest
from voltflow.services.billing import BillingError, DocumentFormat, Rendered, RunResult
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.schemas import MAX_ID, IdQuery, Limit, Offset, PageOut

router = APIRouter(prefix="/api/v1")

MONTH = r"^\d{4}-\d{2}$"
PeriodQuery = Annotated[
    str | None,
    Query(max_length=7, pattern=MONTH, description="the month billed, YYYY-MM"),
]

# A document's number: its series, year and number in the series (``INV-2026-000001``).
NUMBER = r"^[A-Z]{1,8}-\d{4}-\d{1,9}$"
NumberPath = Annotated[
    str,
    Path(max_length=32, pattern=NUMBER, description="the document's number, e.g. INV-2026-000001"),
]


class DocumentOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    number: str
    kind: DocumentKind
    organisation_id: int | None = Field(
        description="the customer (the employer, for a reimbursement statement)"
    )
    user_id: int | None = Field(description="the person paid (statements)")
    recipient: str
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    currency: str
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    payment_reference: str | None
    mandate_reference: str | None
    corrects: str | None
    state: str


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str | None = Field(
        default=None,
        max_length=7,
        pattern=MONTH,
        description="the month to bill, YYYY-MM; none: last month",
    )
    organisation_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="one customer; none: every customer"
    )
    finalise: bool = Field(
        default=False,
        description="issue the documents (numbered, stored, booked, mailed: all or none);"
        " false: a preview, nothing stored",
    )


class RunDocumentOut(BaseModel):
    id: int | None
    number: str | None
    kind: DocumentKind
    recipient: str
    organisation_id: int | None
    user_id: int | None
    currency: str
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    payment_reference: str | None
    mandate_reference: str | None
    sessions: int
    mailed: bool


class SkippedOut(BaseModel):
    session_id: int
    purpose: str
    reason: str
    detail: str | None


class RunOut(BaseModel):
    period: str
    finalised: bool
    run_id: int | None
    documents: list[RunDocumentOut]
    skipped: list[SkippedOut]


def _period(text: str | None) -> BillingPeriod | None:
    if text is None:
        return None
    try:
        return BillingPeriod.parse(text)
    except PeriodError as exc:
        raise BillingError(str(exc), "period") from exc


@router.get("/billing/documents", tags=["billing"])
async def list_documents(
    platform: PlatformDep,
    actor: ApiUser,
    period: PeriodQuery = None,
    kind: DocumentKind | None = None,
    organisation_id: IdQuery = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[DocumentOut]:
    """Issued documents, oldest first: an operator's every one, a fleet manager's their
    organisation's, a driver's or host's the statements that pay them."""
    month = _period(period)
    page = await platform.billing.documents(
        actor,
        DocumentFilter(
            period_start=month.start if month else None,
            kind=kind,
            organisation_id=organisation_id,
        ),
        PageRequest(offset, limit),
    )
    return PageOut[DocumentOut].model_validate(page, from_attributes=True)


@router.post("/billing/runs", tags=["billing"])
async def billing_run(body: RunIn, platform: PlatformDep, actor: ApiUser) -> RunOut:
    """A billing run: its documents as a preview, or issued (``finalise``). Operators only."""
    billing = platform.billing
    period = _period(body.period) or billing.last_month()
    if body.finalise:
        result = await billing.finalise(actor, period, body.organisation_id)
    else:
        result = await billing.preview(actor, period, body.organisation_id)
    return run_out(result)


def run_out(result: RunResult) -> RunOut:
    return RunOut(
        period=result.period.label,
        finalised=result.finalised,
        run_id=result.run_id,
        documents=[
            RunDocumentOut(
                id=d.id,
                number=d.document.number,
                kind=d.document.kind,
                recipient=d.recipient,
                organisation_id=d.organisation_id,
                user_id=d.user_id,
                currency=d.document.currency,
                total_excl_vat=d.document.total_excl_vat.amount,
                total_vat=d.document.total_vat.amount,
                total_incl_vat=d.document.total_incl_vat.amount,
                payment_reference=d.document.payment_reference,
                mandate_reference=d.document.mandate_reference,
                sessions=len(d.document.sessions),
                mailed=d.mailed,
            )
            for d in result.documents
        ],
        skipped=[
            SkippedOut(
                session_id=s.line.source_id,
                purpose=s.line.purpose.value,
                reason=s.reason.value,
                detail=s.detail,
            )
            for s in result.skipped
        ],
    )


def _binary(media_type: str, description: str) -> dict[int | str, dict[str, object]]:
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def download(rendered: Rendered) -> Response:
    """The file, as a download its reader keeps (never cached by the way)."""
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{rendered.filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/billing/documents/{number}/pdf",
    tags=["billing"],
    response_class=Response,
    responses=_binary(
        "application/pdf",
        "the document as a PDF, in the language of whom it is issued to, its sessions annexed",
    ),
)
async def document_pdf(number: NumberPath, platform: PlatformDep, actor: ApiUser) -> Response:
    """An issued document's PDF, to whoever may read the document."""
    return download(await platform.billing.rendered(actor, number, DocumentFormat.PDF))


@router.get(
    "/billing/documents/{number}/ubl",
    tags=["billing"],
    response_class=Response,
    responses=_binary(
        "application/xml",
        "the invoice or credit note as a Peppol BIS Billing 3.0 UBL document, valid against"
        " the Peppol rules",
    ),
)
async def document_ubl(number: NumberPath, platform: PlatformDep, actor: ApiUser) -> Response:
    """An invoice's or credit note's e-invoice (other kinds have none: 422, field ``format``);
    one the Peppol rules would refuse is not handed out (422, naming the rules)."""
    return download(await platform.billing.rendered(actor, number, DocumentFormat.UBL))
