"""Every frame in and out is in the station's message log, with direction, type, action and
message id, and the log is searchable by action and by text."""

import asyncio
from typing import Any

import orjson

from tests.ocpp.support import (
    BACKGROUND_CALLS,
    RawStation,
    add_station,
    eventually,
    log_rows,
    raw_station,
)
from voltflow.bootstrap import Platform
from voltflow.domain.queries import MessageFilter

BOOT = {
    "chargePointVendor": "Acme",
    "chargePointModel": "Wallbox",
    "chargePointSerialNumber": "SN-4711",
}
STATUS = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "info": "100% ok_"}


async def conversation(platform: Platform, st: RawStation) -> list[tuple[str, str]]:
    """A bit of everything; returns the frames as (direction, raw text), in order."""
    frames: list[tuple[str, str]] = []

    async def call(action: str, payload: dict[str, Any], message_id: str) -> None:
        raw = orjson.dumps([2, message_id, action, payload]).decode()
        await st.send_raw(raw)
        frames.append(("in", raw))
        frames.append(("out", await st.recv_text()))

    await call("BootNotification", BOOT, "m-boot")
    await call("Heartbeat", {}, "m-hb")
    await call("StatusNotification", STATUS, "m-status")
    await call("Reboot", {}, "m-bad")  # answered with a CALLERROR
    await st.send_raw("not json")
    frames.append(("in", "not json"))
    frames.append(("out", await st.recv_text()))

    sending = asyncio.create_task(platform.commands.send("CP-1", "Reset", {"type": "Soft"}))
    command = await st.recv_text()
    frames.append(("out", command))
    answer = orjson.dumps([3, orjson.loads(command)[1], {"status": "Accepted"}]).decode()
    await st.send_raw(answer)
    frames.append(("in", answer))
    await sending
    await call("Heartbeat", {}, "m-hb2")
    return frames


