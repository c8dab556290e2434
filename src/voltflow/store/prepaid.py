"""Prepaid balances and their movements (``domain.billing.prepaid``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, insert, select, update

from voltflow.domain.billing.prepaid import Movement, MovementKind
from voltflow.domain.paging import Page, PageRequest
from voltflow.store.database import Database
from voltflow.store.paging import fetch_page
from voltflow.store.tables import cards, charging_sessions, contracts, prepaid_movements

M = prepaid_movements


@dataclass(frozen=True, slots=True)
class PrepaidContract:
    id: int
    organisation_id: int
    currency: str
    balance: Decimal


@dataclass(frozen=True, slots=True)
class MovementRow:
    id: int
    contract_id: int
    kind: MovementKind
    amount: Decimal
    currency: str
    balance: Decimal
    reference: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionOnPrepaid:
    """A session whose card's holder had a prepaid contract in force the day it started."""

    session_id: int
    contract_id: int


class PrepaidRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def lock(self, contract_id: int) -> PrepaidContract | None:
        """The contract's balance, held until the unit of work ends (on SQLite every writing
        transaction holds the database): movements of one contract are booked one at a time.
        None when it is not a prepaid contract."""
        c = contracts
        query = select(c.c.id, c.c.organisation_id, c.c.currency, c.c.prepaid_balance).where(
            c.c.id == contract_id, c.c.prepaid
        )
        async with self.db.writing() as conn:
            if self.db.dialect == "postgresql":
                query = query.with_for_update()
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return PrepaidContract(
            row.id, row.organisation_id, row.currency, Decimal(row.prepaid_balance)
        )

    async def book(
        self, contract_id: int, movement: Movement, at: datetime, actor_id: int | None = None
    ) -> int:
        """The movement, and the contract's balance set to the one it leaves: together. The
        movement's id."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(M)
                .values(
                    contract_id=contract_id,
                    kind=movement.kind.value,
                    amount=movement.amount,
                    currency=movement.currency,
                    balance=movement.balance,
                    reference=movement.reference,
                    session_price=movement.price,
                    actor_id=actor_id,
                    created_at=at,
                )
                .returning(M.c.id)
            )
            await conn.execute(
                update(contracts)
                .where(contracts.c.id == contract_id)
                .values(prepaid_balance=movement.balance)
            )
            return int(result.scalar_one())

    async def booked(self, contract_id: int, kind: MovementKind, reference: str) -> list[Decimal]:
        """The amounts of the contract's movements of ``kind`` with ``reference``."""
        async with self.db.reading() as conn:
            rows = await conn.execute(
                select(M.c.amount).where(
                    M.c.contract_id == contract_id,
                    M.c.kind == kind.value,
                    M.c.reference == reference,
                )
            )
            return [Decimal(r.amount) for r in rows]

    async def session_draws(
        self, contract_id: int, session_id: int
    ) -> tuple[Decimal, Decimal | None]:
        """What the session drew from the contract in all, and the price it last drew
        against (None: never priced on it)."""
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(M.c.amount, M.c.session_price)
                    .where(
                        M.c.contract_id == contract_id,
                        M.c.kind == MovementKind.SESSION.value,
                        M.c.reference == str(session_id),
                    )
                    .order_by(M.c.id)
                )
            ).all()
        if not rows:
            return Decimal(0), None
        last = rows[-1].session_price
        return -sum((Decimal(r.amount) for r in rows), Decimal(0)), (
            None if last is None else Decimal(last)
        )

    async def sessions_on_prepaid(
        self, session_ids: Sequence[int], zone: Any
    ) -> list[SessionOnPrepaid]:
        """Which of these sessions draw from a prepaid contract: their card's organisation's
        eMSP contract, prepaid, in force on the (local) day the session started."""
        if not session_ids:
            return []
        s, k, c = charging_sessions, cards, contracts
        found: list[SessionOnPrepaid] = []
        async with self.db.reading() as conn:
            for start in range(0, len(session_ids), 500):
                rows = await conn.execute(
                    select(
                        s.c.id,
                        s.c.started_at,
                        c.c.id.label("contract_id"),
                        c.c.starts_on,
                        c.c.ends_on,
                    )
                    .select_from(
                        s.join(k, k.c.uid == s.c.id_tag).join(
                            c,
                            and_(
                                c.c.organisation_id == k.c.organisation_id,
                                c.c.kind == "emsp",
                                c.c.prepaid,
                            ),
                        )
                    )
                    .where(s.c.id.in_(session_ids[start : start + 500]))
                    .order_by(s.c.id, c.c.starts_on.desc())
                )
                seen: set[int] = set()
                for r in rows:
                    day: date = r.started_at.astimezone(zone).date()
                    in_force = r.starts_on <= day and (r.ends_on is None or r.ends_on >= day)
                    if in_force and r.id not in seen:
                        seen.add(r.id)
                        found.append(SessionOnPrepaid(r.id, r.contract_id))
        return found

    async def drivers_of(self, organisation_id: int) -> list[int]:
        """The people holding the organisation's cards."""
        async with self.db.reading() as conn:
            rows = await conn.execute(
                select(cards.c.driver_id)
                .where(cards.c.organisation_id == organisation_id, cards.c.driver_id.is_not(None))
                .distinct()
                .order_by(cards.c.driver_id)
            )
            return [int(r.driver_id) for r in rows]

    async def movements(self, contract_id: int, page: PageRequest) -> Page[MovementRow]:
        async with self.db.reading() as conn:
            return await fetch_page(
                conn,
                select(M).where(M.c.contract_id == contract_id),
                M.c.id.desc(),
                page=page,
                record=_movement,
            )


def _movement(m: Any) -> MovementRow:
    return MovementRow(
        m["id"],
        m["contract_id"],
        MovementKind(m["kind"]),
        Decimal(m["amount"]),
        m["currency"],
        Decimal(m["balance"]),
        m["reference"],
        m["created_at"],
    )
