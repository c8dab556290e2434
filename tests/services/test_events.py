"""The relay and its consumers in one process: a closed session reaches the daily totals once,
however often its event is published."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from voltflow.bootstrap import Platform
from voltflow.domain.events import SessionClosed, SessionCorrected


def _closed(session_id: str, energy_wh: int) -> SessionClosed:
    start = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 00:30 in Brussels: the 29th there
    return SessionClosed(
        occurred_at=start + timedelta(hours=1),
        session_id=session_id,
        station_id="CP-1",
        evse_id=1,
        connector_id=1,
        id_token="A0000001",
        started_at=start,
        stopped_at=start + timedelta(hours=1),
        energy_wh=energy_wh,
        session_type="normal",
        type_reason=None,
        stop_reason="Local",
        closed_by="station",
    )


async def _published(platform: Platform) -> None:
    for _ in range(100):
        if not await platform.outbox.unpublished(1):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the relay never published the outbox")


async def test_events_committed_in_a_unit_reach_the_consumer_once(platform: Platform) -> None:
    first, second = _closed("1", 3667), _closed("2", 7334)
    async with platform.uow() as changes:
        changes.emit(first)
        changes.emit(second)
    await _published(platform)
    days = await platform.activity.repo.station_totals("CP-1")
    assert days == [(date(2026, 3, 29), 2, 11001)]
    # Delivered again (a relay killed before marking them published): nothing changes.
    for event in (first, second):
        for subscriber in platform.delivery.subscribers:
            assert not await platform.delivery.apply(subscriber, event)
    assert await platform.activity.repo.station_totals("CP-1") == days
    assert await platform.outbox.receipts("station-daily-totals") == 2


async def test_a_correction_moves_the_energy_not_the_count(platform: Platform) -> None:
    closed = _closed("7", 1000)
    corrected = SessionCorrected(
        occurred_at=closed.occurred_at,
        session_id="7",
        station_id="CP-1",
        started_at=closed.started_at,
        stopped_at=closed.stopped_at,
        energy_wh=1500,
        session_type="normal",
        type_reason=None,
        stop_reason="Local",
        previous_stopped_at=closed.stopped_at,
        previous_energy_wh=1000,
        previous_session_type="normal",
        reason="the station's own stop",
    )
    async with platform.uow() as changes:
        changes.emit(closed)
    async with platform.uow() as changes:
        changes.emit(corrected)
    await _published(platform)
    assert await platform.activity.repo.station_totals("CP-1") == [(date(2026, 3, 29), 1, 1500)]


async def test_a_unit_that_fails_emits_nothing(platform: Platform) -> None:
    class Refused(Exception):
        pass

    try:
        async with platform.uow() as changes:
            changes.emit(_closed("9", 10))
            raise Refused
    except Refused:
        pass
    await asyncio.sleep(0.1)
    assert await platform.outbox.unpublished(10) == []
    assert await platform.activity.repo.station_totals("CP-1") == []
