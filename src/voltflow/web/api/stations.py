"""The REST API. Every route calls an application service; none touches storage itself."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from voltflow.domain.access import Actor
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import MessageFilter, SessionFilter, StationFilter
from voltflow.domain.stations import Registration
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import (
    SEARCH_MAX,
    ActionPath,
    KeyQuery,
    Search,
    StationIdPath,
    StationIdQuery,
)
from voltflow.web.problems import Problem
from voltflow.web.schemas import (
    MAX_ID,
    TRANSPARENCY_FILE,
    CommandIn,
    CommandOut,
    ConnectorOut,
    IdPath,
    Limit,
    MessageOut,
    Offset,
    PageOut,
    SessionDetailOut,
    SessionOut,
    StationCreated,
    StationIn,
    StationOut,
    StationPatch,
    StatusHistoryOut,
    TokenIn,
    TokenOut,
    XmlResponse,
    problem_responses,
    transparency_download,
)

router = APIRouter(prefix="/api/v1")


def ocpp_url(request: Request, station_id: str) -> str:
    platform = request.app.state.platform
    host = request.url.hostname or "localhost"
    return f"ws://{host}:{platform.settings.ocpp_port}/ocpp/{station_id}"


@router.get("/stations", tags=["stations"])
async def list_stations(
    platform: PlatformDep,
    actor: ApiUser,
    q: Search = None,
    online: bool | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[StationOut]:
    page = await platform.stations.search(
        StationFilter(q=q, online=online), PageRequest(offset, limit), actor=actor
    )
    return PageOut[StationOut].model_validate(page, from_attributes=True)


@router.post("/stations", status_code=201, tags=["stations"])
async def add_station(
    body: StationIn, request: Request, platform: PlatformDep, actor: ApiUser
) -> StationCreated:
    new = await platform.stations.add(
        body.id,
        body.password,
        generate_password=body.generate_password,
        lenient=body.lenient,
        actor=actor,
    )
    return StationCreated(
        station=StationOut.model_validate(asdict(new.record)),
        password=new.password,
        ocpp_url=ocpp_url(request, body.id),
    )


async def _station_out(platform: Any, station_id: str, actor: Actor) -> StationOut:
    record = await platform.stations.get(station_id, actor=actor)
    out = StationOut.model_validate(asdict(record))
    out.has_key = record.has_key
    out.connected = platform.commands.is_connected(station_id)
    out.connectors = [
        ConnectorOut.model_validate(c, from_attributes=True)
        for c in await platform.stations.connectors(station_id, actor=actor)
    ]
    return out


@router.get("/stations/{station_id}", tags=["stations"])
async def get_station(
    station_id: StationIdPath, platform: PlatformDep, actor: ApiUser
) -> StationOut:
    return await _station_out(platform, station_id, actor)


@router.patch("/stations/{station_id}", tags=["stations"])
async def update_station(
    station_id: StationIdPath, body: StationPatch, platform: PlatformDep, actor: ApiUser
) -> StationOut:
    values: dict[str, Any] = body.model_dump(exclude_none=True)
    if "registration" in values:
        values["registration"] = Registration(values["registration"])
    await platform.stations.update(station_id, actor=actor, **values)
    return await _station_out(platform, station_id, actor)


class StationClaimed(StationOut):
    key: str | None = Field(
        default=None,
        description="for a station that had no key, the key it is given: shown once",
    )
    key_delivery: str | None = Field(
        default=None, description="whether the key was sent to the station, and its answer"
    )


class KeyRotated(BaseModel):
    station_id: str
    status: str = Field(description="the station's answer to ChangeConfiguration AuthorizationKey")
    key: str | None = Field(
        description="the new key, shown once; null when the station refused it (its key is "
        "unchanged)"
    )


@router.post("/stations/{station_id}/claim", tags=["stations"])
async def claim_station(
    station_id: StationIdPath, platform: PlatformDep, actor: ApiUser
) -> StationClaimed:
    """Accept a Pending station. One that came without a key is given one by the key handover
    (sent at once if it is connected; else set on the station by hand); until it connects
    with it, it is let in without a key and shows ``has_key: false``."""
    claimed = await platform.stations.claim(station_id, actor=actor)
    out = await _station_out(platform, station_id, actor)
    return StationClaimed(**out.model_dump(), key=claimed.key, key_delivery=claimed.delivery)


@router.post(
    "/stations/{station_id}/rotate-key",
    tags=["stations"],
    responses=problem_responses(409, 422, 502, 504),
)
async def rotate_key(
    station_id: StationIdPath,
    platform: PlatformDep,
    actor: ApiUser,
    timeout: Annotated[float | None, Query(gt=0, le=300)] = None,
) -> KeyRotated:
    """Send the connected station a new random key (ChangeConfiguration AuthorizationKey).
    Accepted: both keys are valid until it reconnects with the new one, then only the new;
    refused: it keeps its key; unanswered (504): the new key stays valid beside the old in case
    the station took it. 409 when it is not connected or another key change is under way."""
    await platform.stations.get(station_id, actor=actor)
    rotated = await platform.commands.rotate_key(station_id, timeout, actor=actor)
    status = str(rotated.result.payload.get("status"))
    return KeyRotated(
        station_id=station_id, status=status, key=rotated.key if rotated.taken else None
    )


@router.get("/stations/{station_id}/status-history", tags=["stations"])
async def status_history(
    station_id: StationIdPath, platform: PlatformDep, actor: ApiUser, limit: Limit = 50
) -> list[StatusHistoryOut]:
    rows = await platform.stations.status_history(station_id, limit, actor=actor)
    return [StatusHistoryOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/stations/{station_id}/messages", tags=["stations"])
async def station_messages(
    station_id: StationIdPath,
    platform: PlatformDep,
    actor: ApiUser,
    action: KeyQuery = None,
    direction: Annotated[str | None, Query(max_length=3, pattern="^(in|out)$")] = None,
    message_id: KeyQuery = None,
    q: Annotated[
        str | None,
        Query(
            max_length=SEARCH_MAX,
            description="text within a frame or its note: the whole exchange is listed",
        ),
    ] = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="page backwards from this id")
    ] = None,
    limit: Limit = 50,
) -> list[MessageOut]:
    """The station's frames, newest first. A call and its answer share an id (one exchange), and
    a page ends on a whole exchange: it may hold one frame more than ``limit``."""
    filters = MessageFilter(
        action=action,
        direction=direction,
        message_id=message_id,
        text=q,
        before_id=before_id,
        limit=limit,
    )
    rows = await platform.stations.message_log(station_id, filters, actor=actor)
    return [MessageOut.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/stations/{station_id}/commands/{action}",
    tags=["commands"],
    responses=problem_responses(409, 502, 504),
)
async def send_command(
    station_id: StationIdPath,
    action: ActionPath,
    platform: PlatformDep,
    actor: ApiUser,
    body: CommandIn | None = None,
) -> CommandOut:
    await platform.stations.get(station_id, actor=actor)
    body = body or CommandIn()
    result = await platform.commands.send(
        station_id, action, body.payload, body.timeout, actor=actor
    )
    return CommandOut(station_id=result.station_id, action=result.action, payload=result.payload)


@router.get("/sessions", tags=["sessions"])
async def list_sessions(
    platform: PlatformDep,
    actor: ApiUser,
    station_id: StationIdQuery = None,
    id_tag: KeyQuery = None,
    active: bool | None = None,
    started_from: Annotated[datetime | None, Query(alias="from")] = None,
    started_to: Annotated[datetime | None, Query(alias="to")] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[SessionOut]:
    for name, value in (("from", started_from), ("to", started_to)):
        if value is not None and value.tzinfo is None:
            raise Problem(422, "Invalid request", f"{name}: give a time zone offset", field=name)
    filters = SessionFilter(
        station_id=station_id,
        id_tag=id_tag,
        active=active,
        started_from=started_from,
        started_to=started_to,
    )
    page = await platform.sessions.search(filters, PageRequest(offset, limit), actor=actor)
    return PageOut[SessionOut].model_validate(page, from_attributes=True)


@router.get("/sessions/{session_id}", tags=["sessions"])
async def get_session(
    session_id: IdPath, platform: PlatformDep, actor: ApiUser
) -> SessionDetailOut:
    session = asdict(await platform.sessions.get(session_id, actor=actor))
    for mv in session["meter_values"]:
        # Exactly the digits stored, as text.
        mv["value"] = str(mv["value"])
    return SessionDetailOut.model_validate(session)


@router.get(
    "/sessions/{session_id}/transparency",
    tags=["sessions"],
    response_class=XmlResponse,
    responses={200: {"description": TRANSPARENCY_FILE}},
)
async def get_session_transparency_file(
    session_id: IdPath, platform: PlatformDep, actor: ApiUser
) -> XmlResponse:
    """The session's signed meter values as the XML file transparency tools read."""
    body = await platform.sessions.transparency_file(session_id, actor=actor)
    return XmlResponse(body, headers=transparency_download(session_id))


@router.get("/tokens", tags=["tokens"])
async def list_tokens(
    platform: PlatformDep, actor: ApiUser, offset: Offset = 0, limit: Limit = 100
) -> PageOut[TokenOut]:
    page = await platform.tokens.search(PageRequest(offset, limit), actor=actor)
    return PageOut[TokenOut].model_validate(page, from_attributes=True)


@router.post("/tokens", status_code=201, tags=["tokens"])
async def add_token(body: TokenIn, platform: PlatformDep, actor: ApiUser) -> TokenOut:
    token = await platform.tokens.add(body.uid, actor=actor)
    return TokenOut(uid=token.uid, state=token.state.value, expires_at=token.expires_at)
