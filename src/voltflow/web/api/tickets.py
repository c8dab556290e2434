"""Service tickets: the operator's list by age, an installer's own, a ticket with its occurrences
and the remedies the platform tried, taking one up and closing it; and which installer
organisation looks after a station."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from voltflow.domain.monitoring import (
    Priority,
    RemedyAttempt,
    Rule,
    Ticket,
    TicketDetail,
    TicketFilter,
    TicketState,
)
from voltflow.domain.paging import PageRequest
from voltflow.services.tickets import cleared_title, remedy_title, rule_title, summary
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import TEXT_MAX, StationIdPath, StationIdQuery
from voltflow.web.schemas import MAX_ID, IdPath, IdQuery, Limit, Offset, PageOut

router = APIRouter(prefix="/api/v1")


class TicketOut(BaseModel):
    id: int
    station_id: str
    connector: int = Field(description="the OCPP 1.6 connectorId; 0: the station as a whole")
    evse_id: int
    connector_id: int
    rule: Rule
    title: str = Field(description="the rule, in the request's language")
    summary: str = Field(description="what the ticket is about, in one line")
    priority: Priority
    state: TicketState = Field(
        description="remedying: the platform is trying its remote remedies; open: with people, "
        "not yet taken up; acknowledged: taken up; closed"
    )
    organisation_id: int | None = Field(description="the organisation owning the station")
    installer_id: int | None = Field(
        description="the installer organisation looking after the station"
    )
    status: str | None = Field(description="what the rule saw first: the status reported")
    error_code: str | None
    vendor_error_code: str | None
    info: str | None
    occurrences: int = Field(description="times the condition was found while it was open")
    opened_at: datetime
    last_seen_at: datetime = Field(description="the condition's latest occurrence")
    respond_by: datetime = Field(description="when it must be acknowledged, by its priority")
    age_seconds: int = Field(description="since it opened, until it closed")
    overdue: bool = Field(description="not acknowledged (or closed) by respond_by")
    dispatched_at: datetime | None = Field(
        description="when it went to people: once the platform's remedies were spent"
    )
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledge_note: str | None
    closed_at: datetime | None
    closed_by: str | None = Field(description="null for a ticket that closed by itself")
    close_reason: str | None = Field(
        description="cleared: the condition ended by itself; resolved: closed by someone"
    )
    cleared_by: str | None = Field(
        description="what ended the condition: status:<status>, connected, firmware_installed, "
        "diagnostics_uploaded, no_reboots, session"
    )
    cleared: str | None = Field(description="what ended the condition, said to people")
    close_note: str | None


class OccurrenceOut(BaseModel):
    at: datetime
    status: str | None
    error_code: str | None
    vendor_error_code: str | None
    info: str | None


class RemedyOut(BaseModel):
    step: int = Field(description="0 the first")
    remedy: str = Field(description="soft_reset, hard_reset or unlock_connector")
    title: str
    sent_at: datetime
    outcome: str = Field(description="accepted, rejected, timeout, offline or failed")
    answer: str | None = Field(description="the station's answer, or the error's code")
    cleared: bool | None = Field(
        description="whether the condition cleared in the wait after it; null while it waits"
    )


class TicketDetailOut(TicketOut):
    occurrence_list: list[OccurrenceOut]
    remedies: list[RemedyOut]


class AcknowledgeIn(BaseModel):
    note: str | None = Field(default=None, max_length=TEXT_MAX)


class CloseIn(BaseModel):
    note: str = Field(min_length=1, max_length=TEXT_MAX, description="what was done")


class InstallerIn(BaseModel):
    organisation_id: int | None = Field(
        ge=1, le=MAX_ID, description="an installer organisation; null: none"
    )


class InstallerOut(BaseModel):
    station_id: str
    installer_id: int | None


def ticket_out(ticket: Ticket, now: datetime) -> TicketOut:
    clock = ticket.clock(now)
    return TicketOut(
        id=ticket.id,
        station_id=ticket.station_id,
        connector=ticket.evse_id,
        evse_id=ticket.evse_id,
        connector_id=ticket.connector_id,
        rule=ticket.rule,
        title=rule_title(ticket.rule),
        summary=summary(ticket),
        priority=ticket.priority,
        state=ticket.state,
        organisation_id=ticket.organisation_id,
        installer_id=ticket.installer_id,
        status=ticket.status,
        error_code=ticket.error_code,
        vendor_error_code=ticket.vendor_error_code,
        info=ticket.info,
        occurrences=ticket.occurrences,
        opened_at=ticket.opened_at,
        last_seen_at=ticket.last_seen_at,
        respond_by=ticket.respond_by,
        age_seconds=int(clock.age.total_seconds()),
        overdue=clock.overdue,
        dispatched_at=ticket.dispatched_at,
        acknowledged_at=ticket.acknowledged_at,
        acknowledged_by=ticket.acknowledged_by,
        acknowledge_note=ticket.acknowledge_note,
        closed_at=ticket.closed_at,
        closed_by=ticket.closed_by,
        close_reason=ticket.close_reason.value if ticket.close_reason else None,
        cleared_by=ticket.cleared_by,
        cleared=cleared_title(ticket.cleared_by) if ticket.cleared_by else None,
        close_note=ticket.close_note,
    )


def _remedy_out(attempt: RemedyAttempt) -> RemedyOut:
    return RemedyOut(
        step=attempt.step,
        remedy=attempt.remedy.value,
        title=remedy_title(attempt.remedy),
        sent_at=attempt.sent_at,
        outcome=attempt.outcome.value,
        answer=attempt.answer,
        cleared=attempt.cleared,
    )


def detail_out(detail: TicketDetail, now: datetime) -> TicketDetailOut:
    return TicketDetailOut(
        **ticket_out(detail.ticket, now).model_dump(),
        occurrence_list=[
            OccurrenceOut.model_validate(o, from_attributes=True) for o in detail.occurrences
        ],
        remedies=[_remedy_out(r) for r in detail.remedies],
    )


StateQuery = Literal["active", "remedying", "open", "acknowledged", "closed", "all"]


@router.get("/tickets", tags=["tickets"])
async def list_tickets(
    platform: PlatformDep,
    actor: ApiUser,
    state: Annotated[
        StateQuery,
        Query(description="active (the default): every state but closed; all: closed too"),
    ] = "active",
    station_id: StationIdQuery = None,
    rule: Rule | None = None,
    priority: Priority | None = None,
    installer_id: IdQuery = None,
    overdue: bool | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[TicketOut]:
    """Service tickets, oldest first: the operator's are every station's, an installer
    organisation's those of the stations it looks after, a customer's those of its stations."""
    states: frozenset[TicketState] = frozenset()
    if state == "all":
        states = frozenset(TicketState)
    elif state != "active":
        states = frozenset({TicketState(state)})
    filters = TicketFilter(
        states=states,
        station_id=station_id,
        rule=rule,
        priority=priority,
        installer_id=installer_id,
        overdue=overdue,
    )
    page = await platform.tickets.search(actor, filters, PageRequest(offset, limit))
    now = platform.clock.now()
    return PageOut[TicketOut](
        items=[ticket_out(t, now) for t in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/tickets/{ticket_id}", tags=["tickets"])
async def get_ticket(ticket_id: IdPath, platform: PlatformDep, actor: ApiUser) -> TicketDetailOut:
    """A ticket with every occurrence and every remedy the platform tried."""
    detail = await platform.tickets.get(actor, ticket_id)
    return detail_out(detail, platform.clock.now())


@router.post("/tickets/{ticket_id}/acknowledge", tags=["tickets"])
async def acknowledge_ticket(
    ticket_id: IdPath,
    platform: PlatformDep,
    actor: ApiUser,
    body: AcknowledgeIn | None = None,
) -> TicketDetailOut:
    """Take the ticket up: its clock stops, and so do the platform's remedies."""
    note = body.note if body is not None else None
    detail = await platform.tickets.acknowledge(actor, ticket_id, note)
    return detail_out(detail, platform.clock.now())


@router.post("/tickets/{ticket_id}/close", tags=["tickets"])
async def close_ticket(
    ticket_id: IdPath, body: CloseIn, platform: PlatformDep, actor: ApiUser
) -> TicketDetailOut:
    detail = await platform.tickets.close(actor, ticket_id, body.note)
    return detail_out(detail, platform.clock.now())


@router.put("/stations/{station_id}/installer", tags=["stations"])
async def set_station_installer(
    station_id: StationIdPath, body: InstallerIn, platform: PlatformDep, actor: ApiUser
) -> InstallerOut:
    """The installer organisation that looks after the station (operators only): its service
    tickets go there, the active ones included."""
    await platform.tickets.set_station_installer(actor, station_id, body.organisation_id)
    return InstallerOut(station_id=station_id, installer_id=body.organisation_id)
