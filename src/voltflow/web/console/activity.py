"""The activity views of the release note in the console: charge points (the CPO side),
mobility (a company's and its people's sessions) and a driver's own history, each filterable by
session type, period, station, organisation and person."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BeforeValidator

from voltflow.domain.access import Actor, Permission
from voltflow.domain.activity import ActivityFilter, Sort, View
from voltflow.domain.licences import device_session_ref
from voltflow.domain.paging import PageRequest
from voltflow.domain.session_types import SessionType
from voltflow.exports.activity import activity_file, rows_of
from voltflow.i18n import pgettext
from voltflow.services.access import scope_of
from voltflow.services.activity_views import ActivityNotFound
from voltflow.web.auth import ConsoleUser, PlatformDep
from voltflow.web.console.charts import view_activity
from voltflow.web.console.common import PAGE, customer_choices, render, timezone_of
from voltflow.web.schemas import IdPath

router = APIRouter(include_in_schema=False)

_EXPORT_NAMES = {
    View.CHARGE_POINTS: "charge-points",
    View.MOBILITY: "mobility",
    View.MINE: "mine",
}
EXPORT_VIEWS = {name: view for view, name in _EXPORT_NAMES.items()}
VIEW_PATHS = {
    View.CHARGE_POINTS: "/activity/charge-points",
    View.MOBILITY: "/activity/mobility",
    View.MINE: "/my/sessions",
}


def views_of(actor: Actor) -> list[View]:
    """The views a person has: an organisation's sessions need a role that reads them all; every
    person has their own."""
    scope = scope_of(actor, Permission.SESSIONS_READ)
    wide = [View.CHARGE_POINTS, View.MOBILITY] if scope is None or scope else []
    return [*wide, View.MINE]


def _moment(day: date | None, zone: str) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), ZoneInfo(zone))


def _day_after(day: date | None) -> date | None:
    return None if day is None else date.fromordinal(day.toordinal() + 1)


def _blank_is_none(value: object) -> object:
    # The filter form sends its empty fields as "from=&org=".
    return None if value == "" else value


Types = Annotated[list[str], Query(alias="type")]
From = Annotated[date | None, Query(alias="from"), BeforeValidator(_blank_is_none)]
To = Annotated[date | None, Query(alias="to"), BeforeValidator(_blank_is_none)]
Id = Annotated[int | None, Query(ge=1), BeforeValidator(_blank_is_none)]


class ViewQuery:
    """A view's filters as its form sends them (every view and its export take the same)."""

    def __init__(
        self,
        request: Request,
        types: Types = [],  # noqa: B006 (FastAPI copies it)
        start: From = None,
        end: To = None,
        station: str | None = None,
        org: Id = None,
        person: Id = None,
        sort: str | None = None,
    ) -> None:
        zone = timezone_of(request)
        known, orders = SessionType._value2member_map_, Sort._value2member_map_
        self.filters = ActivityFilter(
            types=frozenset(SessionType(t) for t in types if t in known),
            started_from=_moment(start, zone),
            started_to=_moment(_day_after(end), zone),
            station_id=(station or "").strip() or None,
            organisation_id=org,
            driver_id=person,
            sort=Sort(sort) if sort is not None and sort in orders else Sort.NEWEST,
        )
        self.shown = {
            "types": sorted(str(t) for t in self.filters.types),
            "from": start.isoformat() if start else "",
            "to": end.isoformat() if end else "",
            "station": self.filters.station_id or "",
            "org": org or "",
            "person": person or "",
            "sort": str(self.filters.sort),
        }


Filters = Annotated[ViewQuery, Depends()]


async def _view_page(
    request: Request,
    platform: Any,
    user: Actor,
    view: View,
    query: ViewQuery,
    offset: int,
) -> HTMLResponse:
    page = await platform.activity_views.page(
        user, view, query.filters, PageRequest(max(offset, 0), PAGE)
    )
    organisations = (
        await customer_choices(platform, user) if user.is_operator and view is not View.MINE else []
    )
    # From the daily totals, never from the sessions: the owner's or the company's (or one
    # person's) whole activity, whatever the list's other filters.
    charts = await view_activity(
        platform, user, view, query.filters.organisation_id, query.filters.driver_id
    )
    return render(
        request,
        "activity.html" if view is not View.MINE else "my_sessions.html",
        {
            "export_view": _EXPORT_NAMES[view],
            "user": user,
            "view": str(view),
            "views": [(str(v), VIEW_PATHS[v]) for v in views_of(user)],
            "page": page,
            "offset": max(offset, 0),
            "limit": PAGE,
            "types": [str(t) for t in SessionType],
            "organisations": organisations,
            "charts": charts,
            "sorts": [str(s) for s in Sort],
            "filters": query.shown,
        },
    )


@router.get("/activity/charge-points")
async def charge_points_page(
    request: Request, platform: PlatformDep, user: ConsoleUser, query: Filters, offset: int = 0
) -> HTMLResponse:
    return await _view_page(request, platform, user, View.CHARGE_POINTS, query, offset)


@router.get("/activity/mobility")
async def mobility_page(
    request: Request, platform: PlatformDep, user: ConsoleUser, query: Filters, offset: int = 0
) -> HTMLResponse:
    return await _view_page(request, platform, user, View.MOBILITY, query, offset)


@router.get("/my/sessions")
async def my_sessions_page(
    request: Request, platform: PlatformDep, user: ConsoleUser, query: Filters, offset: int = 0
) -> HTMLResponse:
    """A driver's own sessions: the person's cards are the filter; types and days narrow it."""
    return await _view_page(request, platform, user, View.MINE, query, offset)


@router.get("/activity/export")
async def export_view(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    query: Filters,
    view: Literal["charge-points", "mobility", "mine"] = "mobility",
    fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
) -> StreamingResponse:
    """Exactly what the view shows with these filters, as CSV or XLSX, streamed as it is read."""
    chosen = EXPORT_VIEWS[view]
    file = activity_file(chosen, fmt, now=datetime.now(UTC), timezone=timezone_of(request))
    rows = rows_of(platform.activity_views.rows(user, chosen, query.filters))
    headers = {"Content-Disposition": file.disposition}
    return StreamingResponse(file.write(rows), media_type=file.media_type, headers=headers)


@router.get("/my/sessions/{session_id}")
async def my_session_page(
    request: Request, session_id: IdPath, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    try:
        found = await platform.activity_views.session(user, View.MINE, session_id)
    except ActivityNotFound:
        what = pgettext("charging", "session %(id)s") % {"id": session_id}
        return render(request, "not_found.html", {"user": user, "what": what}, 404)
    return render(
        request,
        "my_session.html",
        {"user": user, "s": found.row, "lines": found.lines, "revisions": found.revisions},
    )


@router.get("/device-sessions/{device_session_id}")
async def device_session_page(
    request: Request, device_session_id: IdPath, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    """A session an external device reported, as its driver's page shows a session: to its
    driver, to the employer of its device or card, and to the operator."""
    try:
        found = await platform.activity_views.device_session(user, device_session_id)
    except ActivityNotFound:
        what = pgettext("charging", "session %(id)s") % {
            "id": device_session_ref(device_session_id)
        }
        return render(request, "not_found.html", {"user": user, "what": what}, 404)
    own = found.row.driver_id is not None and found.row.driver_id == user.user_id
    back = VIEW_PATHS[View.MINE] if own else VIEW_PATHS[views_of(user)[0]]
    return render(
        request,
        "my_session.html",
        {
            "user": user,
            "s": found.row,
            "lines": found.lines,
            "revisions": found.revisions,
            "back": back,
        },
    )
