from datetime import date
from decimal import Decimal

import pytest

from voltflow.domain.contracts import (
    ContractError,
    check_period,
    subscription_plan,
    validate_mandate,
)

TODAY = date(2026, 11, 22)


def test_a_valid_mandate_is_normalised() -> None:
    m = validate_mandate(
        "VF-2026-0001", "be68 5390 0754 7034", "GKCCBEBB", date(2026, 11, 1), TODAY
    )
    assert (m.iban, m.bic) == ("BE68539007547034", "GKCCBEBB")


@pytest.mark.parametrize(
    ("reference", "iban", "bic", "signed", "field"),
    [
        ("VF-1", "BE68 5390 0754 7035", "GKCCBEBB", date(2026, 1, 1), "mandate_iban"),
        ("VF-1", "BE68 5390 0754 7034", "GKCCXXBB", date(2026, 1, 1), "mandate_bic"),
        ("VF-1", "BE68 5390 0754 7034", "DEUTDEFF", date(2026, 1, 1), "mandate_bic"),
        ("VF-1", "BE68 5390 0754 7034", "GKCCBEBB", date(2027, 1, 1), "mandate_signed_on"),
        ("", "BE68 5390 0754 7034", "GKCCBEBB", date(2026, 1, 1), "mandate_reference"),
        ("x" * 36, "BE68 5390 0754 7034", "GKCCBEBB", date(2026, 1, 1), "mandate_reference"),
        ("VF€1", "BE68 5390 0754 7034", "GKCCBEBB", date(2026, 1, 1), "mandate_reference"),
    ],
)
def test_bad_mandates_name_the_field(
    reference: str, iban: str, bic: str, signed: date, field: str
) -> None:
    with pytest.raises(ContractError) as err:
        validate_mandate(reference, iban, bic, signed, TODAY)
    assert err.value.field == field


def test_plan_fees_are_money_and_not_negative() -> None:
    plan = subscription_plan("EUR", Decimal("2.50"), Decimal("10"), Decimal("5"))
    assert str(plan.fee_per_card) == "2.50 EUR"
    with pytest.raises(ContractError) as err:
        subscription_plan("EUR", Decimal("-1"), Decimal("0"), Decimal("0"))
    assert err.value.field == "fee_per_card"
    with pytest.raises(ContractError) as err:
        subscription_plan("XXX", Decimal("1"), Decimal("0"), Decimal("0"))
    assert err.value.field == "currency"


def test_period_must_not_end_before_it_starts() -> None:
    check_period(date(2026, 1, 1), None)
    with pytest.raises(ContractError):
        check_period(date(2026, 1, 2), date(2026, 1, 1))
