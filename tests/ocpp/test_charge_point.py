"""A station built on the ``ocpp`` package talks to the real platform over a real socket."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from tests.ocpp.support import Station, add_station, iso, log_rows, ocpp_station
from voltflow.bootstrap import Platform
from voltflow.domain.access import PLATFORM
from voltflow.domain.authorization import IdToken, IdTokenType
from voltflow.domain.commands import RemoteStart, RemoteStop, Reset
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import SessionFilter
from voltflow.domain.sessions import ENERGY_REGISTER
from voltflow.domain.stations import ConnectorRef
from voltflow.services.ports import InvalidCommand, StationOffline

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return iso(T0 + timedelta(minutes=minutes))


async def boot(cp: Station) -> None:
    answer = await cp.call(
        call.BootNotification(charge_point_model="Wallbox", charge_point_vendor="Acme"),
        suppress=False,
    )
    assert answer.status == "Accepted"


async def test_boot_and_heartbeat(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    before = datetime.now(UTC).replace(microsecond=0)
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        answer = await cp.call(
            call.BootNotification(
                charge_point_model="Wallbox",
                charge_point_vendor="Acme",
                charge_point_serial_number="SN-0001",
                firmware_version="1.2.3",
                iccid="8931",
                imsi="2620",
                meter_type="EM24",
                meter_serial_number="M-77",
            ),
            suppress=False,
        )
        assert answer.status == "Accepted"
        assert answer.interval == platform.settings.heartbeat_interval
        boot_time = datetime.fromisoformat(answer.current_time)
        assert boot_time.tzinfo is not None and answer.current_time.endswith("Z")

        beat = await cp.call(call.Heartbeat(), suppress=False)
        beat_time = datetime.fromisoformat(beat.current_time)
        after = datetime.now(UTC)
        assert before <= boot_time <= beat_time <= after

        record = await platform.stations.get("CP-1")
        assert (record.vendor, record.model, record.serial_number, record.firmware_version) == (
            "Acme",
            "Wallbox",
            "SN-0001",
            "1.2.3",
        )
        assert record.online
        assert record.last_boot_at is not None and before <= record.last_boot_at <= after
        assert record.last_seen_at is not None and record.last_seen_at >= record.last_boot_at


async def test_status_notifications(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        await boot(cp)
        await cp.call(
            call.StatusNotification(
                connector_id=0, error_code="NoError", status="Available", timestamp=at(0)
            ),
            suppress=False,
        )
        await cp.call(
            call.StatusNotification(
                connector_id=2,
                error_code="GroundFailure",
                status="Faulted",
                timestamp=at(1),
                info="RCD tripped",
                vendor_error_code="E42",
            ),
            suppress=False,
        )
    connectors = await platform.stations.connectors("CP-1")
    assert [
        (c.evse_id, c.connector_id, c.status, c.error_code, c.status_at) for c in connectors
    ] == [
        (0, 0, "Available", "NoError", T0),
        (2, 1, "Faulted", "GroundFailure", T0 + timedelta(minutes=1)),
    ]
    assert (connectors[1].info, connectors[1].vendor_error_code) == ("RCD tripped", "E42")
    assert len(await platform.stations.status_history("CP-1")) == 2


async def test_status_without_timestamp_is_stamped_on_receipt(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    before = datetime.now(UTC)
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        await cp.call(
            call.StatusNotification(connector_id=1, error_code="NoError", status="Preparing"),
            suppress=False,
        )
    [connector] = await platform.stations.connectors("CP-1")
    assert before <= connector.status_at <= datetime.now(UTC)


async def test_authorize(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    await platform.tokens.add("04A2B3C4")
    await platform.tokens.add("BLOCKED1")
    await platform.cards.block(PLATFORM, ["BLOCKED1"])
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        await boot(cp)
        for presented, status in [
            ("04A2B3C4", "Accepted"),
            ("04:a2:b3:c4", "Accepted"),  # the reader's spelling does not matter
            ("BLOCKED1", "Blocked"),
            ("UNKNOWN1", "Invalid"),
        ]:
            answer = await cp.call(call.Authorize(id_tag=presented), suppress=False)
            assert answer.id_tag_info == {"status": status}, presented


async def test_a_whole_charging_session(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    await platform.tokens.add("04A2B3C4")
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        await boot(cp)
        started = await cp.call(
            call.StartTransaction(
                connector_id=1, id_tag="04a2b3c4", meter_start=1000, timestamp=at(0)
            ),
            suppress=False,
        )
        assert started.id_tag_info == {"status": "Accepted"}
        tx = started.transaction_id
        assert isinstance(tx, int)

        await cp.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=tx,
                meter_value=[
                    {
                        "timestamp": at(10),
                        "sampledValue": [
                            {"value": "4.5", "unit": "kWh", "context": "Sample.Periodic"},
                            {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                        ],
                    }
                ],
            ),
            suppress=False,
        )
        live = await platform.sessions.search(
            SessionFilter(station_id="CP-1", active=True), PageRequest()
        )
        assert [s.live_energy_wh for s in live.items] == [3500]

        stopped = await cp.call(
            call.StopTransaction(
                meter_stop=13_000,
                timestamp=at(30),
                transaction_id=tx,
                reason="EVDisconnected",
                id_tag="04A2B3C4",
                transaction_data=[
                    {
                        "timestamp": at(30),
                        "sampledValue": [
                            {"value": "13000", "unit": "Wh", "context": "Transaction.End"}
                        ],
                    }
                ],
            ),
            suppress=False,
        )
        assert stopped.id_tag_info == {"status": "Accepted"}

    session = await platform.sessions.get(tx)
    assert session.station_id == "CP-1"
    assert (session.evse_id, session.connector_id) == (1, 1)
    assert (session.id_tag, session.auth_status) == ("04A2B3C4", "Accepted")
    assert (session.started_at, session.stopped_at) == (T0, T0 + timedelta(minutes=30))
    assert (session.meter_start_wh, session.meter_stop_wh, session.energy_wh) == (
        1000,
        13_000,
        12_000,
    )
    assert (session.stop_reason, session.stop_id_tag) == ("EVDisconnected", "04A2B3C4")
    assert (session.session_type, session.type_reason) == ("normal", "public session")
    readings = [(m.sampled_at, m.measurand, m.value, m.unit) for m in session.meter_values]
    assert readings == [
        (T0 + timedelta(minutes=10), ENERGY_REGISTER, Decimal(4500), "Wh"),
        (T0 + timedelta(minutes=10), "Power.Active.Import", Decimal(7200), "W"),
        (T0 + timedelta(minutes=30), ENERGY_REGISTER, Decimal(13_000), "Wh"),
    ]
    assert (
        await platform.sessions.search(SessionFilter(station_id="CP-1", active=True), PageRequest())
    ).total == 0


@pytest.mark.parametrize(
    ("id_tag", "minutes", "meter_stop", "session_type", "reason"),
    [
        ("UNKNOWN1", 30, 5000, "invalid", "token not accepted"),
        ("04A2B3C4", 1, 5000, "invalid", "lasted 60 s"),
        ("04A2B3C4", 30, 999_999, "invalid", "energy"),
    ],
)
async def test_sessions_outside_the_rules_are_invalid(
    platform: Platform,
    ocpp_url: str,
    id_tag: str,
    minutes: int,
    meter_stop: int,
    session_type: str,
    reason: str,
) -> None:
    await add_station(platform, "CP-1")
    await platform.tokens.add("04A2B3C4")
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        started = await cp.call(
            call.StartTransaction(connector_id=1, id_tag=id_tag, meter_start=0, timestamp=at(0)),
            suppress=False,
        )
        stopped = await cp.call(
            call.StopTransaction(
                meter_stop=meter_stop, timestamp=at(minutes), transaction_id=started.transaction_id
            ),
            suppress=False,
        )
        assert stopped.id_tag_info is None  # no idTag in the stop: nothing to authorize
    session = await platform.sessions.get(started.transaction_id)
    assert session.session_type == session_type
    assert reason in session.type_reason
    assert session.stop_reason == "Local"  # OCPP's default reason


async def test_data_transfer_and_status_reports(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        await boot(cp)
        answer = await cp.call(
            call.DataTransfer(vendor_id="com.acme", message_id="Price", data="hello"),
            suppress=False,
        )
        assert answer.status == "UnknownVendorId"
        await cp.call(call.DiagnosticsStatusNotification(status="Uploading"), suppress=False)
        await cp.call(call.DiagnosticsStatusNotification(status="Uploaded"), suppress=False)
        await cp.call(call.FirmwareStatusNotification(status="Installed"), suppress=False)
    record = await platform.stations.get("CP-1")
    assert (record.diagnostics_status, record.firmware_status) == ("Uploaded", "Installed")
    [transfer] = await log_rows(platform, "CP-1", action="DataTransfer", direction="in")
    assert '"data":"hello"' in transfer["payload"]


async def test_remote_commands_reach_the_station(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        await boot(cp)
        assert platform.commands.is_connected("CP-1")
        reset = await platform.commands.send("CP-1", "Reset", {"type": "Hard"})
        assert (reset.station_id, reset.action, reset.payload) == (
            "CP-1",
            "Reset",
            {"status": "Accepted"},
        )
        default = await platform.commands.send("CP-1", "reset")  # the console's default payload
        config = await platform.commands.send("CP-1", "GetConfiguration")
        start = await platform.commands.send(
            "CP-1", "RemoteStartTransaction", {"idTag": "04A2B3C4", "connectorId": 1}
        )
        # The station keeps working while and after it answers.
        await cp.call(call.Heartbeat(), suppress=False)
    assert default.payload == {"status": "Accepted"}
    assert config.payload == {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
    }
    assert start.payload == {"status": "Accepted"}
    assert cp.received == [
        ("Reset", {"type": "Hard"}),
        ("Reset", {"type": "Soft"}),
        ("GetConfiguration", {"key": None}),
        ("RemoteStartTransaction", {"idTag": "04A2B3C4"}),
    ]


async def test_a_station_errors_on_what_the_platform_does_not_offer(
    platform: Platform, ocpp_url: str
) -> None:
    """The client library sees the platform's CALLERROR as the OCPP error it names."""
    await add_station(platform, "CP-1")
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        with pytest.raises(OCPPError) as info:
            await cp.call(call.Reset(type="Soft"), suppress=False)
        assert info.value.code == "NotSupported"
        await cp.call(call.Heartbeat(), suppress=False)


async def test_neutral_commands_reach_the_station_in_its_words(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    with pytest.raises(StationOffline):
        await platform.commands.perform("CP-1", Reset())
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        await boot(cp)
        reset = await platform.commands.perform("CP-1", Reset(hard=True))
        token = IdToken("04A2B3C4", IdTokenType.CENTRAL)
        start = await platform.commands.perform("CP-1", RemoteStart(token, ConnectorRef(1, 1)))
        with pytest.raises(InvalidCommand, match="cannot carry it"):
            await platform.commands.perform("CP-1", RemoteStop("tx-1"))
    assert (reset.action, reset.payload) == ("Reset", {"status": "Accepted"})
    assert (start.action, start.payload) == ("RemoteStartTransaction", {"status": "Accepted"})
    assert cp.received == [
        ("Reset", {"type": "Hard"}),
        ("RemoteStartTransaction", {"idTag": "04A2B3C4"}),
    ]
