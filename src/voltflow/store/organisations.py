"""Organisations, the people in them with their roles, contracts, and the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping, and_, delete, func, insert, or_, select, update

from voltflow.domain.access import Membership, OrganisationKind, Role
from voltflow.domain.contracts import ContractKind
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import AuditFilter, OrganisationFilter, PeopleFilter
from voltflow.domain.records import AuditEntry, Contract, Organisation, Person
from voltflow.store.database import Database
from voltflow.store.paging import fetch_page, record_of
from voltflow.store.search import contains
from voltflow.store.tables import audit_log, contracts, memberships, organisations, users


class OrganisationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        name: str,
        kind: OrganisationKind,
        vat_number: str | None,
        now: datetime,
        *,
        login_domain: str | None = None,
    ) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(organisations)
                .values(
                    name=name,
                    kind=kind.value,
                    vat_number=vat_number,
                    created_at=now,
                    login_domain=login_domain,
                )
                .returning(organisations.c.id)
            )
            return int(result.scalar_one())

    async def login_domains(self, prefix: str) -> set[str]:
        """The login domains in use that begin with ``prefix``."""
        query = select(organisations.c.login_domain).where(
            organisations.c.login_domain.startswith(prefix, autoescape=True)
        )
        async with self.db.reading() as conn:
            return {d for d in (await conn.execute(query)).scalars() if d}

    async def get(self, organisation_id: int) -> Organisation | None:
        async with self.db.reading() as conn:
            row = (
                await conn.execute(
                    select(organisations).where(organisations.c.id == organisation_id)
                )
            ).first()
        return _organisation(row._mapping) if row else None

    async def by_kind(self, kind: OrganisationKind) -> list[Organisation]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(organisations)
                    .where(organisations.c.kind == kind.value)
                    .order_by(organisations.c.id)
                )
            ).all()
        return [_organisation(r._mapping) for r in rows]

    async def page(
        self, filters: OrganisationFilter, page: PageRequest, *, within: Iterable[int] | None
    ) -> Page[Organisation]:
        t = organisations
        cond: list[Any] = []
        if within is not None:
            cond.append(t.c.id.in_(list(within)))
        q = filters.q
        if q:
            cond.append(or_(contains(t.c.name, q), contains(t.c.vat_number, q)))
        if filters.kind:
            cond.append(t.c.kind == filters.kind.value)
        where = and_(True, *cond)
        async with self.db.reading() as conn:
            return await fetch_page(
                conn, select(t).where(where), t.c.name, t.c.id, page=page, record=_organisation
            )

    async def update(self, organisation_id: int, **values: Any) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                update(organisations).where(organisations.c.id == organisation_id).values(**values)
            )


class MembershipRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def of_user(self, user_id: int) -> tuple[Membership, ...]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(memberships.c.organisation_id, memberships.c.role, organisations.c.kind)
                    .join(organisations, organisations.c.id == memberships.c.organisation_id)
                    .where(memberships.c.user_id == user_id)
                    .order_by(memberships.c.organisation_id, memberships.c.role)
                )
            ).all()
        return tuple(
            Membership(int(r.organisation_id), OrganisationKind(r.kind), Role(r.role)) for r in rows
        )

    async def grant(self, user_id: int, organisation_id: int, role: Role, now: datetime) -> bool:
        async with self.db.writing() as conn:
            exists = (
                await conn.execute(
                    select(memberships.c.user_id).where(
                        memberships.c.user_id == user_id,
                        memberships.c.organisation_id == organisation_id,
                        memberships.c.role == role.value,
                    )
                )
            ).first()
            if exists:
                return False
            await conn.execute(
                insert(memberships).values(
                    user_id=user_id,
                    organisation_id=organisation_id,
                    role=role.value,
                    created_at=now,
                )
            )
        return True

    async def revoke(self, user_id: int, organisation_id: int, role: Role) -> bool:
        async with self.db.writing() as conn:
            result = await conn.execute(
                delete(memberships).where(
                    memberships.c.user_id == user_id,
                    memberships.c.organisation_id == organisation_id,
                    memberships.c.role == role.value,
                )
            )
        return bool(result.rowcount)

    async def people(
        self, organisation_id: int, filters: PeopleFilter, page: PageRequest
    ) -> Page[Person]:
        cond: list[Any] = [memberships.c.organisation_id == organisation_id]
        if filters.role:
            cond.append(memberships.c.role == filters.role.value)
        q = filters.q
        if q:
            cond.append(
                or_(
                    contains(users.c.username, q),
                    contains(users.c.full_name, q),
                    contains(users.c.email, q),
                )
            )
        base = (
            select(users.c.id, users.c.username, users.c.full_name, users.c.email, users.c.iban)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(*cond)
            .distinct()
        )
        async with self.db.reading() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(base.subquery()))
            ).scalar_one()
            rows = (
                await conn.execute(
                    base.order_by(users.c.username).offset(page.offset).limit(page.limit)
                )
            ).all()
            ids = [r.id for r in rows]
            roles = (
                await conn.execute(
                    select(memberships.c.user_id, memberships.c.role).where(
                        memberships.c.organisation_id == organisation_id,
                        memberships.c.user_id.in_(ids),
                    )
                )
            ).all()
        by_user: dict[int, list[str]] = {}
        for r in roles:
            by_user.setdefault(int(r.user_id), []).append(r.role)
        items = [
            record_of(Person, r._mapping, roles=sorted(by_user.get(int(r.id), []))) for r in rows
        ]
        return Page(items, int(total), page.offset, page.limit)

    async def person(self, organisation_id: int, user_id: int) -> Person | None:
        """A person of the organisation, with their roles there; None when they hold none."""
        async with self.db.reading() as conn:
            row = (
                await conn.execute(
                    select(
                        users.c.id, users.c.username, users.c.full_name, users.c.email, users.c.iban
                    ).where(users.c.id == user_id)
                )
            ).first()
            roles = (
                (
                    await conn.execute(
                        select(memberships.c.role)
                        .where(
                            memberships.c.organisation_id == organisation_id,
                            memberships.c.user_id == user_id,
                        )
                        .order_by(memberships.c.role)
                    )
                )
                .scalars()
                .all()
            )
        if row is None or not roles:
            return None
        return record_of(Person, row._mapping, roles=list(roles))


class ContractRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, values: dict[str, Any]) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(contracts).values(**values).returning(contracts.c.id)
            )
            return int(result.scalar_one())

    async def get(self, contract_id: int) -> Contract | None:
        async with self.db.reading() as conn:
            row = (
                await conn.execute(select(contracts).where(contracts.c.id == contract_id))
            ).first()
        return _contract(row._mapping) if row else None

    async def of_organisation(self, organisation_id: int) -> list[Contract]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(contracts)
                    .where(contracts.c.organisation_id == organisation_id)
                    .order_by(contracts.c.starts_on.desc(), contracts.c.id.desc())
                )
            ).all()
        return [_contract(r._mapping) for r in rows]

    async def current_emsp(self, organisation_id: int, today: date) -> Contract | None:
        """The eMSP contract in force today, else the latest one (to tell ended from none)."""
        rows = [
            c for c in await self.of_organisation(organisation_id) if c.kind is ContractKind.EMSP
        ]
        for c in rows:
            if c.in_force(today):
                return c
        return rows[0] if rows else None

    async def update(self, contract_id: int, **values: Any) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                update(contracts).where(contracts.c.id == contract_id).values(**values)
            )


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        *,
        at: datetime,
        actor_id: int | None,
        actor_name: str,
        organisation_id: int | None,
        action: str,
        entity: str,
        entity_id: str | None,
        detail: dict[str, Any] | None,
    ) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                insert(audit_log).values(
                    at=at,
                    actor_id=actor_id,
                    actor_name=actor_name,
                    organisation_id=organisation_id,
                    action=action,
                    entity=entity,
                    entity_id=entity_id,
                    detail=json.dumps(detail, default=_jsonable, sort_keys=True)
                    if detail
                    else None,
                )
            )

    async def page(
        self, filters: AuditFilter, page: PageRequest, *, within: Iterable[int] | None
    ) -> Page[AuditEntry]:
        t = audit_log
        cond: list[Any] = []
        if within is not None:
            cond.append(t.c.organisation_id.in_(list(within)))
        if filters.entity:
            cond.append(t.c.entity == filters.entity)
        where = and_(True, *cond)
        async with self.db.reading() as conn:
            return await fetch_page(
                conn,
                select(t).where(where),
                t.c.id.desc(),
                page=page,
                record=lambda m: record_of(AuditEntry, m),
            )


def _organisation(m: RowMapping) -> Organisation:
    return record_of(Organisation, m, kind=OrganisationKind(m["kind"]))


def _contract(m: RowMapping) -> Contract:
    return record_of(Contract, m, kind=ContractKind(m["kind"]))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)
