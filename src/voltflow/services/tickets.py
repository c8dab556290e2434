"""First-line service: the monitoring rules applied to what stations report, the sweep for what
no message tells (a station gone quiet, a public station nobody charges at), the remedies the
platform tries before a ticket goes to people, and people's use of the tickets.

``ServiceTickets`` consumes the station events after they commit (``services.events``), a
batch at a time: the stations' own messages never wait for it. ``Monitoring`` runs beside it in
the process that runs the consumers: a sweep every so often (a few set-based queries, not a
query per station) and the remedy runner, which sends each due remedy through the command
service and gives the condition time to clear before the next. ``TicketService`` is what the
API and the CLI call: lists by age, a ticket's detail, acknowledging and closing, and the
operator linking a station to its installer organisation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from voltflow.domain.access import Actor, OrganisationKind, Permission
from voltflow.domain.events import (
    CommandAnswered,
    ConnectorStatusChanged,
    DiagnosticsStatusChanged,
    Envelope,
    Event,
    FirmwareStatusChanged,
    StationBooted,
    StationConnected,
)
from voltflow.domain.monitoring import (
    CLEARED_CONNECTED,
    CLEARED_DIAGNOSTICS,
    CLEARED_FIRMWARE,
    CLEARED_QUIET,
    CLEARED_SESSION,
    STATUS_PREFIX,
    Decision,
    MonitoringSettings,
    Observation,
    Priority,
    Remedy,
    RemedyOutcome,
    Rule,
    Step,
    Ticket,
    TicketDetail,
    TicketFilter,
    TicketKey,
    TicketState,
    TicketStepRefused,
    cutoffs,
    evaluate,
    first_state,
    is_accepted_reset,
    next_remedy,
    remedy_command,
    remedy_outcome,
    stations_named,
)
from voltflow.domain.monitoring import acknowledge as acknowledged_state
from voltflow.domain.monitoring import close as closed_state
from voltflow.domain.paging import Page, PageRequest
from voltflow.i18n import _, pgettext
from voltflow.services.access import Forbidden, require, scope_of
from voltflow.services.audit import AuditTrail
from voltflow.services.commands import CommandService
from voltflow.services.ports import Clock, CommandError, UnitOfWork
from voltflow.services.stations import StationNotFound
from voltflow.store.tickets import (
    BOOT,
    RESET,
    ActiveTicket,
    NewTicket,
    Plan,
    PlannedTicket,
    TicketRepository,
)

log = logging.getLogger(__name__)
P = Permission


class TicketNotFound(LookupError):
    pass


class TicketError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# -- the rules, from the station events -----------------------------------------------------------


class ServiceTickets:
    """A consumer of the station events: the rules over each batch, then what they decided
    (tickets opened, occurrences added, tickets cleared) in the batch's transaction.

    Idempotent by itself: a ticket keeps the event that opened it, an occurrence and a boot
    theirs, and clearing a closed ticket changes nothing. So the delivery writes no receipt per
    event: on the status traffic of a whole fleet that would cost more than the rules."""

    name = "service-tickets"
    kinds = frozenset(
        {
            ConnectorStatusChanged.kind,
            StationConnected.kind,
            StationBooted.kind,
            FirmwareStatusChanged.kind,
            DiagnosticsStatusChanged.kind,
            CommandAnswered.kind,
        }
    )
    idempotent = True

    def __init__(
        self,
        repo: TicketRepository,
        settings: MonitoringSettings,
        uow: UnitOfWork,
        clock: Clock,
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.uow = uow
        self.clock = clock
        # Called once a batch that opened a ticket to remedy has committed (the runner's wake).
        self.remedies_due: Callable[[], None] = lambda: None

    async def handle(self, event: Event) -> None:
        await self.handle_many([event])

    async def handle_many(self, events: Sequence[Event]) -> None:
        await self._rules(events, await self.repo.active(stations_named(events)))

    async def handle_envelopes(self, envelopes: Sequence[Envelope]) -> None:
        """The batch as the outbox holds it. Most of a fleet's traffic is a connector going
        Available, Preparing, Charging … at a station with no active ticket, which no rule
        acts on: such a status is read from its text (its station, whether it is Faulted) and
        never decoded. One read of the active tickets of the batch's stations, and for most
        batches nothing else."""
        stations: set[str] = set()
        statuses: dict[str, str] = {}  # envelope id → station, of statuses read off their text
        opened: dict[str, Event] = {}
        for envelope in envelopes:
            if envelope.kind == ConnectorStatusChanged.kind:
                station = _station_of(envelope.payload)
                if station is not None and _FAULTED not in envelope.payload:
                    statuses[envelope.id] = station
                    stations.add(station)
                    continue
            event = opened[envelope.id] = envelope.open()
            station = getattr(event, "station_id", None)
            if isinstance(station, str):
                stations.add(station)
        active = await self.repo.active(stations)
        # A status matters at a station with an active ticket, or with a fault in this batch
        # (its recovery later in the batch clears the ticket the fault opens).
        watched = {key.station_id for key in active} | {
            e.station_id for e in opened.values() if isinstance(e, ConnectorStatusChanged)
        }
        events = []
        for envelope in envelopes:
            found = opened.get(envelope.id)
            if found is not None:
                events.append(found)
            elif statuses[envelope.id] in watched:
                events.append(envelope.open())
        await self._rules(events, active)

    async def _rules(self, events: Sequence[Event], active: dict[TicketKey, ActiveTicket]) -> None:
        boots = [
            (e.station_id, e.occurred_at, BOOT, e.id)
            for e in events
            if isinstance(e, StationBooted)
        ] + [
            (e.station_id, e.occurred_at, RESET, e.id)
            for e in events
            if isinstance(e, CommandAnswered) and is_accepted_reset(e)
        ]
        recent: dict[str, int] = {}
        if boots:
            recent = await self.repo.recent_boots(
                {b[0] for b in boots if b[2] == BOOT},
                self.clock.now() - self.settings.reboot_window,
                excluding=[b[3] for b in boots],
            )
            await self.repo.record_boots(boots)
        decisions = evaluate(events, active, recent, self.settings)
        if decisions:
            await self._apply(decisions, active)

    async def _apply(
        self, decisions: Sequence[Decision], active: dict[TicketKey, ActiveTicket]
    ) -> None:
        """The decisions, in order, as one plan for the store: a fault, its recovery and the
        fault again within one batch are a ticket, its close and a new one."""
        installers = await self.repo.installers(
            d.key.station_id for d in decisions if d.step is Step.OPEN
        )
        plan = Plan()
        existing = dict(active)
        fresh: dict[TicketKey, PlannedTicket] = {}
        for decision in decisions:
            key, seen = decision.key, decision.observation
            if decision.step is Step.CLEAR:
                assert decision.cleared_by is not None
                if key in fresh:
                    fresh.pop(key).cleared = (seen.at, decision.cleared_by)
                elif key in existing:
                    ended = existing.pop(key)
                    plan.clears.append((ended.id, seen.at, decision.cleared_by))
                    if ended.remedy_steps:
                        plan.remedied.add(ended.id)
            elif key in fresh:
                fresh[key].occurrences.append(seen)
            elif key in existing:
                if existing[key].event_id != seen.event_id:
                    plan.occurrences.append((existing[key].id, seen))
            elif key.station_id not in installers:
                log.warning("%s: no such station; its %s is not ticketed", key.station_id, key.rule)
            else:
                state = first_state(key)
                ticket = NewTicket(
                    seen,
                    self.settings.priority(key.rule),
                    state,
                    self.settings.respond_by(key.rule, seen.at),
                    # A fault often passes by itself (a self-test, a plug pulled mid-start):
                    # the first remedy waits as long as each gives the next.
                    seen.at + self.settings.remedy_wait if state is TicketState.REMEDYING else None,
                )
                fresh[key] = PlannedTicket(ticket, [seen])
                plan.new.append(fresh[key])
        opened = await self.repo.apply(plan, installers)
        if any(first_state(key) is TicketState.REMEDYING for key in opened):
            changes = self.uow.current()
            if changes is not None:
                changes.after_commit(self.remedies_due)
            else:  # pragma: no cover - the delivery always applies in a unit of work
                self.remedies_due()


# -- the sweep and the remedies -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SweepResult:
    opened: int
    cleared: int


# What a command error means for a remedy: no answer, or none that says it was taken.
_ERROR_OUTCOMES = {
    "offline": RemedyOutcome.OFFLINE,
    "timeout": RemedyOutcome.TIMEOUT,
    "callerror": RemedyOutcome.REJECTED,
}


class Monitoring:
    """The time-based rules (a sweep every ``sweep_every`` seconds) and the remedy runner (woken
    when a ticket to remedy opens, and when a wait ends)."""

    def __init__(
        self,
        repo: TicketRepository,
        commands: CommandService,
        clock: Clock,
        settings: MonitoringSettings,
        *,
        uow: UnitOfWork,
        sweep_every: float = 60.0,
        poll: float = 5.0,
    ) -> None:
        self.repo = repo
        self.commands = commands
        self.clock = clock
        self.settings = settings
        self.uow = uow
        self.sweep_every = sweep_every
        self.poll = poll
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_sweep: float | None = None
        # When this process started watching stations (``cutoffs``); None: not started here.
        self.up_since: datetime | None = None

    def wake(self) -> None:
        self._wakeup.set()

    async def start(self) -> None:
        if self._task is None:
            self.up_since = self.clock.now()
            self._task = asyncio.create_task(self._run(), name="monitoring")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sweep(self) -> SweepResult:
        """The time-based rules at this moment: stations offline or idle too long get a ticket;
        active tickets whose condition no longer holds close; boots out of the window go."""
        now = self.clock.now()
        cut = cutoffs(now, self.settings, self.up_since)
        async with self.uow():
            offline = (
                []
                if cut.offline_before is None
                else await self.repo.offline_too_long(cut.offline_before)
            )
            found = [
                Observation(TicketKey.of(station, Rule.STATION_OFFLINE), now, info=_seen(last))
                for station, last in offline
            ] + [
                Observation(TicketKey.of(station, Rule.NO_SESSIONS), now)
                for station in await self.repo.idle_too_long(cut.idle_since)
            ]
            installers = await self.repo.installers(o.key.station_id for o in found)
            opened = await self.repo.open(
                [
                    NewTicket(
                        seen,
                        self.settings.priority(seen.key.rule),
                        first_state(seen.key),
                        self.settings.respond_by(seen.key.rule, now),
                        None,
                    )
                    for seen in found
                ],
                installers,
            )
            cleared = 0
            for ticket_id, why in (
                await self.repo.cleared_by_now(cut.idle_since, cut.reboots_since)
            ).items():
                cleared += await self.repo.clear(ticket_id, now, why)
            await self.repo.forget_boots(cut.reboots_since)
        return SweepResult(len(opened), cleared)

    async def run_remedies(self) -> int:
        """Takes every due step of the tickets being remedied; the number taken."""
        due = await self.repo.due_remedies(self.clock.now())
        done = await asyncio.gather(*(self._step(t) for t in due), return_exceptions=True)
        for ticket, outcome in zip(due, done, strict=True):
            if isinstance(outcome, Exception):
                log.error("ticket %s: remedy step failed", ticket.id, exc_info=outcome)
        return sum(1 for outcome in done if outcome is True)

    async def _step(self, ticket: Ticket) -> bool:
        step = next_remedy(ticket.key, ticket.remedy_steps)
        now = self.clock.now()
        # Held while the command is out: no other process takes the same step meanwhile.
        hold = timedelta(seconds=self.commands.default_timeout * 2 + 5)
        if not await self.repo.claim(ticket, now + hold):
            return False
        if step.failed_step is not None:
            await self.repo.remedy_failed(ticket.id, step.failed_step)
        if step.remedy is None:
            await self.repo.dispatch(ticket.id, now)
            log.info("ticket %s: remedies spent, with people now", ticket.id)
            return True
        outcome, answer = await self._send(ticket, step.remedy)
        # Only a remedy the station took can clear anything: after any other the next comes now.
        wait = self.settings.remedy_wait if outcome is RemedyOutcome.ACCEPTED else timedelta(0)
        await self.repo.record_remedy(
            ticket.id, step.step, step.remedy, now, outcome, answer, self.clock.now() + wait
        )
        log.info("ticket %s: %s sent to %s: %s", ticket.id, step.remedy, ticket.station_id, outcome)
        self.wake()
        return True

    async def _send(self, ticket: Ticket, remedy: Remedy) -> tuple[RemedyOutcome, str | None]:
        try:
            result = await self.commands.perform(
                ticket.station_id, remedy_command(remedy, ticket.key)
            )
        except CommandError as exc:
            return _ERROR_OUTCOMES.get(exc.kind, RemedyOutcome.FAILED), exc.code
        status = result.payload.get("status")
        answer = status if isinstance(status, str) else None
        return remedy_outcome(remedy, answer), answer

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wakeup.clear()
            try:
                await self.run_remedies()
                if self._last_sweep is None or loop.time() - self._last_sweep >= self.sweep_every:
                    self._last_sweep = loop.time()
                    await self.sweep()
                wait = self.poll
                due = await self.repo.next_remedy_due()
                if due is not None:
                    wait = min(wait, max(0.0, (due - self.clock.now()).total_seconds()))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("monitoring: a round failed; again in %.0f s", self.poll)
                wait = self.poll
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wakeup.wait()


# How an encoded status event names its station, and says it is Faulted (``domain.events``
# writes its fields sorted, without spaces).
_STATION = '"station_id":"'
_FAULTED = '"status":"Faulted"'


def _station_of(payload: str) -> str | None:
    """The station an encoded event names; None when it cannot be read off the text (then the
    event is decoded)."""
    start = payload.find(_STATION)
    if start < 0:
        return None
    start += len(_STATION)
    end = payload.find('"', start)
    station = payload[start:end]
    return None if end < 0 or "\\" in station else station


def _seen(last: datetime | None) -> str | None:
    return None if last is None else last.isoformat(timespec="seconds")


# -- people and their tickets ----------------------------------------------------------------------


class TicketService:
    def __init__(
        self,
        repo: TicketRepository,
        audit: AuditTrail,
        clock: Clock,
        *,
        uow: UnitOfWork,
    ) -> None:
        self.repo = repo
        self.audit = audit
        self.clock = clock
        self.uow = uow

    async def search(self, actor: Actor, filters: TicketFilter, page: PageRequest) -> Page[Ticket]:
        """Tickets of the stations the person's organisations own or look after as their
        installer, once the platform's remedies are spent (all, for an operator), oldest
        first."""
        _check_scope(actor, P.TICKETS_READ)
        return await self.repo.page(
            filters, page, within=scope_of(actor, P.TICKETS_READ), now=self.clock.now()
        )

    async def _visible(self, actor: Actor, ticket_id: int) -> Ticket:
        _check_scope(actor, P.TICKETS_READ)
        ticket = await self.repo.get(ticket_id)
        if ticket is None or not _sees(actor, ticket):
            raise TicketNotFound(ticket_id)
        return ticket

    async def get(self, actor: Actor, ticket_id: int) -> TicketDetail:
        await self._visible(actor, ticket_id)
        detail = await self.repo.detail(ticket_id)
        assert detail is not None
        return detail

    async def acknowledge(
        self, actor: Actor, ticket_id: int, note: str | None = None
    ) -> TicketDetail:
        """The person takes the ticket up: its clock stops, the platform's remedies too."""
        return await self._step(actor, ticket_id, note, "ticket.acknowledge")

    async def close(self, actor: Actor, ticket_id: int, note: str) -> TicketDetail:
        if not note.strip():
            raise TicketError(_("note: say what was done"), field="note")
        return await self._step(actor, ticket_id, note, "ticket.close")

    async def _step(
        self, actor: Actor, ticket_id: int, note: str | None, action: str
    ) -> TicketDetail:
        note = note.strip() if note else None
        async with self.uow():
            ticket = await self._visible(actor, ticket_id)
            if not _handles(actor, ticket):
                raise Forbidden(actor, P.TICKETS_WRITE)
            now = self.clock.now()
            try:
                if action == "ticket.close":
                    closed_state(ticket.state)
                    done = await self.repo.close(ticket_id, ticket.state, actor.username, note, now)
                else:
                    acknowledged_state(ticket.state)
                    done = await self.repo.acknowledge(
                        ticket_id, ticket.state, actor.username, note, now
                    )
            except TicketStepRefused as exc:
                raise TicketError(_refusal(exc.reason), field="state") from exc
            if not done:  # the platform cleared it or moved it on meanwhile
                raise TicketError(
                    _("the ticket changed meanwhile: reload it and try again"), field="state"
                )
            await self.audit.record(
                actor,
                action,
                "ticket",
                ticket_id,
                ticket.organisation_id,
                {"station": ticket.station_id, "rule": ticket.rule.value, "note": note},
            )
        return await self.get(actor, ticket_id)

    async def set_station_installer(
        self, actor: Actor, station_id: str, organisation_id: int | None
    ) -> None:
        """The installer organisation that looks after the station (the operator's choice):
        its active tickets go there too; closed ones stay with whoever had them."""
        require(actor, P.STATIONS_WRITE, None)
        async with self.uow():
            if organisation_id is not None:
                kind = await self.repo.organisation_kind(organisation_id)
                if kind != OrganisationKind.INSTALLER.value:
                    raise TicketError(
                        _("organisation_id: no installer organisation %(id)s")
                        % {"id": organisation_id},
                        field="organisation_id",
                    )
            if not await self.repo.set_installer(station_id, organisation_id):
                raise StationNotFound(station_id)
            await self.audit.record(
                actor,
                "station.installer",
                "station",
                station_id,
                None,
                {"installer_id": organisation_id},
            )


