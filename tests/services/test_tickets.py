"""Service tickets from what stations report, on both databases: the rules through the outbox,
the sweep, the remedies for a station that cannot be reached, and people's use of tickets."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.conftest import make_settings
from voltflow.bootstrap import Platform, build
from voltflow.domain.access import PLATFORM, Actor, OrganisationKind
from voltflow.domain.authorization import IdToken, IdTokenType
from voltflow.domain.events import (
    CommandAnswered,
    ConnectorStatusChanged,
    Envelope,
    Event,
    encode,
)
from voltflow.domain.monitoring import (
    MonitoringSettings,
    Remedy,
    RemedyOutcome,
    Rule,
    TicketFilter,
    TicketState,
)
from voltflow.domain.paging import PageRequest
from voltflow.domain.stations import ConnectorRef, Registration
from voltflow.services.access import Forbidden
from voltflow.services.station_events import BootInfo, StopRequest
from voltflow.services.stations import StationNotFound
from voltflow.services.tickets import ServiceTickets, TicketError, TicketNotFound
from voltflow.store.database import create_database
from voltflow.store.outbox import OutboxRepository
from voltflow.store.stations import StationRepository
from voltflow.store.tickets import TicketRepository
from voltflow.store.units import SqlUnitOfWork

KEY = "ticket-station-key-01"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class ManualClock:
    """The platform's time, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def platform(database_url: str, clock: ManualClock) -> AsyncIterator[Platform]:
    """The platform on a clock of the test's; its monitoring loop stopped, so that each test
    runs the sweep and the remedies itself, when it means to."""
    p = build(make_settings(database_url), clock=clock)
    await p.start()
    await p.monitoring.stop()
    p.monitoring.up_since = None
    try:
        yield p
    finally:
        await p.stop()


def consumer(platform: Platform) -> ServiceTickets:
    found = [s for s in platform.delivery.subscribers if isinstance(s, ServiceTickets)]
    assert len(found) == 1
    return found[0]


async def published(platform: Platform) -> None:
    """Until the relay has delivered everything committed so far."""
    for _ in range(200):
        if not await platform.outbox.unpublished(1):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the relay never published the outbox")


async def status(
    platform: Platform,
    state: str,
    connector: int = 1,
    station: str = "CP-1",
    error: str = "NoError",
    vendor: str | None = None,
) -> None:
    """A StatusNotification as the OCPP adapter hands it over."""
    await platform.events.status(
        station,
        ConnectorRef.from_ocpp16(connector),
        state,
        error,
        info=None,
        vendor_error_code=vendor,
        timestamp=None,
    )


async def tickets(platform: Platform, actor: Actor = PLATFORM, **filters: object) -> list:
    page = await platform.tickets.search(actor, TicketFilter(**filters), PageRequest(0, 500))  # type: ignore[arg-type]
    return page.items


async def test_a_faulted_connector_opens_one_ticket_and_closes_it_on_recovery(
    platform: Platform, clock: ManualClock
) -> None:
    op = await factories.operator(platform)
    fixit = await factories.company(platform, op, "Fixit", kind=OrganisationKind.INSTALLER)
    await platform.stations.add("CP-1", KEY)
    await platform.tickets.set_station_installer(op, "CP-1", fixit.id)

    await status(platform, "Available")
    await status(platform, "Faulted", error="GroundFailure", vendor="E-42")
    clock.advance(minutes=1)
    await status(platform, "Faulted", error="GroundFailure", vendor="E-43")
    await status(platform, "Charging", connector=2)  # another connector: none of its business
    await published(platform)

    (ticket,) = await tickets(platform)
    assert ticket.key.station_id == "CP-1"
    assert (ticket.evse_id, ticket.connector_id, ticket.rule) == (1, 1, Rule.CONNECTOR_FAULTED)
    assert (ticket.status, ticket.error_code, ticket.vendor_error_code) == (
        "Faulted",
        "GroundFailure",
        "E-42",
    )
    assert ticket.state is TicketState.REMEDYING  # the platform tries its remedies first
    assert ticket.installer_id == fixit.id
    assert ticket.occurrences == 2
    assert (ticket.opened_at, ticket.last_seen_at) == (T0, T0 + timedelta(minutes=1))
    assert ticket.respond_by == T0 + timedelta(hours=8)
    detail = await platform.tickets.get(op, ticket.id)
    assert [o.vendor_error_code for o in detail.occurrences] == ["E-42", "E-43"]

    clock.advance(minutes=1)
    await status(platform, "Available")
    await published(platform)
    assert await tickets(platform) == []
    (closed,) = await tickets(platform, states=frozenset({TicketState.CLOSED}))
    assert closed.id == ticket.id
    assert closed.close_reason is not None and closed.close_reason.value == "cleared"
    assert (closed.cleared_by, closed.closed_by) == ("status:Available", None)
    assert closed.clock(clock.now() + timedelta(days=1)).age == timedelta(minutes=2)

    # Faulted again later: a new ticket, the closed one stays closed.
    await status(platform, "Faulted", error="GroundFailure")
    await published(platform)
    (again,) = await tickets(platform)
    assert again.id != ticket.id and again.occurrences == 1


