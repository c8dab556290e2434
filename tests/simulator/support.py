"""Helpers for the simulator tests: short intervals, polling, the station factory's type."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from voltflow.simulator import SimulatedStation, StationConfig

PASSWORD = "sim-secret-0123456"
TAG = "SIMTAG01"

# Everything short: a whole session, reboot or firmware update takes well under a second.
FAST = StationConfig(
    id_tag=TAG,
    meter_interval=0.1,
    power_kw=360,  # 100 Wh a second: energy readings move visibly within a short test
    jitter=0.1,
    unplug_seconds=0.05,
    reboot_seconds=0.1,
    firmware_step_seconds=0.05,
    diagnostics_seconds=0.05,
    reconnect_min=0.05,
    reconnect_max=0.5,
    response_timeout=5,
    meter_start_wh=1_000_000,
)


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 5.0, interval: float = 0.05
) -> Any:
    """Poll until ``check`` returns something truthy; its last value otherwise fails the test."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {timeout} s (last value {value!r})")
        await asyncio.sleep(interval)


StationFactory = Callable[..., Awaitable[SimulatedStation]]
