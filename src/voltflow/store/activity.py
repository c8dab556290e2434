"""What the stations and the cards did, day by day: kept from the session events
(``services.activity``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from voltflow.store.database import Database
from voltflow.store.statements import dialect_insert
from voltflow.store.tables import (
    card_daily_totals,
    cards,
    charging_sessions,
    station_daily_totals,
    stations,
)

DayTotals = list[tuple[date, int, int]]


class ActivityRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        totals = dialect_insert(db.dialect, station_daily_totals)
        self._add_totals = totals.on_conflict_do_update(
            index_elements=["station_id", "day"],
            set_={
                "sessions": station_daily_totals.c.sessions + totals.excluded.sessions,
                "energy_wh": station_daily_totals.c.energy_wh + totals.excluded.energy_wh,
            },
        )
        held = dialect_insert(db.dialect, card_daily_totals)
        self._add_card_totals = held.on_conflict_do_update(
            index_elements=["organisation_id", "driver_id", "day"],
            set_={
                "sessions": card_daily_totals.c.sessions + held.excluded.sessions,
                "energy_wh": card_daily_totals.c.energy_wh + held.excluded.energy_wh,
            },
        )

    async def add_many_station_totals(self, rows: Sequence[tuple[str, date, int, int]]) -> None:
        """(station, day, sessions, Wh) added to each day's totals, in one statement."""
        if rows:
            async with self.db.writing() as conn:
                await conn.execute(
                    self._add_totals,
                    [
                        {"station_id": s, "day": d, "sessions": n, "energy_wh": wh}
                        for s, d, n, wh in rows
                    ],
                )

    async def add_many_card_totals(self, rows: Sequence[tuple[int, int, date, int, int]]) -> None:
        """(organisation or 0, driver or 0, day, sessions, Wh) added to each day's totals."""
        if rows:
            async with self.db.writing() as conn:
                await conn.execute(
                    self._add_card_totals,
                    [
                        {
                            "organisation_id": o,
                            "driver_id": p,
                            "day": d,
                            "sessions": n,
                            "energy_wh": wh,
                        }
                        for o, p, d, n, wh in rows
                    ],
                )

    async def card_holders(
        self, tokens: Collection[str]
    ) -> dict[str, tuple[int | None, int | None]]:
        """The (organisation, driver) of each card among ``tokens``; unknown tokens are left out."""
        if not tokens:
            return {}
        query = select(cards.c.uid, cards.c.organisation_id, cards.c.driver_id).where(
            cards.c.uid.in_(sorted(tokens))
        )
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return {r.uid: (r.organisation_id, r.driver_id) for r in rows}

    async def session_tokens(self, session_ids: Collection[int]) -> dict[int, str]:
        """The id token each session was charged under."""
        if not session_ids:
            return {}
        s = charging_sessions
        query = select(s.c.id, s.c.id_tag).where(s.c.id.in_(sorted(session_ids)))
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return {int(r.id): r.id_tag for r in rows}

    async def station_totals(self, station_id: str, since: date | None = None) -> DayTotals:
        t = station_daily_totals
        query = select(t.c.day, t.c.sessions, t.c.energy_wh).where(t.c.station_id == station_id)
        if since is not None:
            query = query.where(t.c.day >= since)
        async with self.db.reading() as conn:
            rows = (await conn.execute(query.order_by(t.c.day))).all()
        return [(r.day, int(r.sessions), int(r.energy_wh)) for r in rows]

    async def owner_totals(
        self, since: date, within: Collection[int] | None, organisation_id: int | None = None
    ) -> DayTotals:
        """The day totals of the stations owned by ``within`` (None: of every station), or by
        ``organisation_id`` among them, summed per day."""
        t = station_daily_totals
        query = select(t.c.day, func.sum(t.c.sessions), func.sum(t.c.energy_wh)).where(
            t.c.day >= since
        )
        owned: list[ColumnElement[bool]] = []
        if within is not None:
            owned.append(stations.c.organisation_id.in_(sorted(within)))
        if organisation_id is not None:
            owned.append(stations.c.organisation_id == organisation_id)
        if owned:
            query = query.join(stations, stations.c.id == t.c.station_id).where(*owned)
        return await self._summed(query.group_by(t.c.day).order_by(t.c.day))

    async def card_totals(
        self,
        since: date,
        within: Collection[int] | None,
        *,
        organisation_id: int | None = None,
        driver_id: int | None = None,
    ) -> DayTotals:
        """The day totals of the cards of ``within`` (None: of every organisation), narrowed to
        one organisation and/or one driver, summed per day."""
        t = card_daily_totals
        query = select(t.c.day, func.sum(t.c.sessions), func.sum(t.c.energy_wh)).where(
            t.c.day >= since
        )
        if within is not None:
            query = query.where(t.c.organisation_id.in_(sorted(within)))
        if organisation_id is not None:
            query = query.where(t.c.organisation_id == organisation_id)
        if driver_id is not None:
            query = query.where(t.c.driver_id == driver_id)
        return await self._summed(query.group_by(t.c.day).order_by(t.c.day))

    async def _summed(self, query: Select[Any]) -> DayTotals:
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return [(r[0], int(r[1]), int(r[2])) for r in rows]
