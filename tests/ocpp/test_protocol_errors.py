"""Broken frames, written by hand on a raw socket: each gets the CALLERROR OCPP-J names, and neither
the connection nor another station's suffers."""

from typing import Any

import orjson
import pytest

from tests.ocpp.support import add_station, eventually, log_rows, raw_station
from voltflow.bootstrap import Platform
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import SessionFilter

TS = "2025-03-01T12:00:00Z"
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "Wallbox"}
STATUS = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
START = {"connectorId": 1, "idTag": "04A2", "meterStart": 0, "timestamp": TS}


def call(action: str, payload: Any, message_id: str = "e1") -> str:
    return orjson.dumps([2, message_id, action, payload]).decode()


def meter_values(value: str) -> dict[str, Any]:
    return {"connectorId": 1, "meterValue": [{"timestamp": TS, "sampledValue": [{"value": value}]}]}


CASES = [
    # Frames we cannot read: answered to message id "-1".
    pytest.param("not json", "FormationViolation", "-1", id="malformed-json"),
    pytest.param('[2,"e1","Heartbeat",{}', "FormationViolation", "-1", id="truncated-json"),
    pytest.param(b"\xff\xfe[2]", "FormationViolation", "-1", id="binary-garbage"),
    pytest.param('{"messageId":"e1"}', "FormationViolation", "-1", id="object-not-array"),
    pytest.param('"Heartbeat"', "FormationViolation", "-1", id="string-not-array"),
    pytest.param("[]", "FormationViolation", "-1", id="empty-array"),
    pytest.param('[2,17,"Heartbeat",{}]', "FormationViolation", "-1", id="numeric-message-id"),
    # Readable id, wrong shape.
    pytest.param('[2,"e1","Heartbeat"]', "FormationViolation", "e1", id="call-3-elements"),
    pytest.param('[2,"e1","Heartbeat",{},{}]', "FormationViolation", "e1", id="call-5-elements"),
    pytest.param('[2,"e1","Heartbeat",[]]', "FormationViolation", "e1", id="payload-array"),
    pytest.param('[2,"e1",42,{}]', "FormationViolation", "e1", id="action-not-string"),
    pytest.param('[3,"e1"]', "FormationViolation", "e1", id="callresult-2-elements"),
    pytest.param(
        f'[2,"{"i" * 37}","Heartbeat",{{}}]', "FormationViolation", "i" * 37, id="id-37-chars"
    ),
    # Unknown message types.
    pytest.param('[5,"e1","Heartbeat",{}]', "ProtocolError", "e1", id="message-type-5"),
    pytest.param('["2","e1","Heartbeat",{}]', "ProtocolError", "e1", id="message-type-string"),
    # Schema violations.
    pytest.param(
        call("BootNotification", {**BOOT, "chargePointVendor": 5}),
        "TypeConstraintViolation",
        "e1",
        id="type",
    ),
    pytest.param(
        call("BootNotification", {**BOOT, "chargePointSerialNumber": "S" * 26}),
        "TypeConstraintViolation",
        "e1",
        id="max-length",
    ),
    pytest.param(
        call("StatusNotification", {**STATUS, "connectorId": "1"}),
        "TypeConstraintViolation",
        "e1",
        id="integer-as-string",
    ),
    pytest.param(
        call("StatusNotification", {**STATUS, "status": "Sleeping"}),
        "PropertyConstraintViolation",
        "e1",
        id="enum",
    ),
    pytest.param(
        call("StatusNotification", {**STATUS, "timestamp": "yesterday"}),
        "PropertyConstraintViolation",
        "e1",
        id="date-time",
    ),
    pytest.param(
        call("MeterValues", meter_values("12 kWh")),
        "PropertyConstraintViolation",
        "e1",
        id="sampled-value-not-number",
    ),
    pytest.param(
        call("StartTransaction", {**START, "timestamp": "2025-02-30T00:00:00Z"}),
        "PropertyConstraintViolation",
        "e1",
        id="impossible-date",
    ),
    pytest.param(
        call("StatusNotification", {**STATUS, "connectorId": -1}),
        "PropertyConstraintViolation",
        "e1",
        id="negative-connector",
    ),
    pytest.param(
        call("StartTransaction", {**START, "connectorId": 0}),
        "PropertyConstraintViolation",
        "e1",
        id="transaction-on-connector-0",
    ),
    pytest.param(
        call("BootNotification", {"chargePointVendor": "Acme"}),
        "ProtocolError",
        "e1",
        id="missing-required",
    ),
    pytest.param(
        call("StartTransaction", {"connectorId": 1, "idTag": "04A2"}),
        "ProtocolError",
        "e1",
        id="missing-several",
    ),
    pytest.param(
        call("BootNotification", {**BOOT, "colour": "red"}),
        "FormationViolation",
        "e1",
        id="additional-property",
    ),
    pytest.param(
        call("MeterValues", {"connectorId": 1, "meterValue": []}),
        "OccurenceConstraintViolation",
        "e1",
        id="min-items",
    ),
    # Actions.
    pytest.param(call("Reboot", {}), "NotImplemented", "e1", id="unknown-action"),
    pytest.param(call("heartbeat", {}), "NotImplemented", "e1", id="action-wrong-case"),
    pytest.param(
        call("HeartbeatResponse", {"currentTime": TS}),
        "NotImplemented",
        "e1",
        id="response-name-as-action",
    ),
    pytest.param(call("FooResponse", {}), "NotImplemented", "e1", id="unknown-response-name"),
    pytest.param(call("Reset", {"type": "Soft"}), "NotSupported", "e1", id="csms-only-reset"),
    pytest.param(
        call("RemoteStartTransaction", {"idTag": "04A2"}),
        "NotSupported",
        "e1",
        id="csms-only-remote-start",
    ),
    pytest.param(
        call("GetConfiguration", {}), "NotSupported", "e1", id="csms-only-get-configuration"
    ),
]


