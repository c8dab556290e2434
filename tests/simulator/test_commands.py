"""Every remote command the platform can send gets a schema-valid answer from the simulator (the
platform checks each answer against the OCPP 1.6 schema), and does what OCPP says."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.ocpp.support import log_rows, sent_calls
from voltflow.bootstrap import Platform
from voltflow.ocpp.v16.actions import RemoteAction
from voltflow.ocpp.validation import schemas
from voltflow.services.ports import CommandResult, InvalidCommand

from .support import TAG, StationFactory, eventually


def _now(offset: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")


async def _connector_status(platform: Platform, station_id: str, evse: int = 1) -> str | None:
    for row in await platform.stations.connectors(station_id):
        if row.evse_id == evse:
            return str(row.status)
    return None


async def test_every_remote_action_is_answered(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-ALL", session_seconds=0)
    send = platform.commands.send
    answers: dict[RemoteAction, dict[str, Any]] = {}

    async def run(action: RemoteAction, payload: dict[str, Any]) -> dict[str, Any]:
        result = await send("SIM-ALL", action.value, payload)
        assert isinstance(result, CommandResult)
        # The platform checked it already; checked here too, strictly, whatever the link.
        assert schemas("1.6").validate(action.value + "Response", result.payload) == []
        answers[action] = result.payload
        return result.payload

    assert await run(RemoteAction.GET_LOCAL_LIST_VERSION, {}) == {"listVersion": 0}
    local_list = [{"idTag": TAG, "idTagInfo": {"status": "Accepted"}}]
    payload = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": local_list}
    assert await run(RemoteAction.SEND_LOCAL_LIST, payload) == {"status": "Accepted"}
    assert await run(RemoteAction.CLEAR_CACHE, {}) == {"status": "Accepted"}
    config = await run(RemoteAction.GET_CONFIGURATION, {})
    assert {k["key"] for k in config["configurationKey"]} >= {
        "HeartbeatInterval",
        "NumberOfConnectors",
    }
    change = {"key": "MeterValueSampleInterval", "value": "1"}
    assert await run(RemoteAction.CHANGE_CONFIGURATION, change) == {"status": "Accepted"}
    trigger = {"requestedMessage": "Heartbeat"}
    assert await run(RemoteAction.TRIGGER_MESSAGE, trigger) == {"status": "Accepted"}
    data = {"vendorId": "com.example", "messageId": "hello", "data": "{}"}
    assert await run(RemoteAction.DATA_TRANSFER, data) == {"status": "UnknownVendorId"}
    diag = await run(RemoteAction.GET_DIAGNOSTICS, {"location": "ftp://diag.example/in/"})
    assert diag["fileName"].startswith("diagnostics-SIM-ALL-")
    start = {"idTag": TAG, "connectorId": 1}
    assert await run(RemoteAction.REMOTE_START_TRANSACTION, start) == {"status": "Accepted"}
    tx = await eventually(lambda: _some(station.transaction(1)))
    tid = await tx.wait_started(timeout=5)
    unlock = {"connectorId": 1}
    assert await run(RemoteAction.UNLOCK_CONNECTOR, unlock) == {"status": "Unlocked"}
    await tx.wait_stopped(timeout=5)
    stop = {"transactionId": tid}
    assert await run(RemoteAction.REMOTE_STOP_TRANSACTION, stop) == {"status": "Rejected"}
    availability = {"connectorId": 0, "type": "Operative"}
    assert await run(RemoteAction.CHANGE_AVAILABILITY, availability) == {"status": "Accepted"}
    firmware = {"location": "https://fw.example/sim-2.0.0.bin", "retrieveDate": _now(3600)}
    assert await run(RemoteAction.UPDATE_FIRMWARE, firmware) == {}
    assert await run(RemoteAction.RESET, {"type": "Hard"}) == {"status": "Accepted"}
    assert set(answers) == set(RemoteAction)

    await eventually(lambda: _true(station.boot_count == 2 and station.online))
    session = await platform.sessions.get(tid)
    assert session.stop_reason == "UnlockCommand"


async def _some(value: Any) -> Any:
    return value


async def _true(value: bool) -> bool:
    return value


async def test_remote_start_and_stop(platform: Platform, make_station: StationFactory) -> None:
    station = await make_station("SIM-RS", connectors=2, session_seconds=0)
    send = platform.commands.send
    answer = await send("SIM-RS", "RemoteStartTransaction", {"idTag": TAG})
    assert answer.payload == {"status": "Accepted"}
    tx = await eventually(lambda: _some(station.transaction(1)))
    assert tx.remote and tx.id_tag == TAG
    tid = await tx.wait_started(timeout=5)
    # The busy connector refuses a second start; the free one takes it.
    busy = await send("SIM-RS", "RemoteStartTransaction", {"idTag": TAG, "connectorId": 1})
    assert busy.payload == {"status": "Rejected"}
    unknown = await send("SIM-RS", "RemoteStopTransaction", {"transactionId": tid + 1000})
    assert unknown.payload == {"status": "Rejected"}
    stopped = await send("SIM-RS", "RemoteStopTransaction", {"transactionId": tid})
    assert stopped.payload == {"status": "Accepted"}
    await tx.wait_stopped(timeout=5)
    session = await platform.sessions.get(tid)
    assert session.stop_reason == "Remote"
    assert session.energy_wh == tx.meter_stop - tx.meter_start
    # Remote starts are not authorized first (AuthorizeRemoteTxRequests is false).
    assert await sent_calls(platform, "SIM-RS", "Authorize") == []


async def test_remote_start_with_unknown_tag_is_deauthorized(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-DA", session_seconds=0)
    answer = await platform.commands.send(
        "SIM-DA", "RemoteStartTransaction", {"idTag": "NOBODY", "connectorId": 1}
    )
    assert answer.payload == {"status": "Accepted"}
    tx = await eventually(lambda: _some(station.transaction(1)))
    tid = await tx.wait_started(timeout=5)
    await tx.wait_stopped(timeout=5)
    assert tx.id_tag_status == "Invalid" and tx.stop_reason == "DeAuthorized"
    session = await platform.sessions.get(tid)
    assert (session.auth_status, session.stop_reason) == ("Invalid", "DeAuthorized")


async def test_change_availability(platform: Platform, make_station: StationFactory) -> None:
    station = await make_station("SIM-AV", connectors=2)
    send = platform.commands.send
    bad = await send("SIM-AV", "ChangeAvailability", {"connectorId": 3, "type": "Inoperative"})
    assert bad.payload == {"status": "Rejected"}
    ok = await send("SIM-AV", "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
    assert ok.payload == {"status": "Accepted"}
    await eventually(lambda: _is(platform, "SIM-AV", 2, "Unavailable"))
    assert not station.is_operative(2)
    refused = await send("SIM-AV", "RemoteStartTransaction", {"idTag": TAG, "connectorId": 2})
    assert refused.payload == {"status": "Rejected"}

    # While charging, the change waits for the end of the session.
    tx = await station.start_session(1)
    await tx.wait_started(timeout=5)
    later = await send("SIM-AV", "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
    assert later.payload == {"status": "Scheduled"}
    assert station.connector_status(1) == "Charging"
    await station.stop_session(1)
    await eventually(lambda: _is(platform, "SIM-AV", 1, "Unavailable"))

    back = await send("SIM-AV", "ChangeAvailability", {"connectorId": 0, "type": "Operative"})
    assert back.payload == {"status": "Accepted"}
    await eventually(lambda: _is(platform, "SIM-AV", 1, "Available"))
    await eventually(lambda: _is(platform, "SIM-AV", 2, "Available"))


async def _is(platform: Platform, station_id: str, evse: int, status: str) -> bool:
    return await _connector_status(platform, station_id, evse) == status


async def test_unlock_connector(platform: Platform, make_station: StationFactory) -> None:
    station = await make_station("SIM-UL")
    send = platform.commands.send
    assert (await send("SIM-UL", "UnlockConnector", {"connectorId": 1})).payload == {
        "status": "Unlocked"
    }
    assert (await send("SIM-UL", "UnlockConnector", {"connectorId": 7})).payload == {
        "status": "NotSupported"
    }
    tx = await station.start_session()
    tid = await tx.wait_started(timeout=5)
    await send("SIM-UL", "UnlockConnector", {"connectorId": 1})
    await tx.wait_stopped(timeout=5)
    assert (await platform.sessions.get(tid)).stop_reason == "UnlockCommand"


async def test_configuration(platform: Platform, make_station: StationFactory) -> None:
    station = await make_station("SIM-CFG", connectors=2)
    send = platform.commands.send
    everything = (await send("SIM-CFG", "GetConfiguration", {})).payload
    keys = {k["key"]: k for k in everything["configurationKey"]}
    assert keys["NumberOfConnectors"] == {
        "key": "NumberOfConnectors",
        "readonly": True,
        "value": "2",
    }
    assert keys["MeterValueSampleInterval"]["value"] == "0.1"
    assert keys["MeterValuesSampledData"]["value"] == (
        "Energy.Active.Import.Register,Power.Active.Import"
    )
    # The key exists, its value is never read back.
    assert keys["AuthorizationKey"] == {"key": "AuthorizationKey", "readonly": False}
    assert "unknownKey" not in everything

    some = await send(
        "SIM-CFG",
        "GetConfiguration",
        {"key": ["heartbeatinterval", "NoSuchKey", "AuthorizationKey"]},
    )
    assert some.payload["unknownKey"] == ["NoSuchKey"]
    assert [k["key"] for k in some.payload["configurationKey"]] == [
        "HeartbeatInterval",
        "AuthorizationKey",
    ]
    assert "value" not in some.payload["configurationKey"][1]

    async def change(key: str, value: str) -> str:
        answer = await send("SIM-CFG", "ChangeConfiguration", {"key": key, "value": value})
        return str(answer.payload["status"])

    assert await change("NumberOfConnectors", "4") == "Rejected"
    assert await change("NoSuchKey", "1") == "NotSupported"
    assert await change("HeartbeatInterval", "soon") == "Rejected"
    assert await change("LocalPreAuthorize", "maybe") == "Rejected"
    assert await change("MeterValuesSampledData", "Energy.Active.Import.Register,SoC") == "Rejected"
    # The platform sends no key outside OCPP's bounds; the station refuses one all the same.
    with pytest.raises(InvalidCommand):
        await change("AuthorizationKey", "short")
    direct = {"key": "AuthorizationKey", "value": "short"}
    refused = await platform.ocpp.call("SIM-CFG", "ChangeConfiguration", direct)
    assert refused.payload == {"status": "Rejected"}
    assert await change("LocalPreAuthorize", "TRUE") == "Accepted"
    assert station.configuration["LocalPreAuthorize"] == "true"

    # HeartbeatInterval takes effect at once (the platform said 300 s at boot).
    assert station.heartbeat_interval == 300
    assert await sent_calls(platform, "SIM-CFG", "Heartbeat") == []
    assert await change("HeartbeatInterval", "1") == "Accepted"
    assert station.heartbeat_interval == 1

    # MeterValueSampleInterval too, and MeterValuesSampledData picks the measurands.
    assert await change("MeterValuesSampledData", "Energy.Active.Import.Register") == "Accepted"
    assert await change("MeterValueSampleInterval", "0") == "Accepted"
    tx = await station.start_session()
    tid = await tx.wait_started(timeout=5)
    await asyncio.sleep(0.3)
    assert station.meter_interval == 0
    assert await change("MeterValueSampleInterval", "1") == "Accepted"
    await asyncio.sleep(1.2)
    await station.stop_session()
    await tx.wait_stopped(timeout=5)
    values = (await platform.sessions.get(tid)).meter_values
    periodic = [v for v in values if v.context == "Sample.Periodic"]
    assert len(periodic) == 1 and periodic[0].measurand == "Energy.Active.Import.Register"
    await eventually(lambda: _count_at_least(platform, "SIM-CFG", "Heartbeat", 1), timeout=2)


async def _count_at_least(platform: Platform, station_id: str, action: str, n: int) -> bool:
    return len(await sent_calls(platform, station_id, action)) >= n


@pytest.mark.parametrize(
    ("message", "action"),
    [
        ("BootNotification", "BootNotification"),
        ("Heartbeat", "Heartbeat"),
        ("StatusNotification", "StatusNotification"),
        ("MeterValues", "MeterValues"),
        ("DiagnosticsStatusNotification", "DiagnosticsStatusNotification"),
        ("FirmwareStatusNotification", "FirmwareStatusNotification"),
    ],
)
async def test_trigger_message(
    platform: Platform, make_station: StationFactory, message: str, action: str
) -> None:
    await make_station("SIM-TR")
    await eventually(lambda: _count_at_least(platform, "SIM-TR", "StatusNotification", 1))
    before = len(await sent_calls(platform, "SIM-TR", action))
    answer = await platform.commands.send(
        "SIM-TR", "TriggerMessage", {"requestedMessage": message, "connectorId": 1}
    )
    assert answer.payload == {"status": "Accepted"}
    await eventually(lambda: _count_at_least(platform, "SIM-TR", action, before + 1))
    if message == "MeterValues":
        sent = (await sent_calls(platform, "SIM-TR", action))[-1]["payload"]
        assert '"context":"Trigger"' in sent and '"connectorId":1' in sent
    rejected = await platform.commands.send(
        "SIM-TR", "TriggerMessage", {"requestedMessage": message, "connectorId": 9}
    )
    assert rejected.payload == {"status": "Rejected"}


async def test_trigger_message_answer_comes_first(
    platform: Platform, make_station: StationFactory
) -> None:
    await make_station("SIM-TO")
    await platform.commands.send("SIM-TO", "TriggerMessage", {"requestedMessage": "Heartbeat"})
    await eventually(lambda: _count_at_least(platform, "SIM-TO", "Heartbeat", 1))
    rows = await log_rows(platform, "SIM-TO")
    trigger = next(r for r in rows if r["direction"] == "out" and r["action"] == "TriggerMessage")
    positions = {
        (
            r["direction"],
            r["message_type"],
            r["message_id"] if r["message_type"] == 3 else r["action"],
        ): i
        for i, r in enumerate(rows)
    }
    trigger_answer = positions["in", 3, trigger["message_id"]]
    heartbeat = positions["in", 2, "Heartbeat"]
    assert trigger_answer < heartbeat


async def test_update_firmware(platform: Platform, make_station: StationFactory) -> None:
    station = await make_station("SIM-FW")
    payload = {"location": "https://fw.example/files/sim-2.4.1.bin", "retrieveDate": _now(-5)}
    answer = await platform.commands.send("SIM-FW", "UpdateFirmware", payload)
    assert answer.payload == {}
    await eventually(lambda: _true(station.boot_count == 2 and station.online))
    statuses = [
        _status(r["payload"])
        for r in await sent_calls(platform, "SIM-FW", "FirmwareStatusNotification")
    ]
    assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert station.firmware_version == "2.4.1"

    async def rebooted_with_new_version() -> bool:
        record = await platform.stations.get("SIM-FW")
        return record.firmware_version == "2.4.1"

    await eventually(rebooted_with_new_version)
    assert (await platform.stations.get("SIM-FW")).firmware_status == "Installed"
    assert len(await sent_calls(platform, "SIM-FW", "BootNotification")) == 2


async def test_update_firmware_download_fails(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-FW2")
    payload = {"location": "gopher://nowhere/fw.bin", "retrieveDate": _now()}
    await platform.commands.send("SIM-FW2", "UpdateFirmware", payload)

    async def failed() -> bool:
        return (await platform.stations.get("SIM-FW2")).firmware_status == "DownloadFailed"

    await eventually(failed)
    assert station.boot_count == 1 and station.firmware_version == "1.0.0"


async def test_get_diagnostics(platform: Platform, make_station: StationFactory) -> None:
    await make_station("SIM-DG")
    answer = await platform.commands.send(
        "SIM-DG", "GetDiagnostics", {"location": "https://diag.example/upload", "retries": 1}
    )
    assert answer.payload["fileName"].endswith(".zip")

    async def uploaded() -> bool:
        return (await platform.stations.get("SIM-DG")).diagnostics_status == "Uploaded"

    await eventually(uploaded)
    statuses = [
        _status(r["payload"])
        for r in await sent_calls(platform, "SIM-DG", "DiagnosticsStatusNotification")
    ]
    assert statuses == ["Uploading", "Uploaded"]


def _status(raw: str) -> str:
    import json

    return str(json.loads(raw)[3]["status"])


async def test_local_list(platform: Platform, make_station: StationFactory) -> None:
    station = await make_station("SIM-LL")
    send = platform.commands.send

    async def version() -> int:
        return int((await send("SIM-LL", "GetLocalListVersion", {})).payload["listVersion"])

    async def update(payload: dict[str, Any]) -> str:
        return str((await send("SIM-LL", "SendLocalList", payload)).payload["status"])

    assert await version() == 0
    full = [
        {"idTag": "AAA111", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "BBB222", "idTagInfo": {"status": "Blocked"}},
    ]
    full_update = {"listVersion": 3, "updateType": "Full", "localAuthorizationList": full}
    assert await update(full_update) == "Accepted"
    assert await version() == 3
    assert station.local_auth.entries.keys() == {"AAA111", "BBB222"}
    diff = [{"idTag": "BBB222"}, {"idTag": "CCC333", "idTagInfo": {"status": "Accepted"}}]
    stale = {"listVersion": 3, "updateType": "Differential", "localAuthorizationList": diff}
    assert await update(stale) == "VersionMismatch"
    fresh = {"listVersion": 4, "updateType": "Differential", "localAuthorizationList": diff}
    assert await update(fresh) == "Accepted"
    assert await version() == 4
    assert station.local_auth.entries.keys() == {"AAA111", "CCC333"}
    incomplete = {
        "listVersion": 5,
        "updateType": "Full",
        "localAuthorizationList": [{"idTag": "X"}],
    }
    assert await update(incomplete) == "Failed"
    assert await update({"listVersion": 6, "updateType": "Full"}) == "Accepted"
    assert await version() == 0  # an empty list is version 0
    await send("SIM-LL", "ChangeConfiguration", {"key": "LocalAuthListEnabled", "value": "false"})
    assert await update({"listVersion": 7, "updateType": "Full"}) == "NotSupported"
