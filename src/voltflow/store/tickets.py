"""Service tickets (``domain.monitoring``): the active ones the rules compare with, opening,
occurrences, closing, the remedies sent for them, the boots the repeated-reboots rule counts,
and the sweeps' queries for what no event tells (offline too long, idle too long)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    RowMapping,
    String,
    and_,
    any_,
    bindparam,
    case,
    column,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from voltflow.domain.monitoring import (
    CLEARED_CONNECTED,
    CLEARED_QUIET,
    CLEARED_SESSION,
    CloseReason,
    Observation,
    Occurrence,
    Priority,
    Remedy,
    RemedyAttempt,
    RemedyOutcome,
    Rule,
    Ticket,
    TicketDetail,
    TicketFilter,
    TicketKey,
    TicketState,
)
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.session_types import SessionType
from voltflow.domain.stations import Registration
from voltflow.store.database import Database
from voltflow.store.paging import fetch_page, record_of
from voltflow.store.statements import dialect_insert, fit_columns
from voltflow.store.tables import (
    charging_sessions,
    organisations,
    service_ticket_occurrences,
    service_ticket_remedies,
    service_tickets,
    station_boots,
    stations,
)

T = service_tickets
O = service_ticket_occurrences  # noqa: E741 - the table's alias, as the others'
R = service_ticket_remedies
B = station_boots
ACTIVE = T.c.closed_at.is_(None)
BOOT, RESET = "boot", "reset"
# Station ids per statement: well within both databases' limits on bound parameters.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class ActiveTicket:
    """What the rules need of an active ticket."""

    id: int
    state: TicketState
    remedy_steps: int
    # The event that opened it (None: a sweep did).
    event_id: str | None


@dataclass(frozen=True, slots=True)
class NewTicket:
    observation: Observation
    priority: Priority
    state: TicketState
    respond_by: datetime
    remedy_due_at: datetime | None


@dataclass(slots=True)
class PlannedTicket:
    """A ticket a batch opens: its occurrences (the opening one first) and, when the batch also
    saw its condition end, when and how."""

    ticket: NewTicket
    occurrences: list[Observation]
    cleared: tuple[datetime, str] | None = None


@dataclass(slots=True)
class Plan:
    """What a batch of decisions writes (``TicketRepository.apply``)."""

    # Occurrences of active tickets: (ticket id, what was seen).
    occurrences: list[tuple[int, Observation]] = field(default_factory=list)
    # Active tickets whose condition ended: (ticket id, when, how).
    clears: list[tuple[int, datetime, str]] = field(default_factory=list)
    # Those of them the platform has sent a remedy (which may be what cleared them).
    remedied: set[int] = field(default_factory=set)
    new: list[PlannedTicket] = field(default_factory=list)


def _ticket(m: RowMapping) -> Ticket:
    return record_of(
        Ticket,
        m,
        rule=Rule(m["rule"]),
        priority=Priority(m["priority"]),
        state=TicketState(m["state"]),
        close_reason=CloseReason(m["close_reason"]) if m["close_reason"] else None,
    )


# A ticket with its station's owner, as every read gives it.
_TICKETS = select(T, stations.c.organisation_id).join(stations, stations.c.id == T.c.station_id)


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


class TicketRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._occurrence = dialect_insert(db.dialect, O).on_conflict_do_nothing()
        # A batch names hundreds of stations: one parameter holds them all (an array, or JSON
        # text SQLite unpacks), not a parameter each for the driver to bind and the database
        # to parse, batch after batch.
        stations_given: BindParameter[Any] = bindparam("b_stations")
        if db.dialect == "postgresql":
            self._station_in: ColumnElement[bool] = T.c.station_id == any_(
                stations_given.cast(ARRAY(String))
            )
        else:
            self._station_in = T.c.station_id.in_(
                select(column("value")).select_from(func.json_each(stations_given))
            )
        self._boot = dialect_insert(db.dialect, B).on_conflict_do_nothing()
        self._open = dialect_insert(db.dialect, T).on_conflict_do_nothing().returning(T.c.id)
        # An active ticket's condition ended at ``b_at``: unless it was seen again since.
        self._clear = (
            update(T)
            .where(T.c.id == bindparam("b_id"), ACTIVE, T.c.last_seen_at <= bindparam("b_at"))
            .values(
                state=TicketState.CLOSED.value,
                closed_at=bindparam("b_at"),
                close_reason=CloseReason.CLEARED.value,
                cleared_by=bindparam("b_by"),
                remedy_due_at=None,
            )
        )
        # Occurrences counted from the rows themselves: right however often a batch applies.
        self._recount = update(T).values(
            occurrences=select(func.count()).where(O.c.ticket_id == T.c.id).scalar_subquery(),
            last_seen_at=select(func.max(O.c.at)).where(O.c.ticket_id == T.c.id).scalar_subquery(),
        )

    # -- what the rules compare with ---------------------------------------------------------
    async def active(self, station_ids: Iterable[str]) -> dict[TicketKey, ActiveTicket]:
        """The active tickets of these stations."""
        found: dict[TicketKey, ActiveTicket] = {}
        ids = sorted(set(station_ids))
        if not ids:
            return found
        columns = (
            T.c.id,
            T.c.station_id,
            T.c.evse_id,
            T.c.connector_id,
            T.c.rule,
            T.c.state,
            T.c.remedy_steps,
            T.c.event_id,
        )
        async with self.db.reading() as conn:
            rows = await conn.execute(
                select(*columns).where(ACTIVE, self._station_in), {"b_stations": self._ids(ids)}
            )
            for r in rows:
                key = TicketKey(r.station_id, r.evse_id, r.connector_id, Rule(r.rule))
                found[key] = ActiveTicket(r.id, TicketState(r.state), r.remedy_steps, r.event_id)
        return found

    def _ids(self, ids: list[str]) -> Any:
        return ids if self.db.dialect == "postgresql" else json.dumps(ids)

    async def recent_boots(
        self, station_ids: Iterable[str], since: datetime, excluding: Iterable[str] = ()
    ) -> dict[str, int]:
        """Per station, its boots since ``since`` less the Resets it accepted meanwhile; the
        events ``excluding`` names left out (a batch applied again counts its own once)."""
        left_out = sorted(set(excluding))
        ids = sorted(set(station_ids))
        counted: dict[str, int] = {}
        if not ids:
            return counted
        net = func.sum(case((B.c.kind == BOOT, 1), else_=-1))
        async with self.db.reading() as conn:
            for chunk in _chunks(ids):
                rows = await conn.execute(
                    select(B.c.station_id, net)
                    .where(
                        B.c.station_id.in_(chunk), B.c.at >= since, B.c.event_id.not_in(left_out)
                    )
                    .group_by(B.c.station_id)
                )
                counted.update((r[0], max(0, int(r[1]))) for r in rows)
        return counted

    async def record_boots(self, rows: Sequence[tuple[str, datetime, str, str]]) -> None:
        """(station, at, ``boot`` or ``reset``, event id): an event recorded twice is one row."""
        if rows:
            async with self.db.writing() as conn:
                await conn.execute(
                    self._boot,
                    [{"station_id": s, "at": at, "kind": k, "event_id": e} for s, at, k, e in rows],
                )

    async def installers(self, station_ids: Iterable[str]) -> dict[str, int | None]:
        """Each known station's installer organisation (stations not known are left out)."""
        ids = sorted(set(station_ids))
        found: dict[str, int | None] = {}
        async with self.db.reading() as conn:
            for chunk in _chunks(ids):
                rows = await conn.execute(
                    select(stations.c.id, stations.c.installer_id).where(stations.c.id.in_(chunk))
                )
                found.update((r.id, r.installer_id) for r in rows)
        return found

    # -- opening, occurrences, closing ------------------------------------------------------
    async def apply(self, plan: Plan, installers: Mapping[str, int | None]) -> dict[TicketKey, int]:
        """What a batch of decisions changes, in a few statements: occurrences of active
        tickets, active tickets cleared, new tickets (some already cleared within the batch)
        with their occurrences. Answers the new tickets opened and still active.

        Applied again (a batch delivered twice) it changes nothing: an occurrence or a ticket
        whose event is recorded is not added again, and a clear older than its ticket's latest
        occurrence clears nothing."""
        opened: dict[TicketKey, int] = {}
        if not (plan.occurrences or plan.clears or plan.new):
            return opened
        async with self.db.writing() as conn:
            if plan.occurrences:
                await conn.execute(
                    self._occurrence,
                    [self._occurrence_row(t, seen) for t, seen in plan.occurrences],
                )
                await conn.execute(
                    self._recount.where(T.c.id.in_(sorted({t for t, _ in plan.occurrences})))
                )
            if plan.clears:
                await conn.execute(
                    self._clear,
                    [{"b_id": t, "b_at": at, "b_by": by[:48]} for t, at, by in plan.clears],
                )
                if plan.remedied:  # the remedy each was waiting on cleared it
                    cleared_now = select(T.c.id).where(
                        T.c.id.in_(sorted(plan.remedied)),
                        T.c.close_reason == CloseReason.CLEARED.value,
                    )
                    await conn.execute(
                        update(R)
                        .where(R.c.ticket_id.in_(cleared_now), R.c.cleared.is_(None))
                        .values(cleared=True)
                    )
            for new in plan.new:
                found = (await conn.execute(self._open, self._ticket_row(new, installers))).first()
                if found is None:  # recorded before, or another process opened one meanwhile
                    continue
                await conn.execute(
                    self._occurrence, [self._occurrence_row(found.id, o) for o in new.occurrences]
                )
                if new.cleared is None:
                    opened[new.ticket.observation.key] = int(found.id)
        return opened

    async def open(
        self, tickets: Sequence[NewTicket], installers: Mapping[str, int | None]
    ) -> dict[TicketKey, int]:
        """Opens the tickets (their first occurrence too); answers those it opened. One whose
        event opened a ticket before, or whose key has an active ticket already (another
        process came first), is not opened."""
        planned = [PlannedTicket(t, [t.observation]) for t in tickets]
        return await self.apply(Plan(new=planned), installers)

    @staticmethod
    def _ticket_row(planned: PlannedTicket, installers: Mapping[str, int | None]) -> dict[str, Any]:
        new = planned.ticket
        seen = new.observation
        key = seen.key
        row: dict[str, Any] = {
            "station_id": key.station_id,
            "evse_id": key.evse_id,
            "connector_id": key.connector_id,
            "rule": key.rule.value,
            "priority": new.priority.value,
            "state": new.state.value,
            "installer_id": installers.get(key.station_id),
            "status": seen.status,
            "error_code": seen.error_code,
            "vendor_error_code": seen.vendor_error_code,
            "info": seen.info,
            "occurrences": len(planned.occurrences),
            "opened_at": seen.at,
            "last_seen_at": max(o.at for o in planned.occurrences),
            "respond_by": new.respond_by,
            "dispatched_at": seen.at if new.state is TicketState.OPEN else None,
            "remedy_steps": 0,
            "remedy_due_at": new.remedy_due_at,
            "event_id": seen.event_id,
        }
        if planned.cleared is not None:
            at, by = planned.cleared
            row.update(
                state=TicketState.CLOSED.value,
                closed_at=at,
                close_reason=CloseReason.CLEARED.value,
                cleared_by=by[:48],
                remedy_due_at=None,
            )
        return fit_columns(T, row)

    @staticmethod
    def _occurrence_row(ticket_id: int, seen: Observation) -> dict[str, Any]:
        return fit_columns(
            O,
            {
                "ticket_id": ticket_id,
                "at": seen.at,
                "event_id": seen.event_id,
                "status": seen.status,
                "error_code": seen.error_code,
                "vendor_error_code": seen.vendor_error_code,
                "info": seen.info,
            },
        )

    async def clear(self, ticket_id: int, at: datetime, cleared_by: str) -> bool:
        """Closes an active ticket because its condition ended at ``at``; the remedy waiting
        for that, if any, cleared it. False when it was closed already, or when its condition
        was seen again after ``at``."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                self._clear, {"b_id": ticket_id, "b_at": at, "b_by": cleared_by[:48]}
            )
            if not result.rowcount:
                return False
            await conn.execute(
                update(R)
                .where(R.c.ticket_id == ticket_id, R.c.cleared.is_(None))
                .values(cleared=True)
            )
        return True

    # -- people's steps ------------------------------------------------------------------------
    async def get(self, ticket_id: int) -> Ticket | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(_TICKETS.where(T.c.id == ticket_id))).first()
        return _ticket(row._mapping) if row else None

    async def detail(self, ticket_id: int) -> TicketDetail | None:
        ticket = await self.get(ticket_id)
        if ticket is None:
            return None
        async with self.db.reading() as conn:
            occurrences = (
                await conn.execute(select(O).where(O.c.ticket_id == ticket_id).order_by(O.c.id))
            ).all()
            remedies = (
                await conn.execute(select(R).where(R.c.ticket_id == ticket_id).order_by(R.c.step))
            ).all()
        return TicketDetail(
            ticket,
            [record_of(Occurrence, r._mapping) for r in occurrences],
            [
                record_of(
                    RemedyAttempt,
                    r._mapping,
                    remedy=Remedy(r.remedy),
                    outcome=RemedyOutcome(r.outcome),
                    cleared=None if r.cleared is None else bool(r.cleared),
                )
                for r in remedies
            ],
        )

    async def page(
        self,
        filters: TicketFilter,
        page: PageRequest,
        *,
        within: frozenset[int] | None,
        now: datetime,
    ) -> Page[Ticket]:
        """Tickets ``filters`` finds, oldest first, among those of stations the organisations
        ``within`` own or look after as their installer, once the platform's remedies are
        spent (None: all, remedying ones too)."""
        cond: list[ColumnElement[bool]] = []
        if within is not None:
            ids = sorted(within)
            cond.append(or_(T.c.installer_id.in_(ids), stations.c.organisation_id.in_(ids)))
            # While the platform tries its remedies, a ticket is the operator's alone.
            cond.append(T.c.state != TicketState.REMEDYING.value)
        if filters.states:
            cond.append(T.c.state.in_(sorted(s.value for s in filters.states)))
        else:
            cond.append(ACTIVE)
        if filters.station_id is not None:
            cond.append(T.c.station_id == filters.station_id)
        if filters.rule is not None:
            cond.append(T.c.rule == filters.rule.value)
        if filters.priority is not None:
            cond.append(T.c.priority == filters.priority.value)
        if filters.installer_id is not None:
            cond.append(T.c.installer_id == filters.installer_id)
        if filters.overdue is not None:
            answered = func.coalesce(T.c.acknowledged_at, T.c.closed_at)
            late = or_(
                and_(answered.is_(None), T.c.respond_by < now),
                answered > T.c.respond_by,
            )
            cond.append(late if filters.overdue else ~late)
        async with self.db.reading() as conn:
            return await fetch_page(
                conn,
                _TICKETS.where(and_(true(), *cond)),
                T.c.opened_at,
                T.c.id,
                page=page,
                record=_ticket,
            )

    async def acknowledge(
        self, ticket_id: int, expected: TicketState, by: str, note: str | None, at: datetime
    ) -> bool:
        """False when the ticket is no longer in ``expected`` (someone or something came
        first)."""
        return await self._step(
            ticket_id,
            expected,
            state=TicketState.ACKNOWLEDGED.value,
            acknowledged_at=at,
            acknowledged_by=by[:128],
            acknowledge_note=note,
            remedy_due_at=None,
            dispatched_at=func.coalesce(T.c.dispatched_at, at),
        )

    async def close(
        self, ticket_id: int, expected: TicketState, by: str, note: str | None, at: datetime
    ) -> bool:
        return await self._step(
            ticket_id,
            expected,
            state=TicketState.CLOSED.value,
            closed_at=at,
            closed_by=by[:128],
            close_reason=CloseReason.RESOLVED.value,
            close_note=note,
            remedy_due_at=None,
        )

    async def _step(self, ticket_id: int, expected: TicketState, **values: Any) -> bool:
        async with self.db.writing() as conn:
            result = await conn.execute(
                update(T).where(T.c.id == ticket_id, T.c.state == expected.value).values(**values)
            )
        return bool(result.rowcount)

    async def set_installer(self, station_id: str, installer_id: int | None) -> bool:
        """The station's installer, and its active tickets' (closed ones stay with whoever had
        them). False for an unknown station."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                update(stations)
                .where(stations.c.id == station_id)
                .values(installer_id=installer_id)
            )
            if not result.rowcount:
                return False
            await conn.execute(
                update(T)
                .where(T.c.station_id == station_id, ACTIVE)
                .values(installer_id=installer_id)
            )
        return True

    async def organisation_kind(self, organisation_id: int) -> str | None:
        async with self.db.reading() as conn:
            found = await conn.execute(
                select(organisations.c.kind).where(organisations.c.id == organisation_id)
            )
            kind = found.scalar()
        return None if kind is None else str(kind)

    # -- remedies ------------------------------------------------------------------------------
    async def due_remedies(self, now: datetime, limit: int = 50) -> list[Ticket]:
        """Tickets the platform is remedying whose next step is due."""
        async with self.db.reading() as conn:
            rows = await conn.execute(
                _TICKETS.where(T.c.state == TicketState.REMEDYING.value, T.c.remedy_due_at <= now)
                .order_by(T.c.remedy_due_at, T.c.id)
                .limit(limit)
            )
            return [_ticket(r._mapping) for r in rows]

    async def next_remedy_due(self) -> datetime | None:
        async with self.db.reading() as conn:
            found = await conn.execute(
                select(func.min(T.c.remedy_due_at)).where(T.c.state == TicketState.REMEDYING.value)
            )
            due: datetime | None = found.scalar()
        return due

    async def claim(self, ticket: Ticket, until: datetime) -> bool:
        """Takes the ticket's due step for this process until ``until``: False when another
        process, a person or a clearing came first."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                update(T)
                .where(
                    T.c.id == ticket.id,
                    T.c.state == TicketState.REMEDYING.value,
                    T.c.remedy_steps == ticket.remedy_steps,
                    T.c.remedy_due_at == ticket.remedy_due_at,
                )
                .values(remedy_due_at=until)
            )
        return bool(result.rowcount)

    async def remedy_failed(self, ticket_id: int, step: int) -> None:
        """The wait after ``step`` ended and the ticket is still active: it did not clear."""
        async with self.db.writing() as conn:
            await conn.execute(
                update(R)
                .where(R.c.ticket_id == ticket_id, R.c.step == step, R.c.cleared.is_(None))
                .values(cleared=False)
            )

    async def record_remedy(
        self,
        ticket_id: int,
        step: int,
        remedy: Remedy,
        sent_at: datetime,
        outcome: RemedyOutcome,
        answer: str | None,
        due_at: datetime,
    ) -> None:
        """A remedy sent, and the ticket's next step due at ``due_at``. A ticket that cleared
        while the remedy was on its way cleared by it."""
        async with self.db.writing() as conn:
            cleared_meanwhile = (
                await conn.execute(
                    select(T.c.id).where(
                        T.c.id == ticket_id,
                        T.c.close_reason == CloseReason.CLEARED.value,
                        T.c.closed_at >= sent_at,
                    )
                )
            ).first() is not None
            await conn.execute(
                insert(R).values(
                    ticket_id=ticket_id,
                    step=step,
                    remedy=remedy.value,
                    sent_at=sent_at,
                    outcome=outcome.value,
                    answer=answer[:64] if answer else None,
                    cleared=True if cleared_meanwhile else None,
                )
            )
            await conn.execute(
                update(T)
                .where(T.c.id == ticket_id, T.c.state == TicketState.REMEDYING.value)
                .values(remedy_steps=step + 1, remedy_due_at=due_at)
            )

    async def dispatch(self, ticket_id: int, at: datetime) -> bool:
        """The remedies are spent: the ticket goes to people."""
        return await self._step(
            ticket_id,
            TicketState.REMEDYING,
            state=TicketState.OPEN.value,
            dispatched_at=at,
            remedy_due_at=None,
        )

    # -- the sweep's questions -----------------------------------------------------------------
    def _no_active(self, rule: Rule) -> ColumnElement[bool]:
        return ~exists().where(T.c.station_id == stations.c.id, T.c.rule == rule.value, ACTIVE)

    async def offline_too_long(self, before: datetime) -> list[tuple[str, datetime]]:
        """Stations offline, last heard from before ``before``, without an active offline
        ticket: (station, last heard from). Stations never heard from are not installed yet."""
        query = select(stations.c.id, stations.c.last_seen_at).where(
            stations.c.online.is_(False),
            stations.c.registration == Registration.ACCEPTED.value,
            stations.c.last_seen_at < before,
            self._no_active(Rule.STATION_OFFLINE),
        )
        async with self.db.reading() as conn:
            return [(r.id, r.last_seen_at) for r in await conn.execute(query)]

    @staticmethod
    def _successful_since(since: datetime) -> ColumnElement[bool]:
        s = charging_sessions
        return exists().where(
            s.c.station_id == stations.c.id,
            s.c.started_at >= since,
            s.c.session_type.is_not(None),
            s.c.session_type != SessionType.INVALID.value,
        )

    async def idle_too_long(self, since: datetime) -> list[str]:
        """Public stations (those with a public tariff), online, accepted and registered before
        ``since``, with no successful session started since then and no active idle ticket."""
        query = select(stations.c.id).where(
            stations.c.tariff_id.is_not(None),
            stations.c.online.is_(True),
            stations.c.registration == Registration.ACCEPTED.value,
            stations.c.created_at < since,
            ~self._successful_since(since),
            self._no_active(Rule.NO_SESSIONS),
        )
        async with self.db.reading() as conn:
            return [r.id for r in await conn.execute(query)]

    async def cleared_by_now(self, idle_since: datetime, reboots_since: datetime) -> dict[int, str]:
        """Active tickets whose condition no longer holds though no event said so: the station
        online again, a successful session since, no boot within the reboot window. Ticket id →
        what cleared it."""
        t = T.alias("t")
        online = select(t.c.id).where(
            t.c.closed_at.is_(None),
            t.c.rule == Rule.STATION_OFFLINE.value,
            exists().where(stations.c.id == t.c.station_id, stations.c.online.is_(True)),
        )
        s = charging_sessions
        busy = select(t.c.id).where(
            t.c.closed_at.is_(None),
            t.c.rule == Rule.NO_SESSIONS.value,
            exists().where(
                s.c.station_id == t.c.station_id,
                s.c.started_at >= idle_since,
                s.c.session_type.is_not(None),
                s.c.session_type != SessionType.INVALID.value,
            ),
        )
        quiet = select(t.c.id).where(
            t.c.closed_at.is_(None),
            t.c.rule == Rule.REPEATED_REBOOTS.value,
            ~exists().where(
                B.c.station_id == t.c.station_id, B.c.kind == BOOT, B.c.at >= reboots_since
            ),
        )
        found: dict[int, str] = {}
        async with self.db.reading() as conn:
            for query, why in (
                (online, CLEARED_CONNECTED),
                (busy, CLEARED_SESSION),
                (quiet, CLEARED_QUIET),
            ):
                found.update((r.id, why) for r in await conn.execute(query))
        return found

    async def forget_boots(self, before: datetime) -> None:
        async with self.db.writing() as conn:
            await conn.execute(delete(B).where(B.c.at < before))
