"""The sessions export read from the service, on both databases: every session in the list's
order through batches, for the person's eyes only; the CSV whose text the database makes
(PostgreSQL's COPY, SQLite's functions) is the same file, byte for byte, as the rows read as
records and written by the exporter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from tests import factories
from voltflow.bootstrap import Platform
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import SessionFilter
from voltflow.exports.sessions import sessions_file
from voltflow.store.tables import charging_sessions, meter_values

START = datetime(2026, 3, 29, 0, 30, 15, 250000, tzinfo=UTC)
NOW = datetime(2026, 3, 30, 12, 0, 0, 900000, tzinfo=UTC)


def _session(i: int, station: str, **changes: Any) -> dict[str, Any]:
    began = START + timedelta(minutes=45 * i)
    row = {
        "station_id": station,
        "evse_id": 1 + i % 3,
        "connector_id": 1,
        "id_tag": f"04AB{i:04d}",
        "auth_status": "Accepted",
        "started_at": began,
        "meter_start_wh": 100_000,
        "stopped_at": began + timedelta(minutes=20, seconds=7, microseconds=999999),
        "meter_stop_wh": 100_000 + 1234 * i,
        "energy_wh": 1234 * i,
        "stop_reason": "EVDisconnected",
        "session_type": ("normal", "split_billing", None)[i % 3],
        "created_at": began,
    }
    return {**row, **changes}


async def _seed(platform: Platform) -> factories.Company:
    op = await factories.operator(platform)
    acme = await factories.company(platform, op, "Acme", drivers=0)
    for station in ("CP-1", "CP-2"):
        await platform.stations.add(station, "station-pass-0001", actor=op)
    await platform.stations.set_owner(op, "CP-1", acme.id)
    rows = [_session(i, "CP-1" if i % 2 else "CP-2") for i in range(23)]
    rows += [
        # Still charging, with two readings: its energy so far is the last one's.
        _session(30, "CP-1", stopped_at=None, meter_stop_wh=None, energy_wh=None),
        # Still charging, no reading yet; a stop reason left empty; a comma and quotes.
        _session(31, "CP-1", stopped_at=None, meter_stop_wh=None, energy_wh=None),
        _session(32, "CP-1", stop_reason="", id_tag='A"B,C', energy_wh=0),
        _session(33, "CP-2", stopped_at=START + timedelta(days=1), energy_wh=None),
        # 600.9 s, its end's fraction of a second below its start's: 600.
        _session(
            34, "CP-2", stopped_at=START + timedelta(minutes=45 * 34, seconds=600.9), energy_wh=-5
        ),
    ]
    async with platform.db.writes.begin() as conn:
        await conn.execute(insert(charging_sessions), rows)
        open_id = (
            (
                await conn.execute(
                    charging_sessions.select().where(charging_sessions.c.id_tag == "04AB0030")
                )
            )
            .one()
            .id
        )
        readings = [
            {**factories.meter_row(START + timedelta(hours=h), Decimal(v)), "session_id": open_id}
            for h, v in ((23, "101000.9"), (24, "103456.7"))
        ]
        await conn.execute(insert(meter_values), readings)
    return acme


async def test_export_reads_every_session_in_the_lists_order(platform: Platform) -> None:
    acme = await _seed(platform)
    listed = await platform.sessions.search(SessionFilter(), PageRequest(0, 100))
    exported = [s async for s in platform.sessions.export(SessionFilter(), batch=5)]
    assert [s.id for s in exported] == [s.id for s in listed.items]
    assert [s.live_energy_wh for s in exported] == [s.live_energy_wh for s in listed.items]
    assert 3456 in [s.live_energy_wh for s in exported]
    mine = [s async for s in platform.sessions.export(SessionFilter(), actor=acme.manager)]
    assert {s.station_id for s in mine} == {"CP-1"}
    assert await platform.sessions.count(SessionFilter(), actor=acme.manager) == len(mine)


async def test_the_databases_csv_is_the_exporters(platform: Platform) -> None:
    acme = await _seed(platform)
    file = sessions_file("csv", now=NOW, timezone="Europe/Brussels")
    everything = b"".join([c async for c in file.write(platform.sessions.export(SessionFilter()))])
    # The rows the database must match: a quoted field, an empty one, energy so far.
    assert b',"A""B,C",' in everything and b",,normal" not in everything
    assert b",3.456,EVDisconnected," in everything
    assert b",600,-0.005," in everything and b",-2700,," in everything
    for actor, filters in (
        (None, SessionFilter()),
        (acme.manager, SessionFilter()),
        (None, SessionFilter(station_id="CP-2", active=False)),
        (None, SessionFilter(started_from=START + timedelta(hours=3), started_to=NOW)),
    ):
        kwargs = {"actor": actor} if actor is not None else {}
        written = b"".join(
            [c async for c in file.write(platform.sessions.export(filters, **kwargs))]
        )
        streamed = b"".join([c async for c in file.stream(platform.sessions, filters, **kwargs)])
        assert streamed.decode() == written.decode()
