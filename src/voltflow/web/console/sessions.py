"""One charging session: what it was, and its signed meter readings (the blocks as the station
sent them, ready to copy into a transparency tool, and their OCMF records decoded)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voltflow.web.auth import ConsoleUser, PlatformDep
from voltflow.web.console.common import render
from voltflow.web.schemas import IdPath, XmlResponse, transparency_download

router = APIRouter(include_in_schema=False)


@router.get("/sessions/{session_id}")
async def session_page(
    request: Request, session_id: IdPath, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    session = await platform.sessions.get(session_id, actor=user)
    signed = session.signed_meter_values
    return render(
        request,
        "session.html",
        {
            "user": user,
            "s": session,
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
