"""Tariffs: add a version, list, show and export them, and price a session with the version in
force when it started (the pricing itself is domain.tariffs')."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from voltflow.domain.access import PLATFORM, Actor, Permission
from voltflow.domain.tariffs import (
    ChargingPeriod,
    PricedSession,
    TariffVersion,
    in_force,
    parse_tariff,
    price_session,
    tariff_to_ocpi,
)
from voltflow.i18n import _
from voltflow.services.access import require
from voltflow.services.audit import AuditTrail
from voltflow.services.ports import Clock, UnitOfWork
from voltflow.services.units import use_case
from voltflow.store.tariffs import TariffRepository


class TariffServiceError(ValueError):
    """A tariff that is not there, or a version added by someone else at the same moment."""


class TariffService:
    def __init__(
        self,
        tariffs: TariffRepository,
        audit: AuditTrail,
        clock: Clock,
        timezone: str = "Europe/Brussels",
        *,
        uow: UnitOfWork,
    ) -> None:
        self.uow = uow
        self.repo = tariffs
        self.audit = audit
        self.clock = clock
        self.timezone = timezone

    @use_case
    async def add(self, document: Any, *, actor: Actor = PLATFORM) -> TariffVersion:
        """A tariff (OCPI JSON read by domain.tariffs.loads) as the next version of its id.

        Raises domain.tariffs.TariffError naming the field when the document is not a tariff.
        """
        require(actor, Permission.CONTRACTS_WRITE, None)
        tariff = parse_tariff(document)
        if tariff.end_date_time is not None and tariff.end_date_time <= (
            tariff.start_date_time or self.clock.now()
        ):
            # Without a start it comes into force now: one that has ended would price nothing.
            raise TariffServiceError(
                _("tariff %(id)s ends before it would come into force") % {"id": tariff.id}
            )
        try:
            version = await self.repo.add(tariff, self.clock.now())
        except IntegrityError as exc:
            raise TariffServiceError(
                _("tariff %(id)s changed meanwhile: add it again") % {"id": tariff.id}
            ) from exc
        await self.audit.record(
            actor,
            "tariff.add",
            "tariff",
            tariff.id,
            None,
            {"version": version.version, "valid_from": version.valid_from.isoformat()},
        )
        return version

    async def versions(self, tariff_id: str, *, actor: Actor = PLATFORM) -> list[TariffVersion]:
        """Every version of a tariff, the first first; TariffServiceError when there is none."""
        require(actor, Permission.CONTRACTS_READ, None)
        versions = await self.repo.versions(tariff_id)
        if not versions:
            raise TariffServiceError(_("no tariff %(id)s") % {"id": tariff_id})
        return versions

    async def show(
        self, tariff_id: str, version: int | None = None, *, actor: Actor = PLATFORM
    ) -> TariffVersion:
        """A version of a tariff: the given one, else the latest."""
        versions = await self.versions(tariff_id, actor=actor)
        if version is None:
            return versions[-1]
        found = next((v for v in versions if v.version == version), None)
        if found is None:
            raise TariffServiceError(
                _("tariff %(id)s has no version %(version)s")
                % {"id": tariff_id, "version": version}
            )
        return found

    async def latest(self, *, actor: Actor = PLATFORM) -> list[TariffVersion]:
        """The latest version of every tariff, by id."""
        require(actor, Permission.CONTRACTS_READ, None)
        return await self.repo.latest()

    async def export(
        self, tariff_id: str, version: int | None = None, *, actor: Actor = PLATFORM
    ) -> dict[str, Any]:
        """The OCPI Tariff object of a version (write it with domain.tariffs.dumps)."""
        return tariff_to_ocpi((await self.show(tariff_id, version, actor=actor)).tariff)

    async def in_force(
        self, tariff_id: str, moment: datetime, *, actor: Actor = PLATFORM
    ) -> TariffVersion | None:
        """The version that prices a session started at ``moment`` (None: none was)."""
        return in_force(await self.versions(tariff_id, actor=actor), moment)

    async def price(
        self,
        tariff_id: str,
        charging_periods: Sequence[ChargingPeriod],
        started_at: datetime,
        ended_at: datetime,
        *,
        currency: str | None = None,
        timezone: str | None = None,
        actor: Actor = PLATFORM,
    ) -> PricedSession:
        """A session priced with the version of the tariff in force when it started, its
        restrictions read in ``timezone`` (the platform's when not given)."""
        version = await self.in_force(tariff_id, started_at, actor=actor)
        if version is None:
            raise TariffServiceError(
                _("tariff %(id)s was not in force when the session started") % {"id": tariff_id}
            )
        return price_session(
            version.tariff,
            charging_periods,
            started_at,
            ended_at,
            time_zone=timezone or self.timezone,
            currency=currency,
        )
