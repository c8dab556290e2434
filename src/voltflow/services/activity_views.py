"""The activity views: the sessions each side may see, with their types and prices, a page at a
time or all of them for an export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from voltflow.domain.access import Actor, Permission
from voltflow.domain.activity import ActivityFilter, ActivityRow, View
from voltflow.domain.licences import device_session_ref
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

    async def device_session(self, actor: Actor, session_id: int) -> SessionActivity:
        """An external device's session, to whoever a view shows it: the driver of its card,
        the employer that registered the device or whose card it was, the operator. Its lines
        are the reimbursement its import stored; it is never priced again."""
        for view in (View.MINE, View.CHARGE_POINTS, View.MOBILITY):
            within = self._scope(actor, view)
            if view is not View.MINE and within is not None and not within:
                continue  # no organisation's sessions to look among
            found = await self.repo.one_device(
                view, session_id, within=within, person_id=actor.user_id
            )
            if found is not None:
                row, lines = found
                return SessionActivity(row, lines, 1)
        raise ActivityNotFound(device_session_ref(session_id))

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
