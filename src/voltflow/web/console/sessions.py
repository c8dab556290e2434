"""One charging session: what it was, its charging periods, and its signed meter readings (the
blocks as the station sent them, ready to copy into a transparency tool, and their OCMF records
decoded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voltflow.domain.charging_periods import ChargingPeriod, DimensionType, PeriodFlag
from voltflow.web.auth import ConsoleUser, PlatformDep
from voltflow.web.console.common import render
from voltflow.web.schemas import IdPath, XmlResponse, transparency_download

router = APIRouter(include_in_schema=False)


@router.get("/sessions/{session_id}")
async def session_page(
    request: Request, session_id: IdPath, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    session = await platform.sessions.get(session_id, actor=user)
    periods = await platform.charging_periods.of_session(session_id, actor=user)
    signed = session.signed_meter_values
    return render(
        request,
        "session.html",
        {
            "user": user,
            "s": session,
            "periods": [PeriodRow.of(p) for p in periods],
            "signed": signed,
            "signed_start": next((v for v in signed if v.session_start), None),
            "signed_end": next((v for v in signed if v.session_end), None),
        },
    )


@router.get("/sessions/{session_id}/transparency.xml")
async def session_transparency_file(
    session_id: IdPath, platform: PlatformDep, user: ConsoleUser
) -> XmlResponse:
    body = await platform.sessions.transparency_file(session_id, actor=user)
    return XmlResponse(body, headers=transparency_download(session_id))


@dataclass(frozen=True, slots=True)
class PeriodRow:
    """A charging period as the session's page shows it: Wh and times for the formats."""

    start: datetime
    energy_wh: int
    charging: timedelta | None
    parking: timedelta | None
    max_power_kw: Decimal | None
    meter_backwards: bool

    @classmethod
    def of(cls, period: ChargingPeriod) -> PeriodRow:
        return cls(
            start=period.start,
            energy_wh=int((period.energy_kwh * 1000).to_integral_value(ROUND_HALF_UP)),
            charging=_hours(period.volume(DimensionType.TIME)),
            parking=_hours(period.volume(DimensionType.PARKING_TIME)),
            max_power_kw=period.volume(DimensionType.MAX_POWER),
            meter_backwards=PeriodFlag.METER_BACKWARDS in period.flags,
        )


def _hours(hours: Decimal | None) -> timedelta | None:
    if hours is None:
        return None
    return timedelta(seconds=int((hours * 3600).to_integral_value(ROUND_HALF_UP)))
