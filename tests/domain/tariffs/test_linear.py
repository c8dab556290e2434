"""Linear tariffs priced in whole numbers (``domain.tariffs.linear``) charge what the engine
charges, and the engine's shortcut for tariffs without restrictions changes none of its lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.tariffs import (
    CdrDimension,
    ChargingPeriod,
    Price,
    PriceComponent,
    Tariff,
    TariffDimension,
    TariffElement,
    TariffRestrictions,
    TariffVersion,
    price_session,
)
from voltflow.domain.tariffs.linear import (
    is_linear,
    linear_price,
    linear_terms,
    spans,
)

START = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # the night the clocks go forward

prices = st.decimals(min_value=0, max_value=3, places=4)
vats = st.none() | st.decimals(min_value=0, max_value=25, places=2)
energies = st.integers(min_value=0, max_value=400_000) | st.sampled_from(
    [0, 1, 999, 1000, 1001, 1499, 1500, 1999, 2000, 2001]
)
steps = st.sampled_from([1, 1000]) | st.integers(min_value=1, max_value=5000)


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def tariff(*elements: TariffElement, **fields: object) -> Tariff:
    base = Tariff("BE", "VFL", "T", "EUR", tuple(elements), last_updated=START)
    return replace(base, **fields)  # type: ignore[arg-type]


def energy(price: str, vat: str | None = "21", step: int = 1) -> PriceComponent:
    return PriceComponent(
        TariffDimension.ENERGY, Decimal(price), None if vat is None else Decimal(vat), step
    )


def flat(price: str, vat: str | None = "21") -> PriceComponent:
    return PriceComponent(
        TariffDimension.FLAT, Decimal(price), None if vat is None else Decimal(vat), 1
    )


def version(t: Tariff, number: int = 1, start: datetime = START) -> TariffVersion:
    return TariffVersion(t, number, t.start_date_time or start, t.end_date_time, start)


def engine(t: Tariff, wh: int, hours: int = 5) -> tuple[int, int]:
    end = START + timedelta(hours=hours)
    period = ChargingPeriod(
        START,
        {CdrDimension.ENERGY: Decimal(wh) / 1000, CdrDimension.TIME: Decimal(hours)},
    )
    total = price_session(t, [period], START, end, currency="EUR").total_cost
    assert total.incl_vat is not None
    return int(total.excl_vat * 100), int(total.incl_vat * 100)


@given(
    st.lists(st.tuples(prices, vats, steps), min_size=0, max_size=2),
    st.lists(st.tuples(prices, vats), min_size=0, max_size=2),
    energies,
)
def test_linear_terms_charge_what_the_engine_charges(
    energy_parts: list[tuple[Decimal, Decimal | None, int]],
    flat_parts: list[tuple[Decimal, Decimal | None]],
    wh: int,
) -> None:
    elements = [
        TariffElement((PriceComponent(TariffDimension.ENERGY, p, v, s),))
        for p, v, s in energy_parts
    ]
    elements += [
        TariffElement((PriceComponent(TariffDimension.FLAT, p, v, 1),)) for p, v in flat_parts
    ]
    if not elements:
        return
    t = tariff(*elements)
    terms = linear_terms(version(t), "EUR")
    assert terms is not None
    assert linear_price(terms, wh) == engine(t, wh)


@pytest.mark.parametrize(
    ("t", "linear"),
    [
        (tariff(TariffElement((energy("0.45"), flat("0.50")))), True),
        (tariff(TariffElement((energy("0.45"),), TariffRestrictions())), True),
        (
            tariff(
                TariffElement((energy("0.45"),), TariffRestrictions(start_time=datetime.min.time()))
            ),
            False,
        ),
        (
            tariff(
                TariffElement((PriceComponent(TariffDimension.TIME, Decimal(2), Decimal(21), 60),))
            ),
            False,
        ),
        (tariff(TariffElement((energy("0.45"),)), min_price=Price(Decimal(1))), False),
        (tariff(TariffElement((energy("0.45"),)), max_price=Price(Decimal(9))), False),
    ],
)
def test_only_energy_and_flat_without_restrictions_or_bounds_is_linear(
    t: Tariff, linear: bool
) -> None:
    assert is_linear(t) is linear
    assert (linear_terms(version(t), "EUR") is not None) is linear


@pytest.mark.parametrize(
    "t",
    [
        tariff(TariffElement((energy("0.45"),)), currency="CHF"),
        tariff(TariffElement((energy("-0.45"),))),
        tariff(TariffElement((energy("0.45", "-6"),))),
        tariff(TariffElement((energy("0.45", step=0),))),
        tariff(TariffElement((energy("1E+15"),))),
    ],
    ids=["currency", "negative", "negative VAT", "step 0", "too large"],
)
def test_what_the_engine_refuses_or_whole_numbers_cannot_hold_is_left_to_it(
    t: Tariff,
) -> None:
    assert linear_terms(version(t), "EUR") is None


def test_spans_follow_the_version_in_force_and_leave_out_when_none_is() -> None:
    first = tariff(TariffElement((energy("0.40"),)), start_date_time=at(1))
    second = tariff(
        TariffElement((energy("0.50"),), TariffRestrictions(start_time=datetime.min.time())),
        start_date_time=at(10),
        end_date_time=at(20),
    )
    third = tariff(TariffElement((energy("0.60"),)), start_date_time=at(15))
    found = spans([version(first, 1), version(second, 2), version(third, 3)], "EUR")
    assert [(s.valid_from, s.valid_until, s.version, s.terms is not None) for s in found] == [
        (at(1), at(10), 1, True),
        (at(10), at(15), 2, False),
        (at(15), None, 3, True),
    ]
    # A version stored as in force before its own start: the engine refuses it there.
    early = TariffVersion(first, 1, at(1) - timedelta(days=3), None, at(1))
    found = spans([early], "EUR")
    assert [(s.valid_from, s.valid_until, s.terms is not None) for s in found] == [
        (at(1) - timedelta(days=3), at(1), False),
        (at(1), None, True),
    ]
    assert spans([], "EUR") == []


# -- the engine's shortcut: no restrictions, no cuts ----------------------------------------------
components = st.builds(
    PriceComponent,
    type=st.sampled_from(TariffDimension),
    price=prices,
    vat=vats,
    step_size=st.integers(min_value=1, max_value=3600),
)


@st.composite
def periods(draw: st.DrawFn) -> tuple[list[ChargingPeriod], datetime]:
    """Periods over midnight and the clock change, charging or parked."""
    found, moment = [], START
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        minutes = draw(st.integers(min_value=0, max_value=900))
        measured = {CdrDimension.ENERGY: draw(st.decimals(0, 60, places=3))}
        kind = draw(st.sampled_from([CdrDimension.TIME, CdrDimension.PARKING_TIME]))
        measured[kind] = Decimal(minutes) / 60
        found.append(ChargingPeriod(moment, measured))
        moment += timedelta(minutes=minutes)
    return found, moment


@given(st.lists(st.lists(components, min_size=1, max_size=3), min_size=1, max_size=3), periods())
def test_a_tariff_without_restrictions_prices_as_one_that_always_matches(
    parts: list[list[PriceComponent]], session: tuple[list[ChargingPeriod], datetime]
) -> None:
    """A restriction that always holds makes the engine cut at every local midnight and clock
    change; without any, it does not cut at all: the same lines either way."""
    charging, end = session
    free = tariff(*(TariffElement(tuple(p)) for p in parts))
    always = TariffRestrictions(start_date=date(2000, 1, 1))
    cut = tariff(*(TariffElement(tuple(p), always) for p in parts))
    priced = price_session(free, charging, START, end)
    assert priced == price_session(cut, charging, START, end)
