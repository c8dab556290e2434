"""Remote commands: the one seam through which the API, the console, the CLI and the platform's
own jobs (local list synchronisation) reach a station."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from voltflow.domain.access import PLATFORM, Actor, Permission
from voltflow.domain.commands import NOT_WHILE_PENDING, Command, allowed_for
from voltflow.domain.events import CommandAnswered
from voltflow.domain.station_keys import (
    AUTHORIZATION_KEY,
    KeyChange,
    hash_station_password,
    new_key,
)
from voltflow.i18n import _, terms
from voltflow.i18n.refusals import key_problem
from voltflow.services.access import require
from voltflow.services.ports import (
    Clock,
    CommandError,
    CommandResult,
    CommandTimeout,
    InvalidCommand,
    KeyOffer,
    ProtocolCatalogue,
    StationLink,
    StationOffline,
    UnitOfWork,
)
from voltflow.store.stations import StationRecord, StationRepository

log = logging.getLogger(__name__)

# What a station answers to a key it takes (RebootRequired: from its next start on).
_KEY_TAKEN = frozenset({"Accepted", "RebootRequired"})


class StationPending(CommandError):
    """The station's registration does not allow the command (it is still Pending): never sent."""

    kind = "station-pending"


class KeyChangeBusy(CommandError):
    """Another key change for the station is under way: this one is never sent, since whichever
    answer came second would leave the station with a key the platform may no longer know."""

    kind = "key-change-busy"


@dataclass(frozen=True, slots=True)
class KeyRotated:
    """A key change's answer, with the key that was sent (shown once, to whoever rotated it)."""

    result: CommandResult
    key: str

    @property
    def taken(self) -> bool:
        """The station took the key (now or from its next start)."""
        return self.result.payload.get("status") in _KEY_TAKEN