async def two_stations(platform: Platform) -> None:
    await add_station(platform, "CP-1")
    await add_station(platform, "CP-2")


def as_text(frame: str | bytes) -> str:
    return frame if isinstance(frame, str) else frame.decode("utf-8", "replace")


async def test_every_error_is_answered_and_nobody_suffers(
    platform: Platform, ocpp_url: str
) -> None:
    """One connection pair walks through every case (a platform per case would be slow): after
    each error the connection still works, and the station next to it saw nothing."""
    await two_stations(platform)
    async with raw_station(ocpp_url, "CP-1") as bad, raw_station(ocpp_url, "CP-2") as good:
        await good.heartbeat()
        for case in CASES:
            frame, code, answered_id = case.values
            await bad.send_raw(frame)
            answer = await bad.recv()
            assert answer[:3] == [4, answered_id, code], (case.id, answer)
            assert isinstance(answer[3], str) and answer[3], (case.id, "a description")
            assert isinstance(answer[4], dict), case.id
            # The connection survives: the next message is answered, and is the next frame.
            await bad.heartbeat()
            # The other station saw nothing of it and keeps working.
            await good.heartbeat()
            assert platform.ocpp.is_connected("CP-1") and platform.ocpp.is_connected("CP-2")

    # Nothing of the broken messages was stored beyond their log entries.
    assert await platform.stations.connectors("CP-1") == []
    assert (
        await platform.sessions.search(SessionFilter(station_id="CP-1"), PageRequest())
    ).total == 0
    assert (await platform.stations.get("CP-1")).vendor is None

    rows = await log_rows(platform, "CP-1")
    inbound = [r for r in rows if r["direction"] == "in" and r["action"] != "Heartbeat"]
    assert [r["payload"] for r in inbound] == [as_text(c.values[0]) for c in CASES]
    for case, row in zip(CASES, inbound, strict=True):
        assert case.values[1] in (row["note"] or ""), (case.id, row["note"])
    errors = [r for r in rows if r["direction"] == "out" and r["message_type"] == 4]
    assert [orjson.loads(r["payload"])[:3] for r in errors] == [
        [4, c.values[2], c.values[1]] for c in CASES
    ]
    other = await log_rows(platform, "CP-2")
    assert {(r["action"], r["message_type"]) for r in other} == {("Heartbeat", 2), ("Heartbeat", 3)}


async def test_an_answer_to_nothing_is_logged_not_answered(
    platform: Platform, ocpp_url: str
) -> None:
    await two_stations(platform)
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw('[3,"never-asked",{"status":"Accepted"}]')
        await st.send_raw('[4,"never-asked-either","GenericError","",{}]')
        await st.heartbeat()  # the next frame we get is the heartbeat's answer: no reply to those

    async def logged() -> list[dict[str, Any]]:
        rows = await log_rows(platform, "CP-1", direction="in")
        return [r for r in rows if r["message_type"] in (3, 4)]

    rows = await eventually(logged)
    assert [(r["message_id"], r["note"]) for r in rows] == [
        ("never-asked", "answer to no outstanding call"),
        ("never-asked-either", "answer to no outstanding call"),
    ]


async def test_an_error_in_a_handler_is_an_internal_error(
    platform: Platform, ocpp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure we did not foresee answers InternalError, and the station carries on."""

    async def broken(*args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(platform.events, "diagnostics_status", broken)
    await two_stations(platform)
    async with raw_station(ocpp_url, "CP-1") as st:
        answer = await st.call("DiagnosticsStatusNotification", {"status": "Uploaded"})
        assert answer[:3] == [4, answer[1], "InternalError"]
        assert "disk on fire" not in answer[3], "no internals leak to the station"
        await st.heartbeat()
    [logged] = await log_rows(
        platform, "CP-1", action="DiagnosticsStatusNotification", direction="in"
    )
    assert logged["note"].startswith("InternalError")


async def test_overlong_message_id_does_not_drop_the_connection(
    platform: Platform, ocpp_url: str
) -> None:
    """The id is longer than the log's column: PostgreSQL once refused the log row, which
    closed the connection with 1011."""
    await two_stations(platform)
    long_id = "i" * 80
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw(f'[2,"{long_id}","Heartbeat",{{}}]')
        answer = await st.recv()
        assert answer[:3] == [4, long_id, "FormationViolation"]
        await st.heartbeat()
    [row] = [r for r in await log_rows(platform, "CP-1") if r["note"] == "FormationViolation"]
    assert row["payload"] == f'[2,"{long_id}","Heartbeat",{{}}]'


async def test_a_flood_of_errors_from_one_station_leaves_others_alone(
    platform: Platform, ocpp_url: str
) -> None:
    """Many bad frames sent without waiting: every one answered, in order."""
    await two_stations(platform)
    async with raw_station(ocpp_url, "CP-1") as bad, raw_station(ocpp_url, "CP-2") as good:
        for i in range(30):
            await bad.send_raw(call("Reboot", {}, f"f{i}"))
        await good.heartbeat()
        answers = [await bad.recv() for _ in range(30)]
        assert [a[1] for a in answers] == [f"f{i}" for i in range(30)]
        assert {a[2] for a in answers} == {"NotImplemented"}
        await bad.heartbeat()
