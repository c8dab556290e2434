"""Cards, their history, and what authorization needs to read about them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping, and_, bindparam, insert, or_, select, update

from voltflow.domain.cards import CardStanding, CardState, ContractTerms
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import CardFilter
from voltflow.domain.records import Card, CardEvent
from voltflow.store.database import Database
from voltflow.store.paging import fetch_page, record_of
from voltflow.store.prepared import Tx
from voltflow.store.search import contains
from voltflow.store.tables import card_events, cards, contracts, users


class CardRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, uid: str) -> Card | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(cards).where(cards.c.uid == uid))).first()
        return card_record(row._mapping) if row else None

    async def many(self, uids: Sequence[str]) -> dict[str, dict[str, Any]]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(cards).where(cards.c.uid.in_(list(uids))))).all()
        return {r.uid: dict(r._mapping) for r in rows}

    async def existing(self, column: str, values: Iterable[str]) -> set[str]:
        col = cards.c[column]
        values = [v for v in values if v]
        if not values:
            return set()
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(col).where(col.in_(values)))).scalars().all()
        return set(rows)

    async def contract_ids_with_prefix(self, prefix: str) -> list[str]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(cards.c.contract_id).where(cards.c.contract_id.like(f"{prefix}%"))
                )
            ).scalars()
            return [r for r in rows if r]

    async def insert_many(self, rows: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
        """All or nothing: an import either lands whole or not at all."""
        async with self.db.writing() as conn:
            if rows:
                await conn.execute(insert(cards), rows)
            if events:
                await conn.execute(insert(card_events), events)

    async def apply(
        self, changes: list[tuple[str, dict[str, Any]]], events: list[dict[str, Any]]
    ) -> None:
        async with self.db.writing() as conn:
            for uid, values in changes:
                await conn.execute(update(cards).where(cards.c.uid == uid).values(**values))
            if events:
                await conn.execute(insert(card_events), events)

    async def page(
        self,
        filters: CardFilter,
        page: PageRequest,
        *,
        within: Iterable[int] | None,
        driver_id: int | None = None,
    ) -> Page[Card]:
        """The cards ``filters`` finds among those of the organisations ``within`` (None: all)
        and those ``driver_id`` holds."""
        t = cards
        cond: list[Any] = []
        if within is not None:
            ids = list(within)
            cond.append(
                or_(t.c.organisation_id.in_(ids), t.c.driver_id == driver_id)
                if driver_id
                else t.c.organisation_id.in_(ids)
            )
        q = filters.q
        if q:
            cond.append(
                or_(
                    contains(t.c.uid, q),
                    contains(t.c.printed_number, q),
                    contains(t.c.contract_id, q.replace("-", "")),
                )
            )
        if filters.state:
            cond.append(t.c.state == filters.state.value)
        if filters.organisation_id is not None:
            cond.append(t.c.organisation_id == filters.organisation_id)
        where = and_(True, *cond)
        query = select(
            t, users.c.username.label("driver_username"), users.c.full_name.label("driver_name")
        ).outerjoin(users, users.c.id == t.c.driver_id)
        async with self.db.reading() as conn:
            return await fetch_page(
                conn,
                query.where(where),
                t.c.printed_number,
                t.c.uid,
                page=page,
                record=card_record,
            )

    async def history(self, uid: str) -> list[CardEvent]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(card_events)
                    .where(card_events.c.card_uid == uid)
                    .order_by(card_events.c.id)
                )
            ).all()
        return [record_of(CardEvent, r._mapping) for r in rows]

    @staticmethod
    def standing_in(
        tx: Tx, uid: str, today: date
    ) -> tuple[CardStanding | None, ContractTerms | None]:
        """The card's state and its holder's eMSP contract (the one in force today, else the
        latest), for authorization; inside the station message's own transaction."""
        row = tx.one(_CARD_STANDING, {"uid": uid})
        if row is None:
            return None, None
        organisation = row["organisation_id"]
        standing = CardStanding(
            CardState(row["state"]), row["expires_at"], owned=organisation is not None
        )
        if organisation is None:
            return standing, None
        rows = tx.all(_EMSP_CONTRACTS, {"organisation": organisation})
        for c in rows:
            if c["starts_on"] <= today and (c["ends_on"] is None or c["ends_on"] >= today):
                return standing, _terms(c)
        if rows:
            return standing, _terms(rows[0])
        return standing, None


# What authorization reads, once per card presented at a station: built once (see ``prepared``).
_CARD_STANDING = select(cards.c.state, cards.c.expires_at, cards.c.organisation_id).where(
    cards.c.uid == bindparam("uid")
)
_EMSP_CONTRACTS = (
    select(
        contracts.c.starts_on,
        contracts.c.ends_on,
        contracts.c.prepaid,
        contracts.c.prepaid_balance,
    )
    .where(contracts.c.organisation_id == bindparam("organisation"), contracts.c.kind == "emsp")
    .order_by(contracts.c.starts_on.desc())
)


def _terms(c: Mapping[str, Any]) -> ContractTerms:
    return ContractTerms(
        c["starts_on"], c["ends_on"], bool(c["prepaid"]), Decimal(c["prepaid_balance"])
    )


def card_record(m: RowMapping) -> Card:
    return record_of(Card, m, state=CardState(m["state"]))


def event_row(
    uid: str,
    action: str,
    from_state: str | None,
    to_state: str,
    actor_id: int | None,
    actor_name: str,
    at: datetime,
    detail: str | None = None,
) -> dict[str, Any]:
    return {
        "card_uid": uid,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "detail": detail[:256] if detail else None,
        "at": at,
    }
