"""Sessions' charging periods stored and read back, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from voltflow.bootstrap import Platform
from voltflow.domain.charging_periods import (
    ChargingPeriod,
    Dimension,
    DimensionType,
    PeriodFlag,
    Reading,
    StatusChange,
    periods_from,
)
from voltflow.store.tables import (
    charging_sessions,
    connector_status_history,
    meter_values,
    session_charging_periods,
    stations,
)

START = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def _reading(
    minutes: int, measurand: str, value: str, unit: str, phase: str = ""
) -> dict[str, Any]:
    return {
        "station_id": "CP-1",
        "evse_id": 1,
        "session_id": 1,
        "sampled_at": START + timedelta(minutes=minutes),
        "measurand": measurand,
        "phase": phase,
        "location": "",
        "context": "",
        "unit": unit,
        "value": Decimal(value),
    }


def _status(minutes: int, status: str, connector: int = 1) -> dict[str, Any]:
    at = START + timedelta(minutes=minutes)
    return {
        "station_id": "CP-1",
        "evse_id": connector,
        "connector_id": 1,
        "status": status,
        "status_at": at,
        "received_at": at,
    }


async def _session(platform: Platform, *, stopped: bool = True) -> None:
    async with platform.db.writing() as conn:
        await conn.execute(insert(stations), [{"id": "CP-1", "created_at": START}])
        await conn.execute(
            insert(charging_sessions),
            [
                {
                    "id": 1,
                    "station_id": "CP-1",
                    "evse_id": 1,
                    "connector_id": 1,
                    "id_tag": "A0000001",
                    "auth_status": "Accepted",
                    "started_at": START,
                    "meter_start_wh": 1000,
                    "stopped_at": START + timedelta(hours=2) if stopped else None,
                    "meter_stop_wh": 12000 if stopped else None,
                    "created_at": START,
                }
            ],
        )
        await conn.execute(
            insert(meter_values),
            [
                _reading(30, "Energy.Active.Import.Register", "6000", "Wh"),
                _reading(60, "Energy.Active.Import.Register", "12000", "Wh"),
                _reading(30, "Power.Active.Import", "11000", "W"),
                _reading(30, "Current.Import", "16", "A", "L1"),
                _reading(30, "Current.Import", "16", "A", "L2"),
                _reading(30, "Current.Import", "16.5", "A", "L3"),
                _reading(30, "SoC", "60", "Percent"),
            ],
        )
        await conn.execute(
            insert(connector_status_history),
            [
                _status(-5, "SuspendedEVSE"),  # before the session
                _status(0, "Charging"),
                _status(60, "SuspendedEV"),
                _status(61, "SuspendedEVSE", connector=2),  # another connector
                _status(125, "Available"),  # after it
            ],
        )


async def test_a_closed_session_s_periods_are_stored_and_read_back(platform: Platform) -> None:
    await _session(platform)
    repo = platform.charging_periods.repo
    source = await repo.source(1)
    assert source is not None
    assert source.statuses == [
        StatusChange(START, "Charging"),
        StatusChange(START + timedelta(hours=1), "SuspendedEV"),
    ]
    assert Reading(START + timedelta(minutes=30), "Current.Import", Decimal(16), "A", "L1") in (
        source.readings
    )
    assert {r.measurand for r in source.readings} == {
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
    }

    computed = await platform.charging_periods.recompute(1)
    assert computed == periods_from(*source)
    assert [(p.start, p.charging, p.energy_kwh) for p in computed] == [
        (START, True, Decimal(11)),
        (START + timedelta(hours=1), False, Decimal(0)),
    ]
    assert computed[0].volume(DimensionType.MAX_CURRENT) == Decimal("48.5")
    assert await platform.charging_periods.of_session(1) == computed

    # Again (an event delivered twice, a correction): replaced, never added to.
    await platform.charging_periods.recompute(1)
    async with platform.db.reading() as conn:
        rows = await conn.scalar(select(func.count()).select_from(session_charging_periods))
    assert rows == 2


async def test_replacing_keeps_every_volume_and_flag_exactly(platform: Platform) -> None:
    await _session(platform)
    repo = platform.charging_periods.repo
    fine = ChargingPeriod(
        START,
        (
            Dimension(DimensionType.ENERGY, Decimal("123456.789")),
            Dimension(DimensionType.TIME, Decimal("0.000278")),
            Dimension(DimensionType.MAX_POWER, Decimal("349.999999")),
            Dimension(DimensionType.MIN_POWER, Decimal("0")),
            Dimension(DimensionType.MAX_CURRENT, Decimal("500.25")),
            Dimension(DimensionType.MIN_CURRENT, Decimal("0.5")),
        ),
        frozenset({PeriodFlag.METER_BACKWARDS}),
    )
    parked = ChargingPeriod(
        START + timedelta(seconds=1),
        (Dimension(DimensionType.PARKING_TIME, Decimal("1.999722")),),
    )
    await repo.replace(1, [fine, parked, parked.__class__(START + timedelta(hours=3), ())])
    await repo.replace(1, [fine, parked])
    assert await repo.of_session(1) == (fine, parked)
    await repo.replace(1, [])
    assert await repo.of_session(1) == ()


async def test_an_open_or_unknown_session_has_no_periods(platform: Platform) -> None:
    await _session(platform, stopped=False)
    assert await platform.charging_periods.repo.source(1) is None
    assert await platform.charging_periods.recompute(1) == ()
    assert await platform.charging_periods.recompute(99) == ()
    assert await platform.charging_periods.of_session(1) == ()


async def test_a_batch_reads_each_session_s_own_readings_and_statuses(
    platform: Platform,
) -> None:
    await _session(platform)
    second = {
        "station_id": "CP-1",
        "evse_id": 2,
        "connector_id": 1,
        "id_tag": "A0000002",
        "auth_status": "Accepted",
        "started_at": START + timedelta(minutes=50),
        "meter_start_wh": 0,
        "created_at": START,
    }
    async with platform.db.writing() as conn:
        await conn.execute(
            insert(charging_sessions),
            [
                {
                    **second,
                    "id": 2,
                    "stopped_at": START + timedelta(minutes=70),
                    "meter_stop_wh": 500,
                },
                # Still open.
                {
                    **second,
                    "id": 3,
                    "started_at": START + timedelta(hours=3),
                    "stopped_at": None,
                    "meter_stop_wh": None,
                },
            ],
        )
    repo = platform.charging_periods.repo
    one, two = await repo.source(1), await repo.source(2)
    assert two is not None and two.statuses == [
        StatusChange(START + timedelta(minutes=61), "SuspendedEVSE")
    ]
    assert two.readings == []
    assert await repo.sources([2, 1, 3, 99, 1]) == {1: one, 2: two}

    computed = await platform.charging_periods.recompute_many([1, 2, 3, 99])
    assert set(computed) == {1, 2}
    assert await repo.of_sessions([1, 2, 3]) == {
        i: periods for i, periods in computed.items() if periods
    }
    assert computed[1] == await platform.charging_periods.recompute(1)
