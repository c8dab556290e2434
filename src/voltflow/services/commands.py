"""Remote commands: the one seam through which the API, the console, the CLI and the platform's
own jobs (local list synchronisation) reach a station."""

from __future__ import annotations

from typing import Any

from voltflow.domain.access import PLATFORM, Actor, Permission
from voltflow.domain.commands import DEFAULT_PAYLOADS, NOT_WHILE_PENDING, RemoteAction, allowed_for
from voltflow.services.access import require
from voltflow.services.ports import CommandError, CommandResult, InvalidCommand, StationLink
from voltflow.store.repositories import StationRecord, StationRepository


class StationPending(CommandError):
    """The station's registration does not allow the command (it is still Pending): never sent."""

    kind = "station-pending"


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
        record: StationRecord | None = None
        if actor is not PLATFORM:
            record = await self.stations.get(station_id)
            require(actor, Permission.STATIONS_COMMAND, record.organisation_id if record else None)
        try:
            remote = RemoteAction.parse(action)
        except ValueError as exc:
            raise InvalidCommand(str(exc)) from exc
        if remote in NOT_WHILE_PENDING:
            record = record or await self.stations.get(station_id)
            if record is not None and not allowed_for(remote, record.registration):
                raise StationPending(
                    f"station {station_id} is {record.registration.value}: {remote.value} is "
                    "not allowed until an operator claims it"
                )
        if payload is None:
            payload = dict(DEFAULT_PAYLOADS.get(remote, {}))
        return await self.link.call(
            station_id, remote.value, payload, timeout or self.default_timeout
        )

    def is_connected(self, station_id: str) -> bool:
        return self.link.is_connected(station_id)
