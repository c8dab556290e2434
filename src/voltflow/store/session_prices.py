"""Price lines of sessions: what pricing reads of a session, and the lines it decides."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update

from voltflow.domain.session_prices import Basis, Party, PriceLine, SessionToPrice, cents
from voltflow.domain.session_types import SessionType
from voltflow.store.database import Database
from voltflow.store.tables import (
    authorization_list_cards,
    authorization_lists,
    charging_sessions,
    session_price_lines,
    station_group_members,
    stations,
)

s = charging_sessions
lines_t = session_price_lines


def _discount_tariff(station: Any, uid: Any) -> Any:
    """The tariff of the first discount list (by id) that holds the card ``uid`` at ``station``,
    directly or through a station group (columns of a query, or values)."""
    lists, cards, members = authorization_lists, authorization_list_cards, station_group_members
    groups = select(members.c.group_id).where(members.c.station_id == station)
    return (
        select(lists.c.tariff_ref)
        .join(cards, cards.c.list_id == lists.c.id)
        .where(
            lists.c.kind == "discount",
            lists.c.tariff_ref.is_not(None),
            cards.c.card_uid == uid,
            (lists.c.station_id == station) | lists.c.group_id.in_(groups),
        )
        .order_by(lists.c.id)
        .limit(1)
        .scalar_subquery()
    )


class SessionPriceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._to_price = (
            select(
                s.c.id,
                s.c.station_id,
                s.c.id_tag,
                s.c.started_at,
                s.c.stopped_at,
                s.c.energy_wh,
                s.c.session_type,
                stations.c.tariff_id,
                stations.c.host_tariff_id,
                _discount_tariff(s.c.station_id, s.c.id_tag).label("discount_tariff_id"),
            )
            .join(stations, stations.c.id == s.c.station_id)
            .where(s.c.stopped_at.is_not(None), s.c.session_type.is_not(None))
        )

    async def to_price(self, session_ids: Sequence[int]) -> list[SessionToPrice]:
        """The finished sessions among ``session_ids``, as pricing reads them."""
        if not session_ids:
            return []
        async with self.db.reading() as conn:
            rows = (await conn.execute(self._to_price.where(s.c.id.in_(list(session_ids))))).all()
        return [_session(row) for row in rows]

    async def tariffs_for(
        self, station_id: str, uid: str
    ) -> tuple[str | None, str | None, str | None] | None:
        """The public, host and discount-list tariffs a session of the card at the station would
        be priced with; None when there is no such station."""
        discount = _discount_tariff(station_id, uid)
        query = select(stations.c.tariff_id, stations.c.host_tariff_id, discount).where(
            stations.c.id == station_id
        )
        async with self.db.reading() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def to_price_after(self, after_id: int, limit: int) -> list[SessionToPrice]:
        """Finished sessions by id, from after ``after_id``: a re-pricing walks them in pages."""
        query = self._to_price.where(s.c.id > after_id).order_by(s.c.id).limit(limit)
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return [_session(row) for row in rows]

    async def replace(
        self,
        priced: Sequence[tuple[int, SessionType, Sequence[PriceLine]]],
        now: datetime,
    ) -> None:
        """Each session's lines become its current ones, as a new revision; the earlier stay."""
        if not priced:
            return
        ids = [session_id for session_id, _, _ in priced]
        async with self.db.writing() as conn:
            revisions = dict(
                (
                    await conn.execute(
                        select(lines_t.c.session_id, func.max(lines_t.c.revision))
                        .where(lines_t.c.session_id.in_(ids))
                        .group_by(lines_t.c.session_id)
                    )
                ).all()
            )
            if revisions:
                await conn.execute(
                    update(lines_t)
                    .where(lines_t.c.session_id.in_(list(revisions)), lines_t.c.current)
                    .values(current=False)
                )
            rows = [
                {
                    "session_id": session_id,
                    "revision": int(revisions.get(session_id) or 0) + 1,
                    "current": True,
                    "session_type": str(session_type),
                    "party": str(line.party),
                    "basis": str(line.basis),
                    "currency": line.currency,
                    "excl_vat": line.excl_vat,
                    "incl_vat": line.incl_vat,
                    "tariff_id": line.tariff_id,
                    "tariff_version": line.tariff_version,
                    "rate": line.rate,
                    "priced_at": now,
                }
                for session_id, session_type, lines in priced
                for line in lines
            ]
            if rows:
                await conn.execute(lines_t.insert(), rows)

    async def current(self, session_ids: Iterable[int]) -> dict[int, tuple[PriceLine, ...]]:
        """Each session's current lines (a session not priced yet is absent)."""
        ids = list(session_ids)
        if not ids:
            return {}
        query = (
            select(lines_t)
            .where(lines_t.c.session_id.in_(ids), lines_t.c.current)
            .order_by(lines_t.c.session_id, lines_t.c.id)
        )
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        found: dict[int, list[PriceLine]] = {}
        for row in rows:
            found.setdefault(int(row.session_id), []).append(_line(row))
        return {session_id: tuple(lines) for session_id, lines in found.items()}

    async def history(self, session_id: int) -> list[tuple[int, datetime, tuple[PriceLine, ...]]]:
        """Every revision of a session's lines, the first first: (revision, priced at, lines)."""
        query = (
            select(lines_t)
            .where(lines_t.c.session_id == session_id)
            .order_by(lines_t.c.revision, lines_t.c.id)
        )
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        revisions: dict[int, tuple[datetime, list[PriceLine]]] = {}
        for row in rows:
            revisions.setdefault(int(row.revision), (row.priced_at, []))[1].append(_line(row))
        return [(rev, at, tuple(lines)) for rev, (at, lines) in revisions.items()]

    async def set_station_prices(
        self,
        station_id: str,
        *,
        tariff_id: str | None,
        host_user_id: int | None,
        host_tariff_id: str | None,
    ) -> bool:
        """A station's public tariff and its host; False when there is no such station."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                update(stations)
                .where(stations.c.id == station_id)
                .values(
                    tariff_id=tariff_id, host_user_id=host_user_id, host_tariff_id=host_tariff_id
                )
            )
        return bool(result.rowcount)


def _session(row: Any) -> SessionToPrice:
    return SessionToPrice(
        session_id=int(row.id),
        station_id=row.station_id,
        id_tag=row.id_tag,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        energy_wh=int(row.energy_wh or 0),
        session_type=SessionType(row.session_type),
        station_tariff_id=row.tariff_id,
        host_tariff_id=row.host_tariff_id,
        discount_tariff_id=row.discount_tariff_id,
    )


def _line(row: Any) -> PriceLine:
    # PostgreSQL's NUMERIC gives its scale's digits (1.770000): amounts come back to the cent,
    # rates without trailing zeros, as they were written.
    return PriceLine(
        party=Party(row.party),
        basis=Basis(row.basis),
        currency=row.currency,
        excl_vat=cents(row.excl_vat, row.currency),
        incl_vat=cents(row.incl_vat, row.currency),
        tariff_id=row.tariff_id,
        tariff_version=row.tariff_version,
        rate=None if row.rate is None else _plain(row.rate),
    )


def _plain(value: Decimal) -> Decimal:
    """0.665400 → 0.6654, 1.000000 → 1."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal
