"""The rows of the activity views (``domain.activity``): sessions with their station's owner,
their card's organisation and person, and their current price lines, in one query; and, in the
same query, the sessions external devices reported (``device_sessions``), each with the
reimbursement stored at its import. The two kinds are one ``UNION ALL``, so that paging, filters
and order hold across both; a row's ``source`` tells them apart (their ids are numbered apart).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.sql import Select

from voltflow.domain.activity import ActivityFilter, ActivityRow, Sort, View
from voltflow.domain.licences import DeviceReimbursement, ReimbursementBasis, device_price_lines
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.session_prices import PriceLine, cents
from voltflow.domain.session_types import SessionType
from voltflow.store.database import Database
from voltflow.store.licences import reimbursement_of
from voltflow.store.paging import record_of
from voltflow.store.tables import (
    cards,
    charging_sessions,
    device_sessions,
    external_devices,
    organisations,
    session_price_lines,
    stations,
    users,
)
from voltflow.store.types import ExactDecimal

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


# -- the sessions of external devices -------------------------------------------------------------
DS = device_sessions
device_owner = organisations.alias("device_owner")
_ZERO = cast(literal_column("0"), ExactDecimal())
_SPLIT = SessionType.SPLIT_BILLING.value

_DEVICE_COLUMNS = (
    DS.c.id.label("session_id"),
    DS.c.started_at,
    DS.c.stopped_at,
    DS.c.device_id.label("station_id"),
    cast(literal_column("1"), Integer).label("evse_id"),  # a device has one outlet
    DS.c.card_uid.label("id_tag"),
    DS.c.energy_wh,
    DS.c.session_type,
    DS.c.type_reason,
    device_owner.c.name.label("operator"),  # the employer that registered the device
    provider.c.name.label("service_provider"),
    func.coalesce(users.c.full_name, users.c.username).label("driver"),
    cards.c.driver_id,
    DS.c.currency,
    # The driver pays nothing at a device of their own; a split-billing session's employee is
    # reimbursed what its import stored (as a station session's lines say it).
    _ZERO.label("price_incl_vat"),
    _ZERO.label("price_excl_vat"),
    cast(
        case(
            (DS.c.session_type == _SPLIT, "split_billing"),
            (DS.c.session_type == SessionType.INVALID.value, "invalid"),
            (DS.c.session_type == SessionType.WHITELIST.value, "whitelist"),
            else_="no_tariff",
        ),
        String(16),
    ).label("price_basis"),
    DS.c.reimbursement.label("host_amount"),
    cast(case((DS.c.session_type == _SPLIT, "employee")), String(16)).label("host_party"),
    cast(null(), String(36)).label("tariff_id"),
    cast(null(), Integer).label("tariff_version"),
)

_DEVICE_FROM = (
    DS.join(external_devices, external_devices.c.id == DS.c.device_id)
    .outerjoin(device_owner, device_owner.c.id == external_devices.c.organisation_id)
    .outerjoin(cards, cards.c.uid == DS.c.card_uid)
    .outerjoin(provider, provider.c.id == cards.c.organisation_id)
    .outerjoin(users, users.c.id == cards.c.driver_id)
)

_DEVICE_ORDER = {
    Sort.NEWEST: (DS.c.started_at.desc(), DS.c.id.desc()),
    Sort.OLDEST: (DS.c.started_at.asc(), DS.c.id.asc()),
    Sort.MOST_ENERGY: (DS.c.energy_wh.desc(), DS.c.id.desc()),
    Sort.LEAST_ENERGY: (DS.c.energy_wh.asc(), DS.c.id.asc()),
    # Every device session's driver price is zero: its order among them is its id's.
    Sort.HIGHEST_PRICE: (DS.c.id.desc(),),
    Sort.LOWEST_PRICE: (DS.c.id.asc(),),
}

# The order of the two kinds together, by the union's columns (a station's and a device's
# session may share an id: ``source`` settles a tie).
_UNION_ORDER = {
    Sort.NEWEST: (("started_at", True), ("session_id", True), ("source", True)),
    Sort.OLDEST: (("started_at", False), ("session_id", False), ("source", False)),
    Sort.MOST_ENERGY: (("energy_wh", True), ("session_id", True), ("source", True)),
    Sort.LEAST_ENERGY: (("energy_wh", False), ("session_id", False), ("source", False)),
    Sort.HIGHEST_PRICE: (("price_incl_vat", True), ("session_id", True), ("source", True)),
    Sort.LOWEST_PRICE: (("price_incl_vat", False), ("session_id", False), ("source", False)),
}


def _device_scope(
    view: View, within: Iterable[int] | None, person_id: int | None
) -> list[ColumnElement[bool]]:
    """Which device sessions a view shows: a driver's own cards'; the devices an employer
    registered (charge points); the sessions of an organisation's cards (mobility)."""
    if view is View.MINE:
        return [cards.c.driver_id == person_id]
    if within is None:
        return []
    orgs = list(within)
    if view is View.CHARGE_POINTS:
        return [external_devices.c.organisation_id.in_(orgs)]
    return [cards.c.organisation_id.in_(orgs)]


