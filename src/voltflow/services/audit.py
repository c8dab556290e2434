"""The audit log: who changed what, when, in which organisation."""

from __future__ import annotations

from typing import Any

from voltflow import failpoints
from voltflow.domain.access import Actor, Permission
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import AuditFilter
from voltflow.domain.records import AuditEntry
from voltflow.services.access import scope_of
from voltflow.services.ports import Clock
from voltflow.store.organisations import AuditRepository


class AuditTrail:
    def __init__(self, repo: AuditRepository, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    async def record(
        self,
        actor: Actor | None,
        action: str,
        entity: str,
        entity_id: str | int | None,
        organisation_id: int | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        # Where a use case's change is written and its audit entry not yet: a fault here must
        # leave nothing of the change (tests/services/test_units.py).
        await failpoints.reach("audit.record")
        await self.repo.record(
            at=self.clock.now(),
            actor_id=actor.user_id if actor else None,
            actor_name=actor.username if actor else "system",
            organisation_id=organisation_id,
            action=action,
            entity=entity,
            entity_id=str(entity_id) if entity_id is not None else None,
            detail=detail,
        )

    async def search(
        self, actor: Actor, filters: AuditFilter, page: PageRequest
    ) -> Page[AuditEntry]:
        return await self.repo.page(filters, page, within=scope_of(actor, Permission.AUDIT_READ))
