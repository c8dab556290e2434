"""A station charges, the car stops drawing, the driver comes back later: the session gets a
charging period and a parking period once it closes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ocpp.v16 import call

from tests.ocpp.support import add_station, eventually, iso, ocpp_station
from voltflow.bootstrap import Platform
from voltflow.domain.charging_periods import DimensionType

T0 = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)


def at(minutes: float) -> str:
    return iso(T0 + timedelta(minutes=minutes))


def sample(minutes: float, wh: int, watts: int) -> dict[str, Any]:
    return {
        "timestamp": at(minutes),
        "sampledValue": [
            {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": str(watts), "measurand": "Power.Active.Import", "unit": "W"},
            {"value": "16", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
            {"value": "16", "measurand": "Current.Import", "unit": "A", "phase": "L2"},
            {"value": "16", "measurand": "Current.Import", "unit": "A", "phase": "L3"},
        ],
    }


async def status(cp: Any, minutes: float, state: str) -> None:
    await cp.call(
        call.StatusNotification(
            connector_id=1, error_code="NoError", status=state, timestamp=at(minutes)
        ),
        suppress=False,
    )


async def test_a_session_s_periods_appear_once_it_stops(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        await cp.call(
            call.BootNotification(charge_point_model="Wallbox", charge_point_vendor="Acme"),
            suppress=False,
        )
        await status(cp, 0, "Preparing")
        started = await cp.call(
            call.StartTransaction(
                connector_id=1, id_tag="04A2BC11", meter_start=100_000, timestamp=at(0)
            ),
            suppress=False,
        )
        tx = started.transaction_id
        await status(cp, 0.1, "Charging")
        # The station's backlog comes later, and out of order.
        await cp.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=tx,
                meter_value=[sample(60, 111_000, 0), sample(30, 105_500, 11_000)],
            ),
            suppress=False,
        )
        await status(cp, 60, "SuspendedEV")
        assert await platform.charging_periods.of_session(tx) == ()
        await cp.call(
            call.StopTransaction(
                meter_stop=111_000, timestamp=at(90), transaction_id=tx, reason="EVDisconnected"
            ),
            suppress=False,
        )
        await status(cp, 90, "Finishing")

    periods = await eventually(lambda: platform.charging_periods.of_session(tx))
    assert [(p.start, p.charging, p.energy_kwh) for p in periods] == [
        (T0, True, Decimal(11)),
        (T0 + timedelta(hours=1), False, Decimal(0)),
    ]
    charging, parking = periods
    assert charging.volume(DimensionType.TIME) == 1
    assert charging.volume(DimensionType.MAX_POWER) == 11
    assert charging.volume(DimensionType.MAX_CURRENT) == 48
    assert parking.volume(DimensionType.PARKING_TIME) == Decimal("0.5")
    assert await platform.outbox.receipts("session-charging-periods") == 1
