"""One use case, one transaction: a fault after a use case's write and before its audit entry
leaves nothing of the change, on SQLite and PostgreSQL. Each use case runs twice: with the fault,
the database is as it was; without it, the same call changes it (so the comparison can fail)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import Company, company, operator, stock_csv
from voltflow import failpoints
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, OrganisationKind, Role
from voltflow.domain.cards import CardAction
from voltflow.domain.contracts import ContractKind
from voltflow.services.cards import CardError
from voltflow.services.lists import ListKind
from voltflow.store.tables import metadata


@dataclass
class World:
    op: Actor
    acme: Company
    installer: Company
    list_id: int
    group_id: int


async def _world(platform: Platform) -> World:
    op = await operator(platform)
    acme = await company(platform, op)
    installer = await company(platform, op, "Fixit", kind=OrganisationKind.INSTALLER)
    await platform.stations.add("CP-1", "station-key-0123456789")
    await platform.stations.set_owner(op, "CP-1", acme.id)
    await platform.cards.import_csv(op, stock_csv(4))
    uids = [f"{0xA0000000 + i:08X}" for i in range(1, 5)]
    await platform.cards.distribute(op, uids[:3], acme.id)
    await platform.cards.assign(op, uids[0], acme.drivers[0].user_id)
    await platform.cards.activate(op, [uids[0]])
    group = await platform.lists.create_group(op, acme.id, "Car park", ["CP-1"])
    listed = await platform.lists.create_list(
        op, acme.id, ListKind.WHITELIST, "Staff", station_id="CP-1"
    )
    await platform.lists.add_cards(op, listed.id, [uids[0]])
    return World(op, acme, installer, listed.id, group.id)


UID = [f"{0xA0000000 + i:08X}" for i in range(1, 6)]

UseCase = Callable[[Platform, World], Awaitable[Any]]
USE_CASES: dict[str, UseCase] = {
    "card import": lambda p, w: p.cards.import_csv(w.op, stock_csv(2, start=50)),
    "card distribute": lambda p, w: p.cards.distribute(w.op, [UID[3]], w.installer.id),
    "card return to stock": lambda p, w: p.cards.return_to_stock(w.op, [UID[2]]),
    "card assign": lambda p, w: p.cards.assign(w.op, UID[1], w.acme.drivers[1].user_id),
    "card activate": lambda p, w: p.cards.apply_action(
        w.op, CardAction.ACTIVATE, [UID[0]]
    ),  # already active: refused before any write, see below
    "card block": lambda p, w: p.cards.block(w.op, [UID[0]], "stolen"),
    "card report lost": lambda p, w: p.cards.report_lost(w.op, [UID[0]]),
    "list create group": lambda p, w: p.lists.create_group(w.op, w.acme.id, "Depot", ["CP-1"]),
    "list set group stations": lambda p, w: p.lists.set_group_stations(w.op, w.group_id, []),
    "list create": lambda p, w: p.lists.create_list(
        w.op, w.acme.id, ListKind.WHITELIST, "Visitors", station_id="CP-1"
    ),
    "list add cards": lambda p, w: p.lists.add_cards(w.op, w.list_id, [UID[1]]),
    "list remove cards": lambda p, w: p.lists.remove_cards(w.op, w.list_id, [UID[0]]),
    "organisation create": lambda p, w: p.organisations.create(
        w.op, "Globex", OrganisationKind.COMPANY
    ),
    "organisation document language": lambda p, w: p.organisations.set_document_language(
        w.op, w.acme.id, "nl"
    ),
    "person add": lambda p, w: p.organisations.add_person(
        w.op, w.acme.id, "acme-new", Role.DRIVER, password="driver-pass"
    ),
    "person remove role": lambda p, w: p.organisations.remove_role(
        w.op, w.acme.id, w.acme.drivers[1].user_id, Role.DRIVER
    ),
    "operator add": lambda p, w: p.organisations.add_operator("op2", "op2-password"),
    "contract create": lambda p, w: p.contracts.create(
        w.op, w.acme.id, ContractKind.EMSP, starts_on=date(2027, 1, 1)
    ),
}
# Refused by its checks before it writes: the fault is never reached, nothing changes either way.
REFUSED_BEFORE_WRITING = {"card activate"}


async def _snapshot(platform: Platform) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    async with platform.db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            # The relay marks events published whenever it runs: not part of any use case.
            columns = [c for c in table.c if (table.name, c.name) != ("outbox", "published_at")]
            rows = (await conn.execute(select(*columns))).all()
            tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return tables


@pytest.fixture
async def world(platform: Platform) -> AsyncIterator[World]:
    yield await _world(platform)
    await platform.lists.wait_idle()


@pytest.fixture(autouse=True)
def _no_faults_left() -> Iterator[None]:
    yield
    failpoints.disable()


@pytest.mark.parametrize("name", sorted(USE_CASES))
async def test_a_fault_before_the_audit_entry_leaves_nothing(
    platform: Platform, world: World, name: str
) -> None:
    use_case = USE_CASES[name]
    await platform.lists.wait_idle()
    before = await _snapshot(platform)
    failpoints.enable("audit.record", "error")
    with pytest.raises((failpoints.InjectedFault, CardError)) as raised:
        await use_case(platform, world)
    failpoints.disable()
    await platform.lists.wait_idle()
    assert await _snapshot(platform) == before
    if name in REFUSED_BEFORE_WRITING:
        assert not isinstance(raised.value, failpoints.InjectedFault)
        return
    assert isinstance(raised.value, failpoints.InjectedFault), raised.value
    # The same call, without the fault, changes the database.
    await use_case(platform, world)
    await platform.lists.wait_idle()
    assert await _snapshot(platform) != before
