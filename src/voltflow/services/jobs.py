"""Installation jobs (DESIGN §2 G): asking for one, giving it to an installer, its steps, its
checklist's answers and waivers, its files; the checklist templates. The one seam the API, the
console and the CLI share.

Who sees a job: the operator; the customer's people (the organisation that owns the station or
asked for the planned one); the installer organisation's people. To anyone else a job, its items
and its files do not exist. Who does what:

- the customer asks for a job, and may cancel it until the work starts;
- the operator gives it to an installer organisation (and may do all the rest);
- the installer's people pick its technician, schedule it with the customer, start it, answer
  its checklist, add its photos, signatures and documents, link the station it brought into
  service, and finish it (done, or failed by its checklist) or give it up (failed, with the
  reason);
- only the operator waives a failed item, with the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from voltflow.domain.access import Actor, OrganisationKind, Permission, Role
from voltflow.domain.installations.attachments import (
    Attachment,
    AttachmentKind,
    AttachmentRefused,
    check_file,
    safe_name,
)
from voltflow.domain.installations.checklists import (
    AnswerInput,
    Item,
    ItemStatus,
    StoredAnswer,
    StoredTemplate,
    Template,
    TemplateError,
    Waiver,
    check_reanswer,
    check_waiver,
    evaluate,
    parse_template,
    status_of,
    template_document,
    verdict,
)
from voltflow.domain.installations.jobs import (
    STEP_FROM,
    ChecklistVerdict,
    Job,
    JobFilter,
    JobKind,
    JobRecord,
    JobRefused,
    JobState,
    JobStep,
    PlannedStation,
    Who,
    assign,
    link_station,
    new_job,
    take_step,
)
from voltflow.domain.paging import Page, PageRequest
from voltflow.i18n import _
from voltflow.i18n.terms import job_state, job_step
from voltflow.services.access import Forbidden, knows, require, scope_of
from voltflow.services.audit import AuditTrail
from voltflow.services.organisations import OrganisationNotFound
from voltflow.services.ports import BlobMissing, BlobStore, Clock, UnitOfWork
from voltflow.services.stations import StationNotFound
from voltflow.services.units import use_case
from voltflow.store.jobs import JobRepository

P = Permission
log = logging.getLogger(__name__)
# The templates the platform ships, put in the store the first time they are needed.
SHIPPED = ("commissioning", "inspection")
TEMPLATES_PACKAGE = "voltflow.domain.installations"
MiB = 1024 * 1024


class JobProblem(ValueError):
    """A refusal people can act on, naming the field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FileTooLarge(JobProblem):
    """A file over the size limit (answered 413)."""


class JobNotFound(LookupError):
    pass


class ItemNotFound(LookupError):
    """No such item in the job's checklist: ``args`` are the job and the item key."""


class AttachmentNotFound(LookupError):
    pass


class TemplateNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class ItemView:
    """A checklist item of a job: what it asks, its status, its current answer (and those a
    correction replaced, oldest first), and its waiver."""

    item: Item
    status: ItemStatus
    answer: StoredAnswer | None
    earlier: tuple[StoredAnswer, ...]
    waiver: Waiver | None


@dataclass(frozen=True, slots=True)
class Checklist:
    """``bound``: the version the job started with (else the one it will start with, if
    nobody edits it first)."""

    template: Template
    bound: bool
    items: tuple[ItemView, ...]
    verdict: ChecklistVerdict


@dataclass(frozen=True, slots=True)
class JobView:
    record: JobRecord
    checklist: Checklist | None
    attachments: tuple[Attachment, ...]
    # The steps the person asking may take now.
    steps: tuple[JobStep, ...]

    @property
    def job(self) -> Job:
        return self.record.job