class CommandService:
    def __init__(
        self,
        link: StationLink,
        stations: StationRepository,
        default_timeout: float = 30,
        *,
        uow: UnitOfWork,
        clock: Clock,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.link = link
        self.stations = stations
        self.default_timeout = default_timeout
        # Stations with a key change in flight from here; the offer's expectation in the store
        # guards the same against other processes between reading the station and offering.
        self._handing_over: set[str] = set()

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
        catalogue = self.link.catalogue(station_id)
        try:
            action = catalogue.action(action)
        except ValueError as exc:
            raise InvalidCommand(str(exc)) from exc
        kind = catalogue.kind(action)
        if kind in NOT_WHILE_PENDING:
            record = record or await self.stations.get(station_id)
            if record is not None and not allowed_for(kind, record.registration):
                raise StationPending(
                    _(
                        "station %(id)s is %(registration)s: %(action)s is not allowed until "
                        "an operator claims it"
                    )
                    % {
                        "id": station_id,
                        "registration": terms.registration(record.registration.value),
                        "action": action,
                    }
                )
        if payload is None:
            payload = catalogue.default_payload(action) or {}
        offer = catalogue.key_offer(action, payload)
        try:
            if offer is not None:
                result = await self._hand_over_key(
                    station_id, action, payload, offer, timeout or self.default_timeout
                )
            else:
                result = await self.link.call(
                    station_id, action, payload, timeout or self.default_timeout
                )
        except CommandError as exc:
            await self._answered(station_id, action, exc.kind, None, actor)
            raise
        status = result.payload.get("status")
        await self._answered(
            station_id, action, "answered", status if isinstance(status, str) else None, actor
        )
        return result

    async def _answered(
        self, station_id: str, action: str, outcome: str, status: str | None, actor: Actor
    ) -> None:
        """Tells that a command got its answer (or why none). The command is sent whatever
        happens here: a database away loses this event, not the station's answer."""
        event = CommandAnswered(
            occurred_at=self.clock.now(),
            station_id=station_id,
            action=action,
            outcome=outcome,
            status=status[:64] if status else None,
            actor=None if actor is PLATFORM else actor.username,
        )
        try:
            async with self.uow() as changes:
                changes.emit(event)
        except Exception as exc:
            log.warning("%s: %s answered, its event not stored: %s", station_id, action, exc)

    async def perform(
        self,
        station_id: str,
        command: Command,
        timeout: float | None = None,
        *,
        actor: Actor = PLATFORM,
    ) -> CommandResult:
        """``command`` in the words of the station's protocol version, sent as ``send`` does."""
        try:
            action, payload = self.link.catalogue(station_id).encode(command)
        except ValueError as exc:
            raise InvalidCommand(str(exc)) from exc
        return await self.send(station_id, action, payload, timeout, actor=actor)

    def catalogue(self, station_id: str) -> ProtocolCatalogue:
        """The commands the station's protocol version takes (``StationLink.catalogue``)."""
        return self.link.catalogue(station_id)

    async def change_key(
        self,
        station_id: str,
        key: str,
        timeout: float | None = None,
        *,
        actor: Actor = PLATFORM,
    ) -> CommandResult:
        """Give the station ``key`` by the handover (see ``_hand_over_key``)."""
        action, payload = self.link.catalogue(station_id).key_change(key)
        return await self.send(station_id, action, payload, timeout, actor=actor)

    async def rotate_key(
        self, station_id: str, timeout: float | None = None, *, actor: Actor = PLATFORM
    ) -> KeyRotated:
        """A new random key for the station, handed over; the answer carries it (shown once)."""
        key = new_key()
        return KeyRotated(await self.change_key(station_id, key, timeout, actor=actor), key)

    async def _hand_over_key(
        self,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        offer: KeyOffer,
        timeout: float,
    ) -> CommandResult:
        """A new key for the station (OCPP 1.6: ChangeConfiguration ``AuthorizationKey``): the
        station's next connection must find its new key, and no answer may lock it out.

        The new key is stored beside the current one before it is sent, and opens the door as
        well from then on. Accepted: both stay valid until the station connects with the new
        one (the handshake then drops the old). Refused: only the current key stays. No answer
        in time, or the station gone before it answered: it may have taken the key (and say so
        too late), so the key stays offered beside the current one until the station connects
        with it or a later change replaces it. One change at a time per station."""
        value = offer.value
        problem = key_problem(value)
        if problem is not None:
            raise InvalidCommand(
                # Translators: the configuration key (AuthorizationKey) and what is wrong with it.
                _("%(key)s: %(problem)s") % {"key": AUTHORIZATION_KEY, "problem": problem},
                code="PropertyConstraintViolation",
            )
        assert isinstance(value, str)
        if not self.link.is_connected(station_id):
            raise StationOffline(
                _("station %(id)s is not connected: its key can only change while it is")
                % {"id": station_id}
            )
        if station_id in self._handing_over:
            raise _busy(station_id)
        self._handing_over.add(station_id)
        try:
            return await self._offer_and_send(station_id, value, action, payload, timeout)
        finally:
            self._handing_over.discard(station_id)

    async def _offer_and_send(
        self, station_id: str, value: str, action: str, payload: dict[str, Any], timeout: float
    ) -> CommandResult:
        record = await self.stations.get(station_id)
        if record is None:
            raise StationOffline(_("no station %(id)s") % {"id": station_id})
        if record.key_change is KeyChange.ACCEPTED:
            raise InvalidCommand(
                _(
                    "station %(id)s accepted a new key and has not connected with it yet: a new "
                    "change now could leave it with a key the platform no longer knows (reset "
                    "it, or wait for its reconnection)"
                )
                % {"id": station_id}
            )
        # A key still offered from a change that got no answer may be on the station already:
        # this change replaces it, and puts it back if the station refuses this one.
        replacing = record.pending_password_hash
        hashed = hash_station_password(value)
        if not await self.stations.offer_key(station_id, hashed, replacing=replacing):
            raise _busy(station_id)
        try:
            result = await self.link.call(station_id, action, payload, timeout)
        except (StationOffline, CommandTimeout):
            raise
        except CommandError:
            await self.stations.withdraw_key(station_id, hashed, restore=replacing)
            raise
        if result.payload.get("status") in _KEY_TAKEN:
            await self.stations.key_accepted(station_id, hashed)
        else:
            await self.stations.withdraw_key(station_id, hashed, restore=replacing)
        return result

    def is_connected(self, station_id: str) -> bool:
        return self.link.is_connected(station_id)


def _busy(station_id: str) -> KeyChangeBusy:
    return KeyChangeBusy(
        _("station %(id)s: another key change is under way; try again once it is answered")
        % {"id": station_id}
    )