def _refusal(reason: str) -> str:
    if reason == TicketState.CLOSED.value:
        return _("the ticket is closed already")
    return _("the ticket is acknowledged already")


def _check_scope(actor: Actor, permission: Permission) -> None:
    """A key without the scope is refused whatever it names."""
    if actor.scopes is not None and permission not in actor.scopes:
        raise Forbidden(actor, permission)


def _sees(actor: Actor, ticket: Ticket) -> bool:
    """The operator sees every ticket; the station's owner and its installer see it once the
    platform's remedies are spent (before, it is the platform's to try)."""
    within = scope_of(actor, P.TICKETS_READ)
    if within is None:
        return True
    if ticket.state is TicketState.REMEDYING:
        return False
    return ticket.installer_id in within or ticket.organisation_id in within


def _handles(actor: Actor, ticket: Ticket) -> bool:
    """Who may take a ticket up and close it: the operator, and the station's installer."""
    if actor.scopes is not None and P.TICKETS_WRITE not in actor.scopes:
        return False
    return actor.is_operator or ticket.installer_id in actor.organisations(P.TICKETS_WRITE)


# -- words for people ----------------------------------------------------------------------------


def rule_title(rule: Rule) -> str:
    return {
        Rule.CONNECTOR_FAULTED: lambda: pgettext("ticket rule", "Connector faulted"),
        Rule.STATION_OFFLINE: lambda: pgettext("ticket rule", "Station offline too long"),
        Rule.NO_SESSIONS: lambda: pgettext("ticket rule", "No successful session for too long"),
        Rule.FIRMWARE_FAILED: lambda: pgettext("ticket rule", "Firmware update failed"),
        Rule.DIAGNOSTICS_FAILED: lambda: pgettext("ticket rule", "Diagnostics upload failed"),
        Rule.REPEATED_REBOOTS: lambda: pgettext("ticket rule", "Repeated reboots"),
    }[rule]()


