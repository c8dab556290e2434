"""First-line service: the rules that turn what stations report into service tickets while no
one is watching, the remedies the platform tries before people are called, and a ticket's clock.

A rule reads the events stations' messages become (``domain.events``) or the platform's view of
a station at a moment (how long since it was last heard from, since its last good session) and
finds a condition worth a ticket: a connector Faulted, a station offline too long, a public
station without a successful session for days, a firmware update or diagnostics upload that
failed, a station that keeps rebooting. There is at most one open ticket per station,
connector and rule: while one is open, the same condition found again is an occurrence of it,
not a ticket of its own, so a station repeating its fault every minute fills no list. When the
condition ends by itself (the connector reports it is usable again, the station reconnects, a
later firmware update installs) the ticket closes itself, saying what cleared it.

Before a ticket goes to people, the platform tries the remote remedies its rule allows, in
order (``REMEDIES``): each is sent, its answer kept, and the condition given time to clear
before the next one. A ticket whose remedies are spent waits for the installer.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from voltflow.domain.commands import Command, Reset, Unlock
from voltflow.domain.events import (
    CommandAnswered,
    ConnectorStatusChanged,
    DiagnosticsStatusChanged,
    Event,
    FirmwareStatusChanged,
    StationBooted,
    StationConnected,
)
from voltflow.domain.stations import ConnectorRef, ConnectorStatus


class Rule(enum.StrEnum):
    """What a ticket is about: the rule that found it."""

    CONNECTOR_FAULTED = "connector_faulted"
    STATION_OFFLINE = "station_offline"
    NO_SESSIONS = "no_sessions"
    FIRMWARE_FAILED = "firmware_failed"
    DIAGNOSTICS_FAILED = "diagnostics_failed"
    REPEATED_REBOOTS = "repeated_reboots"


class Priority(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class TicketState(enum.StrEnum):
    """``remedying``: the platform is trying its remote remedies; ``open``: with people, not yet
    taken up; ``acknowledged``: someone has taken it up; ``closed``: done, by someone or because
    the condition cleared."""

    REMEDYING = "remedying"
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


ACTIVE_STATES = frozenset({TicketState.REMEDYING, TicketState.OPEN, TicketState.ACKNOWLEDGED})


class CloseReason(enum.StrEnum):
    CLEARED = "cleared"  # the condition ended by itself (``cleared_by`` says how)
    RESOLVED = "resolved"  # someone closed it, with a note


class Remedy(enum.StrEnum):
    SOFT_RESET = "soft_reset"
    HARD_RESET = "hard_reset"
    UNLOCK_CONNECTOR = "unlock_connector"


class RemedyOutcome(enum.StrEnum):
    """What became of sending a remedy: the station took it or refused it, or it never got an
    answer (``timeout``), or could not be sent (``offline``, ``failed``)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    OFFLINE = "offline"
    FAILED = "failed"


# The remote remedies each rule allows, in the order they are tried. A station that is offline
# cannot be reached; a failed firmware update or upload, an idle station or one that keeps
# rebooting needs a person, not another reboot.
REMEDIES: Mapping[Rule, tuple[Remedy, ...]] = MappingProxyType(
    {Rule.CONNECTOR_FAULTED: (Remedy.SOFT_RESET, Remedy.HARD_RESET, Remedy.UNLOCK_CONNECTOR)}
)

# What a station reports when a firmware update or a diagnostics upload failed (OCPP 1.6's
# FirmwareStatus and DiagnosticsStatus; 2.0.1's further failures of a signed update), and what
# tells it went through after all.
FIRMWARE_FAILURES = frozenset(
    {
        "DownloadFailed",
        "InstallationFailed",
        "InstallVerificationFailed",
        "InvalidSignature",
        "InstallRebootFailed",
    }
)
FIRMWARE_INSTALLED = "Installed"
DIAGNOSTICS_FAILED = "UploadFailed"
DIAGNOSTICS_UPLOADED = "Uploaded"
RESET_ACTION = "Reset"  # the same word in OCPP 1.6 and 2.0.1

