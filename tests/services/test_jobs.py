"""Installation jobs through the service, on both databases: who may ask, see and do what, the
steps in order with their history, checklists answered once (corrections kept), measurements
judged against their range, waivers, the template version a job keeps, and its files."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import jobs_support as js
from voltflow.bootstrap import Platform
from voltflow.domain.access import OrganisationKind, Role
from voltflow.domain.installations.attachments import AttachmentKind
from voltflow.domain.installations.checklists import AnswerInput, ItemStatus
from voltflow.domain.installations.jobs import (
    Address,
    JobEvent,
    JobFilter,
    JobKind,
    JobState,
    JobStep,
    PlannedStation,
)
from voltflow.domain.paging import PageRequest
from voltflow.services.access import Forbidden
from voltflow.services.jobs import (
    AttachmentNotFound,
    FileTooLarge,
    ItemNotFound,
    JobNotFound,
    JobProblem,
)
from voltflow.services.organisations import OrganisationNotFound
from voltflow.services.stations import StationNotFound
from voltflow.store.tables import job_answers, job_attachments


async def test_a_commissioning_runs_from_request_to_done_with_every_step_recorded(
    platform: Platform,
) -> None:
    s = await js.site(platform)
    jobs = platform.jobs
    asked = await jobs.request(
        s.manager, JobKind.COMMISSIONING, station_id=js.STATION, description="car park, bay 4"
    )
    job_id = asked.job.id
    assert asked.job.state is JobState.REQUESTED
    assert asked.job.customer_id == s.customer_id
    assert asked.steps == (JobStep.CANCEL,)  # the customer may only cancel
    # Before it starts, the checklist shown is the current version, not yet the job's.
    assert asked.checklist is not None and not asked.checklist.bound

    with pytest.raises(JobProblem) as refused:
        await jobs.step(s.op, job_id, JobStep.SCHEDULE, planned_at=js.tomorrow(platform))
    assert refused.value.field == "step"
    assert "installer organisation takes it" in str(refused.value)

    await jobs.assign(s.op, job_id, installer_id=s.installer_id, technician_id=None)
    await jobs.assign(
        s.technician, job_id, installer_id=s.installer_id, technician_id=s.technician.user_id
    )
    when = js.tomorrow(platform)
    await jobs.step(s.technician, job_id, JobStep.SCHEDULE, planned_at=when)
    view = await jobs.step(s.technician, job_id, JobStep.START)
    assert view.job.state is JobState.IN_PROGRESS
    assert view.checklist is not None and view.checklist.bound
    assert view.checklist.template.key == "commissioning"
    assert view.job.template_id == view.checklist.template.id

    with pytest.raises(JobProblem) as early:
        await jobs.step(s.technician, job_id, JobStep.FINISH)
    assert early.value.field == "step"
    assert "earth_resistance" in str(early.value)

    view = await js.answer_all(platform, s.technician, view, skip=set())
    done = await jobs.step(s.technician, job_id, JobStep.FINISH)
    assert done.job.state is JobState.DONE
    assert done.job.finished_at is not None
    assert done.steps == ()
    events = [(e.event, e.from_state, e.to_state, e.actor_name) for e in done.job.history]
    assert events == [
        (JobEvent.REQUEST, None, JobState.REQUESTED, s.manager.username),
        (JobEvent.ASSIGN, JobState.REQUESTED, JobState.REQUESTED, s.op.username),
        (JobEvent.ASSIGN, JobState.REQUESTED, JobState.REQUESTED, s.technician.username),
        (JobEvent.SCHEDULE, JobState.REQUESTED, JobState.SCHEDULED, s.technician.username),
        (JobEvent.START, JobState.SCHEDULED, JobState.IN_PROGRESS, s.technician.username),
        (JobEvent.FINISH, JobState.IN_PROGRESS, JobState.DONE, s.technician.username),
    ]
    assert all(e.at.tzinfo is not None for e in done.job.history)
    assert done.job.history[3].detail == {"planned_at": when.isoformat()}
    # Nothing moves a finished job.
    for step in JobStep:
        with pytest.raises(JobProblem):
            await jobs.step(s.op, job_id, step, reason="again", planned_at=when)
    # The customer follows it.
    seen = await jobs.get(s.manager, job_id)
    assert seen.job.state is JobState.DONE


async def test_a_failed_measurement_fails_the_job_unless_the_operator_waives_it(
    platform: Platform,
) -> None:
    s = await js.site(platform)
    jobs = platform.jobs
    view = await js.started(platform, s, JobKind.INSPECTION, when=js.tomorrow(platform))
    job_id = view.job.id
    # 45 Ω of earth resistance: over the 30 Ω allowed, the item fails but is kept.
    failed = await jobs.answer(
        s.technician, job_id, "earth_resistance", AnswerInput(value=Decimal(45), unit="ohm")
    )
    item = next(i for i in failed.checklist.items if i.item.key == "earth_resistance")  # type: ignore[union-attr]
    assert item.status is ItemStatus.FAILED
    assert item.answer is not None
    assert (item.answer.value, item.answer.unit) == (Decimal(45), "Ω")
    assert (item.answer.given_value, item.answer.given_unit) == (Decimal(45), "ohm")
    view = await js.answer_all(platform, s.technician, failed, skip=set())

    # The installer may not waive their own finding; the operator may, with a reason.
    with pytest.raises(Forbidden):
        await jobs.waive(s.technician, job_id, "earth_resistance", "TT network")
    with pytest.raises(JobProblem) as no_reason:
        await jobs.waive(s.op, job_id, "earth_resistance", "  ")
    assert no_reason.value.field == "reason"
    with pytest.raises(JobProblem) as passed:
        await jobs.waive(s.op, job_id, "housing", "nothing wrong")
    assert passed.value.field == "item_key"
    waived = await jobs.waive(
        s.op, job_id, "earth_resistance", "new earth electrode ordered, re-measured next week"
    )
    item = next(i for i in waived.checklist.items if i.item.key == "earth_resistance")  # type: ignore[union-attr]
    assert item.status is ItemStatus.WAIVED
    assert item.waiver is not None and item.waiver.waived_by_name == s.op.username
    with pytest.raises(JobProblem):
        await jobs.waive(s.op, job_id, "earth_resistance", "twice")
    done = await jobs.step(s.technician, job_id, JobStep.FINISH)
    assert done.job.state is JobState.DONE


async def test_without_a_waiver_the_failed_item_fails_the_job(platform: Platform) -> None:
    s = await js.site(platform)
    view = await js.started(platform, s, JobKind.INSPECTION, when=js.tomorrow(platform))
    job_id = view.job.id
    await platform.jobs.answer(
        s.technician, job_id, "filter_mats", AnswerInput(choice="dirty", text="no spare mats")
    )
    view = await platform.jobs.get(s.technician, job_id)
    view = await js.answer_all(platform, s.technician, view, skip=set())
    finished = await platform.jobs.step(s.technician, job_id, JobStep.FINISH, reason="report")
    assert finished.job.state is JobState.FAILED
    assert finished.job.history[-1].detail == {"failed_items": ["filter_mats"]}


async def test_an_item_is_answered_once_and_corrected_with_its_reason(platform: Platform) -> None:
    s = await js.site(platform)
    jobs = platform.jobs
    view = await js.started(platform, s, when=js.tomorrow(platform))
    job_id = view.job.id
    # 850 kΩ is 0.85 MΩ: under the 1 MΩ insulation resistance asked.
    first = await jobs.answer(
        s.technician, job_id, "insulation_resistance", AnswerInput(value=Decimal(850), unit="kΩ")
    )
    item = next(i for i in first.checklist.items if i.item.key == "insulation_resistance")  # type: ignore[union-attr]
    assert item.answer is not None and item.answer.value == Decimal("0.85")
    assert item.status is ItemStatus.FAILED

    with pytest.raises(JobProblem) as twice:
        await jobs.answer(
            s.technician,
            job_id,
            "insulation_resistance",
            AnswerInput(value=Decimal(550), unit="MΩ"),
        )
    assert twice.value.field == "correction_reason"
    corrected = await jobs.answer(
        s.technician,
        job_id,
        "insulation_resistance",
        AnswerInput(value=Decimal(550), unit="MΩ"),
        correction_reason="measured with the station disconnected this time",
    )
    item = next(i for i in corrected.checklist.items if i.item.key == "insulation_resistance")  # type: ignore[union-attr]
    assert item.status is ItemStatus.PASSED
    assert item.answer is not None and item.answer.value == Decimal(550)
    assert item.answer.correction_reason == "measured with the station disconnected this time"
    assert [a.value for a in item.earlier] == [Decimal("0.85")]
    with pytest.raises(JobProblem) as nothing:
        await jobs.answer(
            s.technician,
            job_id,
            "housing",
            AnswerInput(passed=True),
            correction_reason="no earlier answer",
        )
    assert nothing.value.field == "correction_reason"
    async with platform.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(job_answers.c.current).where(
                    job_answers.c.job_id == job_id,
                    job_answers.c.item_key == "insulation_resistance",
                )
            )
        ).scalars()
        assert sorted(rows) == [False, True]


@pytest.mark.parametrize(
    ("item", "answer", "field", "text"),
    [
        ("earth_resistance", AnswerInput(value=Decimal(12)), "unit", "unit"),
        ("earth_resistance", AnswerInput(value=Decimal(12), unit="  "), "unit", "unit"),
        ("earth_resistance", AnswerInput(value=Decimal(12), unit="furlong"), "unit", "furlong"),
        ("earth_resistance", AnswerInput(value=Decimal(12), unit="V"), "unit", "V"),
        ("earth_resistance", AnswerInput(value=Decimal(-3), unit="Ω"), "value", "beyond"),
        ("earth_resistance", AnswerInput(value=Decimal("2e6"), unit="Ω"), "value", "beyond"),
        ("supply_voltage_l1", AnswerInput(value=Decimal(4), unit="kV"), "value", "beyond"),
        ("earth_resistance", AnswerInput(unit="Ω"), "value", "value"),
        ("earth_resistance", AnswerInput(value=Decimal(12), unit="Ω", passed=True), "passed", ""),
        ("housing", AnswerInput(), "passed", "true or false"),
        ("rcd_type", AnswerInput(choice="Z"), "choice", "A+RDC-DD"),
        ("firmware_version", AnswerInput(text="   "), "text", "text"),
        ("photo_station", AnswerInput(), "attachment_id", "attachment_id"),
        ("photo_station", AnswerInput(attachment_id=987654), "attachment_id", "photo"),
    ],
)
async def test_a_bad_answer_is_refused_naming_the_field_and_nothing_is_kept(
    platform: Platform, item: str, answer: AnswerInput, field: str, text: str
) -> None:
    s = await js.site(platform)
    view = await js.started(platform, s, when=js.tomorrow(platform))
    with pytest.raises(JobProblem) as refused:
        await platform.jobs.answer(s.technician, view.job.id, item, answer)
    assert refused.value.field == field
    assert text in str(refused.value)
    async with platform.db.engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(job_answers))).scalar_one()
    assert count == 0


async def test_a_signature_names_who_signs_and_is_a_signature_of_this_job(
    platform: Platform,
) -> None:
    s = await js.site(platform)
    jobs = platform.jobs
    view = await js.started(platform, s, when=js.tomorrow(platform))
    photo = await jobs.attach(s.technician, view.job.id, AttachmentKind.PHOTO, js.JPEG, "a.jpg")
    drawn = await jobs.attach(s.technician, view.job.id, AttachmentKind.SIGNATURE, js.png())
    with pytest.raises(JobProblem) as wrong:
        await jobs.answer(
            s.technician,
            view.job.id,
            "customer_signature",
            AnswerInput(attachment_id=photo.id, text="An"),
        )
    assert wrong.value.field == "attachment_id"
    with pytest.raises(JobProblem) as unnamed:
        await jobs.answer(
            s.technician, view.job.id, "customer_signature", AnswerInput(attachment_id=drawn.id)
        )
    assert unnamed.value.field == "text"
    signed = await jobs.answer(
        s.technician,
        view.job.id,
        "customer_signature",
        AnswerInput(attachment_id=drawn.id, text="An Janssens"),
    )
    item = next(i for i in signed.checklist.items if i.item.key == "customer_signature")  # type: ignore[union-attr]
    assert item.status is ItemStatus.PASSED
    # Another job's file is no file of this one.
    other = await js.started(platform, s, JobKind.INSPECTION, when=js.tomorrow(platform))
    with pytest.raises(JobProblem):
        await jobs.answer(
            s.technician, other.job.id, "technician_signature", AnswerInput(attachment_id=drawn.id)
        )


async def test_steps_out_of_order_are_refused_with_the_reason(platform: Platform) -> None:
    s = await js.site(platform)
    jobs = platform.jobs
    asked = await jobs.request(s.manager, JobKind.REPAIR, station_id=js.STATION)
    job_id = asked.job.id
    await jobs.assign(s.op, job_id, installer_id=s.installer_id, technician_id=None)
    for step in (JobStep.START, JobStep.FINISH):
        with pytest.raises(JobProblem) as refused:
            await jobs.step(s.technician, job_id, step)
        assert refused.value.field == "step"
        assert "requested" in str(refused.value)
    with pytest.raises(JobProblem) as past:
        await jobs.step(
            s.technician,
            job_id,
            JobStep.SCHEDULE,
            planned_at=platform.clock.now() - timedelta(hours=1),
        )
    assert past.value.field == "planned_at"
    with pytest.raises(JobProblem) as no_reason:
        await jobs.step(s.manager, job_id, JobStep.CANCEL)
    assert no_reason.value.field == "reason"
    cancelled = await jobs.step(s.manager, job_id, JobStep.CANCEL, reason="fixed itself")
    assert cancelled.job.state is JobState.CANCELLED
    assert cancelled.job.history[-1].reason == "fixed itself"
    with pytest.raises(JobProblem):
        await jobs.assign(s.op, job_id, installer_id=s.other_installer_id, technician_id=None)


async def test_a_repair_without_a_checklist_finishes_on_the_installers_word(
    platform: Platform,
) -> None:
    s = await js.site(platform)
    view = await js.started(platform, s, JobKind.REPAIR, when=js.tomorrow(platform))
    assert view.checklist is None
    with pytest.raises(ItemNotFound):
        await platform.jobs.answer(s.technician, view.job.id, "housing", AnswerInput(passed=True))
    given_up = await platform.jobs.step(
        s.technician, view.job.id, JobStep.FAIL, reason="spare part not delivered"
    )
    assert given_up.job.state is JobState.FAILED


async def test_who_may_ask_for_see_and_work_on_a_job(platform: Platform) -> None:
    s = await js.site(platform)
    jobs = platform.jobs
    # Another customer, an installer and a company's driver cannot ask for one at the station.
    with pytest.raises(StationNotFound):
        await jobs.request(s.stranger, JobKind.INSPECTION, station_id=js.STATION)
    with pytest.raises(StationNotFound):
        await jobs.request(s.technician, JobKind.INSPECTION, station_id=js.STATION)
    with pytest.raises(Forbidden):
        await jobs.request(s.driver, JobKind.INSPECTION, station_id=js.STATION)
    # Only the operator gives a job to an installer.
    with pytest.raises(Forbidden):
        await jobs.request(
            s.manager, JobKind.INSPECTION, station_id=js.STATION, installer_id=s.installer_id
        )
    view = await js.started(platform, s, JobKind.INSPECTION, when=js.tomorrow(platform))
    job_id = view.job.id
    for outsider in (s.stranger, s.other_technician, s.driver):
        with pytest.raises(JobNotFound):
            await jobs.get(outsider, job_id)
        with pytest.raises(JobNotFound):
            await jobs.answer(outsider, job_id, "housing", AnswerInput(passed=True))
        page = await jobs.listing(outsider, JobFilter(), PageRequest())
        assert page.total == 0
    # The customer sees it and may not work on it.
    assert (await jobs.get(s.manager, job_id)).job.id == job_id
    with pytest.raises(Forbidden):
        await jobs.answer(s.manager, job_id, "housing", AnswerInput(passed=True))
    with pytest.raises(Forbidden):
        await jobs.step(s.manager, job_id, JobStep.FAIL, reason="impatient")
    # Another installer's technician is no technician of this job.
    with pytest.raises(JobProblem) as stranger:
        await jobs.assign(
            s.op, job_id, installer_id=s.installer_id, technician_id=s.other_technician.user_id
        )
    assert stranger.value.field == "technician_id"
    # A planned station is asked for in one's own organisation only.
    planned = PlannedStation(Address("Kerkstraat 1", "9000", "Gent"), "Wallbox Pulsar Plus")
    with pytest.raises(OrganisationNotFound):
        await jobs.request(
            s.stranger, JobKind.INSTALLATION, site=planned, customer_id=s.customer_id
        )


async def test_a_technicians_day_lists_their_own_jobs_in_planned_order(
    platform: Platform,
) -> None:
    s = await js.site(platform)
    jobs = platform.jobs
    tomorrow = jobs.today() + timedelta(days=1)
    start, _end = jobs.day_bounds(tomorrow)
    made = []
    for hours, technician in ((14, s.technician), (9, s.technician), (11, None)):
        view = await jobs.request(s.manager, JobKind.INSPECTION, station_id=js.STATION)
        await jobs.assign(
            s.op,
            view.job.id,
            installer_id=s.installer_id,
            technician_id=technician.user_id if technician else None,
        )
        await jobs.step(
            s.op, view.job.id, JobStep.SCHEDULE, planned_at=start + timedelta(hours=hours)
        )
        made.append(view.job.id)
    later = await jobs.request(s.manager, JobKind.INSPECTION, station_id=js.STATION)
    await jobs.assign(
        s.op, later.job.id, installer_id=s.installer_id, technician_id=s.technician.user_id
    )
    await jobs.step(s.op, later.job.id, JobStep.SCHEDULE, planned_at=start + timedelta(days=3))
    a, b = jobs.day_bounds(tomorrow)
    day = JobFilter(technician_id=s.technician.user_id, planned_from=a, planned_until=b)
    mine = await jobs.listing(s.technician, day, PageRequest())
    assert [r.id for r in mine.items] == [made[1], made[0]]
    everyone = await jobs.listing(
        s.technician, JobFilter(planned_from=a, planned_until=b), PageRequest()
    )
    assert [r.id for r in everyone.items] == [made[1], made[2], made[0]]
    scheduled = await jobs.listing(
        s.manager, JobFilter(states=(JobState.SCHEDULED,)), PageRequest(limit=2)
    )
    assert scheduled.total == 4 and len(scheduled.items) == 2
    assert scheduled.items[0].customer_name == "Acme"
    assert scheduled.items[0].installer_name == "Sparks"


async def test_a_planned_station_is_linked_before_its_commissioning_finishes(
    platform: Platform,
) -> None:
    s = await js.site(platform)
    jobs = platform.jobs
    planned = PlannedStation(
        Address("Kerkstraat 1", "9000", "Gent"), "Pulsar Plus", vendor="Wallbox"
    )
    view = await jobs.request(
        s.manager, JobKind.COMMISSIONING, site=planned, planned_at=js.tomorrow(platform)
    )
    assert view.job.customer_id == s.customer_id
    assert view.job.planned_station == planned
    with pytest.raises(JobProblem) as refused:
        await jobs.request(s.manager, JobKind.INSPECTION, site=planned)
    assert refused.value.field == "station_id"
    job_id = view.job.id
    await jobs.assign(s.op, job_id, installer_id=s.installer_id, technician_id=s.technician.user_id)
    await jobs.step(s.technician, job_id, JobStep.SCHEDULE)  # the date the customer asked for
    view = await jobs.step(s.technician, job_id, JobStep.START)
    view = await js.answer_all(platform, s.technician, view, skip=set())
    with pytest.raises(JobProblem) as unlinked:
        await jobs.step(s.technician, job_id, JobStep.FINISH)
    assert unlinked.value.field == "station_id"
    # Another customer's station is no station to the installer.
    await platform.stations.add("CP-GLOBEX", "globex-station-key-01", actor=s.op)
    with pytest.raises(StationNotFound):
        await jobs.link_station(s.technician, job_id, "CP-GLOBEX")
    linked = await jobs.link_station(s.technician, job_id, js.STATION)
    assert linked.job.station_id == js.STATION
    assert linked.job.history[-1].event is JobEvent.LINK_STATION
    done = await jobs.step(s.technician, job_id, JobStep.FINISH)
    assert done.job.state is JobState.DONE


async def test_an_edited_template_is_a_new_version_and_started_jobs_keep_theirs(
    platform: Platform,
) -> None:
    s = await js.site(platform)
    jobs = platform.jobs
    before = await js.started(platform, s, JobKind.INSPECTION, when=js.tomorrow(platform))
    old = await jobs.template(s.op, "inspection")
    assert old.version == 1
    document = json.loads(json.dumps(_document(old)))
    document["sections"][0]["items"].append(
        {"key": "display", "kind": "pass_fail", "label": {"en": "Display readable"}}
    )
    with pytest.raises(Forbidden):
        await jobs.edit_template(s.technician, "inspection", document)
    new = await jobs.edit_template(s.op, "inspection", document)
    assert new.version == 2 and new.item("display") is not None
    # The job started before works to version 1; a job started now to version 2.
    kept = await jobs.get(s.technician, before.job.id)
    assert kept.checklist is not None and kept.checklist.template.version == 1
    with pytest.raises(ItemNotFound):
        await jobs.answer(s.technician, before.job.id, "display", AnswerInput(passed=True))
    after = await js.started(platform, s, JobKind.INSPECTION, when=js.tomorrow(platform))
    assert after.checklist is not None and after.checklist.template.version == 2
    assert (await jobs.template(s.op, "inspection", 1)).item("display") is None
    # A bad document is refused naming the field, and no version is added.
    document["sections"][1]["items"][1]["allowed"] = {"min": "40", "max": "30"}
    with pytest.raises(JobProblem) as bad:
        await jobs.edit_template(s.op, "inspection", document)
    assert bad.value.field == "sections[1].items[1].allowed.max"
    assert (await jobs.template(s.op, "inspection")).version == 2


def _document(template: object) -> dict[str, object]:
    from voltflow.domain.installations.checklists import Template, template_document

    assert isinstance(template, Template)
    return template_document(template)


async def test_files_are_checked_by_what_they_hold_and_shown_to_the_jobs_people_only(
    platform: Platform,
) -> None:
    s = await js.site(platform)
    jobs = platform.jobs
    view = await js.started(platform, s, when=js.tomorrow(platform))
    job_id = view.job.id
    for data, kind, name in (
        (js.JPEG, AttachmentKind.PHOTO, "IMG_0001.JPG"),
        (js.WEBP, AttachmentKind.PHOTO, "x.webp"),
        (js.HEIC, AttachmentKind.PHOTO, "IMG_0002.HEIC"),
        (js.PDF, AttachmentKind.DOCUMENT, "certificate.pdf"),
    ):
        kept = await jobs.attach(s.technician, job_id, kind, data, name)
        found, back = await jobs.attachment(s.manager, job_id, kept.id)
        assert back == data and found.size == len(data)
    # A PDF named like a photo is no photo; a photo is no document.
    for data, kind, name in (
        (js.PDF, AttachmentKind.PHOTO, "photo.jpg"),
        (js.JPEG, AttachmentKind.DOCUMENT, "report.pdf"),
        (b"just text", AttachmentKind.SIGNATURE, "sig.png"),
        (b"", AttachmentKind.PHOTO, "empty.jpg"),
    ):
        with pytest.raises(JobProblem) as refused:
            await jobs.attach(s.technician, job_id, kind, data, name)
        assert refused.value.field == "file"
    big = js.JPEG + bytes(platform.jobs.max_file_bytes)
    with pytest.raises(FileTooLarge):
        await jobs.attach(s.technician, job_id, AttachmentKind.PHOTO, big, "big.jpg")
    with pytest.raises(Forbidden):
        await jobs.attach(s.manager, job_id, AttachmentKind.PHOTO, js.JPEG, "mine.jpg")
    async with platform.db.engine.connect() as conn:
        stored = (
            await conn.execute(select(func.count()).select_from(job_attachments))
        ).scalar_one()
    assert stored == 4
    kept = await jobs.attach(s.technician, job_id, AttachmentKind.PHOTO, js.JPEG, "../../x.jpeg")
    assert kept.file_name == "x.jpg"
    for outsider in (s.stranger, s.other_technician):
        with pytest.raises(JobNotFound):
            await jobs.attachment(outsider, job_id, kept.id)
    other = await js.started(platform, s, JobKind.INSPECTION, when=js.tomorrow(platform))
    with pytest.raises(AttachmentNotFound):
        await jobs.attachment(s.technician, other.job.id, kept.id)


async def test_a_household_asks_for_the_installation_of_its_home_charger(
    platform: Platform,
) -> None:
    """A household has no fleet manager: its own people ask for the job and follow it."""
    s = await js.site(platform)
    home = await platform.organisations.create(s.op, "Peeters", OrganisationKind.HOUSEHOLD)
    added = await platform.organisations.add_person(
        s.op, int(home.id), "peeters", Role.DRIVER, password="driver-pass"
    )
    person = await platform.accounts.actor(added.user_id)
    assert person is not None
    planned = PlannedStation(Address("Dorpsstraat 7", "3000", "Leuven"), "Easee One")
    asked = await platform.jobs.request(person, JobKind.INSTALLATION, site=planned)
    assert asked.job.customer_id == home.id
    assert asked.steps == (JobStep.CANCEL,)
    listed = await platform.jobs.listing(person, JobFilter(), PageRequest())
    assert [r.id for r in listed.items] == [asked.job.id]
    # A company's driver has no say: Acme's sees none of Acme's jobs.
    await platform.jobs.request(s.manager, JobKind.INSPECTION, station_id=js.STATION)
    assert (await platform.jobs.listing(s.driver, JobFilter(), PageRequest())).total == 0
