"""The station traffic's statements, built once per dialect so the writer can batch them, and
the helpers that shape their rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.base import Executable

from voltflow.store.tables import (
    connector_status_history,
    connectors,
    meter_values,
    ocpp_messages,
    stations,
)


def dialect_insert(dialect: str, table: Any) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def fit_columns(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every text cut to what its column holds. A lenient station's texts may
    be longer: PostgreSQL would refuse the whole message where SQLite keeps it, so both keep what
    fits (the logged frame keeps the rest)."""
    lengths = _TEXT_LENGTHS.get(table.name)
    if lengths is None:
        lengths = _TEXT_LENGTHS[table.name] = {
            c.key: length
            for c in table.c
            if isinstance(length := getattr(c.type, "length", None), int)
        }
    return {
        key: value[: lengths[key]] if isinstance(value, str) and key in lengths else value
        for key, value in values.items()
    }


_TEXT_LENGTHS: dict[str, dict[str, int]] = {}


class Statements:
    """The hot path's statements, built once per dialect so the writer can batch them."""

    def __init__(self, dialect: str) -> None:
        self.log_message: Executable = insert(ocpp_messages)
        self.touch_station: Executable = (
            update(stations)
            .where(stations.c.id == bindparam("b_id"))
            .values(last_seen_at=bindparam("b_seen"), online=True)
        )
        self.trusted_source: Executable = (
            update(stations)
            .where(stations.c.id == bindparam("b_id"))
            .values(trusted_source=bindparam("b_source"))
        )
        self.station_offline: Executable = (
            update(stations).where(stations.c.id == bindparam("b_id")).values(online=False)
        )
        self.status_history: Executable = insert(connector_status_history)
        upsert = dialect_insert(dialect, connectors)
        excluded = upsert.excluded
        # A backlog replays old statuses: the current one is the latest by the station's clock.
        self.connector_status: Executable = upsert.on_conflict_do_update(
            index_elements=["station_id", "evse_id", "connector_id"],
            set_={
                "status": excluded.status,
                "error_code": excluded.error_code,
                "info": excluded.info,
                "vendor_error_code": excluded.vendor_error_code,
                "status_at": excluded.status_at,
            },
            where=excluded.status_at >= connectors.c.status_at,
        )
        self.meter_value: Executable = dialect_insert(
            dialect, meter_values
        ).on_conflict_do_nothing()
        self.station_field: dict[str, Executable] = {}
        for name in ("firmware_status", "diagnostics_status"):
            self.station_field[name] = (
                update(stations)
                .where(stations.c.id == bindparam("b_id"))
                .values({name: bindparam("b_value")})
            )