# Statuses that do not end a fault: the connector is still out of service.
_STILL_OUT = frozenset({ConnectorStatus.FAULTED, ConnectorStatus.UNAVAILABLE})

# What cleared a ticket, as ``cleared_by`` records it (a connector's status is recorded as
# ``status:`` and the status it reported).
CLEARED_CONNECTED = "connected"
CLEARED_FIRMWARE = "firmware_installed"
CLEARED_DIAGNOSTICS = "diagnostics_uploaded"
CLEARED_QUIET = "no_reboots"
CLEARED_SESSION = "session"
STATUS_PREFIX = "status:"


@dataclass(frozen=True, slots=True)
class MonitoringSettings:
    """The rules' thresholds, the response time each priority is given, and the pace of the
    remedies: platform settings with defaults an operator can live with on day one."""

    # A station not heard from for this long, and not connected, gets a ticket.
    offline_after: timedelta = timedelta(minutes=30)
    # A public station without a successful session for this many days gets a ticket.
    idle_days: int = 7
    # This many boots within ``reboot_window`` (boots the platform asked for with a Reset do not
    # count) make a ticket; it clears once a whole window passes without one.
    reboots: int = 5
    reboot_window: timedelta = timedelta(hours=1)
    # How long a remedy is given to clear the condition before the next one is tried (and the
    # condition, before the first: many faults pass by themselves).
    remedy_wait: timedelta = timedelta(minutes=3)
    priorities: Mapping[Rule, Priority] = field(
        default_factory=lambda: MappingProxyType(
            {
                Rule.CONNECTOR_FAULTED: Priority.HIGH,
                Rule.STATION_OFFLINE: Priority.HIGH,
                Rule.NO_SESSIONS: Priority.NORMAL,
                Rule.FIRMWARE_FAILED: Priority.NORMAL,
                Rule.DIAGNOSTICS_FAILED: Priority.LOW,
                Rule.REPEATED_REBOOTS: Priority.NORMAL,
            }
        )
    )
    # How soon a ticket must be taken up (acknowledged) once it opened.
    response_targets: Mapping[Priority, timedelta] = field(
        default_factory=lambda: MappingProxyType(
            {
                Priority.URGENT: timedelta(hours=2),
                Priority.HIGH: timedelta(hours=8),
                Priority.NORMAL: timedelta(days=2),
                Priority.LOW: timedelta(days=5),
            }
        )
    )

    def __post_init__(self) -> None:
        for name in ("offline_after", "reboot_window", "remedy_wait"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name}: must be positive")
        if self.idle_days < 1:
            raise ValueError("idle_days: at least 1")
        if self.reboots < 2:
            raise ValueError("reboots: at least 2 (one boot is no pattern)")
        missing = set(Rule) - set(self.priorities)
        if missing:
            raise ValueError(f"priorities: none for {', '.join(sorted(missing))}")
        targets = set(self.priorities.values()) - set(self.response_targets)
        if targets:
            raise ValueError(f"response_targets: none for {', '.join(sorted(targets))}")

    def priority(self, rule: Rule) -> Priority:
        return self.priorities[rule]

    def respond_by(self, rule: Rule, opened_at: datetime) -> datetime:
        return opened_at + self.response_targets[self.priority(rule)]


# -- what the rules find ---------------------------------------------------------------------------

# The station itself, where a rule is not about one of its connectors (OCPP 1.6 connector 0).
STATION_WIDE = ConnectorRef(evse_id=0, connector_id=0)


@dataclass(frozen=True, slots=True, order=True)
class TicketKey:
    """What one open ticket at a time stands for."""

    station_id: str
    evse_id: int
    connector_id: int
    rule: Rule

    @classmethod
    def of(cls, station_id: str, rule: Rule, ref: ConnectorRef = STATION_WIDE) -> TicketKey:
        return cls(station_id, ref.evse_id, ref.connector_id, rule)

    @property
    def connector(self) -> ConnectorRef:
        return ConnectorRef(self.evse_id, self.connector_id)


