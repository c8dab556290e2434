"""Installation jobs: asking for one, the installer's steps and checklist, its files; the
checklist templates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from voltflow.domain.installations.attachments import ACCEPTED, Attachment, AttachmentKind
from voltflow.domain.installations.checklists import (
    AnswerInput,
    ItemKind,
    Labels,
    StoredAnswer,
    Template,
    template_document,
)
from voltflow.domain.installations.jobs import (
    Address,
    HistoryEntry,
    JobFilter,
    JobKind,
    JobRecord,
    JobState,
    JobStep,
    PlannedStation,
)
from voltflow.domain.paging import PageRequest
from voltflow.i18n import language
from voltflow.services.jobs import ItemView, JobView
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import KEY_MAX, NAME_MAX, TEXT_MAX, StationIdQuery
from voltflow.web.schemas import (
    MAX_ID,
    IdPath,
    IdQuery,
    Limit,
    Offset,
    PageOut,
    ShortDecimal,
    problem_responses,
)

router = APIRouter(prefix="/api/v1")
KeyPath = Annotated[str, Path(min_length=1, max_length=KEY_MAX)]
OptionalId = Annotated[int | None, Field(default=None, ge=1, le=MAX_ID)]
Reason = Annotated[str | None, Field(default=None, max_length=TEXT_MAX)]
LABEL_MAX = 500


# -- bodies --------------------------------------------------------------------------------------
class SiteIn(BaseModel):
    """Where a station that does not exist yet goes, and what it will be."""

    model_config = ConfigDict(extra="forbid")
    street: str = Field(min_length=1, max_length=200)
    postcode: str = Field(min_length=1, max_length=16)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(default="BE", min_length=2, max_length=2, pattern=r"^[A-Z][A-Z]$")
    model: str = Field(min_length=1, max_length=64)
    vendor: str | None = Field(default=None, max_length=64)


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: JobKind
    station_id: str | None = Field(
        default=None, min_length=1, max_length=KEY_MAX, description="a station of the platform"
    )
    site: SiteIn | None = Field(default=None, description="or a planned station: one of them")
    organisation_id: OptionalId = Field(
        default=None,
        description="the customer (default: the station's owner, or the one organisation the "
        "person asks for)",
    )
    installer_organisation_id: OptionalId = Field(default=None, description="operators only")
    technician_id: OptionalId = Field(default=None, description="operators only")
    planned_at: datetime | None = Field(default=None, description="the date the customer wishes")
    description: str | None = Field(default=None, max_length=TEXT_MAX)


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: JobStep
    reason: Reason = Field(default=None, description="needed to fail or cancel a job")
    planned_at: datetime | None = Field(
        default=None, description="schedule: the date agreed (default: the one asked for)"
    )


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    installer_organisation_id: OptionalId = None
    technician_id: OptionalId = None


class StationLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    station_id: str = Field(min_length=1, max_length=KEY_MAX)


class AnswerIn(BaseModel):
    """What the item asks: ``passed`` (pass/fail), ``value`` and ``unit`` (a measurement),
    ``choice``, ``text`` (a text; a note for other kinds; who signs, for a signature),
    ``attachment_id`` (a photo or signature uploaded first)."""

    model_config = ConfigDict(extra="forbid")
    passed: bool | None = None
    value: ShortDecimal | None = None
    unit: str | None = Field(default=None, max_length=16)
    choice: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=TEXT_MAX)
    attachment_id: OptionalId = None
    correction_reason: Reason = Field(
        default=None, description="answering an item again corrects it: give the reason"
    )


class WaiverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=TEXT_MAX)


LanguageKey = Annotated[str, Field(min_length=2, max_length=2)]
LabelIn = dict[LanguageKey, Annotated[str, Field(min_length=1, max_length=LABEL_MAX)]]


class RangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: ShortDecimal | None = None
    max: ShortDecimal | None = None


class OptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = Field(min_length=1, max_length=64)
    label: LabelIn
    accepted: bool = True


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=KEY_MAX)
    kind: ItemKind
    label: LabelIn
    required: bool = True
    hint: LabelIn | None = None
    unit: str | None = Field(default=None, max_length=16)
    allowed: RangeIn | None = None
    physical: RangeIn | None = None
    options: list[OptionIn] | None = Field(default=None, max_length=50)


class SectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=KEY_MAX)
    title: LabelIn
    items: list[ItemIn] = Field(max_length=200)


class TemplateIn(BaseModel):
    """A checklist template: its texts by language (``{"en": …, "nl": …, "fr": …}``)."""

    model_config = ConfigDict(extra="forbid")
    title: LabelIn
    job_kinds: list[JobKind] = Field(max_length=len(JobKind))
    sections: list[SectionIn] = Field(max_length=50)


# -- answers -------------------------------------------------------------------------------------
class SiteOut(BaseModel):
    street: str
    postcode: str
    city: str
    country: str
    model: str
    vendor: str | None


class JobOut(BaseModel):
    id: int
    kind: str
    state: str
    station_id: str | None
    site: SiteOut | None
    organisation_id: int = Field(description="the customer")
    organisation_name: str
    installer_organisation_id: int | None
    installer_organisation_name: str | None
    technician_id: int | None
    technician_name: str | None
    planned_at: datetime | None
    description: str | None
    created_at: datetime
    finished_at: datetime | None


class HistoryOut(BaseModel):
    event: str
    from_state: str | None
    to_state: str
    at: datetime
    by: str
    reason: str | None
    detail: dict[str, Any]


class AnswerOut(BaseModel):
    outcome: str
    passed: bool | None
    value: Decimal | None = Field(description="a measurement in the item's unit")
    unit: str | None
    given_value: Decimal | None = Field(description="as it was given")
    given_unit: str | None
    choice: str | None
    text: str | None
    attachment_id: int | None
    correction_reason: str | None
    answered_at: datetime
    answered_by: str


class WaiverOut(BaseModel):
    reason: str
    waived_at: datetime
    waived_by: str


class OptionOut(BaseModel):
    value: str
    label: str
    accepted: bool


class ItemOut(BaseModel):
    key: str
    section: str
    kind: str
    label: str
    hint: str | None
    required: bool
    unit: str | None
    allowed_min: Decimal | None
    allowed_max: Decimal | None
    options: list[OptionOut]
    status: str = Field(description="unanswered, passed, failed or waived")
    answer: AnswerOut | None
    earlier: list[AnswerOut] = Field(description="answers a correction replaced, oldest first")
    waiver: WaiverOut | None


class ChecklistOut(BaseModel):
    template_key: str
    version: int
    title: str
    bound: bool = Field(description="the version the job started with (else the one it will)")
    unanswered: list[str] = Field(description="required items without answer or waiver")
    failed: list[str] = Field(description="failed items without waiver")
    items: list[ItemOut]


class AttachmentOut(BaseModel):
    id: int
    kind: str
    media_type: str
    size: int
    sha256: str
    file_name: str
    uploaded_at: datetime
    uploaded_by: str


class JobDetailOut(JobOut):
    history: list[HistoryOut]
    checklist: ChecklistOut | None
    attachments: list[AttachmentOut]
    steps: list[str] = Field(description="the steps the caller may take now")


class TemplateOut(BaseModel):
    key: str
    version: int
    title: str
    job_kinds: list[str]
    document: dict[str, Any] = Field(description="the template with its texts in every language")


def _job_out(record: JobRecord) -> dict[str, Any]:
    job = record.job
    site = job.planned_station
    return {
        "id": job.id,
        "kind": job.kind.value,
        "state": job.state.value,
        "station_id": job.station_id,
        "site": None
        if site is None
        else SiteOut(
            street=site.address.street,
            postcode=site.address.postcode,
            city=site.address.city,
            country=site.address.country,
            model=site.model,
            vendor=site.vendor,
        ),
        "organisation_id": job.customer_id,
        "organisation_name": record.customer_name,
        "installer_organisation_id": job.installer_id,
        "installer_organisation_name": record.installer_name,
        "technician_id": job.technician_id,
        "technician_name": record.technician_name,
        "planned_at": job.planned_at,
        "description": job.description,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def _history(entry: HistoryEntry) -> HistoryOut:
    return HistoryOut(
        event=entry.event.value,
        from_state=entry.from_state.value if entry.from_state else None,
        to_state=entry.to_state.value,
        at=entry.at,
        by=entry.actor_name,
        reason=entry.reason,
        detail=entry.detail,
    )


def _answer(a: StoredAnswer) -> AnswerOut:
    return AnswerOut(
        outcome=a.outcome.value,
        passed=a.passed,
        value=a.value,
        unit=a.unit,
        given_value=a.given_value,
        given_unit=a.given_unit,
        choice=a.choice,
        text=a.text,
        attachment_id=a.attachment_id,
        correction_reason=a.correction_reason,
        answered_at=a.answered_at,
        answered_by=a.answered_by_name,
    )


def _text(labels: Labels | None) -> str | None:
    return None if labels is None else labels.text(language())


def _item(view: ItemView, section: str) -> ItemOut:
    item = view.item
    return ItemOut(
        key=item.key,
        section=section,
        kind=item.kind.value,
        label=item.label.text(language()),
        hint=_text(item.hint),
        required=item.required,
        unit=item.unit.symbol if item.unit else None,
        allowed_min=item.allowed.low if item.allowed else None,
        allowed_max=item.allowed.high if item.allowed else None,
        options=[
            OptionOut(value=o.value, label=o.label.text(language()), accepted=o.accepted)
            for o in item.options
        ],
        status=view.status.value,
        answer=_answer(view.answer) if view.answer else None,
        earlier=[_answer(a) for a in view.earlier],
        waiver=None
        if view.waiver is None
        else WaiverOut(
            reason=view.waiver.reason,
            waived_at=view.waiver.waived_at,
            waived_by=view.waiver.waived_by_name,
        ),
    )


def _attachment(a: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id,
        kind=a.kind.value,
        media_type=a.media_type,
        size=a.size,
        sha256=a.sha256,
        file_name=a.file_name,
        uploaded_at=a.uploaded_at,
        uploaded_by=a.uploaded_by_name,
    )


def _detail(view: JobView) -> JobDetailOut:
    checklist = None
    if view.checklist is not None:
        c = view.checklist
        sections = {i.key: s.key for s in c.template.sections for i in s.items}
        checklist = ChecklistOut(
            template_key=c.template.key,
            version=c.template.version,
            title=c.template.title.text(language()),
            bound=c.bound,
            unanswered=list(c.verdict.unanswered),
            failed=list(c.verdict.failed),
            items=[_item(v, sections[v.item.key]) for v in c.items],
        )
    return JobDetailOut(
        **_job_out(view.record),
        history=[_history(e) for e in view.job.history],
        checklist=checklist,
        attachments=[_attachment(a) for a in view.attachments],
        steps=[s.value for s in view.steps],
    )


def _template(t: Template) -> TemplateOut:
    return TemplateOut(
        key=t.key,
        version=t.version,
        title=t.title.text(language()),
        job_kinds=sorted(k.value for k in t.job_kinds),
        document=template_document(t),
    )


# -- routes --------------------------------------------------------------------------------------
@router.get("/jobs", tags=["jobs"])
async def list_jobs(
    platform: PlatformDep,
    actor: ApiUser,
    state: Annotated[list[JobState] | None, Query(max_length=len(JobState))] = None,
    kind: JobKind | None = None,
    station_id: StationIdQuery = None,
    organisation_id: IdQuery = None,
    installer_organisation_id: IdQuery = None,
    technician_id: IdQuery = None,
    mine: Annotated[bool, Query(description="the caller's own jobs, as technician")] = False,
    day: Annotated[date | None, Query(description="planned on this day (local)")] = None,
    today: Annotated[bool, Query(description="planned today (local)")] = False,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[JobOut]:
    """The jobs the caller sees: a technician's day is ``?mine=true&today=true``, in planned
    order; any other list, the newest first."""
    jobs = platform.jobs
    if today:
        day = jobs.today()
    start, end = jobs.day_bounds(day) if day is not None else (None, None)
    filters = JobFilter(
        states=tuple(state or ()),
        kind=kind,
        station_id=station_id,
        customer_id=organisation_id,
        installer_id=installer_organisation_id,
        technician_id=actor.user_id if mine else technician_id,
        planned_from=start,
        planned_until=end,
    )
    page = await jobs.listing(actor, filters, PageRequest(offset, limit))
    return PageOut[JobOut](
        items=[JobOut(**_job_out(r)) for r in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.post("/jobs", status_code=201, tags=["jobs"])
async def request_job(body: JobIn, platform: PlatformDep, actor: ApiUser) -> JobDetailOut:
    """Asks for a job at a station of the customer's, or at a planned one (``site``)."""
    site = None
    if body.site is not None:
        s = body.site
        site = PlannedStation(
            Address(s.street.strip(), s.postcode.strip(), s.city.strip(), s.country),
            s.model.strip(),
            s.vendor.strip() if s.vendor else None,
        )
    view = await platform.jobs.request(
        actor,
        body.kind,
        station_id=body.station_id,
        site=site,
        customer_id=body.organisation_id,
        installer_id=body.installer_organisation_id,
        technician_id=body.technician_id,
        planned_at=body.planned_at,
        description=body.description,
    )
    return _detail(view)


