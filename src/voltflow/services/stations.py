"""Use cases around stations: register, claim, own, look up, read the message log.

Every method takes the acting person; the default, ``PLATFORM``, is the platform itself (the CLI
and internal callers), which holds the operator role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from voltflow.domain.access import PLATFORM, Actor, Permission
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import MessageFilter, StationFilter
from voltflow.domain.records import Connector, Frame, StationRecord, StationRow, StatusChange
from voltflow.domain.station_keys import (
    hash_station_password,
    new_key,
    verify_station_password,
)
from voltflow.domain.stations import Registration
from voltflow.i18n import _
from voltflow.i18n.refusals import key_problem
from voltflow.services.access import require, scope_of
from voltflow.services.ports import Clock, CommandError
from voltflow.store.frames import MessageLog
from voltflow.store.search import LONGEST
from voltflow.store.stations import StationRepository

if TYPE_CHECKING:
    from voltflow.services.commands import CommandService

P = Permission
# No ":" (OCPP 1.6 security profiles): HTTP Basic cannot carry it in the user name.
STATION_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class StationError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StationNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class NewStation:
    record: StationRecord
    password: str | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed station; for one that had no key, the key it was given (shown once) and what
    became of sending it."""

    record: StationRecord
    key: str | None = None
    delivery: str | None = None


class StationService:
    def __init__(
        self,
        stations: StationRepository,
        messages: MessageLog,
        clock: Clock,
        commands: CommandService | None = None,
    ) -> None:
        self.repo = stations
        self.messages = messages
        self.clock = clock
        # Reaches the stations to hand a new key over (claim); None where nothing can.
        self.commands = commands

    async def add(
        self,
        station_id: str,
        password: str | None = None,
        *,
        generate_password: bool = False,
        lenient: bool = False,
        actor: Actor = PLATFORM,
    ) -> NewStation:
        require(actor, P.STATIONS_WRITE, None)
        if not STATION_ID.match(station_id):
            raise StationError(
                _("station id: 1–64 characters of letters, digits and . _ -"), field="id"
            )
        if generate_password and password is None:
            password = new_key()
        if password is not None:
            _check_key(password)
        try:
            record = await self.repo.add(
                station_id, password, now=self.clock.now(), lenient=lenient
            )
        except IntegrityError as exc:
            raise StationError(
                _("station %(id)s already exists") % {"id": station_id}, field="id"
            ) from exc
        return NewStation(record, password)

    async def get(self, station_id: str, *, actor: Actor = PLATFORM) -> StationRecord:
        record = await self.repo.get(station_id)
        owner = record.organisation_id if record else None
        found = record is not None
        require(
            actor, P.STATIONS_READ, owner, missing=lambda: StationNotFound(station_id), exists=found
        )
        assert record is not None
        return record

    async def claim(self, station_id: str, *, actor: Actor = PLATFORM) -> Claimed:
        """Accept a station that registered itself and has been waiting.

        One that came without a key (security profile 0: anyone may connect under its id) is
        given one by the key handover: sent with ChangeConfiguration when it is connected
        here, or else kept for the installer to set on the station. Until the station connects
        with it, it is still let in without one, and shows as keyless."""
        record = await self.get(station_id, actor=actor)
        require(actor, P.STATIONS_WRITE, None)
        await self.repo.update(station_id, registration=Registration.ACCEPTED)
        if record.has_key:
            return Claimed(await self.get(station_id, actor=actor))
        key = new_key()
        if self.commands is not None and self.commands.is_connected(station_id):
            try:
                result = await self.commands.change_key(station_id, key, actor=actor)
            except CommandError as exc:
                # Translators: follows "its new key was" on the station's page.
                delivery = _("not taken (%(error)s)") % {"error": exc.message}
            else:
                # Translators: follows "its new key was" on the station's page.
                delivery = _("sent: the station answered %(status)s") % {
                    "status": result.payload.get("status")
                }
        else:
            await self.repo.offer_key(station_id, hash_station_password(key))
            # Translators: follows "its new key was" on the station's page.
            delivery = _(
                "not sent: the station is not connected here; set it as the station's "
                "AuthorizationKey, or rotate its key once it is online"
            )
        record = await self.get(station_id, actor=actor)
        kept = verify_station_password(key, record.pending_password_hash)
        return Claimed(record, key if kept else None, delivery)

    async def set_owner(
        self, actor: Actor, station_id: str, organisation_id: int | None
    ) -> StationRecord:
        """Link a station to the organisation that owns it (its lists, its people's access)."""
        require(actor, P.STATIONS_WRITE, None)
        await self.get(station_id, actor=actor)
        try:
            await self.repo.update(station_id, organisation_id=organisation_id)
        except IntegrityError as exc:
            raise StationError(
                _("no organisation %(id)s") % {"id": organisation_id}, field="organisation_id"
            ) from exc
        return await self.get(station_id, actor=actor)

    async def update(
        self, station_id: str, *, actor: Actor = PLATFORM, **values: Any
    ) -> StationRecord:
        await self.get(station_id, actor=actor)
        require(actor, P.STATIONS_WRITE, None)
        allowed = {"lenient", "registration", "password"}
        unknown = set(values) - allowed
        if unknown:
            raise StationError(
                _("cannot change %(fields)s") % {"fields": ", ".join(sorted(unknown))},
                field=sorted(unknown)[0],
            )
        if values.get("password") is not None:
            _check_key(values["password"])
        if values:  # an empty change (PATCH {}) changes nothing
            await self.repo.update(station_id, **values)
        return await self.get(station_id, actor=actor)

    async def search(
        self, filters: StationFilter, page: PageRequest, *, actor: Actor = PLATFORM
    ) -> Page[StationRow]:
        """Stations the person may see; with ``organisation_id``, those of that organisation.
        Each tells whether it is connected here now."""
        q = filters.q
        if q is not None and len(q) > LONGEST:
            raise StationError(_("q: at most %(n)s characters") % {"n": LONGEST}, field="q")
        within = scope_of(actor, P.STATIONS_READ)
        organisation_id = filters.organisation_id
        if organisation_id is not None:
            within = frozenset(
                {organisation_id} if within is None or organisation_id in within else ()
            )
        found = await self.repo.page(filters, page, within=within)
        if self.commands is None:
            return found
        link = self.commands
        return replace(
            found, items=[replace(s, connected=link.is_connected(s.id)) for s in found.items]
        )

    async def connectors(self, station_id: str, *, actor: Actor = PLATFORM) -> list[Connector]:
        await self.get(station_id, actor=actor)
        return await self.repo.connectors(station_id)

    async def status_history(
        self, station_id: str, limit: int = 50, *, actor: Actor = PLATFORM
    ) -> list[StatusChange]:
        await self.get(station_id, actor=actor)
        return await self.repo.status_history(station_id, limit)

    async def message_log(
        self, station_id: str, filters: MessageFilter, *, actor: Actor = PLATFORM
    ) -> list[Frame]:
        await self.get(station_id, actor=actor)
        return await self.messages.search(station_id, filters)


def _check_key(key: str) -> None:
    problem = key_problem(key)
    if problem is not None:
        raise StationError(_("password: %(problem)s") % {"problem": problem}, field="password")