async def test_every_frame_in_and_out_is_logged(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        frames = await conversation(platform, st)
    declined = {f[1] for f in st.declined}

    async def everything() -> list[dict[str, Any]]:
        rows = [
            r
            for r in await log_rows(platform, "CP-1")
            if r["action"] not in BACKGROUND_CALLS and r["message_id"] not in declined
        ]
        return rows if len(rows) == len(frames) else []

    rows = await eventually(everything)
    assert [(r["direction"], r["payload"]) for r in rows] == frames
    described = [(r["direction"], r["message_type"], r["message_id"], r["action"]) for r in rows]
    described[11] = (*described[11][:3], "Reset")  # see test_the_answer_to_a_command_carries...
    assert described == [
        ("in", 2, "m-boot", "BootNotification"),
        ("out", 3, "m-boot", "BootNotification"),
        ("in", 2, "m-hb", "Heartbeat"),
        ("out", 3, "m-hb", "Heartbeat"),
        ("in", 2, "m-status", "StatusNotification"),
        ("out", 3, "m-status", "StatusNotification"),
        ("in", 2, "m-bad", "Reboot"),
        ("out", 4, "m-bad", "Reboot"),
        # No message id to read from "not json": its exchange has none (the answer says -1).
        ("in", None, None, None),
        ("out", 4, None, None),
        ("out", 2, rows[10]["message_id"], "Reset"),
        ("in", 3, rows[10]["message_id"], "Reset"),
        ("in", 2, "m-hb2", "Heartbeat"),
        ("out", 3, "m-hb2", "Heartbeat"),
    ]
    assert rows[6]["note"].startswith("NotImplemented")
    assert rows[8]["note"] == "FormationViolation"
    times = [r["at"] for r in rows]
    assert times == sorted(times)
    assert all(r["station_id"] == "CP-1" for r in rows)


async def test_the_answer_to_a_command_carries_its_action(
    platform: Platform, ocpp_url: str
) -> None:
    """Searching the log by action finds a command and the station's answer to it."""
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        sending = asyncio.create_task(platform.commands.send("CP-1", "Reset", {"type": "Soft"}))
        command = await st.recv()
        await st.answer(command, {"status": "Accepted"})
        await sending

    async def both() -> list[dict[str, Any]]:
        rows = await log_rows(platform, "CP-1", message_id=command[1])
        return rows if len(rows) == 2 else []

    await eventually(both)
    rows = await log_rows(platform, "CP-1", action="Reset")
    assert [(r["direction"], r["message_type"]) for r in rows] == [("out", 2), ("in", 3)]


async def test_search_by_action_text_direction_and_id(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    await add_station(platform, "CP-2")
    async with raw_station(ocpp_url, "CP-1") as st, raw_station(ocpp_url, "CP-2") as other:
        await conversation(platform, st)
        await other.result("BootNotification", BOOT)  # same text, other station
        await other.heartbeat()
        await st.heartbeat()

    async def heartbeats() -> list[dict[str, Any]]:
        rows = await log_rows(platform, "CP-1", action="Heartbeat")
        return rows if len(rows) == 6 else []

    rows = await eventually(heartbeats)
    assert {r["action"] for r in rows} == {"Heartbeat"}
    assert [r["direction"] for r in rows] == ["in", "out"] * 3

    # A text found in a call shows its whole exchange: the call, then its answer.
    boot, answer = await log_rows(platform, "CP-1", text="SN-4711")
    assert (boot["direction"], boot["action"]) == ("in", "BootNotification")
    assert (answer["direction"], answer["message_type"], answer["message_id"]) == (
        "out",
        3,
        "m-boot",
    )
    # Text search covers notes too, and takes % and _ literally.
    [bad] = await log_rows(platform, "CP-1", text="NotImplemented", direction="in")
    assert bad["message_id"] == "m-bad"
    status, _ = await log_rows(platform, "CP-1", text="100% ok_")
    assert status["message_id"] == "m-status"
    assert await log_rows(platform, "CP-1", text="100%%") == []
    assert await log_rows(platform, "CP-1", text="1_0") == []

    out = await log_rows(platform, "CP-1", direction="out", message_id="m-status")
    assert [(r["direction"], r["message_type"]) for r in out] == [("out", 3)]
    assert len(await log_rows(platform, "CP-2", text="SN-4711")) == 2  # its one exchange


async def five_heartbeats(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        for _ in range(5):
            await st.heartbeat()
    await platform.writer.flush()


async def test_paging_back_through_the_log(platform: Platform, ocpp_url: str) -> None:
    await five_heartbeats(platform, ocpp_url)
    newest = await platform.stations.message_log(
        "CP-1", MessageFilter(action="Heartbeat", direction="in", limit=2)
    )
    older = await platform.stations.message_log(
        "CP-1",
        MessageFilter(action="Heartbeat", direction="in", limit=10, before_id=newest[-1].id),
    )
    assert len(newest) == 2 and len(older) == 3
    ids = [r.id for r in newest + older]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5


async def test_a_page_never_splits_an_exchange(platform: Platform, ocpp_url: str) -> None:
    await five_heartbeats(platform, ocpp_url)
    newest = await platform.stations.message_log("CP-1", MessageFilter(action="Heartbeat", limit=3))
    assert [r.direction for r in newest] == ["out", "in", "out", "in"]
    older = await platform.stations.message_log(
        "CP-1", MessageFilter(action="Heartbeat", limit=50, before_id=newest[-1].id)
    )
    assert [r.direction for r in older] == ["out", "in"] * 3
    assert {r.id for r in newest}.isdisjoint(r.id for r in older)


async def test_an_overlong_action_is_logged_both_ways(platform: Platform, ocpp_url: str) -> None:
    """Longer than the log's column: PostgreSQL once refused both rows silently."""
    await add_station(platform, "CP-1")
    action = "A" * 60
    async with raw_station(ocpp_url, "CP-1") as st:
        answer = await st.call(action, {})
        assert answer[2] == "NotImplemented"
        await st.heartbeat()

    async def both() -> list[dict[str, Any]]:
        rows = await log_rows(platform, "CP-1", message_id=answer[1])
        return rows if len(rows) == 2 else []

    rows = await eventually(both)
    assert [(r["direction"], r["message_type"]) for r in rows] == [("in", 2), ("out", 4)]
    assert action in rows[0]["payload"]