@router.get("/jobs/{job_id}", tags=["jobs"])
async def get_job(job_id: IdPath, platform: PlatformDep, actor: ApiUser) -> JobDetailOut:
    """The job with its history, its checklist (each item's status, answer and waiver) and its
    files."""
    return _detail(await platform.jobs.get(actor, job_id))


@router.post("/jobs/{job_id}/steps", tags=["jobs"])
async def take_step(
    job_id: IdPath, body: StepIn, platform: PlatformDep, actor: ApiUser
) -> JobDetailOut:
    """schedule (the date agreed), start, finish (done, or failed when an item failed),
    fail or cancel (with the reason). A step out of order is refused, naming ``step``."""
    view = await platform.jobs.step(
        actor, job_id, body.step, reason=body.reason, planned_at=body.planned_at
    )
    return _detail(view)


@router.put("/jobs/{job_id}/assignment", tags=["jobs"])
async def assign_job(
    job_id: IdPath, body: AssignmentIn, platform: PlatformDep, actor: ApiUser
) -> JobDetailOut:
    """The installer organisation (operators) and its technician (operators and the
    organisation's people)."""
    view = await platform.jobs.assign(
        actor,
        job_id,
        installer_id=body.installer_organisation_id,
        technician_id=body.technician_id,
    )
    return _detail(view)


