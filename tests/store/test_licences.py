"""The licences' repository on both databases: a licence with its cards and rate history comes
back as it went in; the CREG table is seeded and kept; the stopping session's statement reads
whether a licence covers it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tests.factories import company, operator, stock_csv
from voltflow.bootstrap import Platform
from voltflow.domain.licences import (
    CREG_2025,
    CregQuarterRate,
    CregRate,
    DeviceKind,
    DeviceRef,
    EmployerRate,
    FixedRate,
    Quarter,
    RateChange,
    Region,
)
from voltflow.store.database import create_database, upgrade
from voltflow.store.licences import LicenceRepository
from voltflow.store.prepared import Tx
from voltflow.store.sessions import SessionRepository

T0 = datetime(2026, 3, 1, tzinfo=UTC)


async def test_a_licence_and_its_rate_history_round_trip(platform: Platform) -> None:
    op = await operator(platform)
    acme = await company(platform, op, drivers=1)
    uids = await platform.cards.import_csv(op, stock_csv(2))
    await platform.cards.distribute(op, uids, acme.id)
    await platform.stations.add("HOME-1", "station-pass-0001")
    repo = LicenceRepository(platform.db)
    device = DeviceRef(DeviceKind.STATION, "HOME-1")
    licence_id = await repo.add(
        acme.id,
        acme.drivers[0].user_id,
        device,
        uids,
        T0,
        datetime(2027, 1, 1, tzinfo=UTC),
        RateChange(T0, FixedRate(Decimal("0.6654"))),
        T0,
    )
    later = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    await repo.add_rate(licence_id, RateChange(later, CregRate(Region.WALLONIA)), T0)
    await repo.add_rate(
        licence_id, RateChange(datetime(2026, 9, 1, tzinfo=UTC), EmployerRate(Decimal("0.25"))), T0
    )
    record = await repo.get(licence_id)
    assert record is not None
    lic = record.licence
    assert (lic.employer_id, lic.employee_id, lic.device) == (
        acme.id,
        acme.drivers[0].user_id,
        device,
    )
    assert lic.cards == frozenset(uids)
    assert [c.policy for c in lic.rates] == [
        FixedRate(Decimal("0.6654")),
        CregRate(Region.WALLONIA),
        EmployerRate(Decimal("0.25")),
    ]
    assert lic.rates[1].effective_from == later
    assert [r.id for r in await repo.for_device(device)] == [licence_id]
    assert await repo.for_device(DeviceRef(DeviceKind.STATION, "OTHER")) == []
    assert [r.id for r in await repo.listing(within=[acme.id], employee_id=None)] == [licence_id]
    assert await repo.listing(within=[], employee_id=None) == []
    assert [r.id for r in await repo.listing(within=[], employee_id=acme.drivers[0].user_id)] == [
        licence_id
    ]

    # What the stopping session's statement reads, inside the writer's transaction.
    for uid, started_at, expected in (
        (uids[0], T0, True),
        (uids[1], datetime(2026, 12, 31, 23, 59, tzinfo=UTC), True),
        (uids[0], datetime(2027, 1, 1, tzinfo=UTC), False),
        (uids[0], datetime(2026, 2, 28, 23, 59, tzinfo=UTC), False),
        ("FFFF0000", datetime(2026, 5, 1, tzinfo=UTC), False),
    ):
        assert await platform.writer.commit((), _licensed_work(uid, started_at)) is expected


def _licensed_work(uid: str, started_at: datetime) -> Callable[[Tx], bool]:
    def work(tx: Tx) -> bool:
        session_id = SessionRepository.insert_started(
            tx,
            {
                "station_id": "HOME-1",
                "evse_id": 1,
                "connector_id": 1,
                "id_tag": uid,
                "auth_status": "Accepted",
                "started_at": started_at,
                "meter_start_wh": 0,
                "created_at": started_at,
            },
        )
        assert session_id is not None
        row = SessionRepository.get_for_update(tx, session_id, "HOME-1")
        assert row is not None
        return bool(row["licensed"])

    return work


async def test_the_creg_table_is_kept(platform: Platform) -> None:
    repo = LicenceRepository(platform.db)
    rate = CregQuarterRate(Region.BRUSSELS, Quarter(2026, 1), Decimal("0.3300"))
    await repo.set_creg_rate(rate)
    await repo.set_creg_rate(CregQuarterRate(Region.BRUSSELS, Quarter(2026, 1), Decimal("0.3311")))
    table = await repo.creg_table()
    assert table.rate(Region.BRUSSELS, Quarter(2026, 1)) == Decimal("0.3311")


async def test_the_migration_seeds_2025s_creg_rates(tmp_path: Path) -> None:
    db = create_database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        await upgrade(db)
        table = await LicenceRepository(db).creg_table()
        assert set(table.entries()) == set(CREG_2025)
    finally:
        await db.dispose()
