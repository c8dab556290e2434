"""A simulated station misbehaves on request, as the platform sees it over OCPP: faulted
connectors (and what heals them), failing firmware updates, going offline for good, a wrong
serial number."""

from __future__ import annotations

import asyncio

import pytest

from voltflow.bootstrap import Platform
from voltflow.domain.records import Connector
from voltflow.simulator import Fault, Heals, SessionRejected, StationConfig

from .support import StationFactory, eventually


async def _connector(platform: Platform, station_id: str, evse: int = 1) -> Connector | None:
    for row in await platform.stations.connectors(station_id):
        if row.evse_id == evse:
            return row
    return None


async def _status(platform: Platform, station_id: str, evse: int = 1) -> str | None:
    row = await _connector(platform, station_id, evse)
    return None if row is None else row.status


async def test_a_connector_faulted_from_power_on(
    platform: Platform, make_station: StationFactory
) -> None:
    fault = Fault("GroundFailure", "E-42", info="RCD tripped")
    station = await make_station("SIM-F", connectors=2, faulted_connectors=(2,), fault=fault)

    async def reported() -> Connector | None:
        row = await _connector(platform, "SIM-F", 2)
        return row if row is not None and row.status == "Faulted" else None

    row = await eventually(reported)
    assert (row.error_code, row.vendor_error_code, row.info) == (
        "GroundFailure",
        "E-42",
        "RCD tripped",
    )
    assert await _status(platform, "SIM-F", 1) == "Available"
    assert station.connector_status(2) == "Faulted"
    with pytest.raises(SessionRejected):
        await station.start_session(2)
    # A reset does not heal a fault that nothing from afar heals.
    await platform.commands.send("SIM-F", "Reset", {"type": "Hard"})
    await eventually(lambda: _after_reboot(station, 2))
    assert station.connector_status(2) == "Faulted"


async def _after_reboot(station: object, boots: int) -> bool:
    return bool(getattr(station, "boot_count", 0) >= boots and getattr(station, "online", False))


@pytest.mark.parametrize(
    ("heals", "command", "payload", "healed"),
    [
        (Heals.RESET, "Reset", {"type": "Soft"}, True),
        (Heals.HARD_RESET, "Reset", {"type": "Soft"}, False),
        (Heals.HARD_RESET, "Reset", {"type": "Hard"}, True),
        (Heals.UNLOCK, "UnlockConnector", {"connectorId": 1}, True),
        (Heals.UNLOCK, "Reset", {"type": "Hard"}, False),
        (Heals.NEVER, "UnlockConnector", {"connectorId": 1}, False),
    ],
)
async def test_what_heals_a_fault(
    platform: Platform,
    make_station: StationFactory,
    heals: Heals,
    command: str,
    payload: dict[str, object],
    healed: bool,
) -> None:
    station = await make_station("SIM-H", faulted_connectors=(1,), fault=Fault(heals=heals))
    await eventually(lambda: _is(platform, "SIM-H", "Faulted"))
    await platform.commands.send("SIM-H", command, payload)
    if command == "Reset":
        await eventually(lambda: _after_reboot(station, 2))
    wanted = "Available" if healed else "Faulted"
    await eventually(lambda: _is(platform, "SIM-H", wanted))
    await station.drain()
    assert await _status(platform, "SIM-H") == wanted


async def _is(platform: Platform, station_id: str, status: str) -> bool:
    return await _status(platform, station_id) == status


async def test_a_fault_while_charging_and_the_repair(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-R", session_seconds=0)
    tx = await station.start_session(1)
    await tx.wait_started(5)
    station.fault(1, Fault("PowerSwitchFailure", None))
    await tx.wait_stopped(5)
    assert tx.stop_reason == "Other"
    await eventually(lambda: _is(platform, "SIM-R", "Faulted"))
    row = await _connector(platform, "SIM-R")
    assert row is not None and row.error_code == "PowerSwitchFailure"
    station.recover(1)
    await eventually(lambda: _is(platform, "SIM-R", "Available"))
    again = await station.start_session(1)
    await again.wait_started(5)


@pytest.mark.parametrize(
    ("fails", "last"), [("download", "DownloadFailed"), ("install", "InstallationFailed")]
)
async def test_a_failing_firmware_update(
    platform: Platform, make_station: StationFactory, fails: str, last: str
) -> None:
    station = await make_station("SIM-FW", firmware_fails=fails)
    await platform.commands.send(
        "SIM-FW",
        "UpdateFirmware",
        {"location": "https://fw.example/sim-2.0.0.bin", "retrieveDate": "2020-01-01T00:00:00Z"},
    )

    async def reported() -> bool:
        return (await platform.stations.get("SIM-FW")).firmware_status == last

    await eventually(reported)
    assert station.firmware_version == "1.0.0"
    assert station.boot_count == 1  # no reboot: the old firmware goes on
    tx = await station.start_session(1, duration=0.2)
    await tx.wait_started(5)


async def test_offline_for_good_until_it_comes_back(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-OFF")
    await station.go_offline()
    assert not station.online

    async def offline() -> bool:
        return not platform.commands.is_connected("SIM-OFF")

    await eventually(offline)
    await asyncio.sleep(0.5)  # ten reconnect delays: it does not try
    assert not platform.commands.is_connected("SIM-OFF")
    station.come_back()
    await station.wait_online(5)
    assert platform.commands.is_connected("SIM-OFF")


async def test_offline_after_a_while(platform: Platform, make_station: StationFactory) -> None:
    station = await make_station("SIM-AWAY", offline_after=0.2)
    await eventually(lambda: _not_online(station))
    await asyncio.sleep(0.4)
    assert not platform.commands.is_connected("SIM-AWAY")


async def _not_online(station: object) -> bool:
    return not getattr(station, "online", True)


async def test_a_wrong_serial_number_at_boot(
    platform: Platform, make_station: StationFactory
) -> None:
    await make_station("SIM-SN", serial_number="WRONG-0001")
    assert (await platform.stations.get("SIM-SN")).serial_number == "WRONG-0001"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"faulted_connectors": (3,)}, "faulted_connectors"),
        ({"firmware_fails": "halfway"}, "firmware_fails"),
        ({"offline_after": -1.0}, "offline_after"),
        ({"serial_number": "X" * 26}, "serial_number"),
    ],
)
def test_misbehaviour_is_checked(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        StationConfig(connectors=2, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ({"error_code": "NoError"}, "error_code"),
        ({"error_code": "Broken"}, "error_code"),
        ({"vendor_error_code": "V" * 51}, "vendor_error_code"),
    ],
)
def test_a_fault_speaks_ocpp(fault: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Fault(**fault)  # type: ignore[arg-type]
