"""The job's state flow: each step from each state, taken or refused with the reason, and no
sequence of steps that leads where the flow does not go."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltflow.domain.installations.jobs import (
    FINISHED,
    STEP_FROM,
    Address,
    ChecklistVerdict,
    Job,
    JobEvent,
    JobKind,
    JobRefused,
    JobState,
    JobStep,
    PlannedStation,
    Who,
    allowed_steps,
    assign,
    history_is_consistent,
    link_station,
    new_job,
    take_step,
)

S = JobState
T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
CUSTOMER, INSTALLER, TECHNICIAN = 10, 20, 30
ANN = Who(1, "ann@acme")
SITE = PlannedStation(Address("Kerkstraat 1", "9000", "Gent"), "Pulsar Plus", "Wallbox")


def requested(kind: JobKind = JobKind.INSPECTION, *, installer: bool = True) -> Job:
    job = new_job(1, kind, CUSTOMER, T0, ANN, station_id="CP-1")
    if installer:
        job = assign(job, T0, ANN, installer_id=INSTALLER, technician_id=TECHNICIAN)
    return job


def in_state(state: JobState, kind: JobKind = JobKind.INSPECTION) -> Job:
    """A job brought to ``state`` by the steps of the flow."""
    job = requested(kind)
    path = {
        S.REQUESTED: [],
        S.SCHEDULED: [JobStep.SCHEDULE],
        S.IN_PROGRESS: [JobStep.SCHEDULE, JobStep.START],
        S.DONE: [JobStep.SCHEDULE, JobStep.START, JobStep.FINISH],
        S.FAILED: [JobStep.SCHEDULE, JobStep.START, JobStep.FAIL],
        S.CANCELLED: [JobStep.CANCEL],
    }[state]
    for step in path:
        job = take_step(
            job, step, T0, ANN, reason="because", planned_at=T0 + timedelta(days=1), template_id=7
        )
    assert job.state is state
    return job


LEGAL = [
    (S.REQUESTED, JobStep.SCHEDULE, S.SCHEDULED),
    (S.SCHEDULED, JobStep.SCHEDULE, S.SCHEDULED),
    (S.REQUESTED, JobStep.CANCEL, S.CANCELLED),
    (S.SCHEDULED, JobStep.CANCEL, S.CANCELLED),
    (S.SCHEDULED, JobStep.START, S.IN_PROGRESS),
    (S.IN_PROGRESS, JobStep.FINISH, S.DONE),
    (S.IN_PROGRESS, JobStep.FAIL, S.FAILED),
]


@pytest.mark.parametrize(("state", "step", "target"), LEGAL)
def test_the_flow_takes_these_steps(state: JobState, step: JobStep, target: JobState) -> None:
    job = in_state(state)
    after = take_step(job, step, T0, ANN, reason="customer away", planned_at=T0 + timedelta(days=2))
    assert after.state is target
    entry = after.history[-1]
    assert (entry.event, entry.from_state, entry.to_state) == (JobEvent(step.value), state, target)
    assert (entry.actor_id, entry.actor_name, entry.at) == (ANN.id, ANN.name, T0)
    assert history_is_consistent(after.history)


def test_every_other_step_is_refused_naming_the_state_and_nothing_changes() -> None:
    legal = {(state, step) for state, step, _ in LEGAL}
    refused = 0
    for state in JobState:
        job = in_state(state)
        for step in JobStep:
            if (state, step) in legal:
                continue
            with pytest.raises(JobRefused) as exc:
                take_step(job, step, T0, ANN, reason="x", planned_at=T0 + timedelta(days=1))
            assert exc.value.code == "not_from_state"
            assert exc.value.field == "step"
            assert f"cannot {step.value} a job that is {state.value.replace('_', ' ')}" in str(
                exc.value
            )
            refused += 1
    assert refused == len(JobState) * len(JobStep) - len(LEGAL)
    assert allowed_steps(S.DONE) == allowed_steps(S.FAILED) == allowed_steps(S.CANCELLED) == []


@pytest.mark.parametrize(
    ("job", "step", "kwargs", "code", "field"),
    [
        (requested(installer=False), JobStep.SCHEDULE, {"planned_at": T0}, "no_installer", "step"),
        (requested(), JobStep.SCHEDULE, {}, "planned_at_missing", "planned_at"),
        (
            requested(),
            JobStep.SCHEDULE,
            {"planned_at": T0 - timedelta(minutes=1)},
            "planned_in_past",
            "planned_at",
        ),
        (requested(), JobStep.CANCEL, {"reason": "  "}, "reason_missing", "reason"),
        (in_state(S.IN_PROGRESS), JobStep.FAIL, {}, "reason_missing", "reason"),
        (in_state(S.IN_PROGRESS), JobStep.FAIL, {"reason": "x" * 2001}, "too_long", "reason"),
        (
            in_state(S.IN_PROGRESS),
            JobStep.FINISH,
            {"verdict": ChecklistVerdict(unanswered=("earth_resistance",))},
            "items_unanswered",
            "step",
        ),
        (
            replace(in_state(S.IN_PROGRESS, JobKind.COMMISSIONING), station_id=None),
            JobStep.FINISH,
            {},
            "station_missing",
            "station_id",
        ),
    ],
)
def test_a_step_lacking_what_it_needs_is_refused_naming_the_field(
    job: Job, step: JobStep, kwargs: dict[str, object], code: str, field: str
) -> None:
    with pytest.raises(JobRefused) as exc:
        take_step(job, step, T0, ANN, **kwargs)  # type: ignore[arg-type]
    assert (exc.value.code, exc.value.field) == (code, field)


def test_finishing_with_a_failed_item_fails_the_job_naming_it() -> None:
    job = in_state(S.IN_PROGRESS)
    after = take_step(job, JobStep.FINISH, T0, ANN, verdict=ChecklistVerdict(failed=("housing",)))
    assert after.state is S.FAILED
    assert after.history[-1].detail == {"failed_items": ["housing"]}
    assert after.finished_at == T0


def test_a_job_is_for_a_station_or_a_planned_one() -> None:
    with pytest.raises(JobRefused) as both:
        new_job(1, JobKind.INSTALLATION, CUSTOMER, T0, ANN, station_id="CP-1", planned_station=SITE)
    assert both.value.field == "station_id"
    with pytest.raises(JobRefused):
        new_job(1, JobKind.INSTALLATION, CUSTOMER, T0, ANN)
    with pytest.raises(JobRefused) as inspection:
        new_job(1, JobKind.INSPECTION, CUSTOMER, T0, ANN, planned_station=SITE)
    assert inspection.value.code == "station_needed"
    planned = new_job(1, JobKind.INSTALLATION, CUSTOMER, T0, ANN, planned_station=SITE)
    assert planned.history[0].event is JobEvent.REQUEST
    linked = link_station(planned, "CP-9", T0, ANN)
    assert linked.station_id == "CP-9" and linked.state is S.REQUESTED
    with pytest.raises(JobRefused) as again:
        link_station(linked, "CP-10", T0, ANN)
    assert again.value.code == "station_linked"


def test_the_installer_changes_before_the_work_starts_the_technician_until_it_ends() -> None:
    working = in_state(S.IN_PROGRESS)
    with pytest.raises(JobRefused) as fixed:
        assign(working, T0, ANN, installer_id=99, technician_id=None)
    assert fixed.value.code == "installer_fixed"
    other = assign(working, T0, ANN, installer_id=INSTALLER, technician_id=31)
    assert other.technician_id == 31 and other.state is S.IN_PROGRESS
    with pytest.raises(JobRefused) as orphan:
        assign(in_state(S.SCHEDULED), T0, ANN, installer_id=None, technician_id=None)
    assert orphan.value.code == "installer_needed"
    with pytest.raises(JobRefused) as done:
        assign(in_state(S.DONE), T0, ANN, installer_id=INSTALLER, technician_id=None)
    assert done.value.code == "finished"


# -- no sequence of steps leads anywhere the flow does not go -------------------------------------

Action = tuple[str, object]
actions = st.one_of(
    st.tuples(st.just("step"), st.sampled_from(JobStep)),
    st.tuples(st.just("assign"), st.sampled_from([None, INSTALLER, 21])),
    st.tuples(st.just("link"), st.just("CP-2")),
)
verdicts = st.builds(
    ChecklistVerdict,
    unanswered=st.lists(st.sampled_from(["a", "b"]), max_size=1).map(tuple),
    failed=st.lists(st.sampled_from(["c"]), max_size=1).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(JobKind),
    planned=st.booleans(),
    plan=st.lists(
        st.tuples(
            actions,
            st.sampled_from([None, "", "a reason"]),
            st.sampled_from([None, -1, 1]),
            verdicts,
        ),
        max_size=25,
    ),
)
def test_no_sequence_of_steps_reaches_an_illegal_state(
    kind: JobKind,
    planned: bool,
    plan: list[tuple[Action, str | None, int | None, ChecklistVerdict]],
) -> None:
    if planned and kind in (JobKind.INSPECTION, JobKind.REPAIR):
        kind = JobKind.INSTALLATION
    job = new_job(
        1,
        kind,
        CUSTOMER,
        T0,
        ANN,
        station_id=None if planned else "CP-1",
        planned_station=SITE if planned else None,
    )
    clock = T0
    seen = [job.state]
    for (action, argument), reason, days, verdict in plan:
        clock += timedelta(minutes=5)
        before = job
        try:
            if action == "step":
                assert isinstance(argument, JobStep)
                job = take_step(
                    job,
                    argument,
                    clock,
                    ANN,
                    reason=reason,
                    planned_at=None if days is None else clock + timedelta(days=days),
                    template_id=7,
                    verdict=verdict,
                )
            elif action == "assign":
                job = assign(
                    job,
                    clock,
                    ANN,
                    installer_id=argument,  # type: ignore[arg-type]
                    technician_id=TECHNICIAN if argument is not None else None,
                )
            else:
                job = link_station(job, str(argument), clock, ANN)
        except JobRefused:
            assert job is before  # a refusal changes nothing
            continue
        # What any step leaves behind.
        assert job.state in JobState
        assert history_is_consistent(job.history)
        assert job.history[-1].to_state is job.state
        if before.state in FINISHED:
            pytest.fail(f"{action} {argument} changed a {before.state} job")
        if job.state is not before.state:
            assert before.state in STEP_FROM[JobStep(job.history[-1].event.value)]
        if job.state in (S.SCHEDULED, S.IN_PROGRESS, S.DONE):
            assert job.installer_id is not None and job.planned_at is not None
        if job.state is S.IN_PROGRESS:
            assert job.template_id == 7
        if job.state is S.DONE and before.state is not S.DONE:
            assert verdict.unanswered == () and verdict.failed == ()
        if job.state is S.DONE and kind is JobKind.COMMISSIONING:
            assert job.station_id is not None
        if job.state in FINISHED:
            assert job.finished_at is not None
        seen.append(job.state)
    # The states visited follow the flow's order.
    order = [S.REQUESTED, S.SCHEDULED, S.IN_PROGRESS]
    ranks = [order.index(s) if s in order else len(order) for s in seen]
    assert ranks == sorted(ranks)