async def test_events_applied_again_change_nothing(platform: Platform) -> None:
    """The consumer writes no receipts: the ids it keeps make a delivery again harmless, a
    whole batch of them included."""
    await platform.stations.add("CP-1", KEY)
    ref = ConnectorRef.from_ocpp16(1)
    events: list[Event] = [
        ConnectorStatusChanged(
            occurred_at=T0 + timedelta(seconds=n),
            station_id="CP-1",
            evse_id=ref.evse_id,
            connector_id=ref.connector_id,
            status=state,
            error_code="OtherError" if state == "Faulted" else "NoError",
            vendor_error_code=None,
            info=None,
            status_at=T0,
        )
        for n, state in enumerate(["Faulted", "Faulted", "Available", "Faulted", "Faulted"])
    ]
    async with platform.uow() as changes:
        for event in events:
            changes.emit(event)
    await published(platform)

    async def state() -> list[tuple[int, str, int]]:
        found = await tickets(platform, states=frozenset(TicketState))
        return [(t.id, t.state.value, t.occurrences) for t in found]

    before = await state()
    assert [(s, n) for _, s, n in before] == [("closed", 2), ("remedying", 2)]
    subscriber = consumer(platform)
    for event in events:
        await platform.delivery.apply(subscriber, event)
    async with platform.uow():
        await subscriber.handle_many(events)
    assert await state() == before
    assert await platform.outbox.receipts(subscriber.name) == 0


async def test_firmware_and_diagnostics_failures(platform: Platform) -> None:
    await platform.stations.add("CP-1", KEY)
    await platform.events.firmware_status("CP-1", "Downloading")
    await platform.events.firmware_status("CP-1", "InstallationFailed")
    await platform.events.diagnostics_status("CP-1", "UploadFailed")
    await published(platform)
    found = {t.rule: t for t in await tickets(platform)}
    assert set(found) == {Rule.FIRMWARE_FAILED, Rule.DIAGNOSTICS_FAILED}
    # Nothing to remedy from afar: with people at once.
    assert {t.state for t in found.values()} == {TicketState.OPEN}
    assert found[Rule.FIRMWARE_FAILED].status == "InstallationFailed"
    assert found[Rule.FIRMWARE_FAILED].dispatched_at == T0

    await platform.events.firmware_status("CP-1", "Installed")
    await published(platform)
    assert [t.rule for t in await tickets(platform)] == [Rule.DIAGNOSTICS_FAILED]


async def _boot(platform: Platform, station: str = "CP-1") -> None:
    await platform.events.boot(
        station, BootInfo(vendor="V", model="M", ocpp_version="1.6"), Registration.ACCEPTED
    )


async def test_repeated_reboots_and_the_quiet_that_ends_them(
    platform: Platform, clock: ManualClock
) -> None:
    await platform.stations.add("CP-1", KEY)
    for _ in range(4):
        await _boot(platform)
        clock.advance(minutes=5)
    await published(platform)
    assert await tickets(platform) == []
    await _boot(platform)
    await published(platform)
    (ticket,) = await tickets(platform)
    assert ticket.rule is Rule.REPEATED_REBOOTS
    clock.advance(minutes=5)
    await _boot(platform)
    await published(platform)
    (ticket,) = await tickets(platform)
    assert ticket.occurrences == 2

    # A whole window without a boot: the sweep closes it, and forgets the old boots.
    clock.advance(minutes=61)
    result = await platform.monitoring.sweep()
    assert result.cleared == 1
    (closed,) = await tickets(platform, states=frozenset({TicketState.CLOSED}))
    assert closed.cleared_by == "no_reboots"
    await _boot(platform)
    await published(platform)
    assert await tickets(platform) == []


