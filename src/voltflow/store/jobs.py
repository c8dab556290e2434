"""Installation jobs, their history, checklist templates, answers, waivers and attachments'
records (the files themselves are in the blob store)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping

from voltflow.domain.access import OrganisationKind, Role
from voltflow.domain.installations.attachments import Attachment, AttachmentKind
from voltflow.domain.installations.checklists import (
    Outcome,
    StoredAnswer,
    StoredTemplate,
    Waiver,
    plain,
)
from voltflow.domain.installations.jobs import (
    Address,
    HistoryEntry,
    Job,
    JobEvent,
    JobFilter,
    JobKind,
    JobRecord,
    JobState,
    PlannedStation,
)
from voltflow.domain.paging import Page, PageRequest
from voltflow.store.database import Database
from voltflow.store.paging import fetch_page, record_of
from voltflow.store.tables import (
    checklist_templates,
    job_answers,
    job_attachments,
    job_history,
    job_waivers,
    jobs,
    memberships,
    organisations,
    stations,
    users,
)

J, H = jobs, job_history
customer = organisations.alias("customer")
installer = organisations.alias("installer")
technician = users.alias("technician")


def _job_values(job: Job) -> dict[str, Any]:
    site = job.planned_station
    return {
        "kind": job.kind.value,
        "state": job.state.value,
        "customer_id": job.customer_id,
        "installer_id": job.installer_id,
        "technician_id": job.technician_id,
        "station_id": job.station_id,
        "site_street": site.address.street if site else None,
        "site_postcode": site.address.postcode if site else None,
        "site_city": site.address.city if site else None,
        "site_country": site.address.country if site else None,
        "site_vendor": site.vendor if site else None,
        "site_model": site.model if site else None,
        "planned_at": job.planned_at,
        "description": job.description,
        "template_id": job.template_id,
        "finished_at": job.finished_at,
    }


def _history_values(job_id: int, entry: HistoryEntry) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "event": entry.event.value,
        "from_state": entry.from_state.value if entry.from_state else None,
        "to_state": entry.to_state.value,
        "at": entry.at,
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name[:128],
        "reason": entry.reason,
        "detail": json.dumps(entry.detail, sort_keys=True) if entry.detail else None,
    }


def _entry(m: RowMapping) -> HistoryEntry:
    return HistoryEntry(
        JobEvent(m["event"]),
        JobState(m["from_state"]) if m["from_state"] else None,
        JobState(m["to_state"]),
        m["at"],
        m["actor_id"],
        m["actor_name"],
        m["reason"],
        json.loads(m["detail"]) if m["detail"] else {},
    )


def _record(m: RowMapping, history: Sequence[HistoryEntry] = ()) -> JobRecord:
    site = None
    if m["site_model"] is not None:
        site = PlannedStation(
            Address(m["site_street"], m["site_postcode"], m["site_city"], m["site_country"]),
            m["site_model"],
            m["site_vendor"],
        )
    job = Job(
        m["id"],
        JobKind(m["kind"]),
        JobState(m["state"]),
        m["customer_id"],
        m["created_at"],
        station_id=m["station_id"],
        planned_station=site,
        installer_id=m["installer_id"],
        technician_id=m["technician_id"],
        planned_at=m["planned_at"],
        description=m["description"],
        template_id=m["template_id"],
        finished_at=m["finished_at"],
        history=tuple(history),
    )
    return JobRecord(job, m["customer_name"], m["installer_name"], m["technician_name"])


def _answer(m: RowMapping) -> StoredAnswer:
    # PostgreSQL's NUMERIC answers with its scale's zeros: the value as it was given.
    return record_of(
        StoredAnswer,
        m,
        outcome=Outcome(m["outcome"]),
        value=None if m["value"] is None else plain(m["value"]),
        given_value=None if m["given_value"] is None else plain(m["given_value"]),
    )


class JobRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- what a job names --------------------------------------------------------------------
    async def station_owner(self, station_id: str) -> tuple[bool, int | None]:
        """Whether the station exists, and its organisation."""
        async with self.db.reading() as conn:
            row = (
                await conn.execute(
                    select(stations.c.organisation_id).where(stations.c.id == station_id)
                )
            ).first()
        return (row is not None, None if row is None else row.organisation_id)

    async def organisation_kind(self, organisation_id: int) -> OrganisationKind | None:
        async with self.db.reading() as conn:
            kind = (
                await conn.execute(
                    select(organisations.c.kind).where(organisations.c.id == organisation_id)
                )
            ).scalar_one_or_none()
        return None if kind is None else OrganisationKind(kind)

    async def holds_role(self, user_id: int, organisation_id: int, role: Role) -> bool:
        async with self.db.reading() as conn:
            found = (
                await conn.execute(
                    select(memberships.c.user_id).where(
                        memberships.c.user_id == user_id,
                        memberships.c.organisation_id == organisation_id,
                        memberships.c.role == role.value,
                    )
                )
            ).first()
        return found is not None

    # -- jobs --------------------------------------------------------------------------------
    def _select(self) -> Select[Any]:
        return (
            select(
                J,
                customer.c.name.label("customer_name"),
                installer.c.name.label("installer_name"),
                technician.c.username.label("technician_name"),
            )
            .join(customer, customer.c.id == J.c.customer_id)
            .outerjoin(installer, installer.c.id == J.c.installer_id)
            .outerjoin(technician, technician.c.id == J.c.technician_id)
        )

    async def add(self, job: Job) -> int:
        """Stores a new job and its history so far; its id."""
        async with self.db.writing() as conn:
            job_id = (
                await conn.execute(
                    insert(J)
                    .values(
                        **_job_values(job), created_at=job.created_at, updated_at=job.created_at
                    )
                    .returning(J.c.id)
                )
            ).scalar_one()
            await conn.execute(insert(H), [_history_values(job_id, e) for e in job.history])
        return int(job_id)

    async def get(self, job_id: int) -> JobRecord | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(self._select().where(J.c.id == job_id))).first()
            if row is None:
                return None
            history = (
                await conn.execute(select(H).where(H.c.job_id == job_id).order_by(H.c.id))
            ).all()
        return _record(row._mapping, [_entry(h._mapping) for h in history])

    async def save(self, before: Job, after: Job, at: datetime) -> bool:
        """Writes ``after`` over the job if it is still as ``before`` (its state, its number of
        history entries) and adds the entries ``after`` has more; False: it changed meanwhile."""
        added = after.history[len(before.history) :]
        async with self.db.writing() as conn:
            # The update first: it holds the job's row, so the count after it sees every entry
            # a change that came first committed (the caller rolls back on False).
            result = await conn.execute(
                update(J)
                .where(J.c.id == before.id, J.c.state == before.state.value)
                .values(**_job_values(after), updated_at=at)
            )
            if result.rowcount != 1:
                return False
            count = (
                await conn.execute(select(func.count()).where(H.c.job_id == before.id))
            ).scalar_one()
            if count != len(before.history):
                return False
            if added:
                await conn.execute(insert(H), [_history_values(before.id, e) for e in added])
        return True

    async def page(
        self, filters: JobFilter, page: PageRequest, *, within: frozenset[int] | None
    ) -> Page[JobRecord]:
        """Jobs matching ``filters`` whose customer or installer is among ``within`` (None:
        all); a technician's day in planned order, else the newest first."""
        query = self._select()
        conditions = []
        if within is not None:
            conditions.append(or_(J.c.customer_id.in_(within), J.c.installer_id.in_(within)))
        if filters.states:
            conditions.append(J.c.state.in_([s.value for s in filters.states]))
        if filters.kind is not None:
            conditions.append(J.c.kind == filters.kind.value)
        if filters.station_id is not None:
            conditions.append(J.c.station_id == filters.station_id)
        if filters.customer_id is not None:
            conditions.append(J.c.customer_id == filters.customer_id)
        if filters.installer_id is not None:
            conditions.append(J.c.installer_id == filters.installer_id)
        if filters.technician_id is not None:
            conditions.append(J.c.technician_id == filters.technician_id)
        if filters.planned_from is not None:
            conditions.append(J.c.planned_at >= filters.planned_from)
        if filters.planned_until is not None:
            conditions.append(J.c.planned_at < filters.planned_until)
        if conditions:
            query = query.where(and_(*conditions))
        dated = filters.planned_from is not None or filters.planned_until is not None
        order = (J.c.planned_at, J.c.id) if dated else (J.c.id.desc(),)
        async with self.db.reading() as conn:
            return await fetch_page(conn, query, *order, page=page, record=_record)

    # -- checklist templates -----------------------------------------------------------------
    async def latest_templates(self) -> list[StoredTemplate]:
        """The latest version of every template."""
        T = checklist_templates
        latest = (
            select(T.c.key, func.max(T.c.version).label("version")).group_by(T.c.key).subquery()
        )
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(T)
                    .join(latest, and_(latest.c.key == T.c.key, latest.c.version == T.c.version))
                    .order_by(T.c.key)
                )
            ).all()
        return [record_of(StoredTemplate, r._mapping) for r in rows]

    async def template(
        self, *, template_id: int | None = None, key: str | None = None, version: int | None = None
    ) -> StoredTemplate | None:
        """A template by its id, or by its key (and version; else its latest)."""
        T = checklist_templates
        query = select(T)
        if template_id is not None:
            query = query.where(T.c.id == template_id)
        else:
            query = query.where(T.c.key == key)
            if version is not None:
                query = query.where(T.c.version == version)
        async with self.db.reading() as conn:
            row = (await conn.execute(query.order_by(T.c.version.desc()).limit(1))).first()
        return None if row is None else record_of(StoredTemplate, row._mapping)

    async def add_template(
        self, key: str, version: int, document: str, at: datetime, by: str
    ) -> int:
        """Raises IntegrityError when that version exists already (made meanwhile)."""
        async with self.db.writing() as conn:
            new_id = (
                await conn.execute(
                    insert(checklist_templates)
                    .values(
                        key=key, version=version, document=document, created_at=at, created_by=by
                    )
                    .returning(checklist_templates.c.id)
                )
            ).scalar_one()
        return int(new_id)

    # -- answers and waivers -----------------------------------------------------------------
    async def answers(self, job_id: int) -> list[StoredAnswer]:
        """Every answer of the job, current ones and those corrected, oldest first."""
        A = job_answers
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(select(A).where(A.c.job_id == job_id).order_by(A.c.id))
            ).all()
        return [_answer(r._mapping) for r in rows]

    async def add_answer(self, job_id: int, values: dict[str, Any], *, replaces: bool) -> int:
        """The item's new current answer; ``replaces``: it corrects the current one, which is
        kept, no longer current. IntegrityError: another answer came meanwhile."""
        A = job_answers
        async with self.db.writing() as conn:
            if replaces:
                await conn.execute(
                    update(A)
                    .where(A.c.job_id == job_id, A.c.item_key == values["item_key"], A.c.current)
                    .values(current=False)
                )
            new_id = (
                await conn.execute(
                    insert(A).values(job_id=job_id, current=True, **values).returning(A.c.id)
                )
            ).scalar_one()
        return int(new_id)

    async def waivers(self, job_id: int) -> list[Waiver]:
        W = job_waivers
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(select(W).where(W.c.job_id == job_id).order_by(W.c.waived_at))
            ).all()
        return [record_of(Waiver, r._mapping) for r in rows]

    async def add_waiver(self, job_id: int, waiver: Waiver) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                insert(job_waivers).values(
                    job_id=job_id,
                    item_key=waiver.item_key,
                    reason=waiver.reason,
                    waived_at=waiver.waived_at,
                    waived_by=waiver.waived_by,
                    waived_by_name=waiver.waived_by_name[:128],
                )
            )

    # -- attachments -------------------------------------------------------------------------
    async def add_attachment(self, values: dict[str, Any]) -> int:
        async with self.db.writing() as conn:
            new_id = (
                await conn.execute(
                    insert(job_attachments).values(**values).returning(job_attachments.c.id)
                )
            ).scalar_one()
        return int(new_id)

    async def attachment(self, job_id: int, attachment_id: int) -> Attachment | None:
        A = job_attachments
        async with self.db.reading() as conn:
            row = (
                await conn.execute(select(A).where(A.c.id == attachment_id, A.c.job_id == job_id))
            ).first()
        if row is None:
            return None
        return record_of(Attachment, row._mapping, kind=AttachmentKind(row.kind))

    async def attachments(self, job_id: int) -> list[Attachment]:
        A = job_attachments
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(select(A).where(A.c.job_id == job_id).order_by(A.c.id))
            ).all()
        return [record_of(Attachment, r._mapping, kind=AttachmentKind(r.kind)) for r in rows]
