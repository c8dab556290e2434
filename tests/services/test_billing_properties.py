"""For random months of priced sessions and contracts, in the database: the documents a run
issues reconcile with the priced sessions and the ledger to the cent, every billable session is
on a document once, and running the month again changes nothing.

Sessions and their price lines are written as the platform stores them (the pricing that makes
them has tests of its own); each example is a month of its own, after the months before it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from tests.conftest import make_settings
from tests.factories import company, operator, stock_csv
from tests.factories import tariff_document as tariff
from tests.services.billing_world import HandClock
from voltflow.bootstrap import Platform, build
from voltflow.domain.access import Actor, OrganisationKind, Role
from voltflow.domain.billing.runs import BillingPeriod
from voltflow.domain.contracts import ContractKind
from voltflow.domain.licences import FixedRate
from voltflow.domain.session_prices import Basis, Party, PriceLine
from voltflow.domain.session_types import SessionType
from voltflow.store.tables import (
    billed_items,
    billing_documents,
    charging_sessions,
    ledger_entries,
)

D = Decimal
CENT = D("0.01")


@dataclass
class World:
    platform: Platform
    clock: HandClock
    op: Actor
    orgs: list[int]
    cards: list[tuple[str, int]]  # (uid, organisation) of each driver's card
    licensed: dict[str, str]  # card → its home station
    months: itertools.count[int]
    meters: itertools.count[int]


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    clock = HandClock()
    clock.at = datetime(2024, 12, 1, tzinfo=UTC)
    platform = build(make_settings(database_url), clock=clock)
    await platform.start()
    try:
        op = await operator(platform)
        orgs, cards, licensed = [], [], {}
        await platform.tariffs.add(tariff("PUBLIC", "0.40", start="2024-01-01T00:00:00Z"), actor=op)
        await platform.tariffs.add(tariff("HOST", "0.25", start="2024-01-01T00:00:00Z"), actor=op)
        home = await platform.organisations.create(op, "Homes", OrganisationKind.HOUSEHOLD)
        await platform.organisations.add_person(
            op, home.id, "host", Role.HOST, password="host-pw-01"
        )
        await platform.stations.add("PUB", "station-pass-0001")
        await platform.pricing.set_station_prices(
            op, "PUB", tariff_id="PUBLIC", host="host", host_tariff_id="HOST"
        )
        for n, name in enumerate(("Acme", "Globex")):
            org = await company(platform, op, name)
            orgs.append(org.id)
            uids = await platform.cards.import_csv(op, stock_csv(2, start=1 + 2 * n))
            await platform.cards.distribute(op, uids, org.id)
            for uid, driver in zip(uids, org.drivers, strict=True):
                await platform.cards.assign(org.manager, uid, driver.user_id)
                cards.append((uid, org.id))
            await platform.cards.activate(op, uids)
            station = f"HOME-{n}"
            await platform.stations.add(station, "station-pass-0001")
            await platform.licences.add(
                org.manager,
                station,
                [uids[0]],
                FixedRate(D("0.3070")),
                valid_from=datetime(2024, 12, 1, tzinfo=UTC),
            )
            licensed[uids[0]] = station
        yield World(
            platform, clock, op, orgs, cards, licensed, itertools.count(1), itertools.count(0)
        )
    finally:
        await platform.stop()


@dataclass(frozen=True)
class Drawn:
    kind: str  # public, split, whitelist, invalid
    card: int
    minute: int  # of the month
    wh: int
    excl: D
    host: D | None


sessions = st.lists(
    st.builds(
        Drawn,
        kind=st.sampled_from(["public", "public", "split", "whitelist", "invalid"]),
        card=st.integers(0, 3),
        minute=st.integers(0, 27 * 24 * 60),
        wh=st.integers(0, 80_000),
        excl=st.decimals(min_value=0, max_value=150, places=2),
        host=st.none() | st.decimals(min_value=0, max_value=60, places=2),
    ),
    max_size=25,
)
contracts = st.lists(
    st.tuples(
        st.integers(0, 1),
        st.integers(0, 27),
        st.decimals(min_value=0, max_value=20, places=2),
        st.decimals(min_value=0, max_value=20, places=2),
    ),
    max_size=2,
)


async def _store(w: World, period: BillingPeriod, drawn: list[Drawn]) -> list[tuple[int, Drawn]]:
    start, _ = period.bounds(w.platform.billing.zone)
    stored = []
    for d in drawn:
        uid, _org = w.cards[d.card]
        split = d.kind == "split" and uid in w.licensed
        kind = "public" if d.kind == "split" and not split else d.kind
        station = w.licensed[uid] if split else "PUB"
        began = start + timedelta(minutes=d.minute)
        row = {
            "station_id": station,
            "evse_id": 1,
            "connector_id": 1,
            "id_tag": uid,
            "auth_status": "Accepted",
            "started_at": began,
            "meter_start_wh": next(w.meters),
            "stopped_at": began + timedelta(minutes=30),
            "meter_stop_wh": 0,
            "energy_wh": d.wh,
            "session_type": {
                "public": SessionType.NORMAL,
                "split": SessionType.SPLIT_BILLING,
                "whitelist": SessionType.WHITELIST,
                "invalid": SessionType.INVALID,
            }[kind].value,
            "type_reason": None,
            "created_at": began,
        }
        async with w.platform.db.writing() as conn:
            session_id = int(
                (
                    await conn.execute(
                        insert(charging_sessions).values(**row).returning(charging_sessions.c.id)
                    )
                ).scalar_one()
            )
        stored.append((session_id, Drawn(kind, d.card, d.minute, d.wh, d.excl, d.host)))
        await w.platform.pricing.repo.replace(
            [(session_id, SessionType(row["session_type"]), _lines(kind, d))], w.clock.now()
        )
    return stored


def _lines(kind: str, d: Drawn) -> list[PriceLine]:
    zero = D("0.00")
    if kind in ("whitelist", "invalid"):
        basis = Basis.WHITELIST if kind == "whitelist" else Basis.INVALID
        return [PriceLine(Party.DRIVER, basis, "EUR", zero, zero)]
    if kind == "split":
        rate = D("0.3070")
        amount = (D(d.wh) / 1000 * rate).quantize(CENT, rounding="ROUND_HALF_UP")
        return [
            PriceLine(Party.DRIVER, Basis.SPLIT_BILLING, "EUR", zero, zero),
            PriceLine(Party.EMPLOYEE, Basis.LICENCE_RATE, "EUR", amount, amount, rate=rate),
        ]
    incl = (d.excl * D("1.21")).quantize(CENT, rounding="ROUND_HALF_UP")
    lines = [PriceLine(Party.DRIVER, Basis.PUBLIC_TARIFF, "EUR", d.excl, incl, "PUBLIC", 1)]
    if d.host is not None:
        host_incl = (d.host * D("1.21")).quantize(CENT, rounding="ROUND_HALF_UP")
        lines.append(PriceLine(Party.HOST, Basis.HOST_TARIFF, "EUR", d.host, host_incl, "HOST", 1))
    return lines


async def _count(w: World, table: Any) -> int:
    async with w.platform.db.reading() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=sessions, new_contracts=contracts)
async def test_random_months_reconcile_to_the_cent_and_bill_once(
    world: World, drawn: list[Drawn], new_contracts: list[tuple[int, int, D, D]]
) -> None:
    w = world
    n = next(w.months)
    period = BillingPeriod.month(2025, n) if n <= 12 else BillingPeriod.month(2026, n - 12)
    w.clock.at = datetime.combine(period.start, datetime.min.time(), UTC) + timedelta(hours=6)
    for org, day, per_card, per_station in new_contracts:
        await w.platform.contracts.create(
            w.op,
            w.orgs[org],
            ContractKind.CPO,
            starts_on=period.start + timedelta(days=day),
            fee_per_card=per_card,
            fee_per_station=per_station,
        )
    stored = await _store(w, period, drawn)
    w.clock.at = datetime.combine(period.end + timedelta(days=2), datetime.min.time(), UTC)

    result = await w.platform.billing.finalise(w.op, period)
    reconciliation = await w.platform.billing.reconcile(w.op, period)
    assert reconciliation.ok, reconciliation.failures()

    # Every billable session is on a document, once: the public ones (and their hosts'
    # remuneration), the split-billing ones; never a whitelist or an invalid one.
    on_documents = [s for d in result.documents for s in d.document.sessions]
    wanted = {sid for sid, d in stored if d.kind in ("public", "split")}
    assert set(on_documents) == wanted
    skipped = {s.line.source_id for s in result.skipped}
    assert skipped == {sid for sid, d in stored if d.kind in ("whitelist", "invalid")}
    charged = sum((d.excl for _, d in stored if d.kind == "public"), D(0))
    invoiced = sum(
        (
            line.net
            for d in result.documents
            if d.document.kind.value == "invoice"
            for line in d.document.lines
            if line.sessions
        ),
        D(0),
    )
    assert invoiced == charged

    # The month again: nothing new, nothing changed.
    before = [await _count(w, t) for t in (billing_documents, billed_items, ledger_entries)]
    again = await w.platform.billing.finalise(w.op, period)
    assert again.documents == ()
    assert [await _count(w, t) for t in (billing_documents, billed_items, ledger_entries)] == before
    assert (await w.platform.billing.reconcile(w.op, period)) == reconciliation