async def test_boots_the_platform_asked_for_do_not_count(platform: Platform) -> None:
    """A Reset the station accepted (the platform's remedies, an operator's command) explains
    the boot that follows."""
    await platform.stations.add("CP-1", KEY)
    for _ in range(5):
        async with platform.uow() as changes:
            changes.emit(
                CommandAnswered(
                    occurred_at=T0,
                    station_id="CP-1",
                    action="Reset",
                    outcome="answered",
                    status="Accepted",
                    actor=None,
                )
            )
        await _boot(platform)
    await published(platform)
    assert await tickets(platform) == []


async def test_the_sweep_finds_stations_offline_too_long(
    platform: Platform, clock: ManualClock
) -> None:
    repo = platform.stations.repo
    for station in ("CP-1", "CP-2", "CP-3"):
        await platform.stations.add(station, KEY)
    await repo.update("CP-1", last_seen_at=T0 - timedelta(hours=2), online=False)
    await repo.update("CP-2", last_seen_at=T0 - timedelta(minutes=5), online=False)
    # CP-3 was never heard from: not installed yet, not offline.
    result = await platform.monitoring.sweep()
    assert (result.opened, result.cleared) == (1, 0)
    (ticket,) = await tickets(platform)
    assert (ticket.station_id, ticket.rule, ticket.state) == (
        "CP-1",
        Rule.STATION_OFFLINE,
        TicketState.OPEN,
    )
    assert ticket.info == (T0 - timedelta(hours=2)).isoformat(timespec="seconds")
    assert (await platform.monitoring.sweep()).opened == 0  # one active ticket is enough

    await platform.events.connected("CP-1")
    await published(platform)
    assert await tickets(platform) == []
    (closed,) = await tickets(platform, states=frozenset({TicketState.CLOSED}))
    assert closed.cleared_by == "connected"

    # Just restarted: every station looks offline until it reconnects; no ticket for that.
    await repo.update("CP-2", last_seen_at=T0 - timedelta(hours=2), online=False)
    platform.monitoring.up_since = clock.now() - timedelta(minutes=10)
    assert (await platform.monitoring.sweep()).opened == 0
    clock.advance(minutes=25)
    assert (await platform.monitoring.sweep()).opened == 1


async def test_an_offline_ticket_clears_in_the_sweep_when_no_event_said_so(
    platform: Platform,
) -> None:
    """A station reconnected to another process, whose events this one never saw."""
    await platform.stations.add("CP-1", KEY)
    await platform.stations.repo.update("CP-1", last_seen_at=T0 - timedelta(hours=2))
    assert (await platform.monitoring.sweep()).opened == 1
    await platform.stations.repo.update("CP-1", online=True, last_seen_at=T0)
    assert (await platform.monitoring.sweep()).cleared == 1


async def test_an_idle_public_station_gets_a_ticket_until_a_good_session(
    platform: Platform, clock: ManualClock
) -> None:
    repo = platform.stations.repo
    for station in ("CP-PUB", "CP-PRIV", "CP-NEW"):
        await platform.stations.add(station, KEY)
        await repo.update(station, online=True, last_seen_at=T0)
    await repo.update("CP-PUB", tariff_id="PUBLIC", created_at=T0 - timedelta(days=30))
    await repo.update("CP-PRIV", created_at=T0 - timedelta(days=30))  # not public
    await repo.update("CP-NEW", tariff_id="PUBLIC", created_at=T0 - timedelta(days=2))
    await platform.tokens.add("A0000001")
    # An invalid session (too short) is no sign of life.
    await _session(platform, "CP-PUB", T0 - timedelta(days=1), minutes=1)
    assert (await platform.monitoring.sweep()).opened == 1
    (ticket,) = await tickets(platform)
    assert (ticket.station_id, ticket.rule) == ("CP-PUB", Rule.NO_SESSIONS)

    await _session(platform, "CP-PUB", T0 - timedelta(hours=2), minutes=40)
    assert (await platform.monitoring.sweep()).cleared == 1
    (closed,) = await tickets(platform, states=frozenset({TicketState.CLOSED}))
    assert closed.cleared_by == "session"


