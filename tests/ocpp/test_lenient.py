"""Lenient stations: known vendor deviations are accepted, stored, and noted in the message log;
strict stations get the OCPP error."""

from typing import Any

import pytest

from tests.ocpp.support import add_station, log_rows, raw_station
from voltflow.bootstrap import Platform

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "Wallbox"}
LONG_SERIAL = "SN-" + "7" * 27  # 30 characters; OCPP allows 25


async def boot_in_log(platform: Platform, station_id: str) -> dict[str, Any]:
    [row] = await log_rows(platform, station_id, action="BootNotification", direction="in")
    return row


async def test_a_lenient_station_may_send_an_overlong_serial(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-LAX")
    await platform.stations.update("CP-LAX", lenient=True)
    async with raw_station(ocpp_url, "CP-LAX") as st:
        answer = await st.result(
            "BootNotification", {**BOOT, "chargePointSerialNumber": LONG_SERIAL}
        )
        assert answer["status"] == "Accepted"
    assert (await platform.stations.get("CP-LAX")).serial_number == LONG_SERIAL
    note = (await boot_in_log(platform, "CP-LAX"))["note"]
    assert note is not None and note.startswith("lenient:")
    assert "chargePointSerialNumber" in note and "25" in note
    # Searchable like any note.
    assert await log_rows(platform, "CP-LAX", text="lenient")


async def test_a_strict_station_gets_type_constraint_violation(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-STRICT")
    async with raw_station(ocpp_url, "CP-STRICT") as st:
        answer = await st.call("BootNotification", {**BOOT, "chargePointSerialNumber": LONG_SERIAL})
        assert answer[2] == "TypeConstraintViolation"
        assert answer[4] == {"field": "chargePointSerialNumber", "rule": "maxLength"}
        await st.heartbeat()
    record = await platform.stations.get("CP-STRICT")
    assert (record.vendor, record.serial_number) == (None, None)
    assert (await boot_in_log(platform, "CP-STRICT"))["note"].startswith("TypeConstraintViolation")


@pytest.mark.parametrize(
    ("action", "payload", "mentions"),
    [
        ("BootNotification", {**BOOT, "colour": "red"}, "colour"),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Available", "info": "i" * 60},
            "info",
        ),
    ],
)
async def test_other_tolerated_deviations_are_noted(
    platform: Platform, ocpp_url: str, action: str, payload: dict[str, Any], mentions: str
) -> None:
    await add_station(platform, "CP-LAX", lenient=True)
    await add_station(platform, "CP-STRICT")
    async with raw_station(ocpp_url, "CP-LAX") as lax, raw_station(ocpp_url, "CP-STRICT") as strict:
        await lax.result(action, payload)
        refused = await strict.call(action, payload)
        assert refused[0] == 4
    [row] = await log_rows(platform, "CP-LAX", action=action, direction="in")
    assert row["note"].startswith("lenient:") and mentions in row["note"]


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("BootNotification", {"chargePointVendor": "Acme"}, "ProtocolError"),
        ("BootNotification", {**BOOT, "chargePointModel": 7}, "TypeConstraintViolation"),
        (
            "BootNotification",
            {**BOOT, "chargePointSerialNumber": LONG_SERIAL, "chargePointModel": 7},
            "TypeConstraintViolation",
        ),
        # A date-time the platform cannot read cannot be stored, lenient or not.
        (
            "StatusNotification",
            {
                "connectorId": 1,
                "errorCode": "NoError",
                "status": "Available",
                "timestamp": "01.03.2025 12:00",
            },
            "PropertyConstraintViolation",
        ),
    ],
)
async def test_lenience_covers_only_the_known_deviations(
    platform: Platform, ocpp_url: str, action: str, payload: dict[str, Any], code: str
) -> None:
    await add_station(platform, "CP-LAX", lenient=True)
    async with raw_station(ocpp_url, "CP-LAX") as st:
        answer = await st.call(action, payload)
        assert answer[:3] == [4, answer[1], code]
    assert (await platform.stations.get("CP-LAX")).vendor is None
    assert await platform.stations.connectors("CP-LAX") == []


async def test_lenience_changed_while_connected_applies_from_the_next_boot(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    boot = {**BOOT, "chargePointSerialNumber": LONG_SERIAL}
    async with raw_station(ocpp_url, "CP-1") as st:
        assert (await st.call("BootNotification", boot))[2] == "TypeConstraintViolation"
        await platform.stations.update("CP-1", lenient=True)
        assert (await st.result("BootNotification", boot))["status"] == "Accepted"
        await platform.stations.update("CP-1", lenient=False)
        assert (await st.call("BootNotification", boot))[2] == "TypeConstraintViolation"


async def test_what_exceeds_the_database_columns_is_kept_as_far_as_it_fits(
    platform: Platform, ocpp_url: str
) -> None:
    """Past the schema's limit and past the column's: SQLite would keep it all and PostgreSQL
    refuse the message; both keep what fits, and the raw frame keeps the rest."""
    await add_station(platform, "CP-LAX", lenient=True)
    vendor = "V" * 100
    async with raw_station(ocpp_url, "CP-LAX") as st:
        boot = await st.result(
            "BootNotification", {**BOOT, "chargePointVendor": vendor, "iccid": "8" * 40}
        )
        assert boot["status"] == "Accepted"
        await st.result(
            "StatusNotification",
            {
                "connectorId": 1,
                "errorCode": "OtherError",
                "status": "Faulted",
                "info": "i" * 100,
                "vendorErrorCode": "e" * 100,
            },
        )
        started = await st.result(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "T" * 50,
                "meterStart": 0,
                "timestamp": "2025-03-01T12:00:00Z",
            },
        )
        assert started["idTagInfo"] == {"status": "Invalid"}
        await st.result(
            "StopTransaction",
            {
                "transactionId": started["transactionId"],
                "meterStop": 10,
                "timestamp": "2025-03-01T13:00:00Z",
                "idTag": "T" * 50,
            },
        )
    record = await platform.stations.get("CP-LAX")
    assert record.vendor == vendor[:64]
    [connector] = await platform.stations.connectors("CP-LAX")
    assert (connector.info, connector.vendor_error_code) == ("i" * 64, "e" * 64)
    session = await platform.sessions.get(started["transactionId"])
    assert (session.id_tag, session.stop_id_tag) == ("T" * 36, "T" * 36)
    [row] = await log_rows(platform, "CP-LAX", action="BootNotification", direction="in")
    assert vendor in row["payload"]
