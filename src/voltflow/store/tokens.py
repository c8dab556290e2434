"""Charging tokens without an owner (cards as the station sees them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from voltflow.domain.authorization import Token, TokenState
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.records import TokenRow
from voltflow.store.database import Database
from voltflow.store.paging import fetch_page, record_of
from voltflow.store.tables import (
    cards,
)


class TokenRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, uid: str, now: datetime, expires_at: datetime | None = None) -> Token:
        async with self.db.writing() as conn:
            await conn.execute(
                insert(cards).values(
                    uid=uid,
                    state=TokenState.ACTIVE.value,
                    expires_at=expires_at,
                    created_at=now,
                    updated_at=now,
                )
            )
        return Token(uid, TokenState.ACTIVE, expires_at)

    async def page(self, page: PageRequest) -> Page[TokenRow]:
        query = select(cards.c.uid, cards.c.state, cards.c.expires_at)
        async with self.db.reading() as conn:
            return await fetch_page(
                conn, query, cards.c.uid, page=page, record=lambda m: record_of(TokenRow, m)
            )
