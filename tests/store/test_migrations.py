"""The migrations build exactly the schema ``tables`` describes, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from voltflow.store import tables
from voltflow.store.database import alembic_config, create_database, upgrade
from voltflow.store.tables import metadata
from voltflow.store.types import UTCDateTime


async def test_the_migrated_schema_is_the_one_the_code_describes(database_url: str) -> None:
    db = create_database(database_url)
    try:
        async with db.engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert differences == []
    finally:
        await db.dispose()


async def test_the_latest_migration_goes_down_and_up_again(database_url: str) -> None:
    db = create_database(database_url)

    def indexes(sync: Any) -> set[str]:
        return {i["name"] for i in inspect(sync).get_indexes("charging_sessions")}

    def downgrade(sync: Any) -> None:
        config = alembic_config(db.url)
        config.attributes["connection"] = sync
        command.downgrade(config, "0003")

    try:
        async with db.writes.begin() as conn:
            await conn.run_sync(downgrade)
        async with db.engine.connect() as conn:
            assert "ix_sessions_open" not in await conn.run_sync(indexes)
        await upgrade(db)
        async with db.engine.connect() as conn:
            assert "ix_sessions_open" in await conn.run_sync(indexes)
    finally:
        await db.dispose()


async def test_the_signed_meter_values_migration_goes_down_and_up_again(database_url: str) -> None:
    db = create_database(database_url)

    def tables(sync: Any) -> set[str]:
        return set(inspect(sync).get_table_names())

    def downgrade(sync: Any) -> None:
        config = alembic_config(db.url)
        config.attributes["connection"] = sync
        command.downgrade(config, "0004")

    try:
        async with db.writes.begin() as conn:
            await conn.run_sync(downgrade)
        async with db.engine.connect() as conn:
            assert "signed_meter_values" not in await conn.run_sync(tables)
        await upgrade(db)
        async with db.engine.connect() as conn:
            assert "signed_meter_values" in await conn.run_sync(tables)
    finally:
        await db.dispose()


async def test_0007_gives_the_organisations_there_are_a_login_domain(database_url: str) -> None:
    """Going down to 0004 and up again: the organisations made before 0007 get a login domain
    each, numbered where their names agree; the operator's gets none."""
    db = create_database(database_url)
    orgs = sa.table(
        "organisations",
        sa.column("id", sa.BigInteger()),
        sa.column("name", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("created_at", UTCDateTime()),
    )

    def downgrade(sync: Any) -> None:
        config = alembic_config(db.url)
        config.attributes["connection"] = sync
        command.downgrade(config, "0004")

    def columns(sync: Any) -> set[str]:
        return {c["name"] for c in inspect(sync).get_columns("organisations")}

    try:
        async with db.writes.begin() as conn:
            await conn.run_sync(downgrade)
        async with db.engine.connect() as conn:
            assert "login_domain" not in await conn.run_sync(columns)
        now = datetime(2026, 12, 1, tzinfo=UTC)
        async with db.writes.begin() as conn:
            await conn.execute(
                sa.insert(orgs),
                [
                    {"name": "Operator", "kind": "operator", "created_at": now},
                    {"name": "Acme", "kind": "company", "created_at": now},
                    {"name": "ACME!", "kind": "household", "created_at": now},
                    {"name": "Ürün & Co", "kind": "installer", "created_at": now},
                ],
            )
        await upgrade(db)
        async with db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(tables.organisations.c.name, tables.organisations.c.login_domain)
                )
            ).all()
        assert dict(rows) == {
            "Operator": None,
            "Acme": "acme",
            "ACME!": "acme2",
            "Ürün & Co": "urunco",
        }
    finally:
        await db.dispose()
