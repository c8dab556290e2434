"""Sessions and energy per station and day, kept up to date from the session events: what the
dashboards' charts and the station page's recent activity read, without scanning sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from voltflow.domain.access import Actor, Permission
from voltflow.domain.events import Event, SessionClosed, SessionCorrected
from voltflow.services.access import require
from voltflow.services.ports import Clock
from voltflow.store.activity import ActivityRepository
from voltflow.store.stations import StationRepository


class StationDailyTotals:
    """A consumer of session events. A session counts on the local day it started; a corrected
    session moves its energy by the difference."""

    name = "station-daily-totals"
    kinds = frozenset({SessionClosed.kind, SessionCorrected.kind})

    def __init__(self, repo: ActivityRepository, timezone: str = "Europe/Brussels") -> None:
        self.repo = repo
        self.zone = ZoneInfo(timezone)

    async def handle(self, event: Event) -> None:
        await self.handle_many([event])

    async def handle_many(self, events: Sequence[Event]) -> None:
        """A batch's sessions summed per station and day: one statement for all."""
        sums: dict[tuple[str, date], list[int]] = {}
        for event in events:
            if isinstance(event, SessionClosed):
                counted, energy = 1, event.energy_wh
            elif isinstance(event, SessionCorrected):
                counted, energy = 0, event.energy_wh - event.previous_energy_wh
            else:
                continue
            key = (event.station_id, event.started_at.astimezone(self.zone).date())
            total = sums.setdefault(key, [0, 0])
            total[0] += counted
            total[1] += energy
        await self.repo.add_many_station_totals(
            [(station, day, n, wh) for (station, day), (n, wh) in sums.items()]
        )


class ActivityService:
    def __init__(
        self,
        repo: ActivityRepository,
        stations: StationRepository,
        clock: Clock,
        timezone: str = "Europe/Brussels",
    ) -> None:
        self.repo = repo
        self.stations = stations
        self.clock = clock
        self.zone = ZoneInfo(timezone)

    async def station_days(
        self, actor: Actor, station_id: str, days: int = 30
    ) -> list[tuple[date, int, int]]:
        """(local day, sessions, Wh) for the station's last ``days`` days that had sessions."""
        station = await self.stations.get(station_id)
        require(
            actor,
            Permission.STATIONS_READ,
            station.organisation_id if station else None,
            missing=lambda: LookupError(station_id),
            exists=station is not None,
        )
        today = self.clock.now().astimezone(self.zone).date()
        return await self.repo.station_totals(station_id, today - timedelta(days=days - 1))
