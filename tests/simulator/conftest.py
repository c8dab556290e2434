"""Fixtures for the simulator tests: stations registered on the real platform."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from voltflow.bootstrap import Platform
from voltflow.simulator import SimulatedStation

from .support import FAST, PASSWORD, TAG, StationFactory


@pytest.fixture
async def make_station(platform: Platform, ocpp_url: str) -> AsyncIterator[StationFactory]:
    """Registers a station (and the test token) on the platform and builds a simulator for it;
    connected unless ``connect=False``. Closed at the end of the test."""
    made: list[SimulatedStation] = []
    await platform.tokens.add(TAG)

    async def make(
        station_id: str = "SIM-1",
        *,
        connect: bool = True,
        register: bool = True,
        password: str = PASSWORD,
        **changes: Any,
    ) -> SimulatedStation:
        if register:
            await platform.stations.add(station_id, PASSWORD)
        station = SimulatedStation(
            ocpp_url, station_id, password=password, config=replace(FAST, **changes)
        )
        made.append(station)
        if connect:
            await station.connect(timeout=5)
        return station

    yield make
    await asyncio.gather(*(s.close(timeout=2) for s in made))
