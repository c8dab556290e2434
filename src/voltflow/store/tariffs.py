"""Tariffs and their versions, each stored as its OCPI JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from voltflow.domain.tariffs import (
    Tariff,
    TariffVersion,
    dumps,
    loads,
    parse_tariff,
    tariff_to_ocpi,
)
from voltflow.store.database import Database
from voltflow.store.tables import tariffs


def _version(row: Any) -> TariffVersion:
    return TariffVersion(
        tariff=parse_tariff(loads(row.document)),
        version=row.version,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        created_at=row.created_at,
    )


class TariffRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, tariff: Tariff, now: datetime) -> TariffVersion:
        """The tariff as the next version of its id (the first when it is new)."""
        async with self.db.writing() as conn:
            latest = (
                await conn.execute(
                    select(func.max(tariffs.c.version)).where(tariffs.c.tariff_id == tariff.id)
                )
            ).scalar()
            version = TariffVersion(
                tariff=tariff,
                version=(latest or 0) + 1,
                valid_from=tariff.start_date_time or now,
                valid_until=tariff.end_date_time,
                created_at=now,
            )
            await conn.execute(
                insert(tariffs).values(
                    tariff_id=tariff.id,
                    version=version.version,
                    country_code=tariff.country_code,
                    party_id=tariff.party_id,
                    currency=tariff.currency,
                    valid_from=version.valid_from,
                    valid_until=version.valid_until,
                    document=dumps(tariff_to_ocpi(tariff), indent=0),
                    created_at=now,
                )
            )
        return version

    async def versions(self, tariff_id: str) -> list[TariffVersion]:
        """Every version of a tariff, the first first."""
        query = select(tariffs).where(tariffs.c.tariff_id == tariff_id).order_by(tariffs.c.version)
        async with self.db.reading() as conn:
            return [_version(row) for row in await conn.execute(query)]

    async def every_version(self) -> dict[str, list[TariffVersion]]:
        """Every version of every tariff, by id, the first first."""
        query = select(tariffs).order_by(tariffs.c.tariff_id, tariffs.c.version)
        found: dict[str, list[TariffVersion]] = {}
        async with self.db.reading() as conn:
            for row in await conn.execute(query):
                found.setdefault(row.tariff_id, []).append(_version(row))
        return found

    async def latest(self) -> list[TariffVersion]:
        """The latest version of every tariff, by id."""
        newest = (
            select(tariffs.c.tariff_id, func.max(tariffs.c.version).label("version"))
            .group_by(tariffs.c.tariff_id)
            .subquery()
        )
        query = (
            select(tariffs)
            .join(
                newest,
                (tariffs.c.tariff_id == newest.c.tariff_id)
                & (tariffs.c.version == newest.c.version),
            )
            .order_by(tariffs.c.tariff_id)
        )
        async with self.db.reading() as conn:
            return [_version(row) for row in await conn.execute(query)]
