"""Prepaid balances: top-ups refused with their field, sessions drawing what the balance
covers, and a balance that never goes below zero whatever comes in which order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.billing.prepaid import (
    MovementKind,
    PrepaidError,
    draw,
    out_of_credit,
    top_up,
)

D = Decimal


@pytest.mark.parametrize(
    ("amount", "currency", "reference", "field", "reason"),
    [
        ("20.00", "USD", "TR-1", "currency", "currency"),
        ("0", "EUR", "TR-1", "amount", "positive"),
        ("-5", "EUR", "TR-1", "amount", "positive"),
        ("10.005", "EUR", "TR-1", "amount", "decimals"),
        ("10000.01", "EUR", "TR-1", "amount", "too_large"),
        ("10", "EUR", "  ", "reference", "required"),
    ],
)
def test_a_top_up_against_the_rules_names_its_field(
    amount: str, currency: str, reference: str, field: str, reason: str
) -> None:
    with pytest.raises(PrepaidError) as caught:
        top_up(D("5.00"), "EUR", D(amount), currency, reference)
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_a_top_up_raises_the_balance() -> None:
    movement = top_up(D("5.00"), "EUR", D("20.00"), "EUR", " TR-1 ")
    assert (movement.kind, movement.amount, movement.balance, movement.reference) == (
        MovementKind.TOP_UP,
        D("20.00"),
        D("25.00"),
        "TR-1",
    )


@pytest.mark.parametrize(
    ("balance", "price", "last_price", "drawn_before", "amount", "after"),
    [
        ("10.00", "4.84", None, "0", "-4.84", "5.16"),  # covered
        ("0.16", "4.84", None, "0", "-0.16", "0.00"),  # what is left; the rest is invoiced
        ("0.00", "4.84", None, "0", "0.00", "0.00"),  # nothing left: a zero draw, on record
        ("25.00", "4.84", "4.84", "0.16", None, None),  # priced again, same price: nothing
        ("5.16", "6.00", "4.84", "4.84", "-1.16", "4.00"),  # a correction up: the rise
        ("0.50", "6.00", "4.84", "4.84", "-0.50", "0.00"),  # the rise, as far as it is covered
        ("5.16", "3.00", "4.84", "4.84", "1.84", "7.00"),  # a correction down: given back
        ("0.00", "3.00", "4.84", "0.16", "0.16", "0.16"),  # never more than it drew
        ("5.16", "0", "4.84", "4.84", "4.84", "10.00"),  # became invalid: all given back
    ],
)
def test_a_session_draws_once_then_only_the_change_of_its_price(
    balance: str,
    price: str,
    last_price: str | None,
    drawn_before: str,
    amount: str | None,
    after: str | None,
) -> None:
    last = None if last_price is None else D(last_price)
    movement = draw(D(balance), "EUR", D(price), last, D(drawn_before), 7)
    if amount is None:
        assert movement is None
        return
    assert movement is not None
    assert (movement.kind, movement.amount, movement.balance, movement.reference) == (
        MovementKind.SESSION,
        D(amount),
        D(after or "0"),
        "7",
    )
    assert movement.price == D(price)


def test_a_balance_at_zero_is_out_of_credit() -> None:
    assert out_of_credit(D(0)) and not out_of_credit(D("0.01"))


prices = st.decimals(min_value=D(0), max_value=D(200), places=2)
events = st.lists(
    st.one_of(
        st.tuples(st.just("top_up"), st.decimals(min_value=D("0.01"), max_value=D(500), places=2)),
        st.tuples(st.just("price"), st.tuples(st.integers(0, 4), prices)),
    ),
    max_size=40,
)


@given(events)
def test_a_balance_never_goes_below_zero_and_is_the_sum_of_its_movements(
    happenings: list[tuple[str, object]],
) -> None:
    balance = D(0)
    movements: list[D] = []
    drawn: dict[int, D] = {}
    last: dict[int, D] = {}
    for kind, value in happenings:
        if kind == "top_up":
            assert isinstance(value, D)
            m = top_up(balance, "EUR", value, "EUR", f"TR-{len(movements)}")
        else:
            session, price = value  # type: ignore[misc]
            m = draw(balance, "EUR", price, last.get(session), drawn.get(session, D(0)), session)
            if m is None:
                assert last[session] == price
                continue
            drawn[session] = drawn.get(session, D(0)) - m.amount
            last[session] = price
            assert drawn[session] >= 0
        balance = m.balance
        movements.append(m.amount)
        assert balance >= 0
    assert balance == sum(movements, D(0))
