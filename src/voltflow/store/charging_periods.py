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
        s = charging_sessions
        async with self.db.reading() as conn:
            session = (
                await conn.execute(
                    select(
                        s.c.station_id,
                        s.c.evse_id,
                        s.c.connector_id,
                        s.c.started_at,
                        s.c.stopped_at,
                        s.c.meter_start_wh,
                        s.c.meter_stop_wh,
                    ).where(s.c.id == session_id)
                )
            ).first()
            if session is None or session.stopped_at is None:
                return None
            m = meter_values
            readings = (
                await conn.execute(
                    select(m.c.sampled_at, m.c.measurand, m.c.value, m.c.unit, m.c.phase).where(
                        m.c.session_id == session_id, m.c.measurand.in_(_MEASURANDS)
                    )
                )
            ).all()
            h = connector_status_history
            statuses = (
                await conn.execute(
                    select(h.c.status_at, h.c.status)
                    .where(
                        h.c.station_id == session.station_id,
                        h.c.evse_id == session.evse_id,
                        h.c.connector_id == session.connector_id,
                        h.c.status_at >= session.started_at,
                        h.c.status_at <= session.stopped_at,
                    )
                    .order_by(h.c.status_at, h.c.id)
                )
            ).all()
        return PeriodSource(
            session.started_at,
            session.stopped_at,
            int(session.meter_start_wh),
            None if session.meter_stop_wh is None else int(session.meter_stop_wh),
            [
                Reading(r.sampled_at, r.measurand, r.value, r.unit, r.phase or None)
                for r in readings
            ],
            [StatusChange(r.status_at, r.status) for r in statuses],
        )

    async def replace(self, session_id: int, periods: Sequence[ChargingPeriod]) -> None:
        """The session's periods become ``periods``: what was stored before goes."""
        async with self.db.writing() as conn:
            await conn.execute(delete(_P).where(_P.c.session_id == session_id))
            if periods:
                await conn.execute(
                    insert(_P), [_row(session_id, i, p) for i, p in enumerate(periods)]
                )

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
