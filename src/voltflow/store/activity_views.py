"""The rows of the activity views (``domain.activity``): sessions with their station's owner,
their card's organisation and person, and their current price lines, in one query."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.sql import Select

from voltflow.domain.activity import ActivityFilter, ActivityRow, Sort, View
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.session_prices import cents
from voltflow.store.database import Database
from voltflow.store.paging import fetch_page, record_of
from voltflow.store.tables import (
    cards,
    charging_sessions,
    organisations,
    session_price_lines,
    stations,
    users,
)

S = charging_sessions
owner = organisations.alias("owner")
provider = organisations.alias("provider")
driver_price = session_price_lines.alias("driver_price")
host_price = session_price_lines.alias("host_price")

_COLUMNS = (
    S.c.id.label("session_id"),
    S.c.started_at,
    S.c.stopped_at,
    S.c.station_id,
    S.c.evse_id,
    S.c.id_tag,
    S.c.energy_wh,
    S.c.session_type,
    S.c.type_reason,
    owner.c.name.label("operator"),
    provider.c.name.label("service_provider"),
    func.coalesce(users.c.full_name, users.c.username).label("driver"),
    cards.c.driver_id,
    driver_price.c.currency,
    driver_price.c.incl_vat.label("price_incl_vat"),
    driver_price.c.excl_vat.label("price_excl_vat"),
    driver_price.c.basis.label("price_basis"),
    host_price.c.incl_vat.label("host_amount"),
    host_price.c.party.label("host_party"),
    driver_price.c.tariff_id,
    driver_price.c.tariff_version,
)

_FROM = (
    S.join(stations, stations.c.id == S.c.station_id)
    .outerjoin(owner, owner.c.id == stations.c.organisation_id)
    .outerjoin(cards, cards.c.uid == S.c.id_tag)
    .outerjoin(provider, provider.c.id == cards.c.organisation_id)
    .outerjoin(users, users.c.id == cards.c.driver_id)
    .outerjoin(
        driver_price,
        and_(
            driver_price.c.session_id == S.c.id,
            driver_price.c.current,
            driver_price.c.party == "driver",
        ),
    )
    .outerjoin(
        host_price,
        and_(
            host_price.c.session_id == S.c.id,
            host_price.c.current,
            host_price.c.party.in_(("host", "employee")),
        ),
    )
)

_ORDER = {
    Sort.NEWEST: (S.c.started_at.desc(), S.c.id.desc()),
    Sort.OLDEST: (S.c.started_at.asc(), S.c.id.asc()),
    Sort.MOST_ENERGY: (S.c.energy_wh.desc(), S.c.id.desc()),
    Sort.LEAST_ENERGY: (S.c.energy_wh.asc(), S.c.id.asc()),
    Sort.HIGHEST_PRICE: (driver_price.c.incl_vat.desc(), S.c.id.desc()),
    Sort.LOWEST_PRICE: (driver_price.c.incl_vat.asc(), S.c.id.asc()),
}


def _scope(
    view: View, within: Iterable[int] | None, person_id: int | None
) -> list[ColumnElement[bool]]:
    """Which sessions a view shows its viewer: ``within`` the organisations (None: all)."""
    if view is View.MINE:
        return [cards.c.driver_id == person_id]
    if within is None:
        return []
    orgs = list(within)
    if view is View.CHARGE_POINTS:
        return [stations.c.organisation_id.in_(orgs)]
    return [cards.c.organisation_id.in_(orgs)]


def _conditions(view: View, f: ActivityFilter) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = []
    if f.finished_only:
        cond.append(S.c.stopped_at.is_not(None))
    if f.types:
        cond.append(S.c.session_type.in_(sorted(str(t) for t in f.types)))
    if f.started_from is not None:
        cond.append(S.c.started_at >= f.started_from)
    if f.started_to is not None:
        cond.append(S.c.started_at < f.started_to)
    if f.station_id:
        cond.append(S.c.station_id == f.station_id)
    if f.organisation_id is not None:
        side = stations if view is View.CHARGE_POINTS else cards
        cond.append(side.c.organisation_id == f.organisation_id)
    if f.driver_id is not None:
        cond.append(cards.c.driver_id == f.driver_id)
    return cond


def _row(mapping: Any) -> ActivityRow:
    # PostgreSQL's NUMERIC gives its scale's digits (1.770000): amounts back to the cent.
    currency = mapping["currency"] or "EUR"
    amounts = {
        name: None if mapping[name] is None else cents(mapping[name], currency)
        for name in ("price_incl_vat", "price_excl_vat", "host_amount")
    }
    return record_of(ActivityRow, mapping, **amounts)


class ActivityViewRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def query(
        self,
        view: View,
        filters: ActivityFilter,
        *,
        within: Iterable[int] | None,
        person_id: int | None = None,
    ) -> Select[Any]:
        return (
            select(*_COLUMNS)
            .select_from(_FROM)
            .where(*_scope(view, within, person_id), *_conditions(view, filters))
        )

    async def page(
        self,
        view: View,
        filters: ActivityFilter,
        page: PageRequest,
        *,
        within: Iterable[int] | None,
        person_id: int | None = None,
    ) -> Page[ActivityRow]:
        query = self.query(view, filters, within=within, person_id=person_id)
        async with self.db.reading() as conn:
            return await fetch_page(conn, query, *_ORDER[filters.sort], page=page, record=_row)

    async def rows(
        self,
        view: View,
        filters: ActivityFilter,
        *,
        within: Iterable[int] | None,
        person_id: int | None = None,
        batch: int = 2000,
    ) -> AsyncIterator[list[ActivityRow]]:
        """Every row of the view in batches, read as the database streams them: an export of
        a million rows holds one batch at a time."""
        query = self.query(view, filters, within=within, person_id=person_id).order_by(
            *_ORDER[filters.sort]
        )
        async with self.db.reading() as conn:
            result = await conn.stream(query.execution_options(yield_per=batch))
            async for part in result.partitions(batch):
                yield [_row(r._mapping) for r in part]

    async def one(
        self,
        view: View,
        session_id: int,
        *,
        within: Iterable[int] | None,
        person_id: int | None = None,
    ) -> ActivityRow | None:
        query = self.query(
            view, ActivityFilter(finished_only=False), within=within, person_id=person_id
        ).where(S.c.id == session_id)
        async with self.db.reading() as conn:
            row = (await conn.execute(query)).first()
        return _row(row._mapping) if row else None
