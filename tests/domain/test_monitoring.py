"""The monitoring rules: what opens, recurs and clears a ticket, the remedies in order, and a
ticket's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.commands import Reset, Unlock
from voltflow.domain.events import (
    CommandAnswered,
    ConnectorStatusChanged,
    DiagnosticsStatusChanged,
    Event,
    FirmwareStatusChanged,
    SessionClosed,
    StationBooted,
    StationConnected,
    StationDisconnected,
)
from voltflow.domain.monitoring import (
    MonitoringSettings,
    Priority,
    Remedy,
    RemedyOutcome,
    Rule,
    Step,
    TicketKey,
    TicketState,
    TicketStepRefused,
    acknowledge,
    close,
    cutoffs,
    evaluate,
    first_state,
    next_remedy,
    remedies_for,
    remedy_command,
    remedy_outcome,
    stations_named,
    ticket_clock,
)
from voltflow.domain.stations import ConnectorRef

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
S = "CP-1"
SETTINGS = MonitoringSettings()


def status(
    status: str,
    connector: int = 1,
    *,
    station: str = S,
    error: str | None = "NoError",
    vendor: str | None = None,
    at: datetime = T0,
) -> ConnectorStatusChanged:
    ref = ConnectorRef.from_ocpp16(connector)
    return ConnectorStatusChanged(
        occurred_at=at,
        station_id=station,
        evse_id=ref.evse_id,
        connector_id=ref.connector_id,
        status=status,
        error_code=error,
        vendor_error_code=vendor,
        info=None,
        status_at=at,
    )


def booted(station: str = S, at: datetime = T0) -> StationBooted:
    return StationBooted(
        occurred_at=at,
        station_id=station,
        registration="Accepted",
        vendor="V",
        model="M",
        firmware_version="1.0",
        protocol="1.6",
    )


def reset_answered(status: str = "Accepted", station: str = S) -> CommandAnswered:
    return CommandAnswered(
        occurred_at=T0,
        station_id=station,
        action="Reset",
        outcome="answered",
        status=status,
        actor=None,
    )


def fault_key(connector: int = 1, station: str = S) -> TicketKey:
    return TicketKey.of(station, Rule.CONNECTOR_FAULTED, ConnectorRef.from_ocpp16(connector))


def steps(events: list[Event], open_keys: set[TicketKey] | None = None, **boots: int) -> list:
    return [
        (d.step, d.key.rule, d.key.evse_id, d.cleared_by)
        for d in evaluate(events, open_keys or set(), boots, SETTINGS)
    ]


FAULT = (Step.OPEN, Rule.CONNECTOR_FAULTED, 1, None)


@pytest.mark.parametrize(
    ("events", "open_keys", "expected"),
    [
        # A connector Faulted opens a ticket, with its codes.
        ([status("Faulted", error="GroundFailure", vendor="E-42")], set(), [FAULT]),
        # The same again while it is open: an occurrence.
        (
            [status("Faulted"), status("Faulted")],
            set(),
            [FAULT, (Step.RECUR, Rule.CONNECTOR_FAULTED, 1, None)],
        ),
        ([status("Faulted")], {fault_key()}, [(Step.RECUR, Rule.CONNECTOR_FAULTED, 1, None)]),
        # Back to a usable status: it clears, saying which.
        (
            [status("Faulted"), status("Available")],
            set(),
            [FAULT, (Step.CLEAR, Rule.CONNECTOR_FAULTED, 1, "status:Available")],
        ),
        (
            [status("Charging")],
            {fault_key()},
            [(Step.CLEAR, Rule.CONNECTOR_FAULTED, 1, "status:Charging")],
        ),
        # Unavailable does not end a fault: the connector is still out of service.
        ([status("Unavailable")], {fault_key()}, []),
        # Nothing open, nothing faulted: nothing at all (the busiest case by far).
        ([status("Available"), status("Charging"), status("Finishing")], set(), []),
        # A fault, its recovery and the fault again: a ticket, its close and a new one.
        (
            [status("Faulted"), status("Available"), status("Faulted")],
            set(),
            [FAULT, (Step.CLEAR, Rule.CONNECTOR_FAULTED, 1, "status:Available"), FAULT],
        ),
        # Connectors are kept apart; connector 0 is the station itself.
        (
            [status("Faulted", 1), status("Faulted", 2), status("Available", 1)],
            set(),
            [
                FAULT,
                (Step.OPEN, Rule.CONNECTOR_FAULTED, 2, None),
                (Step.CLEAR, Rule.CONNECTOR_FAULTED, 1, "status:Available"),
            ],
        ),
        ([status("Faulted", 0)], set(), [(Step.OPEN, Rule.CONNECTOR_FAULTED, 0, None)]),
        # A connector reporting an error code but not Faulted is a warning, not a ticket.
        ([status("Available", error="HighTemperature")], set(), []),
        # Firmware and diagnostics.
        (
            [FirmwareStatusChanged(occurred_at=T0, station_id=S, status="Downloading")],
            set(),
            [],
        ),
        (
            [FirmwareStatusChanged(occurred_at=T0, station_id=S, status="InstallationFailed")],
            set(),
            [(Step.OPEN, Rule.FIRMWARE_FAILED, 0, None)],
        ),
        (
            [FirmwareStatusChanged(occurred_at=T0, station_id=S, status="DownloadFailed")],
            set(),
            [(Step.OPEN, Rule.FIRMWARE_FAILED, 0, None)],
        ),
        (
            [FirmwareStatusChanged(occurred_at=T0, station_id=S, status="Installed")],
            {TicketKey.of(S, Rule.FIRMWARE_FAILED)},
            [(Step.CLEAR, Rule.FIRMWARE_FAILED, 0, "firmware_installed")],
        ),
        # Idle says nothing of success.
        (
            [FirmwareStatusChanged(occurred_at=T0, station_id=S, status="Idle")],
            {TicketKey.of(S, Rule.FIRMWARE_FAILED)},
            [],
        ),
        (
            [DiagnosticsStatusChanged(occurred_at=T0, station_id=S, status="UploadFailed")],
            set(),
            [(Step.OPEN, Rule.DIAGNOSTICS_FAILED, 0, None)],
        ),
        (
            [DiagnosticsStatusChanged(occurred_at=T0, station_id=S, status="Uploaded")],
            {TicketKey.of(S, Rule.DIAGNOSTICS_FAILED)},
            [(Step.CLEAR, Rule.DIAGNOSTICS_FAILED, 0, "diagnostics_uploaded")],
        ),
        # A station back online ends its offline ticket, by connecting or booting.
        (
            [StationConnected(occurred_at=T0, station_id=S)],
            {TicketKey.of(S, Rule.STATION_OFFLINE)},
            [(Step.CLEAR, Rule.STATION_OFFLINE, 0, "connected")],
        ),
        (
            [booted()],
            {TicketKey.of(S, Rule.STATION_OFFLINE)},
            [(Step.CLEAR, Rule.STATION_OFFLINE, 0, "connected")],
        ),
        # Going offline is the sweep's business, and events of other kinds are none of these.
        ([StationDisconnected(occurred_at=T0, station_id=S)], set(), []),
    ],
)
def test_the_rules(
    events: list[Event], open_keys: set[TicketKey], expected: list[tuple[object, ...]]
) -> None:
    assert steps(events, open_keys) == expected


def test_a_fault_observation_keeps_its_codes_and_event() -> None:
    event = status("Faulted", 2, error="GroundFailure", vendor="E-42")
    (decision,) = evaluate([event], set(), {}, SETTINGS)
    seen = decision.observation
    assert seen.key == TicketKey(S, 2, 1, Rule.CONNECTOR_FAULTED)
    assert (seen.status, seen.error_code, seen.vendor_error_code) == (
        "Faulted",
        "GroundFailure",
        "E-42",
    )
    assert (seen.at, seen.event_id) == (T0, event.id)


@pytest.mark.parametrize(
    ("before", "events", "opens_at"),
    [
        # The fifth boot within the window opens the ticket (boots before the batch count).
        (0, [booted()] * 5, 4),
        (4, [booted()], 0),
        (3, [booted()], None),
        # A Reset the station accepted explains one boot; a refused one explains nothing.
        (0, [booted(), reset_answered(), booted(), booted(), booted(), booted()], None),
        (0, [booted(), reset_answered("Rejected"), booted(), booted(), booted(), booted()], 5),
    ],
)
def test_repeated_reboots(before: int, events: list[Event], opens_at: int | None) -> None:
    decisions = evaluate(events, set(), {S: before} if before else {}, SETTINGS)
    opened = [d for d in decisions if d.key.rule is Rule.REPEATED_REBOOTS]
    if opens_at is None:
        assert opened == []
        return
    assert opened[0].step is Step.OPEN
    assert opened[0].observation.event_id == events[opens_at].id
    # Each boot after it, while the ticket is open, is an occurrence.
    assert all(d.step is Step.RECUR for d in opened[1:])


def test_the_batch_names_its_stations() -> None:
    events: list[Event] = [
        status("Faulted", station="A"),
        booted("B"),
        FirmwareStatusChanged(occurred_at=T0, station_id="C", status="Idle"),
    ]
    assert stations_named(events) == {"A", "B", "C"}


# -- at most one open ticket per key, whatever the stations say ------------------------------------

STATUSES = [
    "Available",
    "Preparing",
    "Charging",
    "SuspendedEV",
    "Finishing",
    "Unavailable",
    "Faulted",
]
station_events = st.one_of(
    st.builds(
        lambda s, c, station: status(s, c, station=station),
        st.sampled_from(STATUSES),
        st.integers(0, 2),
        st.sampled_from(["A", "B"]),
    ),
    st.builds(booted, st.sampled_from(["A", "B"])),
    st.builds(
        lambda s: FirmwareStatusChanged(occurred_at=T0, station_id="A", status=s),
        st.sampled_from(["Downloading", "DownloadFailed", "InstallationFailed", "Installed"]),
    ),
    st.builds(lambda: reset_answered(station="A")),
)


@given(batches=st.lists(st.lists(station_events, max_size=30), max_size=6))
def test_any_sequence_leaves_at_most_one_open_ticket_per_key(batches: list[list[Event]]) -> None:
    """Batch after batch, the decisions never open a ticket whose key is open, never add to or
    clear one that is not, and the keys left open are exactly those whose last word was the
    condition."""
    open_keys: set[TicketKey] = set()
    last_faulted: dict[TicketKey, bool] = {}
    for batch in batches:
        for decision in evaluate(batch, set(open_keys), {}, SETTINGS):
            key = decision.key
            if decision.step is Step.OPEN:
                assert key not in open_keys
                open_keys.add(key)
            elif decision.step is Step.RECUR:
                assert key in open_keys
            else:
                assert key in open_keys
                open_keys.remove(key)
        for event in batch:
            if isinstance(event, ConnectorStatusChanged) and event.status != "Unavailable":
                key = TicketKey(
                    event.station_id, event.evse_id, event.connector_id, Rule.CONNECTOR_FAULTED
                )
                last_faulted[key] = event.status == "Faulted"
    faults = {k for k in open_keys if k.rule is Rule.CONNECTOR_FAULTED}
    assert faults == {k for k, faulted in last_faulted.items() if faulted}


def test_events_of_other_kinds_decide_nothing() -> None:
    closed = SessionClosed(
        occurred_at=T0,
        session_id="1",
        station_id=S,
        evse_id=1,
        connector_id=1,
        id_token="A",
        started_at=T0,
        stopped_at=T0,
        energy_wh=1,
        session_type="normal",
        type_reason=None,
        stop_reason="Local",
        closed_by="station",
    )
    assert evaluate([closed], {fault_key()}, {}, SETTINGS) == []


# -- remedies --------------------------------------------------------------------------------------


def test_a_faulted_connector_is_remedied_soft_then_hard_then_unlocked() -> None:
    key = fault_key(2)
    assert remedies_for(key) == (Remedy.SOFT_RESET, Remedy.HARD_RESET, Remedy.UNLOCK_CONNECTOR)
    assert first_state(key) is TicketState.REMEDYING
    plan = [next_remedy(key, n) for n in range(4)]
    assert [(p.remedy, p.step, p.failed_step) for p in plan] == [
        (Remedy.SOFT_RESET, 0, None),
        (Remedy.HARD_RESET, 1, 0),
        (Remedy.UNLOCK_CONNECTOR, 2, 1),
        (None, 3, 2),
    ]
    assert remedy_command(Remedy.SOFT_RESET, key) == Reset(hard=False)
    assert remedy_command(Remedy.HARD_RESET, key) == Reset(hard=True)
    assert remedy_command(Remedy.UNLOCK_CONNECTOR, key) == Unlock(ConnectorRef(2, 1))


def test_a_station_wide_fault_has_no_connector_to_unlock() -> None:
    assert remedies_for(fault_key(0)) == (Remedy.SOFT_RESET, Remedy.HARD_RESET)


@pytest.mark.parametrize(
    "rule",
    [
        Rule.STATION_OFFLINE,
        Rule.NO_SESSIONS,
        Rule.FIRMWARE_FAILED,
        Rule.DIAGNOSTICS_FAILED,
        Rule.REPEATED_REBOOTS,
    ],
)
def test_other_rules_go_straight_to_people(rule: Rule) -> None:
    key = TicketKey.of(S, rule)
    assert remedies_for(key) == ()
    assert first_state(key) is TicketState.OPEN
    assert next_remedy(key, 0).remedy is None


@pytest.mark.parametrize(
    ("remedy", "answer", "outcome"),
    [
        (Remedy.SOFT_RESET, "Accepted", RemedyOutcome.ACCEPTED),
        (Remedy.HARD_RESET, "Rejected", RemedyOutcome.REJECTED),
        (Remedy.UNLOCK_CONNECTOR, "Unlocked", RemedyOutcome.ACCEPTED),
        (Remedy.UNLOCK_CONNECTOR, "UnlockFailed", RemedyOutcome.REJECTED),
        (Remedy.UNLOCK_CONNECTOR, "NotSupported", RemedyOutcome.REJECTED),
        (Remedy.SOFT_RESET, None, RemedyOutcome.REJECTED),
    ],
)
def test_remedy_outcomes(remedy: Remedy, answer: str | None, outcome: RemedyOutcome) -> None:
    assert remedy_outcome(remedy, answer) is outcome


# -- settings, sweeps and the clock ----------------------------------------------------------------


def test_priorities_and_response_targets() -> None:
    assert SETTINGS.priority(Rule.CONNECTOR_FAULTED) is Priority.HIGH
    assert SETTINGS.respond_by(Rule.CONNECTOR_FAULTED, T0) == T0 + timedelta(hours=8)
    assert SETTINGS.respond_by(Rule.DIAGNOSTICS_FAILED, T0) == T0 + timedelta(days=5)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"reboots": 1}, "reboots"),
        ({"idle_days": 0}, "idle_days"),
        ({"offline_after": timedelta(0)}, "offline_after"),
        ({"priorities": {Rule.CONNECTOR_FAULTED: Priority.HIGH}}, "priorities"),
        ({"response_targets": {Priority.HIGH: timedelta(hours=1)}}, "response_targets"),
    ],
)
def test_settings_refuse_nonsense(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        MonitoringSettings(**changes)  # type: ignore[arg-type]


def test_sweep_cutoffs() -> None:
    now = T0
    cut = cutoffs(now, SETTINGS)
    assert cut.offline_before == now - timedelta(minutes=30)
    assert cut.idle_since == now - timedelta(days=7)
    assert cut.reboots_since == now - timedelta(hours=1)
    # Just restarted: whether a station has been away long is not known yet.
    assert cutoffs(now, SETTINGS, up_since=now - timedelta(minutes=5)).offline_before is None
    long_up = cutoffs(now, SETTINGS, up_since=now - timedelta(hours=2))
    assert long_up.offline_before == cut.offline_before


@pytest.mark.parametrize(
    ("acknowledged", "closed", "now", "age", "overdue"),
    [
        (None, None, T0 + timedelta(hours=1), timedelta(hours=1), False),
        (None, None, T0 + timedelta(hours=9), timedelta(hours=9), True),
        (T0 + timedelta(hours=7), None, T0 + timedelta(hours=9), timedelta(hours=9), False),
        (T0 + timedelta(hours=10), None, T0 + timedelta(hours=12), timedelta(hours=12), True),
        # Closed: the clock stops; closing in time is answering in time.
        (None, T0 + timedelta(minutes=5), T0 + timedelta(days=3), timedelta(minutes=5), False),
    ],
)
def test_the_clock(
    acknowledged: datetime | None,
    closed: datetime | None,
    now: datetime,
    age: timedelta,
    overdue: bool,
) -> None:
    clock = ticket_clock(T0, T0 + timedelta(hours=8), acknowledged, closed, now)
    assert (clock.age, clock.overdue) == (age, overdue)


def test_peoples_steps() -> None:
    assert acknowledge(TicketState.OPEN) is TicketState.ACKNOWLEDGED
    assert acknowledge(TicketState.REMEDYING) is TicketState.ACKNOWLEDGED
    assert close(TicketState.ACKNOWLEDGED) is TicketState.CLOSED
    with pytest.raises(TicketStepRefused) as refused:
        acknowledge(TicketState.ACKNOWLEDGED)
    assert refused.value.reason == "acknowledged"
    with pytest.raises(TicketStepRefused):
        close(TicketState.CLOSED)