@dataclass(frozen=True, slots=True)
class Observation:
    """What a rule saw, and when: the condition itself or its end. ``event_id``: the event it
    came from (None for what a sweep found), which makes applying it twice change nothing."""

    key: TicketKey
    at: datetime
    event_id: str | None = None
    status: str | None = None
    error_code: str | None = None
    vendor_error_code: str | None = None
    info: str | None = None


class Step(enum.StrEnum):
    OPEN = "open"  # a new ticket
    RECUR = "recur"  # an occurrence of the open one
    CLEAR = "clear"  # the open one closes: its condition ended


@dataclass(frozen=True, slots=True)
class Decision:
    step: Step
    observation: Observation
    # For ``clear``: what ended the condition (``CLEARED_*``, or ``status:`` and a status).
    cleared_by: str | None = None

    @property
    def key(self) -> TicketKey:
        return self.observation.key


class _Book:
    """The open tickets' keys as decisions change them, so that a batch's decisions follow one
    another: a fault, its recovery and the fault again are a ticket, its close and a new one."""

    def __init__(self, open_keys: Iterable[TicketKey]) -> None:
        self.open = set(open_keys)
        self.decisions: list[Decision] = []

    def found(self, observation: Observation) -> None:
        key = observation.key
        step = Step.RECUR if key in self.open else Step.OPEN
        self.open.add(key)
        self.decisions.append(Decision(step, observation))

    def cleared(self, observation: Observation, cleared_by: str) -> None:
        if observation.key in self.open:
            self.open.discard(observation.key)
            self.decisions.append(Decision(Step.CLEAR, observation, cleared_by))


def evaluate(
    events: Sequence[Event],
    open_keys: Iterable[TicketKey],
    recent_boots: Mapping[str, int],
    settings: MonitoringSettings,
) -> list[Decision]:
    """The rules over a batch of events, in their order: what opens, recurs and clears.

    ``open_keys``: the tickets open before the batch, for the stations it names.
    ``recent_boots``: per station, its boots within the reboot window before the batch, less
    the Resets it accepted meanwhile (each explains a boot)."""
    book = _Book(open_keys)
    boots = dict(recent_boots)
    # Most of a fleet's traffic is a connector going Available, Charging … at a station with no
    # open ticket: seen and passed over without a key or an observation made for it.
    watched = {key.station_id for key in book.open}
    for event in events:
        if isinstance(event, ConnectorStatusChanged):
            faulted = event.status == ConnectorStatus.FAULTED
            if not faulted and event.station_id not in watched:
                continue
            watched.add(event.station_id)
            ref = ConnectorRef(event.evse_id, event.connector_id)
            seen = Observation(
                TicketKey.of(event.station_id, Rule.CONNECTOR_FAULTED, ref),
                event.occurred_at,
                event.id,
                event.status,
                event.error_code,
                event.vendor_error_code,
                event.info,
            )
            if faulted:
                book.found(seen)
            elif event.status not in _STILL_OUT:
                book.cleared(seen, STATUS_PREFIX + event.status)
        elif isinstance(event, StationConnected | StationBooted):
            station = event.station_id
            key = TicketKey.of(station, Rule.STATION_OFFLINE)
            book.cleared(Observation(key, event.occurred_at, event.id), CLEARED_CONNECTED)
            if isinstance(event, StationBooted):
                boots[station] = boots.get(station, 0) + 1
                if boots[station] >= settings.reboots:
                    key = TicketKey.of(station, Rule.REPEATED_REBOOTS)
                    book.found(
                        Observation(key, event.occurred_at, event.id, status=event.registration)
                    )
        elif isinstance(event, CommandAnswered):
            if is_accepted_reset(event):
                boots[event.station_id] = boots.get(event.station_id, 0) - 1
        elif isinstance(event, FirmwareStatusChanged):
            key = TicketKey.of(event.station_id, Rule.FIRMWARE_FAILED)
            seen = Observation(key, event.occurred_at, event.id, status=event.status)
            if event.status in FIRMWARE_FAILURES:
                book.found(seen)
            elif event.status == FIRMWARE_INSTALLED:
                book.cleared(seen, CLEARED_FIRMWARE)
        elif isinstance(event, DiagnosticsStatusChanged):
            key = TicketKey.of(event.station_id, Rule.DIAGNOSTICS_FAILED)
            seen = Observation(key, event.occurred_at, event.id, status=event.status)
            if event.status == DIAGNOSTICS_FAILED:
                book.found(seen)
            elif event.status == DIAGNOSTICS_UPLOADED:
                book.cleared(seen, CLEARED_DIAGNOSTICS)
    return book.decisions


