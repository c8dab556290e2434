"""The tariffs migration (0012) goes down and up again on both databases."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import inspect

from voltflow.store.database import alembic_config, create_database, upgrade


async def test_the_tariffs_migration_goes_down_and_up_again(database_url: str) -> None:
    db = create_database(database_url)

    def tables(sync: Any) -> set[str]:
        return set(inspect(sync).get_table_names())

    def downgrade(sync: Any) -> None:
        config = alembic_config(db.url)
        config.attributes["connection"] = sync
        command.downgrade(config, "0011")

    try:
        async with db.writes.begin() as conn:
            await conn.run_sync(downgrade)
        async with db.engine.connect() as conn:
            assert "tariffs" not in await conn.run_sync(tables)
        await upgrade(db)
        async with db.engine.connect() as conn:
            assert "tariffs" in await conn.run_sync(tables)
    finally:
        await db.dispose()
