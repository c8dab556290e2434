from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.money import Money

amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("2.440", "2.44"),
        ("2.445", "2.45"),
        ("4.8799", "4.88"),
        ("-0.005", "-0.01"),
        ("0.004", "0.00"),
    ],
)
def test_rounds_half_up_to_the_cent(amount: str, expected: str) -> None:
    assert Money(Decimal(amount), "EUR").rounded().amount == Decimal(expected)


@given(amounts)
def test_rounding_moves_at_most_half_a_cent(amount: Decimal) -> None:
    rounded = Money(amount, "EUR").rounded().amount
    assert abs(rounded - amount) <= Decimal("0.005")
    assert rounded == Money(rounded, "EUR").rounded().amount


@given(amounts, amounts)
def test_addition_is_exact(a: Decimal, b: Decimal) -> None:
    assert (Money(a, "EUR") + Money(b, "EUR")).amount == a + b


def test_refuses_floats_mixed_currencies_and_unknown_ones() -> None:
    with pytest.raises(TypeError):
        Money(2.44, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot add"):
        Money(Decimal(1), "EUR") + Money(Decimal(1), "GBP")
    with pytest.raises(ValueError, match="currency 'XXX'"):
        Money(Decimal(1), "XXX")
