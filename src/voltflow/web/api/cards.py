"""Charging cards: stock import, look-up and lifecycle steps, one card or many."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from voltflow.domain.cards import CardAction, CardState
from voltflow.domain.emaid import parse_emaid
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import CardFilter
from voltflow.domain.records import Card, CardDetail
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import Search, Uid, UidPath
from voltflow.web.problems import Problem
from voltflow.web.schemas import MAX_ID, IdQuery, Limit, Offset, PageOut, problem_responses

router = APIRouter(prefix="/api/v1")
MAX_IMPORT_BYTES = 5 * 1024 * 1024


class CardEventOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    at: datetime
    action: str
    from_state: str | None
    to_state: str
    actor_name: str
    detail: str | None


class CardOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uid: str
    printed_number: str | None
    contract_id: str | None = Field(description="eMAID, e.g. BE-VFL-C00000001-Y")
    state: CardState
    organisation_id: int | None
    driver_id: int | None
    driver_username: str | None = None
    expires_at: datetime | None


class CardDetailOut(CardOut):
    history: list[CardEventOut]


class CardActionIn(BaseModel):
    action: CardAction
    uids: list[Uid] = Field(min_length=1, max_length=1000)
    organisation_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="distribute: the distributor"
    )
    driver_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="assign: the driver")
    expires_at: datetime | None = Field(default=None, description="activate: optional end")
    reason: str | None = Field(default=None, max_length=200, description="block: why")


class CardActionOut(BaseModel):
    action: CardAction
    done: list[str]


class ImportOut(BaseModel):
    imported: int
    uids: list[str]


CardRecord = TypeVar("CardRecord", Card, CardDetail)


def _display(card: CardRecord) -> CardRecord:
    """The card with its contract id as people read it (BE-VFL-C00000001-Y)."""
    if card.contract_id is None:
        return card
    return replace(card, contract_id=str(parse_emaid(card.contract_id)))


@router.get("/cards", tags=["cards"])
async def list_cards(
    platform: PlatformDep,
    actor: ApiUser,
    q: Search = None,
    state: CardState | None = None,
    organisation_id: IdQuery = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[CardOut]:
    page = await platform.cards.search(
        actor,
        CardFilter(q=q, state=state, organisation_id=organisation_id),
        PageRequest(offset, limit),
    )
    return PageOut[CardOut](
        items=[CardOut.model_validate(_display(c), from_attributes=True) for c in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/cards/{uid}", tags=["cards"])
async def get_card(uid: UidPath, platform: PlatformDep, actor: ApiUser) -> CardDetailOut:
    card = _display(await platform.cards.get(actor, uid))
    return CardDetailOut.model_validate(card, from_attributes=True)


@router.post(
    "/cards/import",
    status_code=201,
    tags=["cards"],
    responses=problem_responses(413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string", "maxLength": MAX_IMPORT_BYTES}}},
            "description": "columns uid, printed_number and optionally contract_id",
        }
    },
)
async def import_cards(request: Request, platform: PlatformDep, actor: ApiUser) -> ImportOut:
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise Problem(413, "File too large", f"at most {MAX_IMPORT_BYTES // 1024 // 1024} MiB")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(422, "Invalid file", f"not UTF-8 text: {exc}", field="body") from exc
    uids = await platform.cards.import_csv(actor, text)
    return ImportOut(imported=len(uids), uids=uids)


@router.post("/cards/actions", tags=["cards"])
async def card_action(body: CardActionIn, platform: PlatformDep, actor: ApiUser) -> CardActionOut:
    result = await platform.cards.apply_action(
        actor,
        body.action,
        body.uids,
        organisation_id=body.organisation_id,
        driver_id=body.driver_id,
        expires_at=body.expires_at,
        reason=body.reason,
    )
    return CardActionOut(action=body.action, done=result.done)
