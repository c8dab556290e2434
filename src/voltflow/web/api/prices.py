"""Prices: what a charge will cost before it starts (the driver app asks this), and a station's
public tariff and host."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from voltflow.domain.session_prices import Party, PriceLine, line_of
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import KEY_MAX, Uid
from voltflow.web.schemas import IdPath, ShortDecimal

router = APIRouter(prefix="/api/v1")


class PriceLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    party: str = Field(description="driver (pays), host, cpo, emsp or employee (receive)")
    basis: str = Field(description="why: public_tariff, discount_list, whitelist, invalid, …")
    currency: str
    excl_vat: Decimal
    incl_vat: Decimal
    tariff_id: str | None
    tariff_version: int | None
    rate: Decimal | None = Field(description="€/kWh of a split-billing reimbursement")


class AmountOut(BaseModel):
    currency: str
    excl_vat: Decimal
    incl_vat: Decimal


class PriceEstimateOut(BaseModel):
    session_type: str
    reason: str
    price: AmountOut | None = Field(description="what the driver pays")
    reimbursement: AmountOut | None = Field(
        description="what the employee is reimbursed (split billing), without VAT"
    )
    lines: list[PriceLineOut]


def _amount(line: PriceLine | None) -> AmountOut | None:
    if line is None:
        return None
    return AmountOut(currency=line.currency, excl_vat=line.excl_vat, incl_vat=line.incl_vat)


class PriceEstimateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    station_id: str = Field(min_length=1, max_length=KEY_MAX)
    card: Uid = Field(description="the card's uid")
    kwh: ShortDecimal = Field(ge=0, le=1000, max_digits=10, description="expected energy")
    minutes: int = Field(ge=0, le=7 * 24 * 60, description="expected duration")


@router.post("/price-estimates", tags=["prices"])
async def price_estimate(
    body: PriceEstimateIn, platform: PlatformDep, actor: ApiUser
) -> PriceEstimateOut:
    """The price of a charge before it starts: the type the session would get (a refused card,
    a whitelist, a split-billing licence…), the driver's price with its breakdown, or zero and
    why. Nothing is stored."""
    estimate = await platform.pricing.estimate(
        actor, body.station_id, body.card, int(body.kwh * 1000), timedelta(minutes=body.minutes)
    )
    return PriceEstimateOut(
        session_type=str(estimate.session_type),
        reason=estimate.reason,
        price=_amount(line_of(estimate.lines, Party.DRIVER)),
        reimbursement=_amount(line_of(estimate.lines, Party.EMPLOYEE)),
        lines=[PriceLineOut.model_validate(line) for line in estimate.lines],
    )


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200, description="why, for the session's history")
    stopped_at: datetime | None = Field(default=None, description="the right stop")
    meter_stop_wh: int | None = Field(default=None, ge=0, le=2**53, description="the right reading")


class CorrectionOut(BaseModel):
    session_type: str = Field(description="the session's type after the correction")


@router.post("/sessions/{session_id}/corrections", tags=["prices"])
async def correct_session(
    session_id: IdPath, body: CorrectionIn, platform: PlatformDep, actor: ApiUser
) -> CorrectionOut:
    """An operator puts a finished session's stop or meter reading right, with a reason: it is
    typed and priced again (the earlier prices stay in its history)."""
    session_type = await platform.corrections.correct(
        actor,
        session_id,
        reason=body.reason,
        stopped_at=body.stopped_at,
        meter_stop_wh=body.meter_stop_wh,
    )
    return CorrectionOut(session_type=session_type)
