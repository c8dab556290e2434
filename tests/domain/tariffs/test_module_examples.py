"""The OCPI 2.2.1 tariffs module's own examples, priced: expected totals worked out by hand.

Every line is rounded half-up to the cent and the totals add the rounded lines, so where the
module adds unrounded amounts (2.875 + 3.30 + 4.125 = 10.30) our total differs by a cent
(2.88 + 3.30 + 4.13 = 10.31); each such case says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.domain.tariffs.sessions import (
    Span,
    charging,
    energy,
    local,
    parking,
    reserving,
    session,
    tariff,
)
from voltflow.domain.tariffs import LineKind, Price, price_session


@dataclass(frozen=True)
class Case:
    name: str
    tariff: str
    start: str  # local time in Brussels
    spans: tuple[Span, ...]
    total: tuple[str, str]  # excl, incl VAT
    parts: dict[LineKind, tuple[str, str]]
    expired: bool = False


def P(excl: str, incl: str) -> tuple[str, str]:
    return excl, incl


CASES = [
    # € 0.25/kWh, 10 % VAT: 20 kWh.
    Case("simple kWh", "tariff_8_simple_025kwh.json", "2019-06-03T10:00",
         (energy(60, "20"),), P("5.00", "5.50"), {LineKind.ENERGY: P("5.00", "5.50")}),
    # Start fee 0.50 (20 %) + 0.25/kWh: 20 kWh.
    Case("kWh and start fee", "tariff_9_025kwh_start.json", "2019-06-03T10:00",
         (energy(60, "20"),), P("5.50", "6.10"),
         {LineKind.FIXED: P("0.50", "0.60"), LineKind.ENERGY: P("5.00", "5.50")}),
    # min_price 0.50/0.55 does not matter at 20 kWh...
    Case("min price not reached", "tariff_12_025kwh_min_price.json", "2019-06-03T10:00",
         (energy(60, "20"),), P("5.00", "5.50"), {LineKind.ENERGY: P("5.00", "5.50")}),
    # ... and raises 1 kWh (0.25 / 0.275 → 0.28) to 0.50 / 0.55.
    Case("min price", "tariff_12_025kwh_min_price.json", "2019-06-03T10:00",
         (energy(10, "1"),), P("0.50", "0.55"),
         {LineKind.ENERGY: P("0.25", "0.28"), LineKind.MIN_PRICE: P("0.25", "0.27")}),
    # Start fee + 0.25/kWh + parking 2.00/h per 15 min: 20 kWh, parked 40 min → 45 min.
    Case("kWh, parking and start fee", "tariff_10_025kwh_parking_start.json", "2019-06-03T10:00",
         (charging(60, "20"), parking(40)), P("7.00", "7.90"),
         {LineKind.FIXED: P("0.50", "0.60"), LineKind.ENERGY: P("5.00", "5.50"),
          LineKind.PARKING_TIME: P("1.50", "1.80")}),
    # max_price 10/11: 50 kWh would be 13.00 / 14.35.
    Case("max price", "tariff_6_025kwh_start_max_price.json", "2019-06-03T10:00",
         (energy(120, "50"),), P("10.00", "11.00"),
         {LineKind.FIXED: P("0.50", "0.60"), LineKind.ENERGY: P("12.50", "13.75"),
          LineKind.MAX_PRICE: P("-3.00", "-3.35")}),
    Case("max price not reached", "tariff_6_025kwh_start_max_price.json", "2019-06-03T10:00",
         (energy(90, "30"),), P("8.00", "8.85"),
         {LineKind.FIXED: P("0.50", "0.60"), LineKind.ENERGY: P("7.50", "8.25")}),
    # € 2/h charging per minute: 2.5 h.
    Case("2 euro per hour", "tariff_1_simple_2hour.json", "2019-06-03T10:00",
         (charging(150),), P("5.00", "5.50"), {LineKind.TIME: P("5.00", "5.50")}),
    # € 3/h charging per minute, € 5/h parking per 5 min: 150 min + 42 min (→ 45).
    Case("time and parking", "tariff_13_simple_3hour_5parking.json", "2019-06-03T10:00",
         (charging(150), parking(42)), P("11.25", "12.75"),
         {LineKind.TIME: P("7.50", "8.25"), LineKind.PARKING_TIME: P("3.75", "4.50")}),
    # € 1.90/h, 5.2 % VAT: 2.5 h = 4.75 / 4.997 → 5.00.
    Case("ad hoc per hour", "tariff_2_alt_text.json", "2019-06-03T10:00",
         (charging(150),), P("4.75", "5.00"), {LineKind.TIME: P("4.75", "5.00")}),
    # The same with a 0.40 (25 %) start fee.
    Case("ad hoc with start fee", "tariff_11_not_possible_alt_text.json", "2019-06-03T10:00",
         (charging(150),), P("5.15", "5.50"),
         {LineKind.FIXED: P("0.40", "0.50"), LineKind.TIME: P("4.75", "5.00")}),
    # Energy billed per 100 Wh: 20.45 kWh → 20.5 kWh = 5.125 → 5.13 / 5.6375 → 5.64.
    Case("energy step 100 Wh", "tariff_3_alt_url.json", "2019-06-03T10:00",
         (energy(60, "20.45"),), P("5.63", "6.24"),
         {LineKind.FIXED: P("0.50", "0.60"), LineKind.ENERGY: P("5.13", "5.64")}),
    # Complex, Monday 09:30: 165 min at most 16 A (1.00/h), parked 42 min (→ 45 at 5.00/h).
    # The module adds unrounded amounts: 10.30 incl. VAT; per rounded line 2.88 + 3.30 + 4.13.
    Case("complex, Monday", "tariff_4_complex.json", "2019-06-03T09:30",
         (charging(165, "30", max_current="16"), parking(42)), P("9.00", "10.31"),
         {LineKind.FIXED: P("2.50", "2.88"), LineKind.TIME: P("2.75", "3.30"),
          LineKind.PARKING_TIME: P("3.75", "4.13")}),
    # Complex, Saturday 13:30: 114 min at 43 A or more (1.25/h, not rounded as parking follows),
    # parked 71 min (→ 75 at 6.00/h). 114 min at 1.25/h is 2.375 (the module's table says 2.28).
    Case("complex, Saturday", "tariff_4_complex.json", "2019-06-08T13:30",
         (charging(114, "60", min_current="43", max_current="48"), parking(71)),
         P("12.38", "13.98"),
         {LineKind.FIXED: P("2.50", "2.88"), LineKind.TIME: P("2.38", "2.85"),
          LineKind.PARKING_TIME: P("7.50", "8.25")}),
    # step_size switching elements #1: 16:55, 10 min charging, 2 min parking (→ 15 min).
    Case("step size switching #1", "tariff_14_step_size.json", "2019-06-03T16:55",
         (charging(10), parking(2)), P("0.55", "0.55"),
         {LineKind.TIME: P("0.30", "0.30"), LineKind.PARKING_TIME: P("0.25", "0.25")}),
    # #2: 16:35, 35 min charging → 45 min: 25 min at 1.20, 20 min at 2.40.
    Case("step size switching #2", "tariff_14_step_size.json", "2019-06-03T16:35",
         (charging(35),), P("1.30", "1.30"), {LineKind.TIME: P("1.30", "1.30")}),
    # #3: 19:40, 12 min charging (2.40/h), 20 min parking of which 8 before 20:00 (→ 15).
    Case("step size switching to free", "tariff_14_step_size.json", "2019-06-03T19:40",
         (charging(12), parking(20)), P("0.73", "0.73"),
         {LineKind.TIME: P("0.48", "0.48"), LineKind.PARKING_TIME: P("0.25", "0.25")}),
    # max_power: 1 kWh at 6 kW (0.20), 40 kWh at 48 kW (0.50), 0.5 kWh at 4 kW (0.20).
    Case("max power", "tariffrestriction_example_max_power.json", "2019-06-03T10:00",
         (energy(10, "1", max_power="6"), energy(50, "40", max_power="48"),
          energy(8, "0.5", max_power="4")),
         P("20.30", "24.36"), {LineKind.ENERGY: P("20.30", "24.36")}),
    # max_duration: 5 kWh in the first 30 min (free), 1.2 kWh in the next 10 (0.25).
    Case("max duration", "tariffrestriction_example_max_duration.json", "2019-06-03T10:00",
         (energy(30, "5"), energy(10, "1.2")), P("0.30", "0.36"),
         {LineKind.ENERGY: P("0.30", "0.36")}),
    # Reservation 5.00/h per minute: reserved 15 min, then 20 kWh.
    Case("reservation", "tariff_15_reservation_5_euro_per_hour.json", "2019-06-03T10:00",
         (reserving(15), energy(60, "20")), P("6.75", "7.60"),
         {LineKind.RESERVATION: P("1.25", "1.50"), LineKind.FIXED: P("0.50", "0.60"),
          LineKind.ENERGY: P("5.00", "5.50")}),
    # Reservation fee 2.00 + 5.00/h per 5 min: 13 min (→ 15), then 20 kWh.
    Case("reservation with fee", "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json",
         "2019-06-03T10:00", (reserving(13), energy(60, "20")), P("8.75", "10.00"),
         {LineKind.RESERVATION: P("3.25", "3.90"), LineKind.FIXED: P("0.50", "0.60"),
          LineKind.ENERGY: P("5.00", "5.50")}),
    # Reservation 2.00/h per 10 min: 22 min (→ 30), then 20 kWh.
    Case("reservation used", "tariff_17_reservation_with_expire_fee.json", "2019-06-03T10:00",
         (reserving(22), energy(60, "20")), P("6.50", "7.30"),
         {LineKind.RESERVATION: P("1.00", "1.20"), LineKind.FIXED: P("0.50", "0.60"),
          LineKind.ENERGY: P("5.00", "5.50")}),
    # ... expired after the hour reserved: expiry fee 4.00 + 60 min at 2.00/h, no start fee.
    Case("reservation expired with fee", "tariff_17_reservation_with_expire_fee.json",
         "2019-06-03T10:00", (reserving(60),), P("6.00", "7.20"),
         {LineKind.RESERVATION: P("6.00", "7.20")}, expired=True),
    # Reservation 3.00/h, 6.00/h when it expires, per 10 min.
    Case("reservation used, expiry rate", "tariff_18_reservation_with_expire_time.json",
         "2019-06-03T10:00", (reserving(22), energy(60, "20")), P("7.00", "7.90"),
         {LineKind.RESERVATION: P("1.50", "1.80"), LineKind.FIXED: P("0.50", "0.60"),
          LineKind.ENERGY: P("5.00", "5.50")}),
    Case("reservation expired, expiry rate", "tariff_18_reservation_with_expire_time.json",
         "2019-06-03T10:00", (reserving(90),), P("9.00", "10.80"),
         {LineKind.RESERVATION: P("9.00", "10.80")}, expired=True),
    # Free of charge: a FLAT of 0.00.
    Case("free of charge", "tariff_5_free_of_charge.json", "2019-06-03T10:00",
         (charging(60, "20"), parking(30)), P("0.00", "0.00"), {LineKind.FIXED: P("0.00", "0.00")}),
]  # fmt: skip


def _price(pair: tuple[str, str]) -> Price:
    return Price(Decimal(pair[0]), Decimal(pair[1]))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_module_examples_cost_what_the_module_says(case: Case) -> None:
    periods, start, end = session(local(case.start), *case.spans)
    priced = price_session(
        tariff(case.tariff), periods, start, end, reservation_expired=case.expired
    )
    assert priced.total_cost == _price(case.total)
    by_kind: dict[LineKind, Price] = {}
    for line in priced.lines:
        by_kind[line.kind] = by_kind.get(line.kind, Price(Decimal(0), Decimal(0))) + line.charged
    assert by_kind == {kind: _price(pair) for kind, pair in case.parts.items()}
    totals = {
        LineKind.FIXED: priced.total_fixed_cost,
        LineKind.ENERGY: priced.total_energy_cost,
        LineKind.TIME: priced.total_time_cost,
        LineKind.PARKING_TIME: priced.total_parking_cost,
        LineKind.RESERVATION: priced.total_reservation_cost,
    }
    for kind, total in totals.items():
        assert total == _price(case.parts.get(kind, ("0", "0")))


def test_the_complex_example_bills_charging_time_unrounded_and_parking_per_step() -> None:
    periods, start, end = session(
        local("2019-06-08T13:30"),
        charging(114, "60", min_current="43", max_current="48"),
        parking(71),
    )
    priced = price_session(tariff("tariff_4_complex.json"), periods, start, end)
    time_line, parking_line = (
        line for line in priced.lines if line.kind in (LineKind.TIME, LineKind.PARKING_TIME)
    )
    # 114 min at the weekend rate (element 3), 71 min parking + 4 of step on Saturday's (5).
    assert (time_line.element_index, time_line.volume, time_line.step_volume) == (
        3,
        Decimal("1.9"),
        Decimal(0),
    )
    assert parking_line.element_index == 5
    assert parking_line.volume == Decimal("1.25")
    assert parking_line.amount == Price(Decimal("7.5"), Decimal("8.25"))
