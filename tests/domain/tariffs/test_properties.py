"""Properties of the pricing engine over generated tariffs and sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.tariffs import (
    CdrDimension,
    ChargingPeriod,
    DayOfWeek,
    LineKind,
    Price,
    PriceComponent,
    Tariff,
    TariffDimension,
    TariffElement,
    TariffRestrictions,
    dumps,
    loads,
    parse_tariff,
    price_session,
    tariff_to_ocpi,
)

START = datetime(2026, 3, 27, 20, tzinfo=UTC)  # a weekend with the clocks going forward

prices = st.decimals(min_value=0, max_value=5, places=3)
vats = st.none() | st.decimals(min_value=0, max_value=25, places=1)
components = st.builds(
    PriceComponent,
    type=st.sampled_from(TariffDimension),
    price=prices,
    vat=vats,
    step_size=st.integers(min_value=1, max_value=3600),
)
# No time of day, date or kWh restrictions.
restrictions = st.none() | st.builds(
    TariffRestrictions,
    day_of_week=st.lists(st.sampled_from(DayOfWeek), unique=True, max_size=3).map(tuple),
    max_power=st.none() | st.decimals(min_value=1, max_value=50, places=0),
    min_duration=st.none() | st.integers(min_value=0, max_value=3600),
    max_duration=st.none() | st.integers(min_value=3601, max_value=20_000),
)
elements = st.builds(
    TariffElement,
    price_components=st.lists(components, min_size=1, max_size=3).map(tuple),
    restrictions=restrictions,
)


# Elements that apply for the whole session whatever happens in it. Where a session moves from
# one element to another (a min_duration reached, a power limit), OCPI's step_size rounds the
# session's total volume and bills the rounding at the last element: more energy under the
# earlier, cheaper element can then leave less rounding to bill at the later one, and the session
# costs a cent less (found by this property). So more energy never costing less holds for
# tariffs whose elements do not change during a session.
steady_elements = st.builds(
    TariffElement,
    price_components=st.lists(components, min_size=1, max_size=3).map(tuple),
    restrictions=st.none(),
)


@st.composite
def tariffs(draw: st.DrawFn, elements: st.SearchStrategy[TariffElement] = elements) -> Tariff:
    minimum = draw(st.none() | st.decimals(min_value=0, max_value=5, places=2))
    maximum = draw(st.none() | st.decimals(min_value=5, max_value=50, places=2))
    return Tariff(
        country_code="BE",
        party_id="VFL",
        id="generated",
        currency="EUR",
        elements=tuple(draw(st.lists(elements, min_size=1, max_size=5))),
        last_updated=START,
        min_price=None if minimum is None else Price(minimum, minimum * Decimal("1.21")),
        max_price=None if maximum is None else Price(maximum, maximum * Decimal("1.21")),
    )


@st.composite
def sessions(draw: st.DrawFn) -> tuple[list[tuple[int, dict[CdrDimension, Decimal]]], int]:
    """Periods as (minutes, measured), and how many minutes of the session follow them."""
    spans = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        minutes = draw(st.integers(min_value=0, max_value=600))
        measured = {CdrDimension.TIME: Decimal(minutes) / 60}
        measured[CdrDimension.ENERGY] = draw(st.decimals(min_value=0, max_value=80, places=3))
        if draw(st.booleans()):
            measured[CdrDimension.MAX_POWER] = draw(st.decimals(0, 60, places=1))
        if draw(st.booleans()):
            measured = {CdrDimension.PARKING_TIME: Decimal(minutes) / 60}
        spans.append((minutes, measured))
    return spans, draw(st.integers(min_value=0, max_value=60))


def periods_of(
    spans: list[tuple[int, dict[CdrDimension, Decimal]]], tail: int
) -> tuple[list[ChargingPeriod], datetime]:
    moment, periods = START, []
    for minutes, measured in spans:
        periods.append(ChargingPeriod(moment, measured))
        moment += timedelta(minutes=minutes)
    return periods, moment + timedelta(minutes=tail)


@given(tariffs(steady_elements), sessions(), st.decimals(min_value=1, max_value=3, places=2))
def test_more_energy_never_costs_less(
    tariff: Tariff,
    session: tuple[list[tuple[int, dict[CdrDimension, Decimal]]], int],
    factor: Decimal,
) -> None:
    spans, tail = session
    periods, end = periods_of(spans, tail)
    more_spans = [
        (minutes, {k: v * factor if k is CdrDimension.ENERGY else v for k, v in measured.items()})
        for minutes, measured in spans
    ]
    more, _ = periods_of(more_spans, tail)
    less_cost = price_session(tariff, periods, START, end).total_cost
    more_cost = price_session(tariff, more, START, end).total_cost
    assert more_cost.excl_vat >= less_cost.excl_vat
    assert more_cost.incl_vat is not None and less_cost.incl_vat is not None
    assert more_cost.incl_vat >= less_cost.incl_vat


@given(tariffs(), sessions())
def test_the_total_is_the_sum_of_its_rounded_lines_and_never_negative(
    tariff: Tariff, session: tuple[list[tuple[int, dict[CdrDimension, Decimal]]], int]
) -> None:
    periods, end = periods_of(*session)
    priced = price_session(tariff, periods, START, end)
    total = sum((line.charged for line in priced.lines), Price(Decimal(0), Decimal(0)))
    assert priced.total_cost == total
    cent = Decimal("0.01")
    for line in priced.lines:
        assert line.charged.excl_vat == line.charged.excl_vat.quantize(cent)
        if line.kind not in (LineKind.MIN_PRICE, LineKind.MAX_PRICE):
            assert line.amount.excl_vat >= 0 and line.charged.excl_vat >= 0
            assert abs(line.charged.excl_vat - line.amount.excl_vat) <= Decimal("0.005")
    assert priced.total_cost.excl_vat >= 0
    assert priced.total_cost.incl_vat is not None and priced.total_cost.incl_vat >= 0
    parts = (
        priced.total_fixed_cost
        + priced.total_energy_cost
        + priced.total_time_cost
        + priced.total_parking_cost
        + priced.total_reservation_cost
    )
    adjustments = [
        line for line in priced.lines if line.kind in (LineKind.MIN_PRICE, LineKind.MAX_PRICE)
    ]
    if not adjustments:
        assert parts == priced.total_cost


@given(tariffs())
def test_a_tariff_written_as_ocpi_reads_back_the_same(tariff: Tariff) -> None:
    assert parse_tariff(loads(dumps(tariff_to_ocpi(tariff)))) == tariff
