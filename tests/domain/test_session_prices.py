"""Who pays and earns what for a session: the release note's golden figures and the composition
of a public price."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.session_prices import (
    Basis,
    Party,
    PriceFacts,
    Tariffed,
    line_of,
    price_lines,
    reimbursement,
)
from voltflow.domain.session_types import SessionType
from voltflow.domain.tariffs.model import Price

D = Decimal


def priced(excl: str, incl: str, tariff: str = "public", version: int = 1) -> Tariffed:
    return Tariffed(Price(D(excl), D(incl)), "EUR", tariff, version)


@pytest.mark.parametrize(
    ("energy_wh", "rate", "expected"),
    [
        (3667, "0.6654", "2.44"),  # the release note's figure 1
        (7334, "0.6654", "4.88"),
        (11001, "0.6654", "7.32"),
        (0, "0.6654", "0.00"),
        (1000, "0.3194", "0.32"),  # Flanders, 2025 Q2
        (7515, "0.3456", "2.60"),  # 2.597184 → 2.60
        (1250, "0.2", "0.25"),
    ],
)
def test_split_billing_reimburses_kwh_at_the_rate_to_the_cent(
    energy_wh: int, rate: str, expected: str
) -> None:
    lines = price_lines(PriceFacts(SessionType.SPLIT_BILLING, energy_wh, licence_rate=D(rate)))
    employee = line_of(lines, Party.EMPLOYEE)
    driver = line_of(lines, Party.DRIVER)
    assert employee is not None and driver is not None
    assert (employee.excl_vat, employee.incl_vat) == (D(expected), D(expected))  # no VAT
    assert employee.basis is Basis.LICENCE_RATE and employee.rate == D(rate)
    assert (driver.incl_vat, driver.basis) == (D(0), Basis.SPLIT_BILLING)


@pytest.mark.parametrize(
    ("session_type", "basis"),
    [(SessionType.INVALID, Basis.INVALID), (SessionType.WHITELIST, Basis.WHITELIST)],
)
def test_invalid_and_whitelist_sessions_cost_nothing_whatever_the_tariff(
    session_type: SessionType, basis: Basis
) -> None:
    lines = price_lines(
        PriceFacts(session_type, 351_000, driver=priced("10", "12.1"), host=priced("5", "5"))
    )
    assert [(line.party, line.basis, line.incl_vat) for line in lines] == [
        (Party.DRIVER, basis, D(0))
    ]


def test_a_public_price_is_the_hosts_fee_and_both_margins() -> None:
    lines = price_lines(
        PriceFacts(
            SessionType.NORMAL,
            10_000,
            driver=priced("4.00", "4.84"),
            host=priced("2.50", "2.50", "host-ann", 3),
            emsp_margin_per_kwh=D("0.05"),
        )
    )
    table = {line.party: (line.basis, line.excl_vat, line.incl_vat) for line in lines}
    assert table == {
        Party.DRIVER: (Basis.PUBLIC_TARIFF, D("4.00"), D("4.84")),
        Party.HOST: (Basis.HOST_TARIFF, D("2.50"), D("2.50")),
        Party.EMSP: (Basis.MARGIN, D("0.50"), D("0.50")),
        Party.CPO: (Basis.MARGIN, D("1.00"), D("1.00")),
    }
    host = line_of(lines, Party.HOST)
    assert host is not None and (host.tariff_id, host.tariff_version) == ("host-ann", 3)


def test_a_discount_lists_price_names_its_basis() -> None:
    lines = price_lines(
        PriceFacts(SessionType.NORMAL, 5_000, driver=priced("1.00", "1.21"), discounted=True)
    )
    driver = line_of(lines, Party.DRIVER)
    assert driver is not None and driver.basis is Basis.DISCOUNT_LIST


def test_a_hosts_fee_above_the_price_is_the_operators_loss_never_the_providers() -> None:
    lines = price_lines(
        PriceFacts(
            SessionType.NORMAL,
            10_000,
            driver=priced("2.00", "2.42"),
            host=priced("2.60", "2.60"),
            emsp_margin_per_kwh=D("0.05"),
        )
    )
    emsp, cpo = line_of(lines, Party.EMSP), line_of(lines, Party.CPO)
    assert emsp is not None and cpo is not None
    assert (emsp.excl_vat, cpo.excl_vat) == (D(0), D("-0.60"))


def test_no_public_tariff_charges_nothing_and_says_why() -> None:
    lines = price_lines(PriceFacts(SessionType.NORMAL, 5_000))
    assert [(line.party, line.basis, line.incl_vat) for line in lines] == [
        (Party.DRIVER, Basis.NO_TARIFF, D(0))
    ]


def test_a_tariff_in_another_currency_is_refused() -> None:
    other = Tariffed(Price(D(1), D(1)), "GBP", "uk", 1)
    with pytest.raises(ValueError, match="GBP"):
        price_lines(PriceFacts(SessionType.NORMAL, 1_000, driver=other))


amounts = st.decimals(min_value=0, max_value=1000, places=2)


@given(
    driver_excl=amounts,
    host_excl=amounts,
    energy_wh=st.integers(min_value=0, max_value=350_000),
    margin=st.decimals(min_value=0, max_value=1, places=4),
)
def test_the_parts_of_a_public_price_add_up_to_it(
    driver_excl: Decimal, host_excl: Decimal, energy_wh: int, margin: Decimal
) -> None:
    lines = price_lines(
        PriceFacts(
            SessionType.NORMAL,
            energy_wh,
            driver=Tariffed(Price(driver_excl, driver_excl * D("1.21")), "EUR", "p", 1),
            host=Tariffed(Price(host_excl, host_excl), "EUR", "h", 1),
            emsp_margin_per_kwh=margin,
        )
    )
    parts = {line.party: line.excl_vat for line in lines}
    assert parts[Party.HOST] + parts[Party.EMSP] + parts[Party.CPO] == parts[Party.DRIVER]
    assert parts[Party.EMSP] >= 0
    assert all(line.excl_vat == line.excl_vat.quantize(D("0.01")) for line in lines)


@given(
    wh=st.integers(min_value=0, max_value=350_000),
    more=st.integers(min_value=0, max_value=350_000),
    rate=st.decimals(min_value=0, max_value=2, places=4),
)
def test_more_energy_is_never_reimbursed_less(wh: int, more: int, rate: Decimal) -> None:
    assert reimbursement(wh + more, rate) >= reimbursement(wh, rate)