def _refusal(exc: JobRefused) -> str:
    """The domain's refusal in the language of the moment."""
    p = exc.params
    texts: dict[str, Callable[[], str]] = {
        "station_or_site": lambda: _(
            "station_id: a job is for a station, or for a planned one (its site)"
        ),
        "station_needed": lambda: _(
            "station_id: an inspection or a repair is of a station that exists"
        ),
        "technician_without_installer": lambda: _(
            "technician_id: a technician works for the job's installer organisation: name it first"
        ),
        "too_long": lambda: (
            _("%(field)s: at most %(n)s characters") % {"field": exc.field, "n": 2000}
        ),
        "reason_missing": lambda: _("reason: give the reason"),
        "not_from_state": lambda: (
            _("step: cannot %(step)s a job that is %(state)s (only from: %(allowed)s)")
            % {
                "step": job_step(str(p["step"])),
                "state": job_state(str(p["state"])).lower(),
                "allowed": ", ".join(job_state(s).lower() for s in _texts(p["allowed"])),
            }
        ),
        "no_installer": lambda: _(
            "step: a job is scheduled once an installer organisation takes it"
        ),
        "planned_at_missing": lambda: _("planned_at: scheduling needs the date agreed"),
        "planned_in_past": lambda: _("planned_at: the date agreed is in the past"),
        "items_unanswered": lambda: (
            _("step: required items not answered yet: %(items)s")
            % {"items": ", ".join(_texts(p["items"]))}
        ),
        "station_missing": lambda: _(
            "station_id: a commissioning finishes with the station it brought into service: "
            "link it first"
        ),
        "finished": lambda: (
            _("the job is %(state)s: nothing changes any more")
            % {"state": job_state(str(p.get("state", ""))).lower()}
        ),
        "installer_fixed": lambda: _(
            "installer_organisation_id: the installer organisation changes only before the "
            "work starts"
        ),
        "installer_needed": lambda: _(
            "installer_organisation_id: a scheduled job keeps an installer organisation"
        ),
        "station_linked": lambda: (
            _("station_id: the job is for station %(station)s already")
            % {"station": p.get("station", "")}
        ),
        "field_not_asked": lambda: _("%(field)s: not asked by this item") % {"field": exc.field},
        "passed_missing": lambda: _("passed: true or false"),
        "choice_unknown": lambda: (
            _("choice: one of %(options)s") % {"options": ", ".join(_texts(p["options"]))}
        ),
        "text_missing": lambda: _("text: the answer"),
        "attachment_missing": lambda: _("attachment_id: the file uploaded for it"),
        "attachment_kind": lambda: (
            _("attachment_id: not a %(kind)s of this job")
            % {"kind": _("photo") if p.get("wanted") == "photo" else _("signature")}
        ),
        "signer_missing": lambda: _("text: the name of who signs"),
        "value_missing": lambda: _("value: the measured value"),
        "value_not_number": lambda: _("value: a number"),
        "value_places": lambda: _("value: at most 6 decimals"),
        "unit_missing": lambda: (
            _("unit: the unit of the measured value (%(unit)s)") % {"unit": p.get("unit", "")}
        ),
        "unit_unknown": lambda: (
            _("unit: %(unit)s is not a unit known here") % {"unit": p.get("given", "")}
        ),
        "unit_mismatch": lambda: (
            _("unit: %(given)s does not measure what %(unit)s does")
            % {"given": p.get("given", ""), "unit": p.get("wanted", "")}
        ),
        "out_of_physical_range": lambda: (
            _("value: %(value)s is beyond what a meter shows (%(low)s–%(high)s %(unit)s)")
            % {
                "value": p.get("given", ""),
                "low": p.get("low", ""),
                "high": p.get("high", ""),
                "unit": p.get("unit", ""),
            }
        ),
        "already_answered": lambda: _(
            "correction_reason: the item is answered already; a correction needs its reason"
        ),
        "nothing_to_correct": lambda: _("correction_reason: the item has no answer to correct"),
        "already_waived": lambda: _("item_key: the item is waived already"),
        "nothing_to_waive": lambda: _("item_key: the item passed: nothing to waive"),
    }
    text = texts.get(exc.code)
    return text() if text is not None else str(exc)


def _texts(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, tuple | list) else [str(value)]


def _problem(exc: JobRefused) -> JobProblem:
    return JobProblem(_refusal(exc), exc.field)


