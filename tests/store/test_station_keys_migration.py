"""Migration 0006 (a new key waiting beside a station's current one) goes down and up again, and
keeps the stations' keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from voltflow.domain.station_keys import hash_station_password, verify_station_password
from voltflow.store.database import alembic_config, create_database, upgrade
from voltflow.store.tables import stations


async def test_0006_goes_down_and_up_and_keeps_the_keys(database_url: str) -> None:
    db = create_database(database_url)
    config = alembic_config(db.url)
    before = ScriptDirectory.from_config(config).get_revision("0006").down_revision

    def columns(sync: Any) -> set[str]:
        return {c["name"] for c in inspect(sync).get_columns("stations")}

    def downgrade(sync: Any) -> None:
        config.attributes["connection"] = sync
        command.downgrade(config, str(before))

    try:
        async with db.writes.begin() as conn:
            await conn.execute(
                stations.insert().values(
                    id="CP-1",
                    password_hash=hash_station_password("station-key-0001"),
                    pending_password_hash=hash_station_password("station-key-0002"),
                    pending_key_state="Offered",
                    created_at=datetime.now(UTC),
                )
            )
        async with db.writes.begin() as conn:
            await conn.run_sync(downgrade)
        async with db.engine.connect() as conn:
            assert "pending_password_hash" not in await conn.run_sync(columns)
        await upgrade(db)
        async with db.engine.connect() as conn:
            assert {"pending_password_hash", "pending_key_state"} <= await conn.run_sync(columns)
            row = (await conn.execute(select(stations).where(stations.c.id == "CP-1"))).one()
        assert verify_station_password("station-key-0001", row.password_hash)
        assert row.pending_password_hash is None  # a change under way is forgotten, not the key
    finally:
        await db.dispose()
