"""A session's charging periods, in the shape of OCPI 2.2.1's CDR ``charging_periods``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from voltflow.domain.charging_periods import to_ocpi
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.schemas import IdPath

router = APIRouter(prefix="/api/v1")


class CdrDimensionOut(BaseModel):
    type: str = Field(
        description="ENERGY (kWh), TIME (hours charging), PARKING_TIME (hours plugged in, not "
        "charging), MAX_POWER / MIN_POWER (kW), MAX_CURRENT / MIN_CURRENT (A, summed over the "
        "phases)"
    )
    # A JSON number as OCPI has it; at most 6 decimals, which a number's shortest form keeps.
    volume: float | int


class ChargingPeriodOut(BaseModel):
    start_date_time: str = Field(description="RFC 3339, UTC; the period lasts until the next")
    dimensions: list[CdrDimensionOut]
    flags: list[str] = Field(
        default_factory=list,
        description="Not OCPI: what the platform noticed in the period's data "
        "(METER_BACKWARDS: the energy register went down and was held at its highest)",
    )


@router.get("/sessions/{session_id}/charging-periods", tags=["sessions"])
async def get_session_charging_periods(
    session_id: IdPath, platform: PlatformDep, actor: ApiUser
) -> list[ChargingPeriodOut]:
    """The closed session's charging periods, split where it changed between charging and
    parking; an empty list while it is open."""
    periods = await platform.charging_periods.of_session(session_id, actor=actor)
    return [
        ChargingPeriodOut.model_validate({**item, "flags": sorted(period.flags)})
        for period, item in zip(periods, to_ocpi(periods), strict=True)
    ]