def _shipped(key: str) -> dict[str, Any]:
    text = resources.files(TEMPLATES_PACKAGE).joinpath("templates", f"{key}.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


class JobService:
    def __init__(
        self,
        repo: JobRepository,
        blobs: BlobStore,
        audit: AuditTrail,
        clock: Clock,
        *,
        uow: UnitOfWork,
        timezone: str = "Europe/Brussels",
        max_file_bytes: int = 15 * MiB,
    ) -> None:
        self.repo = repo
        self.blobs = blobs
        self.audit = audit
        self.clock = clock
        self.uow = uow
        self.zone = ZoneInfo(timezone)
        self.max_file_bytes = max_file_bytes
        # Template versions never change: each is parsed once.
        self._parsed: dict[int, Template] = {}

    # -- who may -----------------------------------------------------------------------------
    @staticmethod
    def _can(actor: Actor, permission: Permission, organisation_id: int | None) -> bool:
        within = scope_of(actor, permission)
        return within is None or (organisation_id is not None and organisation_id in within)

    def _require(self, actor: Actor, permission: Permission, *organisation_ids: int | None) -> None:
        if not any(self._can(actor, permission, o) for o in organisation_ids or (None,)):
            raise Forbidden(actor, permission)

    def _may_step(self, actor: Actor, job: Job, step: JobStep) -> bool:
        if step is JobStep.CANCEL:
            return (
                self._can(actor, P.JOBS_REQUEST, job.customer_id)
                or self._can(actor, P.JOBS_WORK, job.installer_id)
                or self._can(actor, P.JOBS_MANAGE, None)
            )
        if step is JobStep.SCHEDULE:
            return self._can(actor, P.JOBS_WORK, job.installer_id) or self._can(
                actor, P.JOBS_MANAGE, None
            )
        return self._can(actor, P.JOBS_WORK, job.installer_id)

    async def _visible(self, actor: Actor, job_id: int) -> JobRecord:
        """The job, to those who see it; to anyone else it does not exist."""
        if actor.scopes is not None and P.JOBS_READ not in actor.scopes:
            raise Forbidden(actor, P.JOBS_READ)
        record = await self.repo.get(job_id)
        if record is None:
            raise JobNotFound(job_id)
        within = scope_of(actor, P.JOBS_READ)
        job = record.job
        if within is not None and job.customer_id not in within and job.installer_id not in within:
            raise JobNotFound(job_id)
        return record

    # -- reading -----------------------------------------------------------------------------
    def today(self) -> date:
        return self.clock.now().astimezone(self.zone).date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The first instant of ``day`` and of the next, in the platform's time zone, in UTC."""
        start = datetime.combine(day, time(0), self.zone)
        end = datetime.combine(day + timedelta(days=1), time(0), self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    async def get(self, actor: Actor, job_id: int) -> JobView:
        return await self._view(actor, await self._visible(actor, job_id))

    async def listing(self, actor: Actor, filters: JobFilter, page: PageRequest) -> Page[JobRecord]:
        """The jobs the actor sees that match ``filters``."""
        within = scope_of(actor, P.JOBS_READ)
        if within is not None and not within:
            return Page([], 0, page.offset, page.limit)
        return await self.repo.page(filters, page, within=within)

    async def _view(self, actor: Actor, record: JobRecord) -> JobView:
        job = record.job
        template = await self._template_of(job)
        checklist = None
        if template is not None:
            answers = await self.repo.answers(job.id)
            waivers = {w.item_key: w for w in await self.repo.waivers(job.id)}
            current = {a.item_key: a for a in answers if a.current}
            items = []
            for item in template.items:
                answer = current.get(item.key)
                earlier = tuple(a for a in answers if a.item_key == item.key and not a.current)
                status = status_of(answer.outcome if answer else None, item.key in waivers)
                items.append(ItemView(item, status, answer, earlier, waivers.get(item.key)))
            checklist = Checklist(
                template,
                job.template_id is not None,
                tuple(items),
                verdict(template, {k: a.outcome for k, a in current.items()}, waivers),
            )
        steps = tuple(
            s
            for s, froms in STEP_FROM.items()
            if job.state in froms and self._may_step(actor, job, s)
        )
        attachments = tuple(await self.repo.attachments(job.id))
        return JobView(record, checklist, attachments, steps)

    # -- asking for a job --------------------------------------------------------------------
    @use_case
    async def request(
        self,
        actor: Actor,
        kind: JobKind,
        *,
        station_id: str | None = None,
        site: PlannedStation | None = None,
        customer_id: int | None = None,
        installer_id: int | None = None,
        technician_id: int | None = None,
        planned_at: datetime | None = None,
        description: str | None = None,
    ) -> JobView:
        """A job for a station the customer owns, or for a planned one at the customer's.
        Only the operator names the installer (and technician) at once."""
        now = self.clock.now()
        if installer_id is not None or technician_id is not None:
            self._require(actor, P.JOBS_MANAGE)
        if station_id is not None:
            customer = await self._station_customer(actor, station_id, customer_id)
        elif site is not None:
            customer = await self._site_customer(actor, customer_id)
        else:
            raise JobProblem(
                _("station_id: a job is for a station, or for a planned one (its site)"),
                "station_id",
            )
        await self._check_people(installer_id, technician_id)
        if planned_at is not None and planned_at < now:
            raise JobProblem(_("planned_at: the date agreed is in the past"), "planned_at")
        try:
            job = new_job(
                0,
                kind,
                customer,
                now,
                _who(actor),
                station_id=station_id,
                planned_station=site,
                installer_id=installer_id,
                technician_id=technician_id,
                planned_at=planned_at,
                description=(description or "").strip() or None,
            )
        except JobRefused as exc:
            raise _problem(exc) from exc
        job_id = await self.repo.add(job)
        await self.audit.record(
            actor,
            "job.request",
            "job",
            job_id,
            customer,
            {"kind": kind.value, "station": station_id, "installer": installer_id},
        )
        return await self.get(actor, job_id)

    async def _station_customer(
        self, actor: Actor, station_id: str, customer_id: int | None
    ) -> int:
        exists, owner = await self.repo.station_owner(station_id)
        if not exists or not (actor.is_operator or (owner is not None and knows(actor, owner))):
            raise StationNotFound(station_id)
        if owner is None:
            if customer_id is None:
                raise JobProblem(
                    _("organisation_id: the station has no owner yet: name the customer"),
                    "organisation_id",
                )
            return await self._site_customer(actor, customer_id)
        require(actor, P.JOBS_REQUEST, owner)
        if customer_id is not None and customer_id != owner:
            raise JobProblem(
                _("organisation_id: the station belongs to another organisation"),
                "organisation_id",
            )
        return owner

    async def _site_customer(self, actor: Actor, customer_id: int | None) -> int:
        if customer_id is None:
            mine = scope_of(actor, P.JOBS_REQUEST)
            if mine is None or len(mine) != 1:
                raise JobProblem(
                    _("organisation_id: name the customer the job is for"), "organisation_id"
                )
            customer_id = next(iter(mine))
        kind = await self.repo.organisation_kind(customer_id)
        wanted = customer_id
        require(
            actor,
            P.JOBS_REQUEST,
            customer_id,
            missing=lambda: OrganisationNotFound(wanted),
            exists=kind is not None,
        )
        if kind not in (OrganisationKind.COMPANY, OrganisationKind.HOUSEHOLD):
            raise JobProblem(
                _("organisation_id: a job is for a customer, a company or a household"),
                "organisation_id",
            )
        return customer_id

    async def _check_people(self, installer_id: int | None, technician_id: int | None) -> None:
        if installer_id is not None:
            kind = await self.repo.organisation_kind(installer_id)
            if kind is not OrganisationKind.INSTALLER:
                raise JobProblem(
                    _("installer_organisation_id: no installer organisation %(id)s")
                    % {"id": installer_id},
                    "installer_organisation_id",
                )
        if technician_id is not None:
            if installer_id is None:
                raise JobProblem(
                    _(
                        "technician_id: a technician works for the job's installer "
                        "organisation: name it first"
                    ),
                    "technician_id",
                )
            if not await self.repo.holds_role(technician_id, installer_id, Role.INSTALLER):
                raise JobProblem(
                    _("technician_id: %(id)s is no technician of the installer organisation")
                    % {"id": technician_id},
                    "technician_id",
                )

    # -- changing it -------------------------------------------------------------------------
    async def _save(self, actor: Actor, before: Job, after: Job, action: str) -> None:
        now = self.clock.now()
        if not await self.repo.save(before, after, now):
            raise JobProblem(_("the job changed meanwhile: reload it and try again"), "step")
        entry = after.history[-1]
        await self.audit.record(
            actor,
            action,
            "job",
            before.id,
            before.customer_id,
            {"from": before.state.value, "to": after.state.value, **entry.detail},
        )

    @use_case
    async def step(
        self,
        actor: Actor,
        job_id: int,
        step: JobStep,
        *,
        reason: str | None = None,
        planned_at: datetime | None = None,
    ) -> JobView:
        record = await self._visible(actor, job_id)
        job = record.job
        if not self._may_step(actor, job, step):
            raise Forbidden(
                actor,
                P.JOBS_WORK if step not in (JobStep.CANCEL, JobStep.SCHEDULE) else P.JOBS_MANAGE,
            )
        template_id = None
        checklist = None
        if step is JobStep.START and job.state is JobState.SCHEDULED:
            template = await self.template_for(job.kind)
            template_id = template.id if template is not None else None
        if step is JobStep.FINISH and job.state is JobState.IN_PROGRESS:
            checklist = await self._verdict(job)
        try:
            after = take_step(
                job,
                step,
                self.clock.now(),
                _who(actor),
                reason=reason,
                planned_at=planned_at,
                template_id=template_id,
                verdict=checklist,
            )
        except JobRefused as exc:
            raise _problem(exc) from exc
        await self._save(actor, job, after, f"job.{step.value}")
        return await self.get(actor, job_id)

    @use_case
    async def assign(
        self,
        actor: Actor,
        job_id: int,
        *,
        installer_id: int | None,
        technician_id: int | None,
    ) -> JobView:
        """Gives the job to an installer organisation (the operator) and to one of its
        technicians (the operator, or the organisation's own people); None takes it back."""
        record = await self._visible(actor, job_id)
        job = record.job
        if installer_id != job.installer_id or job.installer_id is None:
            self._require(actor, P.JOBS_MANAGE)
        else:
            self._require(actor, P.JOBS_WORK, job.installer_id)
        await self._check_people(installer_id, technician_id)
        try:
            after = assign(
                job,
                self.clock.now(),
                _who(actor),
                installer_id=installer_id,
                technician_id=technician_id,
            )
        except JobRefused as exc:
            exc.params.setdefault("state", job.state.value)
            raise _problem(exc) from exc
        await self._save(actor, job, after, "job.assign")
        return await self.get(actor, job_id)

    @use_case
    async def link_station(self, actor: Actor, job_id: int, station_id: str) -> JobView:
        """The planned station the job is for has become ``station_id``: one of the customer's
        (or, for the operator, one nobody owns yet)."""
        record = await self._visible(actor, job_id)
        job = record.job
        self._require(actor, P.JOBS_WORK, job.installer_id)
        exists, owner = await self.repo.station_owner(station_id)
        fits = owner == job.customer_id or (owner is None and actor.is_operator)
        if not exists or not fits:
            raise StationNotFound(station_id)
        try:
            after = link_station(job, station_id, self.clock.now(), _who(actor))
        except JobRefused as exc:
            exc.params.setdefault("state", job.state.value)
            exc.params.setdefault("station", job.station_id)
            raise _problem(exc) from exc
        await self._save(actor, job, after, "job.link_station")
        return await self.get(actor, job_id)

    # -- its checklist -----------------------------------------------------------------------
    async def _item(self, job: Job, item_key: str) -> Item:
        template = await self._template_of(job)
        item = template.item(item_key) if template is not None else None
        if item is None:
            raise ItemNotFound(job.id, item_key)
        return item

    def _in_progress(self, job: Job) -> None:
        if job.state is not JobState.IN_PROGRESS:
            raise JobProblem(
                _("step: the checklist is filled in while the job is in progress (it is %(state)s)")
                % {"state": job_state(job.state.value).lower()},
                "step",
            )

    async def _verdict(self, job: Job) -> ChecklistVerdict:
        template = await self._template_of(job)
        current = {a.item_key: a.outcome for a in await self.repo.answers(job.id) if a.current}
        waived = [w.item_key for w in await self.repo.waivers(job.id)]
        return verdict(template, current, waived)

    @use_case
    async def answer(
        self,
        actor: Actor,
        job_id: int,
        item_key: str,
        answer: AnswerInput,
        *,
        correction_reason: str | None = None,
    ) -> JobView:
        """Answers an item once; another answer is a correction, with its reason, and the one it
        corrects stays in the item's history."""
        record = await self._visible(actor, job_id)
        job = record.job
        self._require(actor, P.JOBS_WORK, job.installer_id)
        item = await self._item(job, item_key)
        self._in_progress(job)
        current = next(
            (a for a in await self.repo.answers(job_id) if a.current and a.item_key == item_key),
            None,
        )
        kind = None
        if answer.attachment_id is not None:
            found = await self.repo.attachment(job_id, answer.attachment_id)
            kind = found.kind.value if found is not None else None
        try:
            reason = check_reanswer(current is not None, correction_reason)
            judged = evaluate(item, answer, kind)
        except JobRefused as exc:
            if exc.code in ("unit_missing", "unit_mismatch") and item.unit is not None:
                exc.params.update(unit=item.unit.symbol, given=answer.unit or "")
            if exc.code == "unit_unknown":
                exc.params["given"] = answer.unit or ""
            if exc.code == "out_of_physical_range":
                exc.params["given"] = f"{answer.value} {answer.unit}"
            raise _problem(exc) from exc
        now = self.clock.now()
        who = _who(actor)
        values = {
            "item_key": item.key,
            "outcome": judged.outcome.value,
            "passed": answer.passed,
            "value": judged.value,
            "unit": judged.unit,
            "given_value": answer.value,
            "given_unit": answer.unit.strip() if answer.unit else None,
            "choice": answer.choice,
            "text": answer.text.strip() if answer.text and answer.text.strip() else None,
            "attachment_id": answer.attachment_id,
            "correction_reason": reason,
            "answered_at": now,
            "answered_by": who.id,
            "answered_by_name": who.name[:128],
        }
        try:
            await self.repo.add_answer(job_id, values, replaces=current is not None)
        except IntegrityError as exc:
            raise JobProblem(
                _("correction_reason: the item was answered meanwhile: reload the job"),
                "correction_reason",
            ) from exc
        await self.audit.record(
            actor,
            "job.correct" if reason else "job.answer",
            "job",
            job_id,
            job.customer_id,
            {"item": item.key, "outcome": judged.outcome.value},
        )
        return await self.get(actor, job_id)

    @use_case
    async def waive(self, actor: Actor, job_id: int, item_key: str, reason: str) -> JobView:
        """Lets a failed (or unanswerable) item pass the job: the operator's call, with the
        reason."""
        record = await self._visible(actor, job_id)
        job = record.job
        self._require(actor, P.JOBS_MANAGE)
        item = await self._item(job, item_key)
        self._in_progress(job)
        current = next(
            (a for a in await self.repo.answers(job_id) if a.current and a.item_key == item_key),
            None,
        )
        waived = any(w.item_key == item_key for w in await self.repo.waivers(job_id))
        try:
            text = check_waiver(item, current.outcome if current else None, waived, reason)
        except JobRefused as exc:
            raise _problem(exc) from exc
        who = _who(actor)
        try:
            await self.repo.add_waiver(
                job_id, Waiver(item.key, text, self.clock.now(), who.id, who.name)
            )
        except IntegrityError as exc:
            raise JobProblem(_("item_key: the item is waived already"), "item_key") from exc
        await self.audit.record(
            actor, "job.waive", "job", job_id, job.customer_id, {"item": item.key, "reason": text}
        )
        return await self.get(actor, job_id)

    # -- its files ---------------------------------------------------------------------------
    async def attach(
        self,
        actor: Actor,
        job_id: int,
        kind: AttachmentKind,
        data: bytes,
        file_name: str | None = None,
    ) -> Attachment:
        """Keeps a photo, a signature or a document with the job, checked by what it holds;
        refused (naming ``file``) when it is empty, too large or of another type."""
        record = await self._visible(actor, job_id)
        job = record.job
        self._require(actor, P.JOBS_WORK, job.installer_id)
        if job.finished:
            raise JobProblem(
                _("the job is %(state)s: its files stay as they are")
                % {"state": job_state(job.state.value).lower()},
                "file",
            )
        try:
            media_type = check_file(kind, data, self.max_file_bytes)
        except AttachmentRefused as exc:
            raise self._file_refusal(exc, kind) from exc
        key = f"jobs/{job_id}/{uuid.uuid4().hex}"
        await self.blobs.put(key, data, media_type)
        try:
            async with self.uow():
                # Checked again in the transaction that stores it: the job may have finished
                # while the file travelled.
                again = await self._visible(actor, job_id)
                if again.job.finished:
                    raise JobProblem(
                        _("the job is %(state)s: its files stay as they are")
                        % {"state": job_state(again.job.state.value).lower()},
                        "file",
                    )
                who = _who(actor)
                values: dict[str, Any] = {
                    "job_id": job_id,
                    "kind": kind.value,
                    "media_type": media_type,
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "blob_key": key,
                    "file_name": safe_name(file_name, media_type),
                    "uploaded_at": self.clock.now(),
                    "uploaded_by": who.id,
                    "uploaded_by_name": who.name[:128],
                }
                attachment_id = await self.repo.add_attachment(values)
                await self.audit.record(
                    actor,
                    "job.attach",
                    "job",
                    job_id,
                    job.customer_id,
                    {"attachment": attachment_id, "kind": kind.value, "size": len(data)},
                )
        except BaseException:
            await self.blobs.delete(key)
            raise
        return Attachment(
            id=attachment_id,
            job_id=job_id,
            kind=kind,
            media_type=media_type,
            size=values["size"],
            sha256=values["sha256"],
            blob_key=key,
            file_name=values["file_name"],
            uploaded_at=values["uploaded_at"],
            uploaded_by=values["uploaded_by"],
            uploaded_by_name=values["uploaded_by_name"],
        )

    def _file_refusal(self, exc: AttachmentRefused, kind: AttachmentKind) -> JobProblem:
        if exc.code == "too_large":
            size = self.max_file_bytes
            limit = f"{size // MiB} MiB" if size % MiB == 0 else f"{size // 1024} KiB"
            return FileTooLarge(_("file: at most %(size)s") % {"size": limit}, "file")
        if exc.code == "empty":
            return JobProblem(_("file: the file is empty"), "file")
        accepted = {
            AttachmentKind.PHOTO: "JPEG, PNG, WebP, HEIC",
            AttachmentKind.SIGNATURE: "PNG, JPEG, WebP",
            AttachmentKind.DOCUMENT: "PDF",
        }[kind]
        return JobProblem(
            _("file: a %(kind)s is a file of type %(types)s; this one is not")
            % {"kind": _attachment_kind(kind), "types": accepted},
            "file",
        )

    async def attachment(
        self, actor: Actor, job_id: int, attachment_id: int
    ) -> tuple[Attachment, bytes]:
        """A file of the job and what it holds, to those who see the job."""
        await self._visible(actor, job_id)
        found = await self.repo.attachment(job_id, attachment_id)
        if found is None:
            raise AttachmentNotFound(attachment_id)
        try:
            data = await self.blobs.get(found.blob_key)
        except BlobMissing as exc:
            log.error("job %s: the file of attachment %s is missing", job_id, attachment_id)
            raise AttachmentNotFound(attachment_id) from exc
        return found, data

    # -- checklist templates -----------------------------------------------------------------
    def _parse(self, stored: StoredTemplate) -> Template:
        parsed = self._parsed.get(stored.id)
        if parsed is None:
            document = json.loads(stored.document)
            template = parse_template(document, stored.key, stored.version)
            parsed = self._parsed[stored.id] = Template(
                template.key,
                template.version,
                template.title,
                template.job_kinds,
                template.sections,
                stored.id,
            )
        return parsed

    async def _latest(self) -> list[Template]:
        """The latest version of every template, the shipped ones put in the store the first
        time they are asked for."""
        stored = await self.repo.latest_templates()
        missing = [key for key in SHIPPED if key not in {s.key for s in stored}]
        if missing:
            for key in missing:
                document = template_document(parse_template(_shipped(key), key, 1))
                # Put there meanwhile by another request: that one is as good.
                with contextlib.suppress(IntegrityError):
                    await self.repo.add_template(
                        key, 1, json.dumps(document), self.clock.now(), "platform"
                    )
            stored = await self.repo.latest_templates()
        return [self._parse(s) for s in stored]

    async def template_for(self, kind: JobKind) -> Template | None:
        """The checklist a job of ``kind`` starts with now: the latest version of the template
        for the kind (the one named after it, if several are)."""
        fitting = [t for t in await self._latest() if kind in t.job_kinds]
        if not fitting:
            return None
        return next((t for t in fitting if t.key == kind.value), fitting[0])

    async def _template_of(self, job: Job) -> Template | None:
        if job.template_id is not None:
            stored = await self.repo.template(template_id=job.template_id)
            return self._parse(stored) if stored is not None else None
        if job.state in (JobState.REQUESTED, JobState.SCHEDULED):
            return await self.template_for(job.kind)
        return None

    async def templates(self, actor: Actor) -> list[Template]:
        self._require(actor, P.JOBS_MANAGE)
        return await self._latest()

    async def template(self, actor: Actor, key: str, version: int | None = None) -> Template:
        self._require(actor, P.JOBS_MANAGE)
        await self._latest()
        stored = await self.repo.template(key=key, version=version)
        if stored is None:
            raise TemplateNotFound(key if version is None else f"{key} v{version}")
        return self._parse(stored)

    @use_case
    async def edit_template(self, actor: Actor, key: str, document: Mapping[str, Any]) -> Template:
        """A new version of the template ``key`` (its first, for a new key); jobs started
        before keep theirs."""
        self._require(actor, P.CHECKLISTS_WRITE)
        latest = {t.key: t for t in await self._latest()}.get(key)
        version = latest.version + 1 if latest is not None else 1
        try:
            template = parse_template(document, key, version)
        except TemplateError as exc:
            raise JobProblem(f"{exc.path}: {exc.message}", exc.path) from exc
        try:
            await self.repo.add_template(
                key,
                version,
                json.dumps(template_document(template)),
                self.clock.now(),
                actor.username[:128],
            )
        except IntegrityError as exc:
            raise JobProblem(
                _("the template was edited meanwhile: reload it and try again"), "key"
            ) from exc
        await self.audit.record(
            actor, "checklist.edit", "checklist_template", f"{key} v{version}", None, None
        )
        return await self.template(actor, key, version)


def _who(actor: Actor) -> Who:
    return Who(actor.user_id or None, actor.username)


def _attachment_kind(kind: AttachmentKind) -> str:
    return {
        AttachmentKind.PHOTO: _("photo"),
        AttachmentKind.SIGNATURE: _("signature"),
        AttachmentKind.DOCUMENT: _("document"),
    }[kind]


__all__ = [
    "AttachmentNotFound",
    "Checklist",
    "FileTooLarge",
    "ItemNotFound",
    "ItemView",
    "JobNotFound",
    "JobProblem",
    "JobService",
    "JobView",
    "TemplateNotFound",
]
