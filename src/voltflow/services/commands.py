"""Remote commands: the one seam through which the API, the console, the CLI and the platform's
own jobs (local list synchronisation) reach a station."""

from __future__ import annotations

from typing import Any

from voltflow.domain.access import PLATFORM, Actor, Permission
from voltflow.domain.commands import DEFAULT_PAYLOADS, RemoteAction
from voltflow.services.access import require
from voltflow.services.ports import CommandResult, InvalidCommand, StationLink
from voltflow.store.repositories import StationRepository


class CommandService:
    def __init__(
        self, link: StationLink, stations: StationRepository, default_timeout: float = 30
    ) -> None:
        self.link = link
        self.stations = stations
        self.default_timeout = default_timeout

    async def send(
        self,
        station_id: str,
        action: str,
        payload: dict[str, Any] | None = None,
        timeout: float | None = None,
        *,
        actor: Actor = PLATFORM,
    ) -> CommandResult:
        if actor is not PLATFORM:
            record = await self.stations.get(station_id)
            require(actor, Permission.STATIONS_COMMAND, record.organisation_id if record else None)
        try:
            remote = RemoteAction.parse(action)
        except ValueError as exc:
            raise InvalidCommand(str(exc)) from exc
        if payload is None:
            payload = dict(DEFAULT_PAYLOADS.get(remote, {}))
        return await self.link.call(
            station_id, remote.value, payload, timeout or self.default_timeout
        )

    def is_connected(self, station_id: str) -> bool:
        return self.link.is_connected(station_id)
