"""Many simulated stations at once, for demos and load tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from voltflow.simulator._config import Fault, StationConfig
from voltflow.simulator._station import SimulatedStation


async def simulate(
    url: str,
    station_ids: Sequence[str],
    *,
    password: str | None = None,
    id_tag: str = "DEMO0001",
    heartbeat_interval: int | None = None,
    meter_interval: float = 15,
    session_seconds: float = 120,
    idle_seconds: float = 30,
    power_kw: float = 11,
    connectors: int = 1,
    duration: float | None = None,
    seed: int = 0,
    stop: asyncio.Event | None = None,
    faulted_connectors: Sequence[int] = (),
    fault: Fault | None = None,
    firmware_fails: str | None = None,
    offline_after: float | None = None,
    serial_number: str | None = None,
) -> None:
    """Run one simulated station per id against the OCPP endpoint at ``url`` (the base, e.g.
    ``ws://127.0.0.1:9000/ocpp``), all charging by themselves, until ``duration`` seconds have
    passed or ``stop`` is set (forever if neither is given, until cancelled). On the way out,
    running sessions are stopped and their StopTransaction delivered before the stations
    disconnect. The misbehaviours (``faulted_connectors`` with ``fault``, ``firmware_fails``,
    ``offline_after``, ``serial_number``) are every station's (``StationConfig``)."""
    if len(set(station_ids)) != len(station_ids):
        raise ValueError("station ids must be unique")
    config = StationConfig(
        id_tag=id_tag,
        heartbeat_interval=heartbeat_interval,
        meter_interval=meter_interval,
        session_seconds=session_seconds,
        idle_seconds=idle_seconds,
        power_kw=power_kw,
        connectors=connectors,
        seed=seed,
        auto_sessions=True,
        unplug_seconds=min(2.0, idle_seconds),
        faulted_connectors=tuple(faulted_connectors),
        fault=fault or Fault(),
        firmware_fails=firmware_fails,
        offline_after=offline_after,
        serial_number=serial_number,
    )
    stations = [SimulatedStation(url, sid, password=password, config=config) for sid in station_ids]
    if not stations:
        return
    runs = [asyncio.create_task(s.run(), name=f"simulate {s.station_id}") for s in stations]
    stopped = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        await asyncio.wait(
            [*runs, *([stopped] if stopped else [])],
            timeout=duration,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        if stopped is not None:
            stopped.cancel()
        await asyncio.gather(*(s.close() for s in stations), return_exceptions=True)
        await asyncio.gather(*runs, return_exceptions=True)