@router.put("/jobs/{job_id}/station", tags=["jobs"])
async def link_job_station(
    job_id: IdPath, body: StationLinkIn, platform: PlatformDep, actor: ApiUser
) -> JobDetailOut:
    """The station the planned one has become."""
    return _detail(await platform.jobs.link_station(actor, job_id, body.station_id))


@router.post("/jobs/{job_id}/items/{item_key}/answers", tags=["jobs"])
async def answer_item(
    job_id: IdPath, item_key: KeyPath, body: AnswerIn, platform: PlatformDep, actor: ApiUser
) -> JobDetailOut:
    """Answers a checklist item; a measurement outside its allowed range fails it. An item
    answered already takes a correction, with ``correction_reason``."""
    answer = AnswerInput(
        passed=body.passed,
        value=body.value,
        unit=body.unit,
        choice=body.choice,
        text=body.text,
        attachment_id=body.attachment_id,
    )
    view = await platform.jobs.answer(
        actor, job_id, item_key, answer, correction_reason=body.correction_reason
    )
    return _detail(view)


@router.post("/jobs/{job_id}/items/{item_key}/waiver", tags=["jobs"])
async def waive_item(
    job_id: IdPath, item_key: KeyPath, body: WaiverIn, platform: PlatformDep, actor: ApiUser
) -> JobDetailOut:
    """Lets a failed or unanswerable item pass the job (operators), with the reason."""
    return _detail(await platform.jobs.waive(actor, job_id, item_key, body.reason))