def is_accepted_reset(event: CommandAnswered) -> bool:
    """A Reset the station accepted: the boot that follows is the platform's doing."""
    return (
        event.action == RESET_ACTION and event.outcome == "answered" and event.status == "Accepted"
    )


def stations_named(events: Iterable[Event]) -> set[str]:
    """The stations a batch's events are about (their open tickets are what it may change)."""
    return {s for e in events if isinstance(s := getattr(e, "station_id", None), str)}


# -- what a sweep looks for ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SweepCutoffs:
    """The moments the time-based rules compare with, for a sweep at one moment."""

    # Offline, and last heard from before this: offline too long. None while the platform
    # itself has not been up that long: after a restart every station is offline until it
    # reconnects, and how long it has been away is not known yet.
    offline_before: datetime | None
    # A public station with no successful session started since this: idle too long.
    idle_since: datetime
    # Boots since this count towards repeated reboots; none since: a reboot ticket clears.
    reboots_since: datetime


def cutoffs(
    now: datetime, settings: MonitoringSettings, up_since: datetime | None = None
) -> SweepCutoffs:
    """``up_since``: when the platform started watching stations (None: long enough ago)."""
    offline_before = now - settings.offline_after
    return SweepCutoffs(
        offline_before=(offline_before if up_since is None or up_since <= offline_before else None),
        idle_since=now - timedelta(days=settings.idle_days),
        reboots_since=now - settings.reboot_window,
    )


# -- remedies --------------------------------------------------------------------------------------


def remedies_for(key: TicketKey) -> tuple[Remedy, ...]:
    """The remedies to try for a ticket, in order. A fault of the whole station has no connector
    to unlock."""
    plan = REMEDIES.get(key.rule, ())
    if key.evse_id == 0:
        plan = tuple(r for r in plan if r is not Remedy.UNLOCK_CONNECTOR)
    return plan


def remedy_command(remedy: Remedy, key: TicketKey) -> Command:
    if remedy is Remedy.SOFT_RESET:
        return Reset(hard=False)
    if remedy is Remedy.HARD_RESET:
        return Reset(hard=True)
    return Unlock(key.connector)


# What a station answers when it takes each remedy (Reset: Accepted; UnlockConnector: Unlocked).
_TAKEN = {
    Remedy.SOFT_RESET: "Accepted",
    Remedy.HARD_RESET: "Accepted",
    Remedy.UNLOCK_CONNECTOR: "Unlocked",
}


def remedy_outcome(remedy: Remedy, answer: str | None) -> RemedyOutcome:
    """The station's answer to a remedy, as its outcome."""
    return RemedyOutcome.ACCEPTED if answer == _TAKEN[remedy] else RemedyOutcome.REJECTED


@dataclass(frozen=True, slots=True)
class RemedyStep:
    """What the remedy runner does next with a ticket that is ``remedying`` and due."""

    # The remedy to send now, as step ``step`` (0 the first); None: they are spent, the
    # ticket goes to people.
    remedy: Remedy | None
    step: int
    # The step whose wait just ended without the condition clearing, if any.
    failed_step: int | None


def next_remedy(key: TicketKey, steps_taken: int) -> RemedyStep:
    plan = remedies_for(key)
    failed = steps_taken - 1 if steps_taken > 0 else None
    if steps_taken < len(plan):
        return RemedyStep(plan[steps_taken], steps_taken, failed)
    return RemedyStep(None, steps_taken, failed)


