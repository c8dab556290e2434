"""Split-billing licences: which rate a session gets, CREG quarters, validity, reimbursement."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.licences import (
    CREG_2025,
    AppliedRate,
    CregRate,
    CregTable,
    DeviceKind,
    DeviceRef,
    DeviceReimbursement,
    EmployerRate,
    FixedRate,
    LicenceError,
    NoRate,
    Quarter,
    RateChange,
    RateSource,
    Region,
    ReimbursementBasis,
    SplitBillingLicence,
    as_published,
    check_rate,
    device_price_lines,
    device_reimbursement,
    energy_kwh,
    licensed,
    parse_region,
    reimbursement,
)
from voltflow.domain.money import Money
from voltflow.domain.session_prices import Basis, Party
from voltflow.domain.session_types import SessionType

HOME = DeviceRef(DeviceKind.STATION, "HOME-1")
CABLE = DeviceRef(DeviceKind.CABLE, "NRG-1")
TABLE = CregTable(CREG_2025)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def licence(*changes: RateChange, until: datetime | None = None) -> SplitBillingLicence:
    return SplitBillingLicence(
        id=1,
        employer_id=10,
        employee_id=20,
        device=HOME,
        cards=frozenset({"AA11"}),
        valid_from=utc(2025, 1, 1),
        valid_until=until,
        rates=changes or (RateChange(utc(2025, 1, 1), FixedRate(Decimal("0.6654"))),),
    )


@pytest.mark.parametrize(
    ("kwh", "rate", "expected"),
    [
        ("3.667", "0.6654", "2.44"),  # the release note's worked example
        ("7.334", "0.6654", "4.88"),
        ("0", "0.6654", "0.00"),
        ("1", "0.005", "0.01"),  # half-up
        ("1", "0.0049", "0.00"),
        ("10", "0.3456", "3.46"),
    ],
)
def test_reimbursement_rounds_half_up_to_the_cent(kwh: str, rate: str, expected: str) -> None:
    money = reimbursement(Decimal(kwh), Decimal(rate))
    assert money.amount == Decimal(expected)
    assert money.currency == "EUR"


@given(
    a=st.integers(min_value=0, max_value=350_000),
    b=st.integers(min_value=0, max_value=350_000),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("9.9999"), places=4),
)
def test_reimbursement_is_monotonic_and_exact(a: int, b: int, rate: Decimal) -> None:
    low, high = sorted((a, b))
    paid_low = reimbursement(energy_kwh(low), rate).amount
    paid_high = reimbursement(energy_kwh(high), rate).amount
    assert paid_low <= paid_high
    # round(kWh × rate) to the cent, half-up, computed another way: floor(x·100 + ½) / 100.
    exact = energy_kwh(low) * rate
    assert paid_low == Decimal(math.floor(exact * 100 + Decimal("0.5"))) / 100


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (utc(2025, 3, 10, 8), (Decimal("0.6654"), RateSource.FIXED)),
        # a change on the 15th at noon (Brussels 13:00): a session a minute before keeps the old
        (utc(2025, 3, 15, 11, 59), (Decimal("0.6654"), RateSource.FIXED)),
        (utc(2025, 3, 15, 12, 0), (Decimal("0.3000"), RateSource.EMPLOYER)),
        (utc(2025, 3, 31, 21, 0), (Decimal("0.3000"), RateSource.EMPLOYER)),
        (utc(2025, 4, 1, 0, 0), (Decimal("0.3194"), RateSource.CREG)),  # Q2 Flanders
    ],
)
def test_a_rate_change_reprices_only_sessions_starting_after_it(
    start: datetime, expected: tuple[Decimal, RateSource]
) -> None:
    lic = licence(
        RateChange(utc(2025, 4, 1), CregRate(Region.FLANDERS)),
        RateChange(utc(2025, 1, 1), FixedRate(Decimal("0.6654"))),
        RateChange(utc(2025, 3, 15, 12), EmployerRate(Decimal("0.3000"))),
    )
    assert lic.rate_for(start, TABLE) == expected


def test_no_rate_before_the_first_policy_nor_outside_the_creg_table() -> None:
    lic = licence(RateChange(utc(2025, 6, 1), CregRate(Region.WALLONIA)))
    with pytest.raises(NoRate):
        lic.rate_for(utc(2025, 5, 31), TABLE)
    with pytest.raises(NoRate):
        lic.rate_for(utc(2026, 1, 2), TABLE)


@pytest.mark.parametrize(
    ("instant", "quarter"),
    [
        # Brussels is UTC+1 in winter, UTC+2 in summer: the local date decides.
        (utc(2024, 12, 31, 22, 59), Quarter(2024, 4)),
        (utc(2024, 12, 31, 23, 0), Quarter(2025, 1)),
        (utc(2025, 3, 31, 21, 59), Quarter(2025, 1)),
        (utc(2025, 3, 31, 22, 0), Quarter(2025, 2)),
        (utc(2025, 6, 30, 22, 0), Quarter(2025, 3)),
        (utc(2025, 9, 30, 21, 59), Quarter(2025, 3)),
        (utc(2025, 9, 30, 22, 0), Quarter(2025, 4)),
    ],
)
def test_creg_quarter_of_an_instant_is_that_of_its_brussels_date(
    instant: datetime, quarter: Quarter
) -> None:
    assert Quarter.of_instant(instant) == quarter


@pytest.mark.parametrize(
    ("region", "rates"),
    [
        (Region.FLANDERS, ("0.2822", "0.3194", "0.3456", "0.3070")),
        (Region.WALLONIA, ("0.3256", "0.3617", "0.3843", "0.3457")),
        (Region.BRUSSELS, ("0.3294", "0.3585", "0.3787", "0.3356")),
    ],
)
def test_creg_2025_table(region: Region, rates: tuple[str, ...]) -> None:
    assert [TABLE.rate(region, Quarter(2025, n)) for n in (1, 2, 3, 4)] == [
        Decimal(r) for r in rates
    ]


def test_creg_rate_at_the_quarter_boundary_in_local_time() -> None:
    lic = licence(RateChange(utc(2025, 1, 1), CregRate(Region.BRUSSELS)))
    assert lic.rate_for(utc(2025, 6, 30, 21, 59), TABLE).per_kwh == Decimal("0.3585")
    assert lic.rate_for(utc(2025, 6, 30, 22, 0), TABLE).per_kwh == Decimal("0.3787")


@pytest.mark.parametrize(
    ("device", "card", "start", "covered"),
    [
        (HOME, "AA11", utc(2025, 1, 1), True),  # valid_from included
        (HOME, "AA11", utc(2024, 12, 31, 23, 59, 59), False),
        (HOME, "AA11", utc(2025, 6, 30, 23, 59, 59), True),
        (HOME, "AA11", utc(2025, 7, 1), False),  # valid_until excluded
        (HOME, "BB22", utc(2025, 3, 1), False),  # another card
        (CABLE, "AA11", utc(2025, 3, 1), False),  # another device
    ],
)
def test_validity_period_edges(
    device: DeviceRef, card: str, start: datetime, covered: bool
) -> None:
    lic = licence(until=utc(2025, 7, 1))
    assert lic.covers(device, card, start) is covered
    assert (licensed([lic], device, card, start) is lic) is covered


def test_a_licence_must_end_after_it_starts() -> None:
    with pytest.raises(LicenceError):
        licence(until=utc(2025, 1, 1))


@pytest.mark.parametrize(
    ("effective", "code"),
    [
        (utc(2025, 5, 1, 11, 59), "change_in_past"),
        (utc(2025, 5, 1, 12), None),
    ],
)
def test_a_rate_change_never_takes_effect_in_the_past(
    effective: datetime, code: str | None
) -> None:
    lic = licence()
    change = RateChange(effective, FixedRate(Decimal("0.5")))
    if code is None:
        lic.check_change(change, now=utc(2025, 5, 1, 12))
    else:
        with pytest.raises(LicenceError) as caught:
            lic.check_change(change, now=utc(2025, 5, 1, 12))
        assert caught.value.code == code


@pytest.mark.parametrize(
    ("value", "ok"),
    [("0.6654", True), ("0", False), ("-1", False), ("10", False), ("0.12345", False)],
)
def test_check_rate(value: str, ok: bool) -> None:
    if ok:
        assert check_rate(Decimal(value)) == Decimal(value)
    else:
        with pytest.raises(LicenceError):
            check_rate(Decimal(value))


def test_parse_region() -> None:
    assert parse_region(" Flanders ") is Region.FLANDERS
    with pytest.raises(LicenceError):
        parse_region("lapland")


# -- an imported session's reimbursement --------------------------------------------------------
@pytest.mark.parametrize(("wh", "amount"), [(3667, "2.44"), (7334, "4.88")])
def test_an_imported_split_billing_session_is_reimbursed_at_its_licences_rate(
    wh: int, amount: str
) -> None:
    # The release note's figures: 3.667 kWh and 7.334 kWh at €0.6654/kWh, no VAT.
    decided = device_reimbursement(
        SessionType.SPLIT_BILLING, licence(), TABLE, utc(2025, 11, 10, 13, 50), wh
    )
    assert decided == DeviceReimbursement(
        ReimbursementBasis.LICENCE_RATE,
        "EUR",
        1,
        AppliedRate(Decimal("0.6654"), RateSource.FIXED),
        Money(Decimal(amount), "EUR"),
    )
    driver, employee = device_price_lines(SessionType.SPLIT_BILLING, decided)
    assert (driver.party, driver.basis, driver.incl_vat) == (
        Party.DRIVER,
        Basis.SPLIT_BILLING,
        Decimal("0.00"),
    )
    assert (employee.party, employee.basis, employee.incl_vat, employee.excl_vat) == (
        Party.EMPLOYEE,
        Basis.LICENCE_RATE,
        Decimal(amount),
        Decimal(amount),
    )
    assert employee.rate == Decimal("0.6654")


def test_an_imported_session_gets_the_rate_in_force_at_its_start() -> None:
    changed = licence(
        RateChange(utc(2025, 1, 1), FixedRate(Decimal("0.6654"))),
        RateChange(utc(2025, 11, 15, 12), CregRate(Region.FLANDERS)),
    )
    before = device_reimbursement(
        SessionType.SPLIT_BILLING, changed, TABLE, utc(2025, 11, 15, 11, 59), 10_000
    )
    after = device_reimbursement(
        SessionType.SPLIT_BILLING, changed, TABLE, utc(2025, 11, 15, 12), 10_000
    )
    assert before.rate == (Decimal("0.6654"), RateSource.FIXED)
    assert before.amount == Money(Decimal("6.65"), "EUR")
    assert after.rate == (Decimal("0.3070"), RateSource.CREG)  # Flanders, 2025-Q4
    assert after.amount == Money(Decimal("3.07"), "EUR")


def test_an_invalid_or_unlicensed_imported_session_carries_nothing_and_says_why() -> None:
    start = utc(2025, 11, 10, 13, 50)
    invalid = device_reimbursement(SessionType.INVALID, licence(), TABLE, start, 100)
    assert invalid == DeviceReimbursement(ReimbursementBasis.INVALID)
    assert [
        (line.party, line.basis) for line in device_price_lines(SessionType.INVALID, invalid)
    ] == [(Party.DRIVER, Basis.INVALID)]
    normal = device_reimbursement(SessionType.NORMAL, None, TABLE, start, 5000)
    assert normal == DeviceReimbursement(ReimbursementBasis.NO_LICENCE)
    assert [line.basis for line in device_price_lines(SessionType.NORMAL, normal)] == [
        Basis.NO_TARIFF
    ]
    # A CREG licence in a quarter the table does not have yet: its licence, but no rate.
    creg = licence(RateChange(utc(2025, 1, 1), CregRate(Region.BRUSSELS)))
    unrated = device_reimbursement(SessionType.SPLIT_BILLING, creg, TABLE, utc(2026, 1, 5), 5000)
    assert unrated == DeviceReimbursement(ReimbursementBasis.NO_RATE, "EUR", 1)
    lines = device_price_lines(SessionType.SPLIT_BILLING, unrated)
    assert [(line.party, line.basis, line.incl_vat) for line in lines] == [
        (Party.DRIVER, Basis.SPLIT_BILLING, Decimal("0.00")),
        (Party.EMPLOYEE, Basis.NO_TARIFF, Decimal("0.00")),
    ]


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("0.665400", "0.6654"), ("0.307000", "0.3070"), ("0.30", "0.30"), ("0.6654", "0.6654")],
)
def test_a_rate_reads_as_it_was_set(stored: str, shown: str) -> None:
    assert str(as_published(Decimal(stored))) == shown
