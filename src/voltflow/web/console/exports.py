"""The sessions list as CSV or XLSX, with the page's filters and columns: streamed as it is
read when the list is short enough to wait for, else written in the background while the page
shows its progress (see :mod:`voltflow.exports.jobs`: per process)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse

from voltflow.domain.authorization import normalize_uid
from voltflow.domain.queries import SessionFilter
from voltflow.exports.jobs import ExportJobs, TooManyExports
from voltflow.exports.sessions import sessions_file
from voltflow.i18n import _
from voltflow.web.auth import ConsoleUser, CsrfChecked, PlatformDep
from voltflow.web.console.common import render, timezone_of

router = APIRouter(include_in_schema=False)

# Above this many rows the page writes the file in the background and shows its progress;
# below, the download streams at the click.
BACKGROUND_ROWS = 50_000

Format = Literal["csv", "xlsx"]


def session_filter(station_id: str | None, id_tag: str | None, state: str | None) -> SessionFilter:
    """The sessions page's filters, as its form sends them."""
    station_id = station_id.strip() if station_id else None
    return SessionFilter(
        station_id=station_id or None,
        id_tag=normalize_uid(id_tag) if id_tag and id_tag.strip() else None,
        active={"active": True, "finished": False}.get(state or ""),
    )


def export_query(station_id: str | None, id_tag: str | None, state: str | None) -> str:
    """The page's filters as the export links' query (after their ``format``)."""
    given = {"station_id": station_id, "id_tag": id_tag, "state": state}
    return urlencode({k: v for k, v in given.items() if v})


def jobs_of_app(app: FastAPI) -> ExportJobs:
    """The app's background exports (made at the first)."""
    jobs: ExportJobs | None = getattr(app.state, "export_jobs", None)
    if jobs is None:
        jobs = app.state.export_jobs = ExportJobs()
    return jobs


def jobs_of(request: Request) -> ExportJobs:
    return jobs_of_app(request.app)


@router.get("/sessions/export")
async def export_sessions(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    fmt: Annotated[Format, Query(alias="format")] = "csv",
    station_id: str | None = None,
    id_tag: str | None = None,
    state: str | None = None,
) -> StreamingResponse:
    filters = session_filter(station_id, id_tag, state)
    file = sessions_file(fmt, now=datetime.now(UTC), timezone=timezone_of(request))
    return StreamingResponse(
        file.stream(platform.sessions, filters, actor=user),
        media_type=file.media_type,
        headers={"Content-Disposition": file.disposition},
    )


@router.post("/exports/sessions", dependencies=[CsrfChecked])
async def start_sessions_export(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    fmt: Annotated[Format, Form(alias="format")],
    station_id: Annotated[str | None, Form()] = None,
    id_tag: Annotated[str | None, Form()] = None,
    state: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    filters = session_filter(station_id, id_tag, state)
    file = sessions_file(fmt, now=datetime.now(UTC), timezone=timezone_of(request))
    try:
        job = jobs_of(request).start(
            user.user_id,
            filename=file.filename,
            media_type=file.media_type,
            total=await platform.sessions.count(filters, actor=user),
            rows=platform.sessions.export(filters, actor=user),
            write=file.write,
        )
    except TooManyExports:
        return render(
            request,
            "partials/export_progress.html",
            {"job": None, "error": _("Two exports are under way already: wait for one to end.")},
            status_code=429,
        )
    return render(request, "partials/export_progress.html", {"job": job, "error": None})


@router.get("/exports/{job_id}")
async def export_progress(request: Request, job_id: str, user: ConsoleUser) -> HTMLResponse:
    job = jobs_of(request).get(job_id, user.user_id)
    if job is None:
        return render(
            request,
            "partials/export_progress.html",
            {"job": None, "error": _("This export is no longer available.")},
            status_code=404,
        )
    return render(request, "partials/export_progress.html", {"job": job, "error": None})


@router.get("/exports/{job_id}/file", response_model=None)
async def export_file(
    request: Request, job_id: str, user: ConsoleUser
) -> FileResponse | HTMLResponse:
    job = jobs_of(request).get(job_id, user.user_id)
    if job is None or job.path is None:
        return render(
            request,
            "not_found.html",
            {"user": user, "what": _("export %(id)s") % {"id": job_id}},
            404,
        )
    return FileResponse(job.path, media_type=job.media_type, filename=job.filename)
