"""Charging cards: stock import, hand-out to distributors, assignment to drivers, activation,
blocking; every step recorded with who and when."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from voltflow.domain.access import Actor, OrganisationKind, Permission, Role
from voltflow.domain.authorization import normalize_uid
from voltflow.domain.cards import CardAction, CardState, IllegalTransition, next_state
from voltflow.domain.emaid import Emaid, EmaidError, parse_emaid
from voltflow.domain.events import CardChanged
from voltflow.domain.mail import CardBlocked
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import CardFilter
from voltflow.domain.records import Card, CardDetail
from voltflow.i18n import _, ngettext
from voltflow.i18n.refusals import emaid_error, illegal_transition
from voltflow.services.access import Forbidden, require, require_found, scope_of
from voltflow.services.audit import AuditTrail
from voltflow.services.mail import MailService
from voltflow.services.ports import Clock, UnitOfWork
from voltflow.services.units import use_case
from voltflow.store.cards import CardRepository, event_row
from voltflow.store.organisations import MembershipRepository, OrganisationRepository
from voltflow.store.search import LONGEST

P = Permission
UID = re.compile(r"^[0-9A-F]{4,20}$")
PRINTED = re.compile(r"^[A-Za-z0-9\-]{1,32}$")
UNUSABLE = frozenset({CardState.BLOCKED, CardState.LOST, CardState.EXPIRED})
_CARD_FIELDS = tuple(Card.__dataclass_fields__)


class CardError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CardNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class ImportProblem:
    row: int  # line of the file, the header being line 1
    column: str
    message: str

    def __str__(self) -> str:
        return _("row %(row)s, column %(column)s: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


class ImportRejected(ValueError):
    def __init__(self, problems: list[ImportProblem]) -> None:
        shown = "; ".join(str(p) for p in problems[:5])
        if len(problems) > 5:
            more = len(problems) - 5
            message = ngettext(
                "nothing imported: %(problems)s (and %(n)s more)",
                "nothing imported: %(problems)s (and %(n)s more)",
                more,
            ) % {"problems": shown, "n": more}
        else:
            message = _("nothing imported: %(problems)s") % {"problems": shown}
        super().__init__(message)
        self.problems = problems


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)


class CardListener(Protocol):
    """Told when cards change state, so that station lists follow (blocked cards leave them)."""

    async def cards_changed(self, uids: Sequence[str], unusable: Sequence[str]) -> None: ...


class CardService:
    def __init__(
        self,
        cards: CardRepository,
        organisations: OrganisationRepository,
        memberships: MembershipRepository,
        audit: AuditTrail,
        clock: Clock,
        *,
        uow: UnitOfWork,
        emaid_prefix: str = "BE-VFL",
        timezone: str = "Europe/Brussels",
        mail: MailService | None = None,
    ) -> None:
        self.uow = uow
        self.repo = cards
        self.organisations = organisations
        self.memberships = memberships
        self.audit = audit
        self.clock = clock
        self.emaid_prefix = emaid_prefix.replace("-", "").upper()
        self.zone = ZoneInfo(timezone)
        self.listeners: list[CardListener] = []
        # A blocked card's holder is told by mail (with the change: not blocked, no mail).
        self.mail = mail

    def today(self) -> date:
        return self.clock.now().astimezone(self.zone).date()

    # -- reading ---------------------------------------------------------------------------------
    async def get(self, actor: Actor, uid: str) -> CardDetail:
        card = await self.repo.get(normalize_uid(uid))
        if card is None or card.driver_id != actor.user_id:
            require(
                actor,
                P.CARDS_READ,
                card.organisation_id if card else None,
                missing=lambda: CardNotFound(uid),
                exists=card is not None,
            )
        assert card is not None
        return CardDetail(
            **{f: getattr(card, f) for f in _CARD_FIELDS},
            history=await self.repo.history(card.uid),
        )

    async def search(self, actor: Actor, filters: CardFilter, page: PageRequest) -> Page[Card]:
        if filters.q is not None and len(filters.q) > LONGEST:
            raise CardError(_("q: at most %(n)s characters") % {"n": LONGEST}, "q")
        within = scope_of(actor, P.CARDS_READ)
        return await self.repo.page(
            filters,
            page,
            within=within,
            driver_id=actor.user_id if within is not None else None,
        )

    # -- stock -------------------------------------------------------------------------------------
    @use_case
    async def import_csv(self, actor: Actor, text: str) -> list[str]:
        """Import cards into stock from CSV with columns ``uid``, ``printed_number`` and an
        optional ``contract_id`` (eMAID; made from the platform's prefix when absent). Any bad row
        rejects the whole file, naming the row and the column."""
        require(actor, P.CARD_STOCK, None)
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        header = [h.strip() for h in (reader.fieldnames or [])]
        problems: list[ImportProblem] = []
        for needed in ("uid", "printed_number"):
            if needed not in header:
                problems.append(ImportProblem(1, needed, _("column missing from the header")))
        unknown = [h for h in header if h not in ("uid", "printed_number", "contract_id")]
        for h in unknown:
            problems.append(
                ImportProblem(1, h, _("unknown column (expected uid, printed_number, contract_id)"))
            )
        if problems:
            raise ImportRejected(problems)
        rows: list[dict[str, Any]] = []
        seen: dict[str, dict[str, int]] = {"uid": {}, "printed_number": {}, "contract_id": {}}
        for line, raw in enumerate(reader, start=2):
            record = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            if None in raw:
                problems.append(ImportProblem(line, "-", _("more fields than columns")))
                continue
            if not any(record.values()):
                continue
            uid = normalize_uid(record.get("uid", ""))
            if not UID.match(uid):
                problems.append(
                    ImportProblem(
                        line,
                        "uid",
                        _("%(uid)s is not an RFID uid (4–20 hex digits)")
                        % {"uid": repr(record.get("uid"))},
                    )
                )
            printed = record.get("printed_number", "")
            if not PRINTED.match(printed):
                problems.append(
                    ImportProblem(
                        line,
                        "printed_number",
                        _("%(number)s: 1–32 letters, digits or -") % {"number": repr(printed)},
                    )
                )
            contract = record.get("contract_id", "")
            compact = None
            if contract:
                try:
                    compact = parse_emaid(contract).compact
                except EmaidError as exc:
                    problems.append(ImportProblem(line, "contract_id", emaid_error(exc)))
            for column, value in (
                ("uid", uid),
                ("printed_number", printed),
                ("contract_id", compact),
            ):
                if value and value in seen[column]:
                    problems.append(
                        ImportProblem(
                            line,
                            column,
                            _("%(value)s repeats row %(row)s")
                            % {"value": value, "row": seen[column][value]},
                        )
                    )
                elif value:
                    seen[column][value] = line
            rows.append(
                {"line": line, "uid": uid, "printed_number": printed, "contract_id": compact}
            )
        for column in ("uid", "printed_number", "contract_id"):
            taken = await self.repo.existing(column, [str(r[column]) for r in rows if r[column]])
            for r in rows:
                if r[column] and r[column] in taken:
                    problems.append(
                        ImportProblem(
                            r["line"],
                            column,
                            _("%(value)s is already in the platform") % {"value": r[column]},
                        )
                    )
        if problems:
            raise ImportRejected(sorted(problems, key=lambda p: (p.row, p.column)))
        await self._fill_contract_ids(rows)
        now = self.clock.now()
        cards_rows = [
            {
                "uid": r["uid"],
                "printed_number": r["printed_number"],
                "contract_id": r["contract_id"],
                "state": CardState.IN_STOCK.value,
                "organisation_id": None,
                "driver_id": None,
                "expires_at": None,
                "created_at": now,
                "updated_at": now,
            }
            for r in rows
        ]
        events = [
            event_row(
                r["uid"],
                "import",
                None,
                CardState.IN_STOCK.value,
                actor.user_id,
                actor.username,
                now,
            )
            for r in rows
        ]
        try:
            await self.repo.insert_many(cards_rows, events)
        except IntegrityError as exc:  # a concurrent import took one of them meanwhile
            raise ImportRejected(
                [
                    ImportProblem(
                        0,
                        "-",
                        _("conflict with cards stored meanwhile: %(error)s") % {"error": exc.orig},
                    )
                ]
            ) from exc
        await self.audit.record(actor, "card.import", "card", None, None, {"count": len(rows)})
        uids = tuple(r["uid"] for r in rows)
        self._emit(uids, "import", (CardState.IN_STOCK.value,) * len(uids), actor, now)
        return list(uids)

    def _emit(
        self,
        uids: tuple[str, ...],
        action: str,
        states: tuple[str, ...],
        actor: Actor,
        now: datetime,
    ) -> None:
        changes = self.uow.current()
        assert changes is not None, "cards change inside a use case"
        changes.emit(
            CardChanged(
                occurred_at=now, uids=uids, action=action, states=states, actor=actor.username
            )
        )

    async def _fill_contract_ids(self, rows: list[dict[str, Any]]) -> None:
        country, provider = self.emaid_prefix[:2], self.emaid_prefix[2:5]
        used = await self.repo.contract_ids_with_prefix(country + provider + "C")
        taken = {r["contract_id"] for r in rows if r["contract_id"]}
        counter = max((int(c[6:14]) for c in used if c[6:14].isdigit()), default=0)
        for r in rows:
            if r["contract_id"]:
                continue
            while True:
                counter += 1
                compact = Emaid(country, provider, f"C{counter:08d}").compact
                if compact not in taken:
                    break
            r["contract_id"] = compact

    # -- lifecycle -----------------------------------------------------------------------------
    @use_case
    async def distribute(
        self, actor: Actor, uids: Sequence[str], organisation_id: int
    ) -> BulkResult:
        """Hand cards from stock to a distributor: a company (B2B) or an installer (B2C)."""
        require(actor, P.CARD_STOCK, None)
        org = await self.organisations.get(organisation_id)
        if org is None or org.kind not in (OrganisationKind.COMPANY, OrganisationKind.INSTALLER):
            raise CardError(
                _("distributor: a company or an installer organisation"), "organisation_id"
            )
        return await self._apply(
            actor,
            uids,
            CardAction.DISTRIBUTE,
            {"organisation_id": organisation_id},
            detail=org.name,
        )

    @use_case
    async def return_to_stock(self, actor: Actor, uids: Sequence[str]) -> BulkResult:
        require(actor, P.CARD_STOCK, None)
        return await self._apply(actor, uids, CardAction.RETURN_TO_STOCK, {"organisation_id": None})

    @use_case
    async def assign(
        self, actor: Actor, uid: str, driver_id: int, organisation_id: int | None = None
    ) -> BulkResult:
        """Give a card to a driver. A company's cards go to its own drivers; an installer's go to
        a household's driver, and the household then holds the card."""
        card = require_found(
            actor, P.CARDS_WRITE, await self.repo.get(normalize_uid(uid)), lambda: CardNotFound(uid)
        )
        holder = card.organisation_id
        target = organisation_id or holder
        if holder is None or target is None:
            raise CardError(_("the card must be with a distributor first"), "uid")
        holder_org = await self.organisations.get(holder)
        target_org = await self.organisations.get(target)
        if holder_org is None or target_org is None:
            raise CardError(_("organisation not found"), "organisation_id")
        if holder_org.kind == OrganisationKind.COMPANY and target != holder:
            raise CardError(_("a company's cards go to its own drivers"), "organisation_id")
        if (
            holder_org.kind == OrganisationKind.INSTALLER
            and target_org.kind != OrganisationKind.HOUSEHOLD
        ):
            raise CardError(_("an installer's cards go to a household's driver"), "organisation_id")
        roles = {
            m.role for m in await self.memberships.of_user(driver_id) if m.organisation_id == target
        }
        if Role.DRIVER not in roles:
            raise CardError(
                _("user %(user)s is not a driver of %(organisation)s")
                % {"user": driver_id, "organisation": target_org.name},
                "driver_id",
            )
        return await self._apply(
            actor,
            [uid],
            CardAction.ASSIGN,
            {"driver_id": driver_id, "organisation_id": target},
            detail=f"driver {driver_id}",
        )

    @use_case
    async def unassign(self, actor: Actor, uids: Sequence[str]) -> BulkResult:
        return await self._apply(actor, uids, CardAction.UNASSIGN, {"driver_id": None})

    @use_case
    async def activate(
        self, actor: Actor, uids: Sequence[str], expires_at: datetime | None = None
    ) -> BulkResult:
        values: dict[str, Any] = {"expires_at": expires_at} if expires_at else {}
        return await self._apply(actor, uids, CardAction.ACTIVATE, values)

    @use_case
    async def block(
        self, actor: Actor, uids: Sequence[str], reason: str | None = None
    ) -> BulkResult:
        return await self._apply(actor, uids, CardAction.BLOCK, {}, detail=reason)

    @use_case
    async def unblock(self, actor: Actor, uids: Sequence[str]) -> BulkResult:
        return await self._apply(actor, uids, CardAction.UNBLOCK, {})

    @use_case
    async def report_lost(self, actor: Actor, uids: Sequence[str]) -> BulkResult:
        return await self._apply(actor, uids, CardAction.REPORT_LOST, {})

    @use_case
    async def expire(self, actor: Actor, uids: Sequence[str]) -> BulkResult:
        return await self._apply(actor, uids, CardAction.EXPIRE, {})

    async def apply_action(
        self, actor: Actor, action: CardAction, uids: Sequence[str], **kwargs: Any
    ) -> BulkResult:
        """The bulk entry the API, console and CLI share."""
        if action is CardAction.DISTRIBUTE:
            if kwargs.get("organisation_id") is None:
                raise CardError(
                    _("organisation_id: the distributor to hand the cards to"), "organisation_id"
                )
            return await self.distribute(actor, uids, int(kwargs["organisation_id"]))
        if action is CardAction.ASSIGN:
            if len(uids) != 1:
                raise CardError(_("assign one card at a time"), "uids")
            if kwargs.get("driver_id") is None:
                raise CardError(_("driver_id: the driver to assign the card to"), "driver_id")
            return await self.assign(
                actor, uids[0], int(kwargs["driver_id"]), kwargs.get("organisation_id")
            )
        if action is CardAction.RETURN_TO_STOCK:
            return await self.return_to_stock(actor, uids)
        if action is CardAction.ACTIVATE:
            return await self.activate(actor, uids, kwargs.get("expires_at"))
        if action is CardAction.BLOCK:
            return await self.block(actor, uids, kwargs.get("reason"))
        simple = {
            CardAction.UNASSIGN: self.unassign,
            CardAction.UNBLOCK: self.unblock,
            CardAction.REPORT_LOST: self.report_lost,
            CardAction.EXPIRE: self.expire,
        }
        return await simple[action](actor, uids)

    @use_case
    async def _apply(
        self,
        actor: Actor,
        uids: Sequence[str],
        action: CardAction,
        values: dict[str, Any],
        *,
        detail: str | None = None,
    ) -> BulkResult:
        """Check every card first; any card that cannot take the step refuses the whole batch."""
        if not uids:
            raise CardError(_("no cards given"), "uids")
        wanted = [normalize_uid(u) for u in uids]
        found = await self.repo.many(wanted)
        missing = [u for u in wanted if u not in found]
        if missing:
            raise CardNotFound(", ".join(missing))
        now = self.clock.now()
        changes: list[tuple[str, dict[str, Any]]] = []
        events = []
        problems = []
        for uid in wanted:
            card = found[uid]
            permission = P.CARD_STOCK if card["organisation_id"] is None else P.CARDS_WRITE
            if action in (CardAction.DISTRIBUTE, CardAction.RETURN_TO_STOCK):
                permission = P.CARD_STOCK
            try:
                require(actor, permission, card["organisation_id"])
            except Forbidden:
                raise CardNotFound(uid) from None  # another organisation's card: not ours to name
            state = CardState(card["state"])
            try:
                target = next_state(state, action)
            except IllegalTransition as exc:
                problems.append(
                    # Translators: a card's uid and why it cannot take the step.
                    _("%(uid)s: %(problem)s") % {"uid": uid, "problem": illegal_transition(exc)}
                )
                continue
            changes.append((uid, {**values, "state": target.value, "updated_at": now}))
            events.append(
                event_row(
                    uid,
                    action.value,
                    state.value,
                    target.value,
                    actor.user_id,
                    actor.username,
                    now,
                    detail,
                )
            )
        if problems:
            raise CardError("; ".join(problems), "uids")
        await self.repo.apply(changes, events)
        orgs = {found[u]["organisation_id"] for u in wanted}
        for org in orgs:
            await self.audit.record(
                actor,
                f"card.{action.value}",
                "card",
                ",".join(wanted)[:64],
                org,
                {"uids": wanted, "detail": detail},
            )
        self._emit(
            tuple(uid for uid, _change in changes),
            action.value,
            tuple(str(change["state"]) for _uid, change in changes),
            actor,
            now,
        )
        if action is CardAction.BLOCK and self.mail is not None:
            for uid, _change in changes:
                card = found[uid]
                if card["driver_id"] is not None:
                    notice = CardBlocked(uid, card["printed_number"], now, detail)
                    await self.mail.to_person(
                        notice, card["driver_id"], organisation_id=card["organisation_id"]
                    )
        unusable = [uid for uid, change in changes if CardState(change["state"]) in UNUSABLE]
        for listener in self.listeners:
            await listener.cards_changed(wanted, unusable)
        return BulkResult(done=wanted)
