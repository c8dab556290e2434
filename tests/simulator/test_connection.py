"""Reboots, lost connections, registration and credentials."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.ocpp.support import sent_calls
from voltflow.bootstrap import Platform
from voltflow.domain.station_keys import verify_station_password
from voltflow.domain.stations import Registration
from voltflow.simulator import SessionRejected

from .support import PASSWORD, TAG, StationFactory, eventually


async def _online(platform: Platform, station_id: str, online: bool = True) -> bool:
    return (await platform.stations.get(station_id)).online is online


async def _true(value: Any) -> Any:
    return value


@pytest.mark.parametrize(("kind", "reason"), [("Soft", "SoftReset"), ("Hard", "HardReset")])
async def test_reset_stops_sessions_and_reconnects(
    platform: Platform, make_station: StationFactory, kind: str, reason: str
) -> None:
    station = await make_station("SIM-RST", connectors=2)
    first = await platform.stations.get("SIM-RST")
    tx = await station.start_session(2)
    tid = await tx.wait_started(timeout=5)
    answer = await platform.commands.send("SIM-RST", "Reset", {"type": kind})
    assert answer.payload == {"status": "Accepted"}
    await tx.wait_stopped(timeout=5)
    await eventually(lambda: _true(station.boot_count == 2 and station.online))
    assert station.registration == "Accepted"

    session = await platform.sessions.get(tid)
    assert session.stop_reason == reason
    assert session.energy_wh == tx.meter_stop - tx.meter_start
    assert len(await sent_calls(platform, "SIM-RST", "BootNotification")) == 2
    record = await eventually(lambda: _rebooted(platform, "SIM-RST", first.last_boot_at), timeout=5)
    assert record.online
    # After the reboot every connector reports itself again.
    assert station.connector_status(2) == "Available"
    await eventually(lambda: _all_available(platform, "SIM-RST"))
    # A new session runs as before.
    again = await station.start_session(2)
    await again.wait_started(timeout=5)


async def _rebooted(platform: Platform, station_id: str, before: Any) -> Any:
    record = await platform.stations.get(station_id)
    return record if record.last_boot_at and record.last_boot_at > before else None


async def _all_available(platform: Platform, station_id: str) -> bool:
    rows = await platform.stations.connectors(station_id)
    return bool(rows) and all(r.status == "Available" for r in rows)


async def test_session_goes_on_offline_and_its_messages_follow_in_order(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-OFF")
    tx = await station.start_session()
    tid = await tx.wait_started(timeout=5)
    await asyncio.sleep(0.25)
    await station.disconnect(offline_for=0.8)
    went_offline = datetime.now(UTC)
    assert not station.online
    await eventually(lambda: _online(platform, "SIM-OFF", False))
    await asyncio.sleep(0.35)
    queued = station.pending_messages
    assert queued >= 2  # meter values taken offline wait
    await station.stop_session()  # still offline: StopTransaction waits too
    assert tx.meter_stop is not None and not station.online
    await tx.wait_stopped(timeout=5)
    assert station.online
    await eventually(lambda: _online(platform, "SIM-OFF"))

    session = await platform.sessions.get(tid)
    assert session.meter_stop_wh == tx.meter_stop and session.stop_reason == "Local"
    assert session.energy_wh == tx.meter_stop - tx.meter_start
    periodic = [
        v
        for v in session.meter_values
        if v.context == "Sample.Periodic" and v.measurand.startswith("Energy")
    ]
    # No gap: readings every 0.1 s, through the outage.
    stamps = [v.sampled_at for v in periodic]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
    assert len(periodic) >= 5 and max(gaps) < 0.3, gaps
    assert tx.stopped_at is not None
    assert sum(went_offline < t < tx.stopped_at for t in stamps) >= 2

    # What was queued arrived in order: meter values by time, then the stop.
    calls = [
        c for c in await sent_calls(platform, "SIM-OFF") if c["action"] != "StatusNotification"
    ]
    actions = [c["action"] for c in calls]
    assert actions[0] == "BootNotification" and actions.count("BootNotification") == 1
    assert actions[-1] == "StopTransaction"
    stamps = [
        json.loads(c["payload"])[3]["meterValue"][0]["timestamp"]
        for c in calls
        if c["action"] == "MeterValues"
    ]
    assert stamps == sorted(stamps)

    async def ended_available() -> bool:
        # The connector's last status follows the stop: it may still be on its way.
        statuses = [
            json.loads(c["payload"])[3]["status"]
            for c in await sent_calls(platform, "SIM-OFF", "StatusNotification")
        ]
        return statuses[-2:] == ["Finishing", "Available"]

    await eventually(ended_available)


async def test_offline_start_uses_local_list(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-OFS")
    await platform.tokens.add("LOCAL01")
    entries = [{"idTag": "LOCAL01", "idTagInfo": {"status": "Accepted"}}]
    await platform.commands.send(
        "SIM-OFS",
        "SendLocalList",
        {"listVersion": 1, "updateType": "Full", "localAuthorizationList": entries},
    )
    await station.disconnect(offline_for=0.5)
    with pytest.raises(SessionRejected):
        await station.start_session(id_tag="STRANGER")
    tx = await station.start_session(id_tag="LOCAL01")
    assert tx.transaction_id is None  # not known until the central system answers
    await asyncio.sleep(0.2)
    await station.stop_session()
    await tx.wait_stopped(timeout=5)
    assert tx.transaction_id is not None
    session = await platform.sessions.get(tx.transaction_id)
    assert session.id_tag == "LOCAL01" and session.auth_status == "Accepted"
    assert session.energy_wh == tx.meter_stop - tx.meter_start > 0
    # Offline, nothing was authorized online.
    assert await sent_calls(platform, "SIM-OFS", "Authorize") == []


async def test_reconnects_when_the_server_drops_it(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-DROP")
    dropped = platform.ocpp.connections["SIM-DROP"]
    dropped.socket.close()
    # A new connection, not the station seen offline: it may be back before anyone looks.
    await eventually(
        lambda: _true(platform.ocpp.connections.get("SIM-DROP") not in (None, dropped))
    )
    await station.wait_online(timeout=5)
    await eventually(lambda: _online(platform, "SIM-DROP"))
    assert station.boot_count == 1  # a reconnect, not a reboot


async def test_pending_registration_boots_again_until_accepted(
    platform: Platform, make_station: StationFactory
) -> None:
    platform.events.pending_retry_interval = 1
    await platform.stations.repo.add(
        "SIM-PEND", PASSWORD, now=platform.clock.now(), registration=Registration.PENDING
    )
    station = await make_station("SIM-PEND", register=False, connect=False)
    with pytest.raises(TimeoutError):
        await station.connect(timeout=0.4)
    assert station.registration == "Pending" and not station.online
    await platform.stations.claim("SIM-PEND")
    await station.wait_online(timeout=3)
    assert station.registration == "Accepted"
    assert len(await sent_calls(platform, "SIM-PEND", "BootNotification")) >= 2
    # Only now, accepted, does it report its connectors.
    await eventually(lambda: _all_available(platform, "SIM-PEND"))


async def test_wrong_password_keeps_retrying(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-PW", connect=False, password="not-the-password")
    with pytest.raises(TimeoutError):
        await station.connect(timeout=0.5)
    assert station.last_error is not None and "401" in station.last_error
    assert not (await platform.stations.get("SIM-PW")).online


async def test_heartbeat_override(platform: Platform, make_station: StationFactory) -> None:
    station = await make_station("SIM-HB", heartbeat_interval=0.2)
    assert station.heartbeat_interval == 0.2  # not the 300 s the platform gives
    await eventually(lambda: _heartbeats(platform, "SIM-HB", 3), timeout=3)


async def _heartbeats(platform: Platform, station_id: str, n: int) -> bool:
    return len(await sent_calls(platform, station_id, "Heartbeat")) >= n


async def test_unknown_tag_is_refused_online(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-UNK")
    with pytest.raises(SessionRejected, match="Invalid"):
        await station.start_session(id_tag="UNKNOWN9")
    assert station.connector_status() == "Available"
    assert station.transaction() is None
    tx = await station.start_session()  # the registered tag still works
    assert tx.id_tag == TAG
    await tx.wait_started(timeout=5)


async def test_new_authorization_key_is_used_from_the_next_connection(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-KEY")
    new_key = "rotated-key-0123456789"
    answer = await platform.commands.send(
        "SIM-KEY", "ChangeConfiguration", {"key": "AuthorizationKey", "value": new_key}
    )
    assert answer.payload == {"status": "Accepted"}
    assert station.password == new_key
    assert "AuthorizationKey" not in station.configuration  # write-only
    # The platform took the key over by itself: the station's reconnection with it gets in,
    # and retires the old one.
    await station.disconnect()
    await station.wait_online(timeout=3)
    assert station.boot_count == 1
    record = await platform.stations.get("SIM-KEY")
    assert record.key_change is None and verify_station_password(new_key, record.password_hash)
