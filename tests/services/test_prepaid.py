"""Prepaid contracts end to end: a customer tops up, its driver charges at a public station
over OCPP, each session draws its price from the balance; when the credit runs out the driver
is told by mail and the station is told Blocked, until the next top-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from ocpp.v16 import call

from tests.factories import company, operator, stock_csv
from tests.factories import tariff_document as tariff
from tests.ocpp.support import add_station, eventually, ocpp_station, transaction
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, Role
from voltflow.domain.billing.prepaid import MovementKind, PrepaidError
from voltflow.domain.contracts import ContractKind
from voltflow.domain.paging import PageRequest
from voltflow.services.prepaid import ContractNotFound

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


async def customer(platform: Platform, op: Actor, *, prepaid: bool = True) -> tuple[int, str]:
    """A small company with a driver holding an active card, and an eMSP contract: its id and
    the card."""
    org = await company(platform, op, "Janssens", drivers=0)
    driver = await platform.organisations.add_person(
        op, org.id, "an-janssens", Role.DRIVER, password="driver-pass", email="an@janssens.example"
    )
    contract = await platform.contracts.create(
        op, org.id, ContractKind.EMSP, starts_on=date(2026, 1, 1), prepaid=prepaid
    )
    [uid] = await platform.cards.import_csv(op, stock_csv(1))
    await platform.cards.distribute(op, [uid], org.id)
    await platform.cards.assign(op, uid, driver.user_id)
    await platform.cards.activate(op, [uid])
    return contract.id, uid


async def balance(platform: Platform, op: Actor, contract_id: int) -> Decimal:
    contract = await platform.contracts.repo.get(contract_id)
    assert contract is not None
    return contract.prepaid_balance


async def test_sessions_draw_until_the_credit_runs_out_then_the_card_is_blocked(
    platform: Platform, ocpp_url: str
) -> None:
    op = await operator(platform)
    await add_station(platform, "CP-1")
    await platform.tariffs.add(tariff("PUBLIC", "0.40"), actor=op)
    await platform.pricing.set_station_prices(op, "CP-1", tariff_id="PUBLIC")
    contract_id, uid = await customer(platform, op)
    done = await platform.prepaid.top_up(op, contract_id, Decimal("5.00"), "EUR", "TR-001")
    assert done.booked and done.movement.balance == Decimal("5.00")

    async with ocpp_station(ocpp_url, "CP-1") as cp:
        first = await transaction(cp, uid, T0, 30, 10_000)
        # 10 kWh × 0.40 = 4.00, 4.84 with VAT: drawn whole.
        await eventually(
            lambda: _equals(balance(platform, op, contract_id), Decimal("0.16")), timeout=10
        )
        second = await transaction(cp, uid, T0 + timedelta(hours=2), 30, 10_000)
        # Only 0.16 left: drawn, the rest is billed with the month's invoice.
        await eventually(
            lambda: _equals(balance(platform, op, contract_id), Decimal("0.00")), timeout=10
        )
        refused = await cp.call(call.Authorize(id_tag=uid), suppress=False)
        assert refused.id_tag_info["status"] == "Blocked"

        # The next top-up lets the card charge again; the same transfer booked twice does not.
        await platform.prepaid.top_up(op, contract_id, Decimal("20.00"), "EUR", "TR-002")
        again = await platform.prepaid.top_up(op, contract_id, Decimal("20.00"), "EUR", "TR-002")
        assert not again.booked
        assert await balance(platform, op, contract_id) == Decimal("20.00")
        accepted = await cp.call(call.Authorize(id_tag=uid), suppress=False)
        assert accepted.id_tag_info["status"] == "Accepted"

    page = await platform.prepaid.movements(op, contract_id, PageRequest(0, 50))
    assert [(m.kind, m.amount, m.reference) for m in reversed(page.items)] == [
        (MovementKind.TOP_UP, Decimal("5.00"), "TR-001"),
        (MovementKind.SESSION, Decimal("-4.84"), str(first)),
        (MovementKind.SESSION, Decimal("-0.16"), str(second)),
        (MovementKind.TOP_UP, Decimal("20.00"), "TR-002"),
    ]
    # Priced again (an event delivered twice): each session keeps what it drew.
    async with platform.uow():
        assert (
            await platform.prepaid.draw_for(await platform.pricing.pricing.price([first, second]))
            == []
        )
    assert (await platform.prepaid.movements(op, contract_id, PageRequest(0, 50))).total == 4

    mails = await platform.mail.page(op, PageRequest(0, 50))
    assert [m.kind for m in mails.items].count("out_of_credit") == 1


async def _equals(value: object, wanted: Decimal) -> bool | None:
    return True if await value == wanted else None  # type: ignore[misc]


async def test_a_postpaid_contract_takes_no_top_up_and_another_household_sees_nothing(
    platform: Platform,
) -> None:
    op = await operator(platform)
    contract_id, _uid = await customer(platform, op, prepaid=False)
    with pytest.raises(PrepaidError) as caught:
        await platform.prepaid.top_up(op, contract_id, Decimal("5.00"), "EUR", "TR-1")
    assert caught.value.field == "contract"
    assert (await platform.prepaid.movements(op, contract_id, PageRequest(0, 10))).total == 0
    other = await company(platform, op, "Peeters", drivers=1)
    with pytest.raises(ContractNotFound):
        await platform.prepaid.movements(other.manager, contract_id, PageRequest(0, 10))


async def test_a_top_up_in_another_currency_books_nothing(platform: Platform) -> None:
    op = await operator(platform)
    contract_id, _uid = await customer(platform, op)
    with pytest.raises(PrepaidError) as caught:
        await platform.prepaid.top_up(op, contract_id, Decimal("5.00"), "USD", "TR-1")
    assert caught.value.field == "currency"
    assert await balance(platform, op, contract_id) == Decimal(0)
    assert (await platform.prepaid.movements(op, contract_id, PageRequest(0, 10))).total == 0
