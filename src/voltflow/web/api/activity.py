"""The activity views through the API: what the console's charge points, mobility and driver
pages show, as JSON (the driver app reads ``/activity/mine``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from voltflow.domain.activity import ActivityFilter, Sort, View
from voltflow.domain.paging import PageRequest
from voltflow.domain.session_types import SessionType
from voltflow.exports.activity import activity_file, rows_of
from voltflow.web.api.exports import EXPORT_FILE, export_timezone
from voltflow.web.api.prices import PriceLineOut
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import StationIdQuery
from voltflow.web.schemas import MAX_ID, IdPath, Limit, Offset, PageOut

router = APIRouter(prefix="/api/v1")


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    session_id: int
    started_at: datetime
    stopped_at: datetime | None
    station_id: str
    evse_id: int
    id_tag: str
    energy_wh: int | None
    session_type: str | None
    type_reason: str | None
    operator: str | None = Field(description="the organisation owning the station")
    service_provider: str | None = Field(description="the organisation of the card")
    driver: str | None
    driver_id: int | None
    currency: str | None
    price_incl_vat: Decimal | None = Field(description="what the driver pays")
    price_excl_vat: Decimal | None
    price_basis: str | None
    host_amount: Decimal | None = Field(
        description="what the host (public session) or the employee (split billing) receives"
    )
    host_party: str | None
    tariff_id: str | None
    tariff_version: int | None
    source: Literal["station", "device"] = Field(
        description="station: a session of a station of the platform; device: one an external "
        "device (a charging cable, a meter) reported by import, station_id being the device's "
        "id. Each numbers its sessions apart: session_id and source together name a session"
    )
    ref: str = Field(
        description="the session's reference, unique across both sources: its id, or "
        "device-<id> for an external device's"
    )


class SessionActivityOut(BaseModel):
    session: ActivityOut
    lines: list[PriceLineOut]
    revisions: int = Field(description="how often it was priced (more than once: corrected)")


Types = Annotated[list[SessionType], Query(alias="type", description="session types (any)")]
SortQuery = Annotated[Sort, Query(description="the order; '-' first: descending")]
OrgQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
PersonQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


class ViewQuery:
    """The filters every view (and its export) takes."""

    def __init__(
        self,
        types: Types = [],  # noqa: B006 (FastAPI copies it)
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        station_id: StationIdQuery = None,
        organisation_id: OrgQuery = None,
        driver_id: PersonQuery = None,
        sort: SortQuery = Sort.NEWEST,
    ) -> None:
        self.filters = ActivityFilter(
            types=frozenset(types),
            started_from=started_from,
            started_to=started_to,
            station_id=station_id or None,
            organisation_id=organisation_id,
            driver_id=driver_id,
            sort=sort,
        )


Filters = Annotated[ViewQuery, Depends()]


async def _page(
    platform: PlatformDep,
    actor: ApiUser,
    view: View,
    filters: ActivityFilter,
    offset: int,
    limit: int,
) -> PageOut[ActivityOut]:
    page = await platform.activity_views.page(actor, view, filters, PageRequest(offset, limit))
    return PageOut[ActivityOut].model_validate(page, from_attributes=True)


@router.get("/activity/charge-points", tags=["activity"])
async def charge_points(
    platform: PlatformDep, actor: ApiUser, query: Filters, offset: Offset = 0, limit: Limit = 50
) -> PageOut[ActivityOut]:
    """Finished sessions at the stations of the caller's organisations (all, for the operator),
    with what the host or the employee receives."""
    return await _page(platform, actor, View.CHARGE_POINTS, query.filters, offset, limit)


@router.get("/activity/mobility", tags=["activity"])
async def mobility(
    platform: PlatformDep, actor: ApiUser, query: Filters, offset: Offset = 0, limit: Limit = 50
) -> PageOut[ActivityOut]:
    """Finished sessions of the cards of the caller's organisations, with the driver's price."""
    return await _page(platform, actor, View.MOBILITY, query.filters, offset, limit)


@router.get("/activity/mine", tags=["activity"])
async def mine(
    platform: PlatformDep, actor: ApiUser, query: Filters, offset: Offset = 0, limit: Limit = 50
) -> PageOut[ActivityOut]:
    """The caller's own sessions with their cards, of every type."""
    return await _page(platform, actor, View.MINE, query.filters, offset, limit)


EXPORTED = {"charge-points": View.CHARGE_POINTS, "mobility": View.MOBILITY, "mine": View.MINE}


@router.get(
    "/activity/export",
    tags=["activity"],
    response_class=StreamingResponse,
    responses={
        200: {
            "description": EXPORT_FILE,
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            },
        }
    },
)
async def export_view(
    platform: PlatformDep,
    actor: ApiUser,
    query: Filters,
    view: Literal["charge-points", "mobility", "mine"] = "mobility",
    fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
    timezone: Annotated[str | None, Query(max_length=64)] = None,
) -> StreamingResponse:
    """What the view finds with these filters, every row, as CSV (machine formats: UTC, a
    decimal point) or XLSX (typed cells in ``timezone``, else the platform's), streamed as it
    is read."""
    zone = export_timezone(timezone, platform.settings.timezone)
    chosen = EXPORTED[view]
    file = activity_file(chosen, fmt, now=datetime.now(UTC), timezone=zone)
    rows = rows_of(platform.activity_views.rows(actor, chosen, query.filters))
    headers = {"Content-Disposition": file.disposition}
    return StreamingResponse(file.write(rows), media_type=file.media_type, headers=headers)


@router.get("/activity/device-sessions/{device_session_id}", tags=["activity"])
async def device_session(
    device_session_id: IdPath, platform: PlatformDep, actor: ApiUser
) -> SessionActivityOut:
    """One session an external device reported (a row of source ``device``), to whoever a
    view shows it: its lines are the split-billing reimbursement stored at its import."""
    found = await platform.activity_views.device_session(actor, device_session_id)
    return SessionActivityOut(
        session=ActivityOut.model_validate(found.row),
        lines=[PriceLineOut.model_validate(line) for line in found.lines],
        revisions=found.revisions,
    )


@router.get("/activity/mine/{session_id}", tags=["activity"])
async def my_session(
    session_id: IdPath, platform: PlatformDep, actor: ApiUser
) -> SessionActivityOut:
    """One of the caller's sessions with its current price lines."""
    found = await platform.activity_views.session(actor, View.MINE, session_id)
    return SessionActivityOut(
        session=ActivityOut.model_validate(found.row),
        lines=[PriceLineOut.model_validate(line) for line in found.lines],
        revisions=found.revisions,
    )
