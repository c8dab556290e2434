"""Card stock and lifecycle through the service, on both databases."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import company, operator, stock_csv
from voltflow.bootstrap import Platform
from voltflow.domain.contracts import ContractKind
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import CardFilter
from voltflow.services.access import Forbidden
from voltflow.services.cards import CardError, CardNotFound, ImportRejected


async def test_import_then_hand_out_assign_activate_block(platform: Platform) -> None:
    op = await operator(platform)
    acme = await company(platform, op)
    uids = await platform.cards.import_csv(op, stock_csv(3))
    assert len(uids) == 3
    card = await platform.cards.get(op, uids[0])
    assert card.state == "in_stock"
    assert card.contract_id.startswith("BEVFLC")

    await platform.cards.distribute(op, uids, acme.id)
    fm = acme.manager
    await platform.cards.assign(fm, uids[0], acme.drivers[0].user_id)
    await platform.cards.activate(fm, [uids[0]])
    await platform.cards.block(fm, [uids[0]], reason="stolen")
    card = await platform.cards.get(fm, uids[0])
    assert card.state == "blocked"
    assert [e.action for e in card.history] == [
        "import",
        "distribute",
        "assign",
        "activate",
        "block",
    ]
    assert {e.actor_name for e in card.history[2:]} == {"acme-manager"}
    # The driver sees their own card.
    assert (await platform.cards.get(acme.drivers[0], uids[0])).uid == uids[0]


async def test_illegal_steps_are_refused_and_change_nothing(platform: Platform) -> None:
    op = await operator(platform)
    uids = await platform.cards.import_csv(op, stock_csv(2))
    with pytest.raises(CardError, match="cannot activate a card that is in stock"):
        await platform.cards.activate(op, uids)
    acme = await company(platform, op)
    await platform.cards.distribute(op, [uids[0]], acme.id)
    with pytest.raises(CardError, match=f"{uids[0]}: cannot distribute"):
        await platform.cards.distribute(op, uids, acme.id)
    assert (await platform.cards.get(op, uids[1])).state == "in_stock"


async def test_fleet_managers_only_touch_their_own_cards(platform: Platform) -> None:
    op = await operator(platform)
    acme = await company(platform, op, "Acme")
    globex = await company(platform, op, "Globex")
    uids = await platform.cards.import_csv(op, stock_csv(2))
    await platform.cards.distribute(op, [uids[0]], acme.id)
    await platform.cards.distribute(op, [uids[1]], globex.id)
    with pytest.raises(CardNotFound):
        await platform.cards.block(acme.manager, [uids[1]])
    # Another's card is no more there than an unknown one.
    with pytest.raises(CardNotFound):
        await platform.cards.get(acme.manager, uids[1])
    with pytest.raises(CardNotFound):
        await platform.cards.assign(acme.manager, uids[1], acme.drivers[0].user_id)
    with pytest.raises(CardError, match="not a driver of Acme"):
        await platform.cards.assign(acme.manager, uids[0], globex.drivers[0].user_id)
    with pytest.raises(Forbidden):
        await platform.cards.import_csv(acme.manager, stock_csv(1, start=50))
    listed = await platform.cards.search(acme.manager, CardFilter(), PageRequest())
    assert [c.uid for c in listed.items] == [uids[0]]


async def test_bad_csv_names_row_and_column_and_imports_nothing(platform: Platform) -> None:
    op = await operator(platform)
    await platform.cards.import_csv(op, "uid,printed_number\nAABBCCDD,VF-1\n")
    bad = (
        "uid,printed_number,contract_id\n"
        "11223344,VF-2,\n"
        "zz-not-hex,VF-3,\n"
        "55667788,VF-2,\n"
        "AABBCCDD,VF-4,\n"
        "99887766,VF-5,BE-VFL-C00000123-X\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        await platform.cards.import_csv(op, bad)
    problems = {(p.row, p.column) for p in rejected.value.problems}
    assert problems == {(3, "uid"), (4, "printed_number"), (5, "uid"), (6, "contract_id")}
    assert "row 3, column uid" in str(rejected.value)
    assert (await platform.cards.search(op, CardFilter(), PageRequest())).total == 1


async def test_missing_columns_are_named(platform: Platform) -> None:
    op = await operator(platform)
    with pytest.raises(ImportRejected, match="row 1, column printed_number: column missing"):
        await platform.cards.import_csv(op, "uid\nAABBCCDD\n")


async def test_authorization_follows_card_and_contract(platform: Platform) -> None:
    from voltflow.domain.authorization import AuthorizationStatus as A

    op = await operator(platform)
    acme = await company(platform, op)
    [uid] = await platform.cards.import_csv(op, stock_csv(1))
    await platform.cards.distribute(op, [uid], acme.id)
    await platform.cards.assign(op, uid, acme.drivers[0].user_id)
    await platform.cards.activate(op, [uid])
    assert await platform.events.check_token(uid) == A.INVALID  # no contract yet
    await platform.contracts.create(op, acme.id, ContractKind.EMSP, starts_on=date(2026, 1, 1))
    assert await platform.events.check_token(uid) == A.ACCEPTED
    await platform.cards.block(op, [uid])
    assert await platform.events.check_token(uid) == A.BLOCKED