async def _session(platform: Platform, station: str, start: datetime, minutes: int) -> None:
    ref = ConnectorRef.from_ocpp16(1)
    started = await platform.events.start_transaction(
        station, ref, IdToken("A0000001", IdTokenType.ISO14443), 1000, start, None
    )
    await platform.events.stop_transaction(
        station,
        StopRequest(
            transaction_id=started.transaction_id,
            stopped_at=start + timedelta(minutes=minutes),
            meter_stop_wh=6000,
            reason="Local",
            id_token=None,
            samples=(),
        ),
    )


async def test_remedies_for_a_station_that_cannot_be_reached(
    platform: Platform, clock: ManualClock
) -> None:
    """Each remedy is tried in turn and recorded as offline; none can clear anything, so each
    next one comes at once, and when they are spent the ticket goes to people."""
    await platform.stations.add("CP-1", KEY)
    await status(platform, "Faulted", connector=2, error="ConnectorLockFailure")
    await published(platform)
    (ticket,) = await tickets(platform)
    assert await platform.monitoring.run_remedies() == 0  # it may pass by itself first
    clock.advance(minutes=3)
    taken = [await platform.monitoring.run_remedies() for _ in range(5)]
    assert taken == [1, 1, 1, 1, 0]
    detail = await platform.tickets.get(PLATFORM, ticket.id)
    assert detail.ticket.state is TicketState.OPEN
    assert detail.ticket.dispatched_at == T0 + timedelta(minutes=3)
    assert [(r.step, r.remedy, r.outcome, r.cleared) for r in detail.remedies] == [
        (0, Remedy.SOFT_RESET, RemedyOutcome.OFFLINE, False),
        (1, Remedy.HARD_RESET, RemedyOutcome.OFFLINE, False),
        (2, Remedy.UNLOCK_CONNECTOR, RemedyOutcome.OFFLINE, False),
    ]


async def test_a_remedy_waits_for_its_due_time_and_a_person_stops_them(
    platform: Platform, clock: ManualClock
) -> None:
    await platform.stations.add("CP-1", KEY)
    await status(platform, "Faulted")
    await published(platform)
    (ticket,) = await tickets(platform)
    assert ticket.remedy_due_at == T0 + timedelta(minutes=3)
    # Not due yet: nothing taken.
    clock.advance(minutes=3, seconds=-1)
    assert await platform.monitoring.run_remedies() == 0
    clock.advance(seconds=1)
    await platform.tickets.acknowledge(PLATFORM, ticket.id, "on my way")
    assert await platform.monitoring.run_remedies() == 0
    detail = await platform.tickets.get(PLATFORM, ticket.id)
    assert detail.remedies == []
    assert detail.ticket.state is TicketState.ACKNOWLEDGED
    assert detail.ticket.acknowledge_note == "on my way"


# -- people ----------------------------------------------------------------------------------------


async def test_who_sees_and_handles_a_ticket(platform: Platform, clock: ManualClock) -> None:
    op = await factories.operator(platform)
    owner = await factories.company(platform, op, "Acme", drivers=1)
    other = await factories.company(platform, op, "Other", drivers=0)
    fixit = await factories.company(platform, op, "Fixit", kind=OrganisationKind.INSTALLER)
    rival = await factories.company(platform, op, "Rival", kind=OrganisationKind.INSTALLER)
    await platform.stations.add("CP-1", KEY)
    await platform.stations.set_owner(op, "CP-1", owner.id)
    await platform.tickets.set_station_installer(op, "CP-1", fixit.id)
    await platform.events.firmware_status("CP-1", "DownloadFailed")
    await published(platform)
    (ticket,) = await tickets(platform)

    for actor in (fixit.manager, owner.manager, op):
        assert [t.id for t in await tickets(platform, actor)] == [ticket.id]
        assert (await platform.tickets.get(actor, ticket.id)).ticket.id == ticket.id
    for actor in (rival.manager, other.manager, owner.drivers[0]):
        assert await tickets(platform, actor) == []
        with pytest.raises(TicketNotFound):
            await platform.tickets.get(actor, ticket.id)
        with pytest.raises(TicketNotFound):
            await platform.tickets.acknowledge(actor, ticket.id)
    assert await tickets(platform, fixit.manager, installer_id=rival.id) == []

    # The owner reads its station's tickets; the installer and the operator handle them.
    with pytest.raises(Forbidden):
        await platform.tickets.acknowledge(owner.manager, ticket.id)
    clock.advance(hours=49)  # past its response target (normal: two days)
    assert [t.id for t in await tickets(platform, overdue=True)] == [ticket.id]
    assert await tickets(platform, overdue=False) == []
    acknowledged = await platform.tickets.acknowledge(fixit.manager, ticket.id, " on it ")
    assert acknowledged.ticket.state is TicketState.ACKNOWLEDGED
    assert acknowledged.ticket.acknowledged_by == fixit.manager.username
    assert acknowledged.ticket.acknowledge_note == "on it"
    assert acknowledged.ticket.clock(clock.now()).overdue  # answered late
    with pytest.raises(TicketError, match="acknowledged already") as again:
        await platform.tickets.acknowledge(fixit.manager, ticket.id)
    assert again.value.field == "state"
    with pytest.raises(TicketError) as no_note:
        await platform.tickets.close(fixit.manager, ticket.id, "  ")
    assert no_note.value.field == "note"
    closed = await platform.tickets.close(fixit.manager, ticket.id, "firmware flashed by hand")
    assert closed.ticket.state is TicketState.CLOSED
    assert closed.ticket.close_reason is not None and closed.ticket.close_reason.value == "resolved"
    assert (closed.ticket.closed_by, closed.ticket.close_note) == (
        fixit.manager.username,
        "firmware flashed by hand",
    )
    with pytest.raises(TicketError, match="closed already"):
        await platform.tickets.close(op, ticket.id, "again")
    assert await tickets(platform, fixit.manager) == []
    assert [t.id for t in await tickets(platform, fixit.manager, states=frozenset(TicketState))]


