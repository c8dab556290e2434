"""The migrations build exactly the schema ``tables`` describes, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


async def test_0022_reimburses_the_device_sessions_imported_before_it(database_url: str) -> None:
    """Going down to 0021 and up again: the sessions imported before 0022 get the reimbursement
    an import now stores, by the same rules (the rate in force at their start, CREG quarters in
    Belgian time, nothing for an invalid session or one no licence covers)."""
    from decimal import Decimal

    from tests.conftest import make_settings
    from tests.factories import company, operator, stock_csv
    from voltflow.bootstrap import build
    from voltflow.domain.licences import (
        CregQuarterRate,
        CregRate,
        DeviceKind,
        FixedRate,
        Quarter,
        Region,
    )

    platform = build(make_settings(database_url))
    await platform.start(ocpp=False)
    try:
        op = await operator(platform)
        acme = await company(platform, op, drivers=2)
        uids = await platform.cards.import_csv(op, stock_csv(2))
        await platform.cards.distribute(op, uids, acme.id)
        # As 0017 seeds it (a test database may have been emptied since).
        await platform.licences.set_creg_rate(
            op, CregQuarterRate(Region.WALLONIA, Quarter(2025, 3), Decimal("0.3843"))
        )
        since = datetime(2025, 1, 1, tzinfo=UTC)
        fixed = await platform.licences.add(
            acme.manager,
            "NRG-1",
            [uids[0]],
            FixedRate(Decimal("0.6654")),
            valid_from=since,
            employee_id=acme.drivers[0].user_id,
            device_kind=DeviceKind.CABLE,
        )
        creg = await platform.licences.add(
            acme.manager,
            "NRG-2",
            [uids[1]],
            CregRate(Region.WALLONIA),
            valid_from=since,
            employee_id=acme.drivers[1].user_id,
            device_kind=DeviceKind.METER,
        )
    finally:
        await platform.stop()

    db = create_database(database_url)
    old = sa.table(
        "device_sessions",
        sa.column("device_id", sa.String()),
        sa.column("card_uid", sa.String()),
        sa.column("started_at", UTCDateTime()),
        sa.column("stopped_at", UTCDateTime()),
        sa.column("energy_wh", sa.BigInteger()),
        sa.column("session_type", sa.String()),
        sa.column("imported_at", UTCDateTime()),
    )

    def downgrade(sync: Any) -> None:
        config = alembic_config(db.url)
        config.attributes["connection"] = sync
        command.downgrade(config, "0021")

    def at(*args: int) -> datetime:
        return datetime(*args, tzinfo=UTC)

    stored = [
        ("NRG-1", uids[0], at(2025, 5, 10, 13, 50), 3667, "split_billing"),
        ("NRG-1", uids[0], at(2025, 5, 11, 7, 30), 100, "invalid"),
        ("NRG-1", uids[1], at(2025, 5, 12, 7, 30), 5000, "normal"),
        # 1 July, 00:30 in Brussels: the third quarter's rate (Wallonia, €0.3843/kWh).
        ("NRG-2", uids[1], at(2025, 6, 30, 22, 30), 10000, "split_billing"),
        ("NRG-2", uids[1], at(2026, 2, 10, 8), 10000, "split_billing"),  # no 2026-Q1 rate
    ]
    try:
        async with db.writes.begin() as conn:
            await conn.run_sync(downgrade)
            await conn.execute(
                sa.insert(old),
                [
                    {
                        "device_id": device,
                        "card_uid": uid,
                        "started_at": start,
                        "stopped_at": start + timedelta(minutes=20),
                        "energy_wh": wh,
                        "session_type": kind,
                        "imported_at": start,
                    }
                    for device, uid, start, wh, kind in stored
                ],
            )
        await upgrade(db)
        ds = tables.device_sessions
        async with db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        ds.c.reimbursement_basis,
                        ds.c.licence_id,
                        ds.c.rate,
                        ds.c.rate_source,
                        ds.c.reimbursement,
                        ds.c.currency,
                    ).order_by(ds.c.device_id, ds.c.started_at)
                )
            ).all()
        cent = Decimal("0.01")
        assert [
            (basis, lic, rate, source, None if amount is None else amount.quantize(cent), cur)
            for basis, lic, rate, source, amount, cur in rows
        ] == [
            ("licence_rate", fixed.id, Decimal("0.6654"), "fixed", Decimal("2.44"), "EUR"),
            ("invalid", None, None, None, None, "EUR"),
            ("no_licence", None, None, None, None, "EUR"),
            ("licence_rate", creg.id, Decimal("0.3843"), "creg", Decimal("3.84"), "EUR"),
            ("no_rate", creg.id, None, None, None, "EUR"),
        ]
    finally:
        await db.dispose()
