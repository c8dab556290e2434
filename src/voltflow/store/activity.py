"""What the stations did, day by day: kept from the session events (``services.activity``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from voltflow.store.database import Database
from voltflow.store.statements import dialect_insert
from voltflow.store.tables import station_daily_totals


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

    async def station_totals(
        self, station_id: str, since: date | None = None
    ) -> list[tuple[date, int, int]]:
        t = station_daily_totals
        query = select(t.c.day, t.c.sessions, t.c.energy_wh).where(t.c.station_id == station_id)
        if since is not None:
            query = query.where(t.c.day >= since)
        async with self.db.reading() as conn:
            rows = (await conn.execute(query.order_by(t.c.day))).all()
        return [(r.day, int(r.sessions), int(r.energy_wh)) for r in rows]
