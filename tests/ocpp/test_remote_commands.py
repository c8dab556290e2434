"""Remote commands through ``platform.commands.send``: one outstanding call per station, and every
way a command can fail has its own error."""

import asyncio
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from tests.ocpp.support import (
    RawStation,
    add_station,
    eventually,
    log_rows,
    ocpp_station,
    raw_station,
)
from voltflow.bootstrap import Platform
from voltflow.domain.events import CommandAnswered, decode
from voltflow.services.ports import (
    CommandRejected,
    CommandTimeout,
    InvalidCommand,
    StationOffline,
)
from voltflow.store.tables import outbox


async def next_call(st: RawStation, action: str) -> list[Any]:
    frame = await st.recv()
    assert frame[0] == 2 and frame[2] == action, frame
    return frame


async def nothing_pending(st: RawStation) -> None:
    """The next frame the station gets is the answer to its own Heartbeat: no CALL was sent
    before it (frames on one socket arrive in order)."""
    await st.heartbeat()


async def test_two_commands_to_one_station_are_serialized(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        first = asyncio.create_task(platform.commands.send("CP-1", "Reset", {"type": "Soft"}))
        second = asyncio.create_task(platform.commands.send("CP-1", "Reset", {"type": "Hard"}))
        reset = await next_call(st, "Reset")
        assert reset[3] == {"type": "Soft"}
        # The second command is waiting: the station gets nothing until it answers the first.
        await nothing_pending(st)
        await nothing_pending(st)
        assert not first.done() and not second.done()

        await st.answer(reset, {"status": "Accepted"})
        hard = await next_call(st, "Reset")
        assert hard[3] == {"type": "Hard"} and hard[1] != reset[1]
        assert (await first).payload == {"status": "Accepted"}
        assert not second.done()
        await st.answer(hard, {"status": "Rejected"})
        assert (await second).payload == {"status": "Rejected"}


async def test_commands_to_different_stations_do_not_wait_for_each_other(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    await add_station(platform, "CP-2")
    async with raw_station(ocpp_url, "CP-1") as slow, raw_station(ocpp_url, "CP-2") as quick:
        stuck = asyncio.create_task(platform.commands.send("CP-1", "ClearCache"))
        await next_call(slow, "ClearCache")  # and never answered, for now
        done = asyncio.create_task(platform.commands.send("CP-2", "ClearCache"))
        frame = await next_call(quick, "ClearCache")
        await quick.answer(frame, {"status": "Accepted"})
        assert (await done).payload == {"status": "Accepted"}
        assert not stuck.done()
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck


async def test_an_offline_station(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    assert not platform.commands.is_connected("CP-1")
    with pytest.raises(StationOffline) as info:
        await platform.commands.send("CP-1", "Reset")
    assert info.value.kind == "offline"
    with pytest.raises(StationOffline):
        await platform.commands.send("NO-SUCH-STATION", "Reset")
    assert await log_rows(platform, "CP-1") == []


async def test_a_station_that_goes_away_while_we_wait(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        waiting = asyncio.create_task(platform.commands.send("CP-1", "Reset"))
        await next_call(st, "Reset")
    with pytest.raises(StationOffline):
        await waiting


async def test_no_answer_is_a_timeout(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        with pytest.raises(CommandTimeout) as info:
            await platform.commands.send("CP-1", "Reset", timeout=0.2)
        assert info.value.kind == "timeout"
        assert "0.2" in info.value.message
        late = await next_call(st, "Reset")
        # The answer arrives after all: logged, ignored, and the next command works.
        await st.answer(late, {"status": "Accepted"})
        follow_up = asyncio.create_task(platform.commands.send("CP-1", "Reset"))
        frame = await next_call(st, "Reset")
        await st.answer(frame, {"status": "Accepted"})
        assert (await follow_up).payload == {"status": "Accepted"}

    async def late_answer_logged() -> list[dict[str, Any]]:
        rows = await log_rows(platform, "CP-1", message_id=late[1], direction="in")
        return [r for r in rows if r["note"] == "answer to no outstanding call"]

    await eventually(late_answer_logged)


async def test_a_call_error_is_a_rejection_with_its_code(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        sending = asyncio.create_task(platform.commands.send("CP-1", "UnlockConnector"))
        frame = await next_call(st, "UnlockConnector")
        await st.send_raw(
            orjson.dumps([4, frame[1], "NotSupported", "no lock here", {"why": "x"}]).decode()
        )
        with pytest.raises(CommandRejected) as info:
            await sending
        await nothing_pending(st)
    assert (info.value.code, info.value.details, info.value.kind) == (
        "NotSupported",
        {"why": "x"},
        "callerror",
    )
    assert "no lock here" in info.value.message


async def test_a_library_station_without_the_feature_rejects_it(
    platform: Platform, ocpp_url: str
) -> None:
    """The ``ocpp`` package answers NotImplemented for a command it has no handler for."""
    await add_station(platform, "CP-1")
    async with ocpp_station(ocpp_url, "CP-1"):
        with pytest.raises(CommandRejected) as info:
            await platform.commands.send("CP-1", "ClearCache")
    assert info.value.code == "NotImplemented"


async def test_an_invalid_answer_is_a_rejection(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        sending = asyncio.create_task(platform.commands.send("CP-1", "Reset"))
        frame = await next_call(st, "Reset")
        await st.answer(frame, {"status": "Maybe"})
        with pytest.raises(CommandRejected) as info:
            await sending
    assert info.value.code == "PropertyConstraintViolation"


INVALID = [
    ("Reset", {"type": "Gentle"}),
    ("Reset", {}),
    ("UnlockConnector", {"connectorId": "1"}),
    ("RemoteStartTransaction", {"idTag": "T" * 21}),
    ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60", "extra": 1}),
    ("Reboot", {}),
    ("BootNotification", {"chargePointVendor": "A", "chargePointModel": "B"}),
]


async def test_an_invalid_command_is_never_sent(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        for action, payload in INVALID:
            with pytest.raises(InvalidCommand) as info:
                await platform.commands.send("CP-1", action, payload)
            assert info.value.kind == "invalid", (action, payload)
            await nothing_pending(st)
    rows = await log_rows(platform, "CP-1", direction="out")
    assert all(r["message_type"] != 2 for r in rows)


async def test_an_invalid_command_to_an_offline_station_is_invalid(platform: Platform) -> None:
    """Checked before anything else: the operator learns what to fix first."""
    await add_station(platform, "CP-1")
    with pytest.raises(InvalidCommand):
        await platform.commands.send("CP-1", "Reset", {"type": "Gentle"})


async def test_the_command_and_its_answer_are_logged(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        sending = asyncio.create_task(
            platform.commands.send(
                "CP-1", "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}
            )
        )
        frame = await next_call(st, "ChangeAvailability")
        await st.answer(frame, {"status": "Scheduled"})
        assert (await sending).payload == {"status": "Scheduled"}

    async def both() -> list[dict[str, Any]]:
        rows = await log_rows(platform, "CP-1", message_id=frame[1])
        return rows if len(rows) == 2 else []

    out, back = await eventually(both)
    assert (out["direction"], out["message_type"], out["action"]) == (
        "out",
        2,
        "ChangeAvailability",
    )
    assert orjson.loads(out["payload"]) == frame
    assert (back["direction"], back["message_type"]) == ("in", 3)
    assert orjson.loads(back["payload"]) == [3, frame[1], {"status": "Scheduled"}]


async def test_every_command_tells_its_outcome_as_an_event(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        sent = asyncio.create_task(platform.commands.send("CP-1", "Reset", {"type": "Soft"}))
        await st.answer(await next_call(st, "Reset"), {"status": "Rejected"})
        await sent
    with pytest.raises(StationOffline):
        await platform.commands.send("CP-9", "ClearCache")
    async with platform.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(outbox.c.kind, outbox.c.payload)
                .where(outbox.c.kind == "command.answered")
                .order_by(outbox.c.seq)
            )
        ).all()
    told = [decode(r.kind, r.payload) for r in rows]
    outcomes = [
        (e.station_id, e.action, e.outcome, e.status)
        for e in told
        if isinstance(e, CommandAnswered)
    ]
    assert outcomes == [
        ("CP-1", "Reset", "answered", "Rejected"),
        ("CP-9", "ClearCache", "offline", None),
    ]
