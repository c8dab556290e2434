"""simulate(): a fleet that charges by itself, stopped by time or by an event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from voltflow.bootstrap import Platform
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import SessionFilter
from voltflow.domain.records import Session
from voltflow.simulator import simulate

from .support import PASSWORD, TAG, eventually

FLEET = ["FLEET-1", "FLEET-2"]


async def _fleet(url: str, **more: Any) -> None:
    await simulate(
        url,
        FLEET,
        password=PASSWORD,
        id_tag=TAG,
        meter_interval=0.1,
        session_seconds=0.3,
        idle_seconds=0.2,
        power_kw=50,
        connectors=2,
        seed=7,
        **more,
    )


async def _sessions(platform: Platform, station_id: str) -> list[Session]:
    page = await platform.sessions.search(
        SessionFilter(station_id=station_id), PageRequest(limit=100)
    )
    return sorted(page.items, key=lambda s: (s.started_at, s.id))


async def _offline(platform: Platform, station_id: str) -> bool:
    return not (await platform.stations.get(station_id)).online


def _first_meter_starts(sessions: list[Session]) -> dict[int, int]:
    firsts: dict[int, int] = {}
    for s in sessions:
        firsts.setdefault(s.evse_id, s.meter_start_wh)
    return firsts


async def test_fleet_charges_until_duration_or_stop(platform: Platform, ocpp_url: str) -> None:
    await platform.tokens.add(TAG)
    for station_id in FLEET:
        await platform.stations.add(station_id, PASSWORD)
    loop = asyncio.get_running_loop()

    began = loop.time()
    await _fleet(ocpp_url, duration=1.5)
    assert loop.time() - began < 4
    between = datetime.now(UTC)
    first_run: dict[str, list[dict[str, Any]]] = {}
    for station_id in FLEET:
        assert (await platform.stations.get(station_id)).vendor == "Voltflow"
        await eventually(lambda sid=station_id: _offline(platform, sid))
        sessions = first_run[station_id] = await _sessions(platform, station_id)
        assert {s.evse_id for s in sessions} == {1, 2}
        for s in sessions:
            # All closed: the ones still running at the end were stopped on the way out.
            assert s.stopped_at is not None
            assert s.energy_wh == s.meter_stop_wh - s.meter_start_wh >= 0
            assert s.stop_reason in ("Local", "Other")
            assert s.id_tag == TAG

    stop = asyncio.Event()
    loop.call_later(1.2, stop.set)
    began = loop.time()
    await _fleet(ocpp_url, stop=stop)
    assert 1.1 < loop.time() - began < 3.5
    for station_id in FLEET:
        second_run = [s for s in await _sessions(platform, station_id) if s.started_at > between]
        assert second_run and all(s.stopped_at is not None for s in second_run)
        # The same seed replays the same stations: the meters start where they did.
        assert _first_meter_starts(second_run) == _first_meter_starts(first_run[station_id])


async def test_duplicate_ids_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        await simulate("ws://127.0.0.1:9/ocpp", ["A", "A"], duration=0.1)
