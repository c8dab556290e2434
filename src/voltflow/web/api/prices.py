"""Prices: what a charge will cost before it starts (the driver app asks this), and a station's
public tariff and host."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from voltflow.domain.session_prices import Party, PriceLine, line_of
from voltflow.services.pricing import StationPrices, TariffInForce
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import KEY_MAX, StationIdPath, Uid
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


TARIFF_ID_MAX = 36  # OCPI's CiString(36)
USERNAME_MAX = 128


class StationTariffOut(BaseModel):
    id: str = Field(description="the tariff's id")
    version: int | None = Field(
        description="the version a session starting now is priced by; when none is (it starts "
        "later or has ended), the latest"
    )
    in_force: bool = Field(description="whether that version prices a session starting now")
    currency: str | None
    valid_from: datetime | None
    valid_until: datetime | None


class StationPricesOut(BaseModel):
    station_id: str
    currency: str = Field(description="the currency every tariff of the platform is in")
    tariff: StationTariffOut | None = Field(description="the public tariff: what drivers pay")
    host: str | None = Field(description="the host's login: paid for the public sessions")
    host_tariff: StationTariffOut | None = Field(description="what the host is paid by")


class StationPricesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tariff_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=TARIFF_ID_MAX,
        description="the public tariff; null: public sessions are not priced",
    )
    host: str | None = Field(
        default=None, min_length=1, max_length=USERNAME_MAX, description="a login; null: none"
    )
    host_tariff_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=TARIFF_ID_MAX,
        description="the host's remuneration tariff (needs a host)",
    )


def _tariff_out(found: TariffInForce | None) -> StationTariffOut | None:
    if found is None:
        return None
    v = found.version
    return StationTariffOut(
        id=found.tariff_id,
        version=v.version if v else None,
        in_force=found.in_force,
        currency=v.tariff.currency if v else None,
        valid_from=v.valid_from if v else None,
        valid_until=v.valid_until if v else None,
    )


def _prices_out(prices: StationPrices) -> StationPricesOut:
    return StationPricesOut(
        station_id=prices.station_id,
        currency=prices.currency,
        tariff=_tariff_out(prices.tariff),
        host=prices.host,
        host_tariff=_tariff_out(prices.host_tariff),
    )


@router.get("/stations/{station_id}/prices", tags=["prices"])
async def station_prices(
    station_id: StationIdPath, platform: PlatformDep, actor: ApiUser
) -> StationPricesOut:
    """The station's public tariff, its host and the host's remuneration tariff, each tariff
    with the version a session starting now is priced by. For operators and those who read
    the contracts of the station's owner."""
    return _prices_out(await platform.pricing.station_prices(actor, station_id))


@router.put("/stations/{station_id}/prices", tags=["prices"])
async def set_station_prices(
    station_id: StationIdPath, body: StationPricesIn, platform: PlatformDep, actor: ApiUser
) -> StationPricesOut:
    """Sets all three at once (a field left out is null): sessions that start afterwards are
    priced with them. Operators only. An unknown tariff or host, a tariff in another currency,
    or a host's tariff without a host is refused naming the field, and nothing changes."""
    await platform.pricing.station_prices(actor, station_id)
    await platform.pricing.set_station_prices(
        actor,
        station_id,
        tariff_id=body.tariff_id,
        host=body.host,
        host_tariff_id=body.host_tariff_id,
    )
    return _prices_out(await platform.pricing.station_prices(actor, station_id))