@router.post(
    "/jobs/{job_id}/attachments",
    status_code=201,
    tags=["jobs"],
    responses=problem_responses(413),
)
async def upload_attachment(
    job_id: IdPath,
    platform: PlatformDep,
    actor: ApiUser,
    kind: Annotated[AttachmentKind, Form()],
    file: Annotated[
        UploadFile,
        File(
            description="JPEG, PNG, WebP or HEIC; PDF for documents; as large as the platform's "
            "setting allows (15 MiB unless set otherwise)",
            json_schema_extra={"format": "binary"},
        ),
    ],
) -> AttachmentOut:
    """A photo, a signature or a document, checked by what the file holds."""
    data = await file.read(platform.jobs.max_file_bytes + 1)
    name = (file.filename or "")[:NAME_MAX]
    return _attachment(await platform.jobs.attach(actor, job_id, kind, data, name))


_FILE_TYPES = sorted({m for types in ACCEPTED.values() for m in types})


@router.get(
    "/jobs/{job_id}/attachments/{attachment_id}",
    tags=["jobs"],
    response_class=Response,
    responses={
        200: {
            "description": "the file as it was uploaded",
            "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in _FILE_TYPES},
        }
    },
)
async def download_attachment(
    job_id: IdPath, attachment_id: IdPath, platform: PlatformDep, actor: ApiUser
) -> Response:
    found, data = await platform.jobs.attachment(actor, job_id, attachment_id)
    ascii_name = found.file_name.encode("ascii", "replace").decode().replace("?", "_")
    return Response(
        data,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(found.file_name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/checklist-templates", tags=["jobs"])
async def list_templates(platform: PlatformDep, actor: ApiUser) -> list[TemplateOut]:
    """The latest version of every checklist template (operators)."""
    return [_template(t) for t in await platform.jobs.templates(actor)]


@router.get("/checklist-templates/{template_key}", tags=["jobs"])
async def get_template(
    template_key: KeyPath,
    platform: PlatformDep,
    actor: ApiUser,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> TemplateOut:
    return _template(await platform.jobs.template(actor, template_key, version))


@router.put("/checklist-templates/{template_key}", tags=["jobs"])
async def edit_template(
    template_key: KeyPath, body: TemplateIn, platform: PlatformDep, actor: ApiUser
) -> TemplateOut:
    """A new version of the template (its first, for a new key): jobs started before keep
    theirs. Problems name the field (``sections[1].items[0].allowed``)."""
    document = body.model_dump(mode="json", exclude_none=True)
    return _template(await platform.jobs.edit_template(actor, template_key, document))
