"""Whitelists (free charging) and discount lists (a set price) per station or station group, and
their synchronisation to the stations' OCPP local authorization lists, so that they hold while a
station is cut off from the platform.

A station's local list holds every card on the lists that cover it as Accepted, and the cards it
held before that have since been blocked, lost or expired with that status, so an offline station
refuses them too. Changes go out as differential updates; a full update replaces the list whenever
the station's version is not the one we last confirmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy.exc import IntegrityError

from voltflow.domain.access import Actor, Permission
from voltflow.domain.authorization import normalize_uid
from voltflow.domain.cards import CardState
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import ListFilter
from voltflow.domain.records import (
    CardInvitation,
    ListDetail,
    ListRow,
    LocalListState,
    StationGroup,
    StationGroupDetail,
)
from voltflow.i18n import _, terms
from voltflow.services.access import require, require_found, scope_of
from voltflow.services.audit import AuditTrail
from voltflow.services.cards import UNUSABLE
from voltflow.services.commands import CommandService
from voltflow.services.ports import Clock, CommandError, UnitOfWork
from voltflow.services.units import use_case
from voltflow.store.lists import ListRepository
from voltflow.store.stations import StationRepository

log = logging.getLogger(__name__)
P = Permission
# What an OCPP 1.6 idTag can be once normalised (``normalize_uid``): up to 20 characters.
TAG = re.compile(r"^[0-9A-Z]{1,20}$")
BOOT_SETTLE_SECONDS = 1.0

_LOCAL_STATUS = {
    CardState.ACTIVE: "Accepted",
    CardState.BLOCKED: "Blocked",
    CardState.LOST: "Blocked",
    CardState.EXPIRED: "Expired",
}


class ListKind(enum.StrEnum):
    WHITELIST = "whitelist"
    DISCOUNT = "discount"


class ListError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ListNotFound(LookupError):
    """What was not found, said as a whole sentence ("no list 5") in the language of the
    moment."""


@dataclass(frozen=True, slots=True)
class CardsAdded:
    added: list[str]  # now on the list
    invited: list[str]  # guests' cards: on the list once their holder accepts


@dataclass(frozen=True, slots=True)
class SyncResult:
    station_id: str
    outcome: str  # "full", "differential", "unchanged", "offline", "failed"
    version: int | None = None
    detail: str | None = None


def desired_entries(
    listed: dict[str, str], held: dict[str, str], states: dict[str, str]
) -> dict[str, str]:
    """What the station's local list should hold, from the cards listed for it (uid → state),
    what it holds now (uid → status) and the current state of the cards it holds."""
    out: dict[str, str] = {}
    for uid, state in listed.items():
        if _LOCAL_STATUS.get(CardState(state)) == "Accepted":
            out[uid] = "Accepted"
    for uid in held:
        current = states.get(uid)
        status = _LOCAL_STATUS.get(CardState(current)) if current else None
        if uid not in out and status in ("Blocked", "Expired"):
            out[uid] = status  # keep refusing it offline
    return out


def differential(held: dict[str, str], wanted: dict[str, str]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = [
        {"idTag": uid, "idTagInfo": {"status": status}}
        for uid, status in sorted(wanted.items())
        if held.get(uid) != status
    ]
    # An entry without idTagInfo removes the card from the station's list (OCPP 1.6 §5.15).
    changes += [{"idTag": uid} for uid in sorted(held) if uid not in wanted]
    return changes


class LocalList(NamedTuple):
    """A station's local list as last pushed: its record (version, when confirmed, the last
    error; None before the first push) and its entries, uid → status."""

    stored: LocalListState | None
    entries: dict[str, str]


class ListService:
    def __init__(
        self,
        lists: ListRepository,
        stations: StationRepository,
        commands: CommandService,
        audit: AuditTrail,
        clock: Clock,
        *,
        uow: UnitOfWork,
    ) -> None:
        self.uow = uow
        self.repo = lists
        self.stations = stations
        self.commands = commands
        self.audit = audit
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[SyncResult]] = set()

    # -- groups ----------------------------------------------------------------------------------
    @use_case
    async def create_group(
        self, actor: Actor, organisation_id: int, name: str, station_ids: Sequence[str] = ()
    ) -> StationGroupDetail:
        require(actor, P.LISTS_WRITE, organisation_id)
        name = name.strip()
        if not 1 <= len(name) <= 120:
            raise ListError(_("name: 1–120 characters"), "name")
        await self._check_stations(organisation_id, station_ids)
        try:
            group_id = await self.repo.add_group(organisation_id, name, self.clock.now())
        except IntegrityError as exc:
            raise ListError(
                _("a group named %(name)s exists already") % {"name": repr(name)}, "name"
            ) from exc
        await self.repo.set_group_members(group_id, list(station_ids))
        await self.audit.record(
            actor, "group.create", "station_group", group_id, organisation_id, {"name": name}
        )
        group = await self.repo.get_group(group_id)
        assert group is not None
        return group

    @use_case
    async def set_group_stations(
        self, actor: Actor, group_id: int, station_ids: Sequence[str]
    ) -> StationGroupDetail:
        group = require_found(
            actor,
            P.LISTS_WRITE,
            await self.repo.get_group(group_id),
            lambda: ListNotFound(_("no group %(id)s") % {"id": group_id}),
        )
        await self._check_stations(group.organisation_id, station_ids)
        await self.repo.set_group_members(group_id, list(station_ids))
        await self.audit.record(
            actor,
            "group.set_stations",
            "group",
            group_id,
            group.organisation_id,
            {"stations": list(station_ids)},
        )
        self.schedule(set(group.stations) | set(station_ids))
        updated = await self.repo.get_group(group_id)
        assert updated is not None
        return updated

    async def groups(self, actor: Actor) -> list[StationGroup]:
        """The groups the person may see, without their stations (``group`` has them)."""
        return await self.repo.groups(scope_of(actor, P.STATIONS_READ))

    async def group(self, actor: Actor, group_id: int) -> StationGroupDetail:
        """A group with its stations."""
        return require_found(
            actor,
            P.STATIONS_READ,
            await self.repo.get_group(group_id),
            lambda: ListNotFound(_("no group %(id)s") % {"id": group_id}),
        )

    async def _check_stations(self, organisation_id: int, station_ids: Iterable[str]) -> None:
        for station_id in station_ids:
            record = await self.stations.get(station_id)
            if record is None or record.organisation_id != organisation_id:
                raise ListError(
                    _("station %(id)s does not belong to this organisation") % {"id": station_id},
                    "station_ids",
                )

    # -- lists ------------------------------------------------------------------------------------
    @use_case
    async def create_list(
        self,
        actor: Actor,
        organisation_id: int,
        kind: ListKind,
        name: str,
        *,
        station_id: str | None = None,
        group_id: int | None = None,
        tariff_ref: str | None = None,
    ) -> ListDetail:
        require(actor, P.LISTS_WRITE, organisation_id)
        name = name.strip()
        if not 1 <= len(name) <= 120:
            raise ListError(_("name: 1–120 characters"), "name")
        if (station_id is None) == (group_id is None):
            raise ListError(_("give either a station or a station group"), "station_id")
        if station_id is not None:
            await self._check_stations(organisation_id, [station_id])
        if group_id is not None:
            group = await self.repo.get_group(group_id)
            if group is None or group.organisation_id != organisation_id:
                raise ListError(
                    _("group %(id)s does not belong to this organisation") % {"id": group_id},
                    "group_id",
                )
        if kind is ListKind.DISCOUNT and not tariff_ref:
            raise ListError(_("a discount list needs the tariff it charges"), "tariff_ref")
        if kind is ListKind.WHITELIST and tariff_ref:
            raise ListError(_("a whitelist charges nothing: no tariff"), "tariff_ref")
        list_id = await self.repo.add_list(
            {
                "organisation_id": organisation_id,
                "kind": kind.value,
                "name": name,
                "station_id": station_id,
                "group_id": group_id,
                "tariff_ref": tariff_ref,
                "created_at": self.clock.now(),
            }
        )
        await self.audit.record(
            actor, "list.create", "list", list_id, organisation_id, {"name": name, "kind": kind}
        )
        return await self.get(actor, list_id)

    async def get(self, actor: Actor, list_id: int) -> ListDetail:
        return require_found(
            actor,
            P.STATIONS_READ,
            await self.repo.get_list(list_id),
            lambda: ListNotFound(_("no list %(id)s") % {"id": list_id}),
        )

    async def on_stations(self, actor: Actor, list_id: int) -> dict[str, LocalList]:
        """For each station the list covers (its own, or its group's), what the station's local
        list holds as last pushed: the version the station confirmed and the entries."""
        found = await self.get(actor, list_id)
        covered: list[str] = []
        if found.station_id is not None:
            covered = [found.station_id]
        elif found.group_id is not None:
            # Read with the list's own permission: a group's stations are the list's.
            group = await self.repo.get_group(found.group_id)
            covered = list(group.stations) if group else []
        held: dict[str, LocalList] = {}
        for station_id in covered:
            stored, entries = await self.repo.local_list(station_id)
            held[station_id] = LocalList(stored, entries)
        return held

    async def search(self, actor: Actor, filters: ListFilter, page: PageRequest) -> Page[ListRow]:
        return await self.repo.page(filters, page, within=scope_of(actor, P.STATIONS_READ))

    @use_case
    async def add_cards(self, actor: Actor, list_id: int, uids: Sequence[str]) -> CardsAdded:
        """Puts the list's organisation's own cards (distributed to it, or held by its people) on
        the list, and invites the others: a guest's card joins once its holder accepts. To whoever
        is not an operator, a uid naming another's card, or no card at all, is answered alike (an
        invitation, nothing about the card), so that the answer tells nothing of others' cards."""
        found = await self._writable(actor, list_id)
        organisation_id = found.organisation_id
        wanted = list(dict.fromkeys(normalize_uid(u) for u in uids))
        bad = [u for u in wanted if not TAG.match(u)]
        if bad:
            raise ListError(
                _("not card uids (1–20 letters or digits): %(uids)s")
                % {"uids": ", ".join(bad)[:200]},
                "uids",
            )
        known = await self.repo.holders(wanted)
        if actor.is_operator:
            unknown = [u for u in wanted if u not in known]
            if unknown:
                raise ListError(_("unknown cards: %(uids)s") % {"uids": ", ".join(unknown)}, "uids")
            own = wanted
        else:
            people = await self.repo.members(organisation_id)
            # The organisation's cards, and the cards its people hold (an employee's household
            # card). Only of the organisation's own is a state told: a card its person holds for
            # another organisation that cannot charge is invited like a guest's, unremarked.
            own = [
                u
                for u in wanted
                if u in known
                and (
                    known[u]["organisation_id"] == organisation_id
                    or (known[u]["driver_id"] in people and known[u]["state"] not in UNUSABLE)
                )
            ]
        guests = [u for u in wanted if u not in set(own)]
        unusable = [u for u in own if known[u]["state"] in UNUSABLE]
        if unusable:
            raise ListError(
                _("cards that cannot charge: %(uids)s") % {"uids": ", ".join(unusable)}, "uids"
            )
        now = self.clock.now()
        added = await self.repo.add_cards(list_id, own, now) if own else []
        invited = await self.repo.invite(list_id, guests, now) if guests else []
        if added:
            await self.audit.record(
                actor, "list.add_cards", "list", list_id, organisation_id, {"uids": added}
            )
            self.schedule(await self.repo.stations_of_lists([list_id]))
        if invited:
            await self.audit.record(
                actor, "list.invite_cards", "list", list_id, organisation_id, {"uids": invited}
            )
        return CardsAdded(added, invited)

    # -- a holder's answer to an invitation -----------------------------------------------------
    async def invitations(self, actor: Actor) -> list[CardInvitation]:
        """Pending invitations of the cards ``actor`` holds: as their driver, or as the fleet
        manager of the organisation they belong to (operators: all)."""
        as_driver = actor.scopes is None or P.CARDS_READ in actor.scopes
        return await self.repo.invitations(
            within=scope_of(actor, P.CARDS_WRITE), driver_id=actor.user_id if as_driver else None
        )

    @use_case
    async def answer(self, actor: Actor, list_id: int, uid: str, *, accept: bool) -> None:
        uid = normalize_uid(uid)
        pending = await self.repo.invitation(list_id, uid)
        if pending is None or not self._holds(actor, pending):
            raise ListNotFound(
                _("no invitation of card %(uid)s to list %(id)s") % {"uid": uid, "id": list_id}
            )
        if accept and pending["state"] in UNUSABLE:
            # Told to the card's holder, who knows its state: a blocked card joins no list.
            raise ListError(
                _("card %(uid)s cannot charge (%(state)s)")
                % {"uid": uid, "state": terms.card_state(pending["state"]).lower()},
                "uid",
            )
        if not await self.repo.answer_invitation(list_id, uid, accept=accept, now=self.clock.now()):
            raise ListNotFound(
                _("no invitation of card %(uid)s to list %(id)s") % {"uid": uid, "id": list_id}
            )
        await self.audit.record(
            actor,
            "list.accept_card" if accept else "list.decline_card",
            "list",
            list_id,
            pending["organisation_id"],
            {"uid": uid},
        )
        if accept:
            self.schedule(await self.repo.stations_of_lists([list_id]))

    @staticmethod
    def _holds(actor: Actor, card: dict[str, Any]) -> bool:
        """The card's driver (a driver answers for their own card), or who may change the cards
        of the organisation it belongs to."""
        scopes = actor.scopes
        if card["driver_id"] == actor.user_id and (scopes is None or P.CARDS_READ in scopes):
            return True
        organisation_id = card["organisation_id"]
        within = scope_of(actor, P.CARDS_WRITE)
        return within is None or (organisation_id is not None and organisation_id in within)

    @use_case
    async def remove_cards(self, actor: Actor, list_id: int, uids: Sequence[str]) -> int:
        found = await self._writable(actor, list_id)
        wanted = [normalize_uid(u) for u in uids]
        removed = await self.repo.remove_cards(list_id, wanted)
        await self.audit.record(
            actor, "list.remove_cards", "list", list_id, found.organisation_id, {"uids": wanted}
        )
        self.schedule(await self.repo.stations_of_lists([list_id]))
        return removed

    async def _writable(self, actor: Actor, list_id: int) -> ListDetail:
        return require_found(
            actor,
            P.LISTS_WRITE,
            await self.repo.get_list(list_id),
            lambda: ListNotFound(_("no list %(id)s") % {"id": list_id}),
        )

    async def whitelisted(self, station_id: str, uid: str) -> bool:
        """Whether the card is on a whitelist that covers the station (free charging)."""
        return uid in await self.repo.listed_cards(station_id, ListKind.WHITELIST.value)

    # -- cards changing state (CardListener) ------------------------------------------------------
    async def cards_changed(self, uids: Sequence[str], unusable: Sequence[str]) -> None:
        lists = await self.repo.lists_with_cards(uids)
        affected = await self.repo.stations_of_lists(lists)
        if unusable:
            affected |= await self.repo.stations_with_entries(unusable)
            await self.repo.remove_everywhere(unusable)
        self.schedule(affected)

    # -- stations coming online (StationListener) ---------------------------------------
    async def station_booted(self, station_id: str) -> None:
        """A station that (re)booted may have lost its list, or missed changes while offline.
        Stations that no list covers, and that hold none of ours, are left alone."""

        async def later() -> SyncResult:
            # After the BootNotification answer has reached the station: it may not be sent
            # requests before it knows it is accepted. The reads wait too, off the boot's path.
            await asyncio.sleep(BOOT_SETTLE_SECONDS)
            if not await self.repo.concerned(station_id):
                return SyncResult(station_id, "unchanged")
            return await self.sync_station(station_id)

        self._track(asyncio.create_task(later(), name=f"local-list-boot-{station_id}"))

    # -- synchronisation -----------------------------------------------------------------------
    def schedule(self, station_ids: Iterable[str]) -> None:
        """Pushes the stations' lists, once the change in hand has committed: a push that read
        the lists before would send them as they were."""
        changes = self.uow.current()
        if changes is not None:
            wanted = list(station_ids)
            changes.after_commit(lambda: self.schedule(wanted))
            return
        for station_id in station_ids:
            self._track(
                asyncio.create_task(self.sync_station(station_id), name=f"local-list-{station_id}")
            )

    def _track(self, task: asyncio.Task[SyncResult]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[SyncResult]) -> None:
        # Nobody awaits these: a failure (the database down at a boot storm, say) is logged here,
        # in one line, instead of as an unretrieved exception with its traceback per station.
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("%s failed: %s", task.get_name(), str(exc).split("\n", 1)[0])

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def sync_now(self, actor: Actor, station_id: str) -> SyncResult:
        """An operator's or owner's "push the list now"."""
        record = await self.stations.get(station_id)
        require(
            actor,
            P.LISTS_WRITE,
            record.organisation_id if record else None,
            missing=lambda: ListNotFound(_("no station %(id)s") % {"id": station_id}),
            exists=record is not None,
        )
        return await self.sync_station(station_id)

    async def sync_station(self, station_id: str) -> SyncResult:
        lock = self._locks.setdefault(station_id, asyncio.Lock())
        async with lock:
            try:
                return await self._sync(station_id)
            except CommandError as exc:
                if exc.kind == "offline":
                    return SyncResult(station_id, "offline")
                await self.repo.note_sync_error(station_id, exc.message)
                return SyncResult(station_id, "failed", detail=exc.message)

    async def _sync(self, station_id: str) -> SyncResult:
        if not self.commands.is_connected(station_id):
            return SyncResult(station_id, "offline")
        stored, held = await self.repo.local_list(station_id)
        listed = await self.repo.listed_cards(station_id)
        states = await self.repo.card_states(held)
        wanted = desired_entries(listed, held, states)
        answer = await self.commands.send(station_id, "GetLocalListVersion", {})
        station_version = int(answer.payload.get("listVersion", -1))
        if station_version < 0:
            await self.repo.note_sync_error(station_id, "station has no local authorization list")
            return SyncResult(station_id, "failed", detail="local list not supported")
        known = stored.confirmed_version if stored else None
        if known is not None and station_version == known:
            changes = differential(held, wanted)
            if not changes:
                return SyncResult(station_id, "unchanged", known)
            result = await self._send(station_id, known + 1, "Differential", changes)
            if result.outcome == "differential":
                await self.repo.store_local_list(station_id, known + 1, wanted, self.clock.now())
                return result
            if not (result.detail or "").endswith("VersionMismatch"):
                return result
        version = max(station_version, known or 0) + 1
        entries = [
            {"idTag": uid, "idTagInfo": {"status": status}}
            for uid, status in sorted(wanted.items())
        ]
        result = await self._send(station_id, version, "Full", entries)
        if result.outcome == "full":
            await self.repo.store_local_list(station_id, version, wanted, self.clock.now())
        return result

    async def _send(
        self, station_id: str, version: int, kind: str, entries: list[dict[str, Any]]
    ) -> SyncResult:
        payload: dict[str, Any] = {"listVersion": version, "updateType": kind}
        if entries:
            payload["localAuthorizationList"] = entries
        answer = await self.commands.send(station_id, "SendLocalList", payload)
        status = answer.payload.get("status")
        if status == "Accepted":
            return SyncResult(station_id, kind.lower(), version)
        detail = f"SendLocalList {kind} v{version}: {status}"
        await self.repo.note_sync_error(station_id, detail)
        return SyncResult(station_id, "failed", version, detail)
