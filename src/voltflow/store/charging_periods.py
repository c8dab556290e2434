"""Sessions' charging periods (``domain.charging_periods``), and what they are computed from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, insert, select

from voltflow.domain.charging_periods import (
    CURRENT,
    ENERGY_REGISTER,
    POWER,
    ChargingPeriod,
    Dimension,
    DimensionType,
    PeriodFlag,
    Reading,
    StatusChange,
)
from voltflow.store.database import Database
from voltflow.store.tables import (
    charging_sessions,
    connector_status_history,
    meter_values,
    session_charging_periods,
)

_P = session_charging_periods
# Each dimension type's column.
_COLUMNS: dict[DimensionType, str] = {
    DimensionType.ENERGY: "energy_kwh",
    DimensionType.TIME: "time_hours",
    DimensionType.PARKING_TIME: "parking_time_hours",
    DimensionType.MAX_POWER: "max_power_kw",
    DimensionType.MIN_POWER: "min_power_kw",
    DimensionType.MAX_CURRENT: "max_current_a",
    DimensionType.MIN_CURRENT: "min_current_a",
}
_MEASURANDS = (ENERGY_REGISTER, POWER, CURRENT)


class PeriodSource(NamedTuple):
    """What a closed session's periods are computed from."""

    started_at: datetime
    stopped_at: datetime
    meter_start_wh: int
    meter_stop_wh: int | None
    readings: list[Reading]
    statuses: list[StatusChange]


class ChargingPeriodRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def source(self, session_id: int) -> PeriodSource | None:
        """The session's times and meter, its energy, power and current readings, and its
        connector's statuses while it lasted; None when it is unknown or still open."""
        return (await self.sources([session_id])).get(session_id)

    async def sources(self, session_ids: Sequence[int]) -> dict[int, PeriodSource]:
        """:meth:`source` for each of these sessions, in three statements a chunk of them: a
        batch of closes costs about what one does. Unknown and open sessions are left out."""
        found: dict[int, PeriodSource] = {}
        async with self.db.reading() as conn:
            for chunk in _chunks(sorted(set(session_ids))):
                await self._sources(conn, chunk, found)
        return found

    async def _sources(
        self, conn: Any, session_ids: list[int], found: dict[int, PeriodSource]
    ) -> None:
        s = charging_sessions
        sessions = (
            await conn.execute(
                select(
                    s.c.id, s.c.started_at, s.c.stopped_at, s.c.meter_start_wh, s.c.meter_stop_wh
                ).where(s.c.id.in_(session_ids), s.c.stopped_at.is_not(None))
            )
        ).all()
        if not sessions:
            return
        closed = [r.id for r in sessions]
        m = meter_values
        readings: dict[int, list[Reading]] = {i: [] for i in closed}
        for r in await conn.execute(
            select(
                m.c.session_id, m.c.sampled_at, m.c.measurand, m.c.value, m.c.unit, m.c.phase
            ).where(m.c.session_id.in_(closed), m.c.measurand.in_(_MEASURANDS))
        ):
            readings[r.session_id].append(
                Reading(r.sampled_at, r.measurand, r.value, r.unit, r.phase or None)
            )
        h = connector_status_history
        statuses: dict[int, list[StatusChange]] = {i: [] for i in closed}
        for r in await conn.execute(
            select(s.c.id, h.c.status_at, h.c.status)
            .select_from(
                h.join(
                    s,
                    (h.c.station_id == s.c.station_id)
                    & (h.c.evse_id == s.c.evse_id)
                    & (h.c.connector_id == s.c.connector_id)
                    & (h.c.status_at >= s.c.started_at)
                    & (h.c.status_at <= s.c.stopped_at),
                )
            )
            .where(s.c.id.in_(closed))
            .order_by(s.c.id, h.c.status_at, h.c.id)
        ):
            statuses[r.id].append(StatusChange(r.status_at, r.status))
        for r in sessions:
            found[r.id] = PeriodSource(
                r.started_at,
                r.stopped_at,
                int(r.meter_start_wh),
                None if r.meter_stop_wh is None else int(r.meter_stop_wh),
                readings[r.id],
                statuses[r.id],
            )

    async def replace(self, session_id: int, periods: Sequence[ChargingPeriod]) -> None:
        """The session's periods become ``periods``: what was stored before goes."""
        await self.replace_many({session_id: periods})

    async def replace_many(self, periods: dict[int, Sequence[ChargingPeriod]]) -> None:
        """Each session's periods become those given for it: what was stored before goes."""
        if not periods:
            return
        rows = [
            _row(session_id, i, p)
            for session_id, theirs in periods.items()
            for i, p in enumerate(theirs)
        ]
        async with self.db.writing() as conn:
            for chunk in _chunks(list(periods)):
                await conn.execute(delete(_P).where(_P.c.session_id.in_(chunk)))
            if rows:
                await conn.execute(insert(_P), rows)

    async def of_session(self, session_id: int) -> tuple[ChargingPeriod, ...]:
        """The session's periods in order; none before it closed (or before the periods of its
        close were computed)."""
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(_P).where(_P.c.session_id == session_id).order_by(_P.c.position)
                )
            ).all()
        return tuple(_period(r._mapping) for r in rows)

    async def of_sessions(
        self, session_ids: Sequence[int]
    ) -> dict[int, tuple[ChargingPeriod, ...]]:
        """:meth:`of_session` for each of these sessions that has periods, a chunk at a time."""
        found: dict[int, list[ChargingPeriod]] = {}
        async with self.db.reading() as conn:
            for chunk in _chunks(sorted(set(session_ids))):
                for r in await conn.execute(
                    select(_P)
                    .where(_P.c.session_id.in_(chunk))
                    .order_by(_P.c.session_id, _P.c.position)
                ):
                    found.setdefault(r.session_id, []).append(_period(r._mapping))
        return {session_id: tuple(periods) for session_id, periods in found.items()}


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _row(session_id: int, position: int, period: ChargingPeriod) -> dict[str, Any]:
    row: dict[str, Any] = {
        "session_id": session_id,
        "position": position,
        "started_at": period.start,
        "flags": " ".join(sorted(period.flags)) or None,
    }
    row.update(dict.fromkeys(_COLUMNS.values()))
    for dimension in period.dimensions:
        row[_COLUMNS[dimension.type]] = dimension.volume
    return row


def _period(row: Any) -> ChargingPeriod:
    return ChargingPeriod(
        row["started_at"],
        tuple(
            Dimension(type, row[column])
            for type, column in _COLUMNS.items()
            if row[column] is not None
        ),
        frozenset(PeriodFlag(f) for f in (row["flags"] or "").split()),
    )
