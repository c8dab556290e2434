"""A station whose registration is Pending (OCPP 1.6 §4.2): it keeps its connection alive with
heartbeats, sends what a TriggerMessage it accepted asks for, and is sent no remote start or
stop until an operator claims it."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from tests.ocpp.support import RawStation, add_station, log_rows, raw_station
from voltflow.bootstrap import Platform
from voltflow.domain.stations import Registration
from voltflow.services.commands import StationPending
from voltflow.web import create_app

TS = "2025-03-01T12:00:00Z"
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "Wallbox"}
AVAILABLE = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": TS}
METER = {"connectorId": 1, "meterValue": [{"timestamp": TS, "sampledValue": [{"value": "7"}]}]}


@pytest.fixture
async def pending(platform: Platform, ocpp_url: str) -> AsyncIterator[RawStation]:
    """CP-1, connected and booted, waiting for an operator to claim it."""
    await add_station(platform, "CP-1")
    await platform.stations.repo.update("CP-1", registration=Registration.PENDING)
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.send_raw('[2,"boot","BootNotification",' + orjson.dumps(BOOT).decode() + "]")
        assert orjson.loads(await st.recv_text())[2]["status"] == "Pending"
        yield st


async def send_literal(st: RawStation, frame: str) -> list[Any]:
    await st.send_raw(frame)
    answer: list[Any] = orjson.loads(await st.recv_text())
    return answer


async def test_a_pending_station_may_send_heartbeats(pending: RawStation) -> None:
    answer = await send_literal(pending, '[2,"hb-1","Heartbeat",{}]')
    assert answer[:2] == [3, "hb-1"] and "currentTime" in answer[2], answer


async def test_a_pending_station_sends_nothing_else_unasked(
    platform: Platform, pending: RawStation
) -> None:
    for action, payload in (("StatusNotification", AVAILABLE), ("MeterValues", METER)):
        frame = orjson.dumps([2, f"{action}-1", action, payload]).decode()
        answer = await send_literal(pending, frame)
        assert answer[:3] == [4, f"{action}-1", "SecurityError"], answer
    assert await platform.stations.connectors("CP-1") == []


async def answer_next_call(st: RawStation, action: str, payload: dict[str, Any]) -> list[Any]:
    frame = await st.recv()
    assert frame[:1] == [2] and frame[2] == action, frame
    await st.answer(frame, payload)
    return frame


async def test_what_an_accepted_trigger_asks_for_is_taken_from_a_pending_station(
    platform: Platform, pending: RawStation
) -> None:
    st = pending
    trigger = asyncio.create_task(
        platform.commands.send("CP-1", "TriggerMessage", {"requestedMessage": "StatusNotification"})
    )
    await answer_next_call(st, "TriggerMessage", {"status": "Accepted"})
    # Sent at once after the answer, as a station does: one status per connector.
    for n, connector in ((1, 1), (2, 2)):
        status = {**AVAILABLE, "connectorId": connector}
        frame = orjson.dumps([2, f"status-{n}", "StatusNotification", status]).decode()
        assert await send_literal(st, frame) == [3, f"status-{n}", {}]
    assert (await trigger).payload == {"status": "Accepted"}
    # What the trigger did not ask for is still refused.
    frame = orjson.dumps([2, "meter-1", "MeterValues", METER]).decode()
    assert (await send_literal(st, frame))[:3] == [4, "meter-1", "SecurityError"]
    connectors = await platform.stations.connectors("CP-1")
    assert sorted((c.evse_id, c.status) for c in connectors) == [
        (1, "Available"),
        (2, "Available"),
    ]


async def test_a_trigger_the_station_rejected_permits_nothing(
    platform: Platform, pending: RawStation
) -> None:
    st = pending
    trigger = asyncio.create_task(
        platform.commands.send("CP-1", "TriggerMessage", {"requestedMessage": "MeterValues"})
    )
    await answer_next_call(st, "TriggerMessage", {"status": "Rejected"})
    assert (await trigger).payload == {"status": "Rejected"}
    frame = orjson.dumps([2, "meter-1", "MeterValues", METER]).decode()
    assert (await send_literal(st, frame))[:3] == [4, "meter-1", "SecurityError"]


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("RemoteStartTransaction", {"idTag": "04A2", "connectorId": 1}),
        ("RemoteStopTransaction", {"transactionId": 1}),
    ],
)
async def test_no_remote_start_or_stop_is_sent_to_a_pending_station(
    platform: Platform, pending: RawStation, action: str, payload: dict[str, Any]
) -> None:
    with pytest.raises(StationPending, match="Pending") as refused:
        await platform.commands.send("CP-1", action, payload)
    assert refused.value.kind == "station-pending"
    # Nothing went out: the station's next frame is the answer to its own heartbeat.
    await pending.heartbeat()
    assert await log_rows(platform, "CP-1", action=action) == []


async def test_the_api_answers_409_for_a_pending_station_and_sends_other_commands(
    platform: Platform, pending: RawStation
) -> None:
    await platform.organisations.add_operator("op", "op-password")
    key = await platform.accounts.create_api_key("op")
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {key}"}
    ) as api:
        refused = await api.post(
            "/api/v1/stations/CP-1/commands/RemoteStartTransaction",
            json={"payload": {"idTag": "04A2"}},
        )
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["kind"] == "station-pending"
        assert "Pending" in problem["detail"] and "RemoteStartTransaction" in problem["detail"]

        # A Pending station may be asked about itself and configured.
        asked = asyncio.create_task(api.post("/api/v1/stations/CP-1/commands/GetConfiguration"))
        await answer_next_call(pending, "GetConfiguration", {"configurationKey": []})
        assert (await asked).status_code == 200

        await platform.stations.claim("CP-1")
        started = asyncio.create_task(
            api.post(
                "/api/v1/stations/CP-1/commands/RemoteStartTransaction",
                json={"payload": {"idTag": "04A2"}},
            )
        )
        await answer_next_call(pending, "RemoteStartTransaction", {"status": "Accepted"})
        assert (await started).status_code == 200
