"""Installation jobs: who does what at which station, and the order in which it happens.

A job (an installation, a commissioning, an inspection or a repair) is for a station of the
platform or for a planned one (an address and a model, before the station exists), for the
customer who owns it or asked for it, done by an installer organisation and optionally one of its
technicians, on a date agreed with the customer. Its state moves along one flow:

    requested → scheduled → in progress → done / failed
    requested, scheduled → cancelled

A step the flow does not allow from the job's state is refused with the reason, and nothing
changes. Every step, and every change of who does the job or of its station, is kept in the job's
history with who took it and when: the history is how a dispute about a visit is settled.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime


class JobKind(enum.StrEnum):
    INSTALLATION = "installation"
    COMMISSIONING = "commissioning"
    INSPECTION = "inspection"
    REPAIR = "repair"


class JobState(enum.StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobStep(enum.StrEnum):
    SCHEDULE = "schedule"
    START = "start"
    FINISH = "finish"
    FAIL = "fail"
    CANCEL = "cancel"


class JobEvent(enum.StrEnum):
    """What a job's history records: its steps, and the changes that leave its state alone."""

    REQUEST = "request"
    SCHEDULE = "schedule"
    START = "start"
    FINISH = "finish"
    FAIL = "fail"
    CANCEL = "cancel"
    ASSIGN = "assign"
    LINK_STATION = "link_station"


FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})
# Kinds that work on a station already there: they cannot be asked for a planned one.
NEED_STATION = frozenset({JobKind.INSPECTION, JobKind.REPAIR})

# From which states each step may be taken. Finishing leads to done or failed, by the checklist.
STEP_FROM: dict[JobStep, frozenset[JobState]] = {
    JobStep.SCHEDULE: frozenset({JobState.REQUESTED, JobState.SCHEDULED}),
    JobStep.START: frozenset({JobState.SCHEDULED}),
    JobStep.FINISH: frozenset({JobState.IN_PROGRESS}),
    JobStep.FAIL: frozenset({JobState.IN_PROGRESS}),
    JobStep.CANCEL: frozenset({JobState.REQUESTED, JobState.SCHEDULED}),
}
REASON_MAX = 2000


class JobRefused(ValueError):
    """A step or change the job cannot take: ``code`` says which rule (texts in the services),
    ``field`` which input is at fault."""

    def __init__(self, code: str, message: str, field: str | None = None, **params: object):
        super().__init__(message)
        self.code = code
        self.field = field
        self.params = params


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    postcode: str
    city: str
    country: str = "BE"


@dataclass(frozen=True, slots=True)
class PlannedStation:
    """A station before it exists: where it goes, and what it will be."""

    address: Address
    model: str
    vendor: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    event: JobEvent
    from_state: JobState | None
    to_state: JobState
    at: datetime
    actor_id: int | None
    actor_name: str
    reason: str | None = None
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChecklistVerdict:
    """What the job's checklist says when it is to finish: the required items nobody answered
    (nor waived), and the items that failed (and were not waived)."""

    unanswered: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: JobKind
    state: JobState
    customer_id: int
    created_at: datetime
    station_id: str | None = None
    planned_station: PlannedStation | None = None
    installer_id: int | None = None
    technician_id: int | None = None
    planned_at: datetime | None = None
    description: str | None = None
    # The checklist version the job works to, fixed when it starts.
    template_id: int | None = None
    finished_at: datetime | None = None
    history: tuple[HistoryEntry, ...] = ()

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


@dataclass(frozen=True, slots=True)
class Who:
    """Who takes a step, as the history keeps it."""

    id: int | None
    name: str


def new_job(
    job_id: int,
    kind: JobKind,
    customer_id: int,
    at: datetime,
    by: Who,
    *,
    station_id: str | None = None,
    planned_station: PlannedStation | None = None,
    installer_id: int | None = None,
    technician_id: int | None = None,
    planned_at: datetime | None = None,
    description: str | None = None,
) -> Job:
    """A requested job, its request the first entry of its history."""
    if (station_id is None) == (planned_station is None):
        raise JobRefused(
            "station_or_site", "a job is for a station or for a planned one", "station_id"
        )
    if station_id is None and kind in NEED_STATION:
        raise JobRefused(
            "station_needed", f"an {kind.value} is of a station that exists", "station_id"
        )
    if technician_id is not None and installer_id is None:
        raise JobRefused(
            "technician_without_installer",
            "a technician works for the job's installer organisation: name it first",
            "technician_id",
        )
    if description is not None and len(description) > REASON_MAX:
        raise JobRefused("too_long", f"at most {REASON_MAX} characters", "description")
    entry = HistoryEntry(JobEvent.REQUEST, None, JobState.REQUESTED, at, by.id, by.name)
    return Job(
        job_id,
        kind,
        JobState.REQUESTED,
        customer_id,
        at,
        station_id=station_id,
        planned_station=planned_station,
        installer_id=installer_id,
        technician_id=technician_id,
        planned_at=planned_at,
        description=description,
        history=(entry,),
    )


def allowed_steps(state: JobState) -> list[JobStep]:
    return [step for step, froms in STEP_FROM.items() if state in froms]


def _reason(reason: str | None, step: JobStep) -> str:
    text = (reason or "").strip()
    if not text:
        raise JobRefused("reason_missing", f"{step.value} needs a reason", "reason")
    if len(text) > REASON_MAX:
        raise JobRefused("too_long", f"at most {REASON_MAX} characters", "reason")
    return text


