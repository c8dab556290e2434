"""Sessions as a file: the list ``GET /sessions`` gives, whole, as CSV or XLSX, streamed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from voltflow.domain.queries import SessionFilter
from voltflow.exports.sessions import sessions_file
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import KeyQuery, StationIdQuery
from voltflow.web.problems import Problem

router = APIRouter(prefix="/api/v1")

EXPORT_FILE = (
    "CSV (machine formats: UTC times, kWh with a decimal point, durations in seconds) or XLSX "
    "(typed cells in the request's language, times in `timezone`); the header row in the "
    "request's language (Accept-Language)."
)


def export_timezone(given: str | None, default: str) -> str:
    """The time zone an export's XLSX cells are written in: ``given``, else ``default``; a name
    that is no IANA time zone is refused as the query's ``timezone``."""
    zone = given or default
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory ("America")
        raise RequestValidationError(
            [{"loc": ("query", "timezone"), "msg": "not an IANA time zone", "type": "value_error"}]
        ) from None
    return zone


@router.get(
    "/sessions/export",
    tags=["sessions"],
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
async def export_sessions(
    platform: PlatformDep,
    actor: ApiUser,
    fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
    station_id: StationIdQuery = None,
    id_tag: KeyQuery = None,
    active: bool | None = None,
    started_from: Annotated[datetime | None, Query(alias="from")] = None,
    started_to: Annotated[datetime | None, Query(alias="to")] = None,
    timezone: Annotated[str | None, Query(max_length=64)] = None,
) -> StreamingResponse:
    """Every session the filters of ``GET /sessions`` find, newest first, read in batches: a
    million sessions stream in constant memory."""
    for name, value in (("from", started_from), ("to", started_to)):
        if value is not None and value.tzinfo is None:
            raise Problem(422, "Invalid request", f"{name}: give a time zone offset", field=name)
    zone = export_timezone(timezone, platform.settings.timezone)
    filters = SessionFilter(
        station_id=station_id,
        id_tag=id_tag,
        active=active,
        started_from=started_from,
        started_to=started_to,
    )
    file = sessions_file(fmt, now=datetime.now(UTC), timezone=zone)
    return StreamingResponse(
        file.stream(platform.sessions, filters, actor=actor),
        media_type=file.media_type,
        headers={"Content-Disposition": file.disposition},
    )
