"""The activity views: the sessions each side may see, with their types and prices, a page at a
time or all of them for an export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from voltflow.domain.access import Actor, Permission
from voltflow.domain.activity import ActivityFilter, ActivityRow, View
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.session_prices import PriceLine
from voltflow.services.access import scope_of
from voltflow.store.activity_views import ActivityViewRepository
from voltflow.store.session_prices import SessionPriceRepository


class ActivityNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class SessionActivity:
    """One session as its page shows it: the row, its current price lines and their history."""

    row: ActivityRow
    lines: tuple[PriceLine, ...]
    revisions: int


class ActivityViews:
    def __init__(self, repo: ActivityViewRepository, prices: SessionPriceRepository) -> None:
        self.repo = repo
        self.prices = prices

    def _scope(self, actor: Actor, view: View) -> frozenset[int] | None:
        # A driver's own sessions need no organisation; the other views show an organisation's.
        return frozenset() if view is View.MINE else scope_of(actor, Permission.SESSIONS_READ)

    async def page(
        self, actor: Actor, view: View, filters: ActivityFilter, page: PageRequest
    ) -> Page[ActivityRow]:
        return await self.repo.page(
            view, filters, page, within=self._scope(actor, view), person_id=actor.user_id
        )

    async def rows(
        self, actor: Actor, view: View, filters: ActivityFilter
    ) -> AsyncIterator[list[ActivityRow]]:
        """Every row the view shows with these filters, in batches (for exports)."""
        async for batch in self.repo.rows(
            view, filters, within=self._scope(actor, view), person_id=actor.user_id
        ):
            yield batch

    async def session(self, actor: Actor, view: View, session_id: int) -> SessionActivity:
        if view is View.MINE and scope_of(actor, Permission.SESSIONS_READ) is None:
            # The operator's support desk sees any driver's page as the driver sees it.
            view = View.MOBILITY
        row = await self.repo.one(
            view, session_id, within=self._scope(actor, view), person_id=actor.user_id
        )
        if row is None:
            raise ActivityNotFound(session_id)
        lines = (await self.prices.current([session_id])).get(session_id, ())
        return SessionActivity(row, lines, len(await self.prices.history(session_id)))