def take_step(
    job: Job,
    step: JobStep,
    at: datetime,
    by: Who,
    *,
    reason: str | None = None,
    planned_at: datetime | None = None,
    template_id: int | None = None,
    verdict: ChecklistVerdict | None = None,
) -> Job:
    """The job after ``step``, with the step in its history; ``JobRefused`` with the reason
    when the step cannot be taken now.

    ``planned_at``: the agreed date (schedule; else the one the job holds); ``template_id``: the
    checklist version the job starts with; ``verdict``: what its checklist says (finish)."""
    froms = STEP_FROM[step]
    if job.state not in froms:
        raise JobRefused(
            "not_from_state",
            f"cannot {step.value} a job that is {job.state.value.replace('_', ' ')} "
            f"(only from: {', '.join(sorted(s.value.replace('_', ' ') for s in froms))})",
            "step",
            step=step,
            state=job.state,
            allowed=tuple(sorted(froms)),
        )
    detail: dict[str, object] = {}
    changes: dict[str, object] = {}
    text: str | None = None
    if step is JobStep.SCHEDULE:
        if job.installer_id is None:
            raise JobRefused(
                "no_installer", "a job is scheduled once an installer takes it", "step"
            )
        when = planned_at or job.planned_at
        if when is None:
            raise JobRefused("planned_at_missing", "scheduling needs the agreed date", "planned_at")
        if when < at:
            raise JobRefused("planned_in_past", "the agreed date is in the past", "planned_at")
        changes["planned_at"] = when
        detail["planned_at"] = when.isoformat()
        target = JobState.SCHEDULED
    elif step is JobStep.START:
        changes["template_id"] = template_id
        if template_id is not None:
            detail["template_id"] = template_id
        target = JobState.IN_PROGRESS
    elif step is JobStep.FINISH:
        verdict = verdict or ChecklistVerdict()
        if verdict.unanswered:
            raise JobRefused(
                "items_unanswered",
                "required items not answered: " + ", ".join(verdict.unanswered),
                "step",
                items=verdict.unanswered,
            )
        if job.kind is JobKind.COMMISSIONING and job.station_id is None:
            raise JobRefused(
                "station_missing",
                "a commissioning finishes with the station it brought into service",
                "station_id",
            )
        if verdict.failed:
            target = JobState.FAILED
            detail["failed_items"] = list(verdict.failed)
        else:
            target = JobState.DONE
        text = reason.strip() if reason and reason.strip() else None
        if text is not None and len(text) > REASON_MAX:
            raise JobRefused("too_long", f"at most {REASON_MAX} characters", "reason")
        changes["finished_at"] = at
    elif step is JobStep.FAIL:
        text = _reason(reason, step)
        target = JobState.FAILED
        changes["finished_at"] = at
    else:
        text = _reason(reason, step)
        target = JobState.CANCELLED
        changes["finished_at"] = at
    event = JobEvent(step.value)
    entry = HistoryEntry(event, job.state, target, at, by.id, by.name, text, detail)
    return replace(job, state=target, history=(*job.history, entry), **changes)  # type: ignore[arg-type]


def assign(
    job: Job,
    at: datetime,
    by: Who,
    *,
    installer_id: int | None,
    technician_id: int | None,
) -> Job:
    """The job with another installer organisation or technician. The organisation changes only
    before the work starts (the checklist is its answers); a technician, until it finishes."""
    if job.finished:
        raise JobRefused(
            "finished", f"the job is {job.state.value}: nothing changes any more", "step"
        )
    if installer_id != job.installer_id and job.state is JobState.IN_PROGRESS:
        raise JobRefused(
            "installer_fixed",
            "the installer organisation changes only before the work starts",
            "installer_organisation_id",
        )
    if technician_id is not None and installer_id is None:
        raise JobRefused(
            "technician_without_installer",
            "a technician works for the job's installer organisation: name it first",
            "technician_id",
        )
    if installer_id is None and job.state is not JobState.REQUESTED:
        raise JobRefused(
            "installer_needed",
            "a scheduled job keeps an installer organisation",
            "installer_organisation_id",
        )
    detail: dict[str, object] = {"installer_id": installer_id, "technician_id": technician_id}
    entry = HistoryEntry(JobEvent.ASSIGN, job.state, job.state, at, by.id, by.name, None, detail)
    return replace(
        job,
        installer_id=installer_id,
        technician_id=technician_id,
        history=(*job.history, entry),
    )


def link_station(job: Job, station_id: str, at: datetime, by: Who) -> Job:
    """The planned station has become this one (registered, or found on site)."""
    if job.finished:
        raise JobRefused(
            "finished", f"the job is {job.state.value}: nothing changes any more", "step"
        )
    if job.station_id is not None:
        raise JobRefused(
            "station_linked", f"the job is for station {job.station_id} already", "station_id"
        )
    entry = HistoryEntry(
        JobEvent.LINK_STATION,
        job.state,
        job.state,
        at,
        by.id,
        by.name,
        None,
        {"station_id": station_id},
    )
    return replace(job, station_id=station_id, history=(*job.history, entry))


def history_is_consistent(history: Sequence[HistoryEntry]) -> bool:
    """Each entry leaves from where the one before arrived, beginning with the request."""
    if not history or history[0].event is not JobEvent.REQUEST:
        return False
    return all(a.from_state is b.to_state for b, a in itertools.pairwise(history))


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as people are shown it: with the names of its organisations and technician."""

    job: Job
    customer_name: str
    installer_name: str | None = None
    technician_name: str | None = None

    @property
    def id(self) -> int:
        return self.job.id


@dataclass(frozen=True, slots=True)
class JobFilter:
    """Which jobs a list shows. ``technician_id`` with ``planned_from``/``planned_until``: a
    technician's day."""

    states: tuple[JobState, ...] = ()
    kind: JobKind | None = None
    station_id: str | None = None
    customer_id: int | None = None
    installer_id: int | None = None
    technician_id: int | None = None
    planned_from: datetime | None = None
    planned_until: datetime | None = None