async def test_the_station_installer_is_the_operators_to_set(platform: Platform) -> None:
    op = await factories.operator(platform)
    company = await factories.company(platform, op, "Acme", drivers=0)
    fixit = await factories.company(platform, op, "Fixit", kind=OrganisationKind.INSTALLER)
    newco = await factories.company(platform, op, "Newco", kind=OrganisationKind.INSTALLER)
    await platform.stations.add("CP-1", KEY)
    await platform.tickets.set_station_installer(op, "CP-1", fixit.id)
    with pytest.raises(TicketError) as wrong:
        await platform.tickets.set_station_installer(op, "CP-1", company.id)
    assert wrong.value.field == "organisation_id"
    with pytest.raises(TicketError):
        await platform.tickets.set_station_installer(op, "CP-1", 987654)
    with pytest.raises(StationNotFound):
        await platform.tickets.set_station_installer(op, "CP-NONE", fixit.id)
    with pytest.raises(Forbidden):
        await platform.tickets.set_station_installer(fixit.manager, "CP-1", fixit.id)
    assert (await platform.stations.get("CP-1")).installer_id == fixit.id

    # Active tickets follow the station to its new installer; closed ones stay.
    await platform.events.diagnostics_status("CP-1", "UploadFailed")
    await platform.events.firmware_status("CP-1", "DownloadFailed")
    await published(platform)
    firmware = next(t for t in await tickets(platform) if t.rule is Rule.FIRMWARE_FAILED)
    await platform.tickets.close(op, firmware.id, "retried by hand")
    await platform.tickets.set_station_installer(op, "CP-1", newco.id)
    assert [t.rule for t in await tickets(platform, newco.manager)] == [Rule.DIAGNOSTICS_FAILED]
    everything = frozenset(TicketState)
    assert [t.rule for t in await tickets(platform, fixit.manager, states=everything)] == [
        Rule.FIRMWARE_FAILED
    ]
    await platform.tickets.set_station_installer(op, "CP-1", None)
    assert (await platform.stations.get("CP-1")).installer_id is None


async def test_an_event_of_a_station_the_platform_does_not_know_opens_nothing(
    platform: Platform,
) -> None:
    await platform.events.firmware_status("CP-GHOST", "DownloadFailed")
    await published(platform)
    assert await tickets(platform, states=frozenset(TicketState)) == []


# -- any sequence of statuses, through the store ---------------------------------------------------