def priority_title(priority: Priority) -> str:
    return {
        Priority.URGENT: lambda: pgettext("ticket priority", "Urgent"),
        Priority.HIGH: lambda: pgettext("ticket priority", "High"),
        Priority.NORMAL: lambda: pgettext("ticket priority", "Normal"),
        Priority.LOW: lambda: pgettext("ticket priority", "Low"),
    }[priority]()


def remedy_title(remedy: Remedy) -> str:
    return {
        Remedy.SOFT_RESET: lambda: pgettext("remedy", "soft reset"),
        Remedy.HARD_RESET: lambda: pgettext("remedy", "hard reset"),
        Remedy.UNLOCK_CONNECTOR: lambda: pgettext("remedy", "unlock connector"),
    }[remedy]()


def cleared_title(cleared_by: str) -> str:
    """What ended a ticket's condition, said to people."""
    if cleared_by.startswith(STATUS_PREFIX):
        return _("the connector reported %(status)s") % {
            "status": cleared_by.removeprefix(STATUS_PREFIX)
        }
    known = {
        CLEARED_CONNECTED: lambda: _("the station connected again"),
        CLEARED_FIRMWARE: lambda: _("a later firmware update installed"),
        CLEARED_DIAGNOSTICS: lambda: _("a later diagnostics upload succeeded"),
        CLEARED_QUIET: lambda: _("no reboot for a whole window"),
        CLEARED_SESSION: lambda: _("a successful session since"),
    }
    said = known.get(cleared_by)
    return said() if said is not None else cleared_by


def summary(ticket: Ticket) -> str:
    """One line on what the ticket is about."""
    title = rule_title(ticket.rule)
    if ticket.rule is Rule.CONNECTOR_FAULTED and ticket.evse_id:
        codes = ", ".join(c for c in (ticket.error_code, ticket.vendor_error_code) if c)
        text = _("%(title)s: connector %(connector)s") % {
            "title": title,
            "connector": ticket.evse_id,
        }
        return f"{text} ({codes})" if codes else text
    if ticket.status and ticket.rule in (Rule.FIRMWARE_FAILED, Rule.DIAGNOSTICS_FAILED):
        return f"{title} ({ticket.status})"
    return title


__all__ = [
    "Monitoring",
    "ServiceTickets",
    "TicketError",
    "TicketNotFound",
    "TicketService",
]