def _device_conditions(view: View, f: ActivityFilter) -> list[ColumnElement[bool]]:
    # An imported session is always finished.
    cond: list[ColumnElement[bool]] = []
    if f.types:
        cond.append(DS.c.session_type.in_(sorted(str(t) for t in f.types)))
    if f.started_from is not None:
        cond.append(DS.c.started_at >= f.started_from)
    if f.started_to is not None:
        cond.append(DS.c.started_at < f.started_to)
    if f.station_id:
        cond.append(DS.c.device_id == f.station_id)
    if f.organisation_id is not None:
        side = external_devices if view is View.CHARGE_POINTS else cards
        cond.append(side.c.organisation_id == f.organisation_id)
    if f.driver_id is not None:
        cond.append(cards.c.driver_id == f.driver_id)
    return cond


# The most rows a LIMIT takes (a 64-bit integer, on both databases).
_MAX_ROWS = 2**63 - 1


def _source(name: str) -> ColumnElement[str]:
    return cast(literal_column(f"'{name}'"), String(8)).label("source")


def _ordered(query: Select[Any], order: tuple[tuple[str, bool], ...]) -> Select[Any]:
    """``query``, a select over the union, in ``order`` (column name, descending)."""
    columns = query.selected_columns
    return query.order_by(
        *(columns[name].desc() if down else columns[name].asc() for name, down in order)
    )


def _top(query: Select[Any], order: Iterable[Any], rows: int) -> Select[Any]:
    """The first ``rows`` of one kind's sessions in ``order``: a page of both kinds is among
    them, and each kind's own index finds them."""
    part = query.order_by(*order).limit(rows).subquery()
    return select(*part.c)


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

    def stations_query(
        self,
        view: View,
        filters: ActivityFilter,
        *,
        within: Iterable[int] | None,
        person_id: int | None = None,
    ) -> Select[Any]:
        """The stations' sessions the view shows."""
        return (
            select(*_COLUMNS, _source("station"))
            .select_from(_FROM)
            .where(*_scope(view, within, person_id), *_conditions(view, filters))
        )

    def devices_query(
        self,
        view: View,
        filters: ActivityFilter,
        *,
        within: Iterable[int] | None,
        person_id: int | None = None,
    ) -> Select[Any]:
        """The external devices' sessions the view shows, in the stations' columns."""
        return (
            select(*_DEVICE_COLUMNS, _source("device"))
            .select_from(_DEVICE_FROM)
            .where(*_device_scope(view, within, person_id), *_device_conditions(view, filters))
        )

    def query(
        self,
        view: View,
        filters: ActivityFilter,
        *,
        within: Iterable[int] | None,
        person_id: int | None = None,
    ) -> Select[Any]:
        """Both kinds of sessions the view shows, unordered."""
        both = union_all(
            self.stations_query(view, filters, within=within, person_id=person_id),
            self.devices_query(view, filters, within=within, person_id=person_id),
        ).subquery("activity")
        return select(*both.c)

    async def page(
        self,
        view: View,
        filters: ActivityFilter,
        page: PageRequest,
        *,
        within: Iterable[int] | None,
        person_id: int | None = None,
    ) -> Page[ActivityRow]:
        stations_q = self.stations_query(view, filters, within=within, person_id=person_id)
        devices_q = self.devices_query(view, filters, within=within, person_id=person_id)
        # Each kind counted on its own: the database need not build the union's rows for it.
        counted = select(
            select(func.count()).select_from(stations_q.subquery()).scalar_subquery()
            + select(func.count()).select_from(devices_q.subquery()).scalar_subquery()
        )
        # Each kind's first offset + limit rows in the order, then the page of those.
        reach = min(page.offset + page.limit, _MAX_ROWS)
        tops = union_all(
            _top(stations_q, _ORDER[filters.sort], reach),
            _top(devices_q, _DEVICE_ORDER[filters.sort], reach),
        ).subquery("activity")
        query = _ordered(select(*tops.c), _UNION_ORDER[filters.sort])
        async with self.db.reading() as conn:
            total = (await conn.execute(counted)).scalar_one()
            rows = (await conn.execute(query.offset(page.offset).limit(page.limit))).all()
        return Page([_row(r._mapping) for r in rows], int(total), page.offset, page.limit)

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
        query = _ordered(
            self.query(view, filters, within=within, person_id=person_id),
            _UNION_ORDER[filters.sort],
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
        """A station's session, if the view shows it."""
        query = self.stations_query(
            view, ActivityFilter(finished_only=False), within=within, person_id=person_id
        ).where(S.c.id == session_id)
        async with self.db.reading() as conn:
            row = (await conn.execute(query)).first()
        return _row(row._mapping) if row else None

    async def one_device(
        self,
        view: View,
        session_id: int,
        *,
        within: Iterable[int] | None,
        person_id: int | None = None,
    ) -> tuple[ActivityRow, tuple[PriceLine, ...]] | None:
        """An external device's session, if the view shows it, with its stored reimbursement
        as price lines."""
        query = self.devices_query(
            view, ActivityFilter(), within=within, person_id=person_id
        ).add_columns(
            DS.c.reimbursement_basis,
            DS.c.licence_id,
            DS.c.rate,
            DS.c.rate_source,
            DS.c.reimbursement,
        )
        async with self.db.reading() as conn:
            row = (await conn.execute(query.where(DS.c.id == session_id))).first()
        if row is None:
            return None
        m = row._mapping
        reimbursed = reimbursement_of(m) or DeviceReimbursement(
            ReimbursementBasis.NO_LICENCE, m["currency"] or "EUR"
        )
        return _row(m), device_price_lines(SessionType(m["session_type"]), reimbursed)
