"""Charging tokens as the foundation knows them: a plain table of accepted uids.

The card lifecycle (stock, distributors, drivers, contracts) replaces this behind the same calls.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from voltflow.domain.authorization import Token, TokenState, normalize_uid
from voltflow.services.ports import Clock
from voltflow.store.repositories import Page, TokenRepository

UID = re.compile(r"^[0-9A-Z]{1,20}$")


class TokenError(ValueError):
    pass


class TokenService:
    def __init__(self, tokens: TokenRepository, clock: Clock) -> None:
        self.repo = tokens
        self.clock = clock

    async def add(self, uid: str) -> Token:
        norm = normalize_uid(uid)
        if not UID.match(norm):
            raise TokenError(f"uid {uid!r}: up to 20 letters or digits (OCPP idTag)")
        try:
            return await self.repo.add(norm, self.clock.now())
        except IntegrityError as exc:
            raise TokenError(f"token {norm} already exists") from exc

    async def block(self, uid: str) -> bool:
        return await self.repo.set_state(normalize_uid(uid), TokenState.BLOCKED)

    async def unblock(self, uid: str) -> bool:
        return await self.repo.set_state(normalize_uid(uid), TokenState.ACTIVE)

    async def search(self, offset: int = 0, limit: int = 100) -> Page:
        return await self.repo.page(offset, limit)