STATUSES = ["Available", "Preparing", "Charging", "Finishing", "Unavailable", "Faulted"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.lists(st.tuples(st.sampled_from(STATUSES), st.integers(1, 2)), max_size=12),
        min_size=1,
        max_size=5,
    )
)
def test_any_sequence_of_statuses_leaves_at_most_one_active_ticket_per_connector(
    batches: list[list[tuple[str, int]]], sqlite_template: Path, tmp_path: Path
) -> None:
    """Through the store and its unique index (SQLite): batch by batch, every active ticket is
    one per connector, and a connector has one exactly when its last word was Faulted."""

    async def run() -> None:
        path = tmp_path / f"property-{id(batches)}.db"
        shutil.copy(sqlite_template, path)
        db = create_database(f"sqlite:///{path}")
        try:
            uow = SqlUnitOfWork(db, OutboxRepository(db, None))  # type: ignore[arg-type]
            repo = TicketRepository(db)
            clock = ManualClock(T0)
            subscriber = ServiceTickets(repo, MonitoringSettings(), uow, clock)
            await StationRepository(db, None).add("CP-1", KEY, now=T0)  # type: ignore[arg-type]
            last: dict[int, bool] = {}
            for batch in batches:
                events = []
                for state, connector in batch:
                    clock.advance(seconds=1)
                    ref = ConnectorRef.from_ocpp16(connector)
                    events.append(
                        ConnectorStatusChanged(
                            occurred_at=clock.now(),
                            station_id="CP-1",
                            evse_id=ref.evse_id,
                            connector_id=ref.connector_id,
                            status=state,
                            error_code=None,
                            vendor_error_code=None,
                            info=None,
                            status_at=clock.now(),
                        )
                    )
                    if state != "Unavailable":
                        last[connector] = state == "Faulted"
                async with uow():
                    await subscriber.handle_many(events)
                active = await repo.active(["CP-1"])
                assert sorted(k.evse_id for k in active) == sorted(
                    c for c, faulted in last.items() if faulted
                )
        finally:
            await db.dispose()
            path.unlink(missing_ok=True)

    asyncio.run(run())


async def test_statuses_read_off_their_text_decide_as_decoded_ones(platform: Platform) -> None:
    """The delivery hands the consumer its batch still encoded; a status of a station without
    an active ticket, not Faulted, is never decoded. Whatever is read that way, the tickets
    are those the decoded events make."""
    subscriber = consumer(platform)
    for station in ("CP-1", "CP-2", "CP-3", "CP-4"):
        await platform.stations.add(station, KEY)

    def changed(station: str, state: str, n: int) -> ConnectorStatusChanged:
        ref = ConnectorRef.from_ocpp16(1)
        return ConnectorStatusChanged(
            occurred_at=T0 + timedelta(seconds=n),
            station_id=station,
            evse_id=ref.evse_id,
            connector_id=ref.connector_id,
            status=state,
            error_code="OtherError" if state == "Faulted" else "NoError",
            vendor_error_code=None,
            info='a "quoted" note',
            status_at=T0,
        )

    first = [changed("CP-1", "Faulted", 0), changed("CP-2", "Faulted", 1)]
    second = [
        changed("CP-3", "Charging", 2),
        changed("CP-1", "Available", 3),  # CP-1's ticket is active: read and decoded
        changed("CP-3", "Faulted", 4),
        changed("CP-2", "Unavailable", 5),
        # A fault and its recovery within one batch: a ticket, already closed.
        changed("CP-4", "Faulted", 6),
        changed("CP-4", "Preparing", 7),
    ]
    for batch in (first, second):
        envelopes = [
            Envelope(n, e.id, e.kind, e.occurred_at, encode(e)) for n, e in enumerate(batch)
        ]
        async with platform.uow():
            await subscriber.handle_envelopes(envelopes)
    found = await tickets(platform, states=frozenset(TicketState))
    assert sorted((t.station_id, t.state.value, t.cleared_by) for t in found) == [
        ("CP-1", "closed", "status:Available"),
        ("CP-2", "remedying", None),
        ("CP-3", "remedying", None),
        ("CP-4", "closed", "status:Preparing"),
    ]


async def test_a_ticket_goes_to_the_installer_once_the_remedies_are_spent(
    platform: Platform, clock: ManualClock
) -> None:
    op = await factories.operator(platform)
    fixit = await factories.company(platform, op, "Fixit", kind=OrganisationKind.INSTALLER)
    await platform.stations.add("CP-1", KEY)
    await platform.tickets.set_station_installer(op, "CP-1", fixit.id)
    await status(platform, "Faulted")
    await published(platform)
    (ticket,) = await tickets(platform)
    assert await tickets(platform, fixit.manager) == []
    with pytest.raises(TicketNotFound):
        await platform.tickets.get(fixit.manager, ticket.id)
    clock.advance(minutes=3)
    while await platform.monitoring.run_remedies():
        pass
    (theirs,) = await tickets(platform, fixit.manager)
    assert (theirs.id, theirs.state) == (ticket.id, TicketState.OPEN)
