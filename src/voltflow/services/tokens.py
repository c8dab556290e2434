"""Tokens as the foundation knew them: ``token add`` makes an active card without an owner, for
test cards and cards the platform's own staff use. Everything else about cards lives in
:mod:`voltflow.services.cards`."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from voltflow.domain.access import PLATFORM, Actor, Permission
from voltflow.domain.authorization import Token, normalize_uid
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.records import TokenRow
from voltflow.i18n import _
from voltflow.services.access import require
from voltflow.services.ports import Clock
from voltflow.store.tokens import TokenRepository

UID = re.compile(r"^[0-9A-Z]{1,20}$")


class TokenError(ValueError):
    pass


class TokenService:
    def __init__(self, tokens: TokenRepository, clock: Clock) -> None:
        self.repo = tokens
        self.clock = clock

    async def add(self, uid: str, *, actor: Actor = PLATFORM) -> Token:
        require(actor, Permission.CARD_STOCK, None)
        norm = normalize_uid(uid)
        if not UID.match(norm):
            raise TokenError(
                _("uid %(uid)s: up to 20 letters or digits (OCPP idTag)") % {"uid": repr(uid)}
            )
        try:
            return await self.repo.add(norm, self.clock.now())
        except IntegrityError as exc:
            raise TokenError(_("token %(uid)s already exists") % {"uid": norm}) from exc

    async def search(self, page: PageRequest, *, actor: Actor = PLATFORM) -> Page[TokenRow]:
        require(actor, Permission.CARD_STOCK, None)
        return await self.repo.page(page)
