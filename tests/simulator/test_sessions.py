"""A simulated station against the real platform: boot, statuses, sessions in the database."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.ocpp.support import sent_calls
from voltflow.bootstrap import Platform

from .support import TAG, StationFactory, eventually


async def test_boots_and_reports_connectors(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-BOOT", connectors=2)
    assert station.online and station.registration == "Accepted" and station.boot_count == 1
    record = await platform.stations.get("SIM-BOOT")
    assert record.online
    assert (record.vendor, record.model, record.firmware_version) == (
        "Voltflow",
        "Simulator",
        "1.0.0",
    )

    async def all_available() -> bool:
        rows = await platform.stations.connectors("SIM-BOOT")
        return [(r.evse_id, r.status) for r in rows] == [(1, "Available"), (2, "Available")]

    await eventually(all_available)


async def test_session_lands_in_database_with_meter_values(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-S1")
    tx = await station.start_session()
    assert station.connector_status() == "Charging"
    tid = await tx.wait_started(timeout=5)
    await asyncio.sleep(0.65)
    stopped = await station.stop_session()
    assert stopped is tx
    await tx.wait_stopped(timeout=5)

    session = await platform.sessions.get(tid)
    assert session.id_tag == TAG
    assert session.meter_start_wh == 1_000_000 == tx.meter_start
    assert session.meter_stop_wh == tx.meter_stop
    assert session.energy_wh == tx.meter_stop - tx.meter_start
    assert session.stop_reason == "Local"
    # 360 kW ± 10 % for ~0.65 s: about 65 Wh
    assert 40 <= session.energy_wh <= 100, session.energy_wh

    values = session.meter_values
    periodic = [v for v in values if v.context == "Sample.Periodic"]
    energy = [v.value for v in periodic if v.measurand == "Energy.Active.Import.Register"]
    power = [v.value for v in periodic if v.measurand == "Power.Active.Import"]
    assert len(energy) >= 4 and len(power) == len(energy)
    assert energy == sorted(energy)
    assert energy[0] >= 1_000_000 and energy[-1] <= tx.meter_stop
    assert all(Decimal(300_000) <= p <= Decimal(420_000) for p in power)
    assert {v.unit for v in periodic} == {"Wh", "W"}
    edges = {v.context: v.value for v in values if v.context.startswith("Transaction")}
    assert edges == {"Transaction.Begin": 1_000_000, "Transaction.End": tx.meter_stop}

    async def available() -> bool:
        rows = await platform.stations.connectors("SIM-S1")
        return rows[0].status == "Available"

    await eventually(available)
    history = [h.status for h in reversed(await platform.stations.status_history("SIM-S1"))]
    assert history == ["Available", "Preparing", "Charging", "Finishing", "Available"]
    authorize = await sent_calls(platform, "SIM-S1", "Authorize")
    assert len(authorize) == 1
