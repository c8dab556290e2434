"""Station groups, whitelists and discount lists, and their push to the stations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import ListFilter
from voltflow.services.lists import ListKind
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import KEY_MAX, StationIdPath, StationIdQuery, Uid, UidPath
from voltflow.web.schemas import MAX_ID, IdPath, Limit, Offset, PageOut

StationId = Annotated[str, Field(min_length=1, max_length=KEY_MAX)]

router = APIRouter(prefix="/api/v1")


class GroupIn(BaseModel):
    organisation_id: int = Field(ge=1, le=MAX_ID)
    name: str = Field(min_length=1, max_length=120)
    station_ids: list[StationId] = Field(default_factory=list, max_length=5000)


class GroupStationsIn(BaseModel):
    station_ids: list[StationId] = Field(max_length=5000)


class GroupOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    organisation_id: int
    name: str
    stations: list[str] = []


class ListIn(BaseModel):
    organisation_id: int = Field(ge=1, le=MAX_ID)
    kind: ListKind
    name: str = Field(min_length=1, max_length=120)
    station_id: str | None = Field(default=None, min_length=1, max_length=KEY_MAX)
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    tariff_ref: str | None = Field(default=None, max_length=64, description="discount lists")


class ListOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    organisation_id: int
    kind: ListKind
    name: str
    station_id: str | None
    group_id: int | None
    tariff_ref: str | None
    card_count: int | None = None


class ListCardOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    card_uid: str
    printed_number: str | None
    state: str
    added_at: datetime


class ListInvitationOut(BaseModel):
    """A guest's card asked onto the list: what the inviter typed, until its holder accepts."""

    model_config = ConfigDict(extra="ignore")
    card_uid: str
    status: str = Field(description="invited: on the list once the card's holder accepts")
    invited_at: datetime


class ListDetailOut(ListOut):
    cards: list[ListCardOut]
    invitations: list[ListInvitationOut] = []


class CardsIn(BaseModel):
    uids: list[Uid] = Field(
        min_length=1,
        max_length=1000,
        description="the organisation's own cards join at once; others' are invited",
    )


class InvitationOut(BaseModel):
    """An invitation of a card one holds onto another organisation's list."""

    model_config = ConfigDict(extra="ignore")
    list_id: int
    list_name: str
    list_kind: ListKind
    station_id: str | None
    inviter: str = Field(description="the organisation whose list it is")
    card_uid: str
    printed_number: str | None
    invited_at: datetime


class SyncOut(BaseModel):
    station_id: str
    outcome: str
    version: int | None
    detail: str | None


@router.get("/station-groups", tags=["lists"])
async def list_groups(platform: PlatformDep, actor: ApiUser) -> list[GroupOut]:
    groups = await platform.lists.groups(actor)
    return [GroupOut.model_validate(g, from_attributes=True) for g in groups]


@router.post("/station-groups", status_code=201, tags=["lists"])
async def create_group(body: GroupIn, platform: PlatformDep, actor: ApiUser) -> GroupOut:
    group = await platform.lists.create_group(
        actor, body.organisation_id, body.name, body.station_ids
    )
    return GroupOut.model_validate(group, from_attributes=True)


@router.put("/station-groups/{group_id}/stations", tags=["lists"])
async def set_group_stations(
    group_id: IdPath, body: GroupStationsIn, platform: PlatformDep, actor: ApiUser
) -> GroupOut:
    group = await platform.lists.set_group_stations(actor, group_id, body.station_ids)
    return GroupOut.model_validate(group, from_attributes=True)


@router.get("/lists", tags=["lists"])
async def list_lists(
    platform: PlatformDep,
    actor: ApiUser,
    station_id: StationIdQuery = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[ListOut]:
    page = await platform.lists.search(
        actor, ListFilter(station_id=station_id), PageRequest(offset, limit)
    )
    return PageOut[ListOut].model_validate(page, from_attributes=True)


@router.post("/lists", status_code=201, tags=["lists"])
async def create_list(body: ListIn, platform: PlatformDep, actor: ApiUser) -> ListDetailOut:
    created = await platform.lists.create_list(
        actor,
        body.organisation_id,
        body.kind,
        body.name,
        station_id=body.station_id,
        group_id=body.group_id,
        tariff_ref=body.tariff_ref,
    )
    return ListDetailOut.model_validate(created, from_attributes=True)


@router.get("/lists/{list_id}", tags=["lists"])
async def get_list(list_id: IdPath, platform: PlatformDep, actor: ApiUser) -> ListDetailOut:
    return ListDetailOut.model_validate(
        await platform.lists.get(actor, list_id), from_attributes=True
    )


@router.post("/lists/{list_id}/cards", tags=["lists"])
async def add_list_cards(
    list_id: IdPath, body: CardsIn, platform: PlatformDep, actor: ApiUser
) -> ListDetailOut:
    await platform.lists.add_cards(actor, list_id, body.uids)
    return ListDetailOut.model_validate(
        await platform.lists.get(actor, list_id), from_attributes=True
    )


@router.delete("/lists/{list_id}/cards/{uid}", tags=["lists"])
async def remove_list_card(
    list_id: IdPath, uid: UidPath, platform: PlatformDep, actor: ApiUser
) -> ListDetailOut:
    """Takes the card off the list, or withdraws its invitation."""
    await platform.lists.remove_cards(actor, list_id, [uid])
    return ListDetailOut.model_validate(
        await platform.lists.get(actor, list_id), from_attributes=True
    )


@router.get("/list-invitations", tags=["lists"])
async def list_invitations(platform: PlatformDep, actor: ApiUser) -> list[InvitationOut]:
    """Pending invitations of the cards one holds: as their driver, or as the fleet manager of
    the organisation they belong to."""
    invitations = await platform.lists.invitations(actor)
    return [InvitationOut.model_validate(i, from_attributes=True) for i in invitations]


@router.post("/list-invitations/{list_id}/{uid}/accept", status_code=204, tags=["lists"])
async def accept_invitation(
    list_id: IdPath, uid: UidPath, platform: PlatformDep, actor: ApiUser
) -> None:
    """The card joins the list, and the stations it covers take it into their local lists."""
    await platform.lists.answer(actor, list_id, uid, accept=True)


@router.post("/list-invitations/{list_id}/{uid}/decline", status_code=204, tags=["lists"])
async def decline_invitation(
    list_id: IdPath, uid: UidPath, platform: PlatformDep, actor: ApiUser
) -> None:
    await platform.lists.answer(actor, list_id, uid, accept=False)


@router.post("/stations/{station_id}/local-list/sync", tags=["lists"])
async def sync_local_list(
    station_id: StationIdPath, platform: PlatformDep, actor: ApiUser
) -> SyncOut:
    result = await platform.lists.sync_now(actor, station_id)
    return SyncOut(
        station_id=result.station_id,
        outcome=result.outcome,
        version=result.version,
        detail=result.detail,
    )
