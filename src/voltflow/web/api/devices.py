"""External devices (smart charging cables, meters) report their sessions here."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from voltflow.domain.licences import DeviceSession
from voltflow.i18n import _
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import StationIdPath
from voltflow.web.problems import Problem
from voltflow.web.schemas import problem_responses

router = APIRouter(prefix="/api/v1")
MAX_IMPORT_BYTES = 5 * 1024 * 1024


class ReimbursementOut(BaseModel):
    basis: str = Field(
        description="licence_rate (reimbursed at the licence's rate in force at the start), "
        "no_rate (a licence covers it, but the CREG table lacks its quarter), invalid (never "
        "reimbursed) or no_licence (no licence covers its card at the device then)"
    )
    licence_id: int | None
    currency: str
    rate: Decimal | None = Field(description="€/kWh, no VAT")
    rate_source: str | None = Field(description="fixed, employer or creg")
    amount: Decimal | None = Field(description="kWh × rate, to the cent, no VAT")


class DeviceSessionOut(BaseModel):
    id: str
    card_uid: str
    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    session_type: str
    type_reason: str | None
    reimbursement: ReimbursementOut | None


def _reimbursement(session: DeviceSession) -> ReimbursementOut | None:
    r = session.reimbursement
    if r is None:
        return None
    return ReimbursementOut(
        basis=r.basis.value,
        licence_id=r.licence_id,
        currency=r.currency,
        rate=None if r.rate is None else r.rate.per_kwh,
        rate_source=None if r.rate is None else r.rate.source.value,
        amount=None if r.amount is None else r.amount.amount,
    )


class DeviceImportOut(BaseModel):
    imported: int
    already_stored: int
    reimbursed: Decimal = Field(
        description="what the imported sessions are reimbursed in all (the sum of amounts each "
        "to the cent)"
    )
    sessions: list[DeviceSessionOut]


@router.post(
    "/devices/{device_id}/sessions",
    status_code=201,
    tags=["devices"],
    responses=problem_responses(413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string", "maxLength": MAX_IMPORT_BYTES}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
            "description": "sessions with started_at, stopped_at (ISO 8601 with offset), "
            "energy_wh or kwh, card_uid; a bad row rejects them all (problem details name its "
            "row and column); sessions sent before (same device and start) are skipped",
        }
    },
)
async def import_device_sessions(
    device_id: StationIdPath, request: Request, platform: PlatformDep, actor: ApiUser
) -> DeviceImportOut:
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise Problem(413, _("File too large"), f"at most {MAX_IMPORT_BYTES // 1024 // 1024} MiB")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(422, _("Invalid file"), f"not UTF-8 text: {exc}", field="body") from exc
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    result = await platform.licences.import_sessions(
        actor, device_id, text, format="json" if kind.endswith("json") else "csv"
    )
    return DeviceImportOut(
        imported=len(result.added),
        already_stored=result.already_stored,
        reimbursed=result.total,
        sessions=[
            DeviceSessionOut(
                id=s.ref,
                card_uid=s.card_uid,
                started_at=s.started_at,
                stopped_at=s.stopped_at,
                energy_wh=s.energy_wh,
                session_type=s.session_type,
                type_reason=s.type_reason,
                reimbursement=_reimbursement(s),
            )
            for s in result.added
        ],
    )