def first_state(key: TicketKey) -> TicketState:
    """A new ticket starts with the platform's remedies, where its rule allows any."""
    return TicketState.REMEDYING if remedies_for(key) else TicketState.OPEN


# -- people's steps and the clock ------------------------------------------------------------------


class TicketStepRefused(ValueError):
    """A step a ticket in its state cannot take; ``reason``: ``acknowledged`` or ``closed``,
    the state that refuses it."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the ticket is already {reason}")
        self.reason = reason


def acknowledge(state: TicketState) -> TicketState:
    """Someone takes the ticket up: from then on it is theirs, and the platform's remedies stop."""
    if state is TicketState.ACKNOWLEDGED or state is TicketState.CLOSED:
        raise TicketStepRefused(state.value)
    return TicketState.ACKNOWLEDGED


def close(state: TicketState) -> TicketState:
    if state is TicketState.CLOSED:
        raise TicketStepRefused(state.value)
    return TicketState.CLOSED


@dataclass(frozen=True, slots=True)
class TicketClock:
    """How old a ticket is (until it closed), and whether it was or is late to be taken up."""

    age: timedelta
    respond_by: datetime
    overdue: bool


def ticket_clock(
    opened_at: datetime,
    respond_by: datetime,
    acknowledged_at: datetime | None,
    closed_at: datetime | None,
    now: datetime,
) -> TicketClock:
    """A ticket is answered when someone acknowledges it, or when it closes (by itself, or by
    someone straight away); until then it is overdue once ``respond_by`` has passed."""
    answered = acknowledged_at or closed_at
    overdue = answered > respond_by if answered is not None else now > respond_by
    return TicketClock((closed_at or now) - opened_at, respond_by, overdue)


# -- what the platform keeps of a ticket -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ticket:
    """A service ticket as stored, with the organisations it concerns: the station's owner
    (``organisation_id``, as the station says now) and the installer organisation responsible
    for the station when the ticket opened (or since the operator changed it)."""

    id: int
    station_id: str
    evse_id: int
    connector_id: int
    rule: Rule
    priority: Priority
    state: TicketState
    organisation_id: int | None
    installer_id: int | None
    # What the rule saw first: the connector's status and codes, the firmware status …
    status: str | None
    error_code: str | None
    vendor_error_code: str | None
    info: str | None
    occurrences: int
    opened_at: datetime
    last_seen_at: datetime
    respond_by: datetime
    dispatched_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledge_note: str | None
    closed_at: datetime | None
    closed_by: str | None
    close_reason: CloseReason | None
    cleared_by: str | None
    close_note: str | None
    remedy_steps: int
    remedy_due_at: datetime | None

    @property
    def key(self) -> TicketKey:
        return TicketKey(self.station_id, self.evse_id, self.connector_id, self.rule)

    def clock(self, now: datetime) -> TicketClock:
        return ticket_clock(
            self.opened_at, self.respond_by, self.acknowledged_at, self.closed_at, now
        )


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One time the rule found its condition while the ticket was open (the first opened it)."""

    at: datetime
    status: str | None
    error_code: str | None
    vendor_error_code: str | None
    info: str | None


@dataclass(frozen=True, slots=True)
class RemedyAttempt:
    """A remedy the platform sent for a ticket: the station's answer, and whether the condition
    cleared within the wait that followed (None while it waits)."""

    step: int
    remedy: Remedy
    sent_at: datetime
    outcome: RemedyOutcome
    answer: str | None
    cleared: bool | None


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ticket: Ticket
    occurrences: list[Occurrence]
    remedies: list[RemedyAttempt]


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """Which tickets a list shows. ``states``: empty for the active ones (not closed)."""

    states: frozenset[TicketState] = frozenset()
    station_id: str | None = None
    rule: Rule | None = None
    priority: Priority | None = None
    installer_id: int | None = None
    overdue: bool | None = None
