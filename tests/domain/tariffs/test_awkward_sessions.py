"""Sessions that cross what a tariff's restrictions care about: midnight, a DST change, a kWh or
duration threshold in the middle of one charging period, and steps on every dimension."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from tests.domain.tariffs.sessions import (
    Span,
    charging,
    energy,
    local,
    parking,
    session,
    tariff,
)
from voltflow.domain.tariffs import (
    LineKind,
    Price,
    Tariff,
    TariffError,
    energy_tariff,
    parse_tariff,
    price_session,
)

UPDATED = datetime(2026, 1, 1, tzinfo=UTC)


def make(*elements: dict[str, Any], **fields: Any) -> Tariff:
    return parse_tariff(
        {
            "country_code": "BE",
            "party_id": "VFL",
            "id": "t",
            "currency": "EUR",
            "elements": list(elements),
            "last_updated": "2026-01-01T00:00:00Z",
            **fields,
        }
    )


def component(kind: str, price: str, step: int = 1, vat: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "price": Decimal(price), "step_size": step}
    if vat is not None:
        out["vat"] = Decimal(vat)
    return out


def element(*components: dict[str, Any], **restrictions: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"price_components": list(components)}
    if restrictions:
        out["restrictions"] = restrictions
    return out


def cost(t: Tariff, start: str, *spans: Span) -> Decimal:
    periods, begin, end = session(local(start), *spans)
    return price_session(t, periods, begin, end).total_cost.excl_vat


NIGHT = make(
    element(component("ENERGY", "0.10"), start_time="22:00", end_time="06:00"),
    element(component("ENERGY", "0.30")),
)


@pytest.mark.parametrize(
    ("start", "spans", "expected"),
    [
        # 21:00–01:00 in one period of 40 kWh: 21–22 dear (10 kWh), 22–01 cheap (30 kWh).
        ("2026-06-01T21:00", (energy(240, "40"),), "6.00"),
        # 05:00–07:00, 20 kWh: 05–06 still in the window from the night before, 06–07 not.
        ("2026-06-02T05:00", (energy(120, "20"),), "4.00"),
        # Inside the window from its start to midnight and beyond.
        ("2026-06-01T22:00", (energy(480, "10"),), "1.00"),
        # Ends exactly when the window opens: the window's start is inclusive, nothing there.
        ("2026-06-01T20:00", (energy(120, "10"),), "3.00"),
    ],
)
def test_a_window_that_wraps_past_midnight(start: str, spans: tuple[Span], expected: str) -> None:
    assert cost(NIGHT, start, *spans) == Decimal(expected)


def test_a_window_to_midnight_written_as_00_00_ends_at_midnight() -> None:
    evening = make(
        element(component("ENERGY", "0.50"), start_time="18:00", end_time="00:00"),
        element(component("ENERGY", "0.20")),
    )
    # 23:00–01:00, 20 kWh: 10 before midnight at 0.50, 10 after at 0.20.
    assert cost(evening, "2026-06-01T23:00", energy(120, "20")) == Decimal("7.00")


def test_day_of_week_is_read_on_each_side_of_midnight() -> None:
    friday_nights = make(
        element(
            component("ENERGY", "0.10"),
            start_time="22:00",
            end_time="06:00",
            day_of_week=["FRIDAY"],
        ),
        element(component("ENERGY", "0.30")),
    )
    # Friday 2026-06-05 23:00 to Saturday 01:00: only Friday's hour is in the Friday window.
    assert cost(friday_nights, "2026-06-05T23:00", energy(120, "20")) == Decimal("4.00")


SMALL_HOURS = make(
    element(component("ENERGY", "0.10"), start_time="00:00", end_time="04:00"),
    element(component("ENERGY", "0.30")),
    element(component("TIME", "2.00")),
)


def test_the_night_the_clocks_go_forward() -> None:
    # 2026-03-29 (last Sunday of March): 02:00 CET becomes 03:00 CEST. 01:00–05:00 local is
    # three real hours at 10 kWh an hour: 01:00–04:00 local is two of them (cheap), then one.
    periods, start, end = session(local("2026-03-29T01:00"), charging(180, "30"))
    priced = price_session(SMALL_HOURS, periods, start, end)
    assert end.astimezone(local("2026-03-29T05:00").tzinfo) == local("2026-03-29T05:00")
    assert priced.total_energy_cost.excl_vat == Decimal("5.00")  # 20 × 0.10 + 10 × 0.30
    assert priced.total_time_cost.excl_vat == Decimal("6.00")  # 3 real hours, not 4
    assert priced.total_time == Decimal(3)


def test_a_window_opening_in_the_hour_the_clocks_skip() -> None:
    # 02:30 does not happen on 2026-03-29: the window opens when the clocks jump to 03:00.
    # 01:00–04:00 local is two real hours: the first (01:00–02:00 CET) dear, the second cheap.
    skipped = make(
        element(component("ENERGY", "0.10"), start_time="02:30", end_time="06:00"),
        element(component("ENERGY", "0.30")),
    )
    assert cost(skipped, "2026-03-29T01:00", energy(120, "20")) == Decimal("4.00")


def test_the_night_the_clocks_go_back() -> None:
    # 2026-10-25 (last Sunday of October): 03:00 CEST becomes 02:00 CET, so the hour from 02:00
    # happens twice. 01:00–05:00 local is five real hours at 10 kWh an hour; the window
    # 00:00–04:00 local holds four of them.
    periods, start, end = session(local("2026-10-25T01:00"), charging(300, "50"))
    priced = price_session(SMALL_HOURS, periods, start, end)
    assert end.astimezone(local("2026-10-25T05:00").tzinfo) == local("2026-10-25T05:00")
    assert priced.total_energy_cost.excl_vat == Decimal("7.00")  # 40 × 0.10 + 10 × 0.30
    assert priced.total_time_cost.excl_vat == Decimal("10.00")  # 5 real hours, not 4


def test_a_time_zone_other_than_brussels() -> None:
    # 21:00 UTC is 22:00 in Brussels (winter) but 21:00 in London: outside the night window.
    periods, start, end = session(datetime(2026, 1, 5, 21, tzinfo=UTC), energy(60, "10"))
    london = price_session(NIGHT, periods, start, end, time_zone="Europe/London")
    brussels = price_session(NIGHT, periods, start, end)
    assert (london.total_cost.excl_vat, brussels.total_cost.excl_vat) == (
        Decimal("3.00"),
        Decimal("1.00"),
    )


def test_max_duration_switches_element_inside_one_period() -> None:
    # The supermarket example as one 40-minute period of 6.2 kWh: the first 30 minutes (4.65 kWh)
    # free, the last 10 (1.55 kWh) at 0.25 = 0.3875 → 0.39; with 20 % VAT 0.465 → 0.47.
    periods, start, end = session(local("2026-06-01T10:00"), energy(40, "6.2"))
    priced = price_session(
        tariff("tariffrestriction_example_max_duration.json"), periods, start, end
    )
    assert priced.total_cost == Price(Decimal("0.39"), Decimal("0.47"))
    assert [(line.element_index, line.volume) for line in priced.lines] == [
        (0, Decimal("4.65")),
        (1, Decimal("1.55")),
    ]
    # 70 minutes: free, then 0.25 from 30 to 60 minutes, then 0.40.
    periods, start, end = session(local("2026-06-01T10:00"), energy(70, "7"))
    priced = price_session(
        tariff("tariffrestriction_example_max_duration.json"), periods, start, end
    )
    assert priced.total_cost.excl_vat == Decimal("0.75") + Decimal("0.40")


def test_min_kwh_switches_element_inside_one_period() -> None:
    bulk = make(
        element(component("ENERGY", "0.30"), max_kwh=Decimal(10)),
        element(component("ENERGY", "0.20"), min_kwh=Decimal(10)),
    )
    assert cost(bulk, "2026-06-01T10:00", energy(60, "25")) == Decimal("6.00")
    # The threshold falls in the second period: 4 + 6 kWh at 0.30, 2 at 0.20.
    assert cost(bulk, "2026-06-01T10:00", energy(30, "4"), energy(30, "8")) == Decimal("3.40")


def test_a_restriction_on_power_not_measured_does_not_match() -> None:
    t = tariff("tariffrestriction_example_max_power.json")
    assert cost(t, "2026-06-01T10:00", energy(60, "10")) == Decimal("5.00")  # the fallback 0.50


# --- step_size on each dimension, from the OCPI CDRs module's "step_size" text ---

STEPS = make(
    element(
        component("ENERGY", "0.20", 500),
        component("TIME", "5.00", 600),
        start_time="00:00",
        end_time="17:00",
    ),
    element(component("ENERGY", "0.27", 500), component("TIME", "7.00", 600)),
    element(component("PARKING_TIME", "2.00", 600)),
)


def test_energy_step_rounds_the_session_total_not_the_last_stretch() -> None:
    # 4.3 kWh before 17:00 and 1.1 after: 5.4 → 5.5 kWh, so 1.2 kWh after 17:00.
    periods, start, end = session(local("2026-06-01T16:00"), energy(60, "4.3"), energy(60, "1.1"))
    priced = price_session(STEPS, periods, start, end)
    energy_lines = [(line.volume, line.step_volume) for line in priced.lines]
    assert energy_lines == [(Decimal("4.3"), Decimal(0)), (Decimal("1.2"), Decimal("0.1"))]
    assert priced.total_energy_cost.excl_vat == Decimal("0.86") + Decimal("0.32")


def test_time_step_rounds_the_session_total() -> None:
    # 6 minutes before 17:00 and 22 after: 28 → 30 minutes, 24 of them after 17:00.
    periods, start, end = session(local("2026-06-01T16:54"), charging(28))
    priced = price_session(STEPS, periods, start, end)
    assert priced.total_time_cost.excl_vat == Decimal("0.50") + Decimal("2.80")


def test_charging_time_followed_by_parking_is_not_rounded() -> None:
    # 21 minutes charging, 16 parking, both per 10 minutes: 21 minutes and 20 minutes billed.
    periods, start, end = session(local("2026-06-01T18:00"), charging(21), parking(16))
    priced = price_session(STEPS, periods, start, end)
    assert priced.total_time_cost.excl_vat == Decimal("2.45")  # 21 min × 7.00/h
    assert priced.total_parking_cost.excl_vat == Decimal("0.67")  # 20 min × 2.00/h


def test_a_session_of_nothing_costs_its_flat_fee_only() -> None:
    t = tariff("tariff_9_025kwh_start.json")
    assert price_session(
        t, (), local("2026-06-01T10:00"), local("2026-06-01T10:00")
    ).total_cost == (Price(Decimal("0.50"), Decimal("0.60")))


def test_max_price_without_vat_clamps_only_the_amount_without_vat() -> None:
    capped = make(
        element(component("ENERGY", "0.50", vat="21")), max_price={"excl_vat": Decimal("5")}
    )
    periods, start, end = session(local("2026-06-01T10:00"), energy(60, "20"))
    priced = price_session(capped, periods, start, end)
    assert priced.total_cost == Price(Decimal("5.00"), Decimal("12.10"))
    assert priced.lines[-1].kind is LineKind.MAX_PRICE


def test_the_host_is_paid_back_with_the_same_engine() -> None:
    host = energy_tariff("EUR", Decimal("0.2345"), last_updated=UPDATED)
    periods, start, end = session(local("2026-06-01T10:00"), charging(90, "17.3"), parking(30))
    priced = price_session(host, periods, start, end)
    # 17.3 × 0.2345 = 4.05685 → 4.06; no VAT, so the same amount with VAT.
    assert priced.total_cost == Price(Decimal("4.06"), Decimal("4.06"))
    assert [line.kind for line in priced.lines] == [LineKind.ENERGY]
    with pytest.raises(TariffError) as refused:
        energy_tariff("XBT", Decimal("0.2"), last_updated=UPDATED)
    assert refused.value.field == "currency"
    with pytest.raises(TariffError) as refused:
        energy_tariff("EUR", Decimal("-0.2"), last_updated=UPDATED)
    assert refused.value.field == "price_per_kwh"


@pytest.mark.parametrize(
    ("call", "field", "reason"),
    [
        (
            lambda t, p, s, e: price_session(t, p, s, e, currency="GBP"),
            "currency",
            "currency_mismatch",
        ),
        (
            lambda t, p, s, e: price_session(t, p, s, e, time_zone="Mars/Olympus"),
            "time_zone",
            "time_zone",
        ),
        (lambda t, p, s, e: price_session(t, p, e, s), "end_date_time", "before_start"),
        (
            lambda t, p, s, e: price_session(t, tuple(reversed(p)), s, e),
            "charging_periods[1].start_date_time",
            "period_order",
        ),
    ],
)
def test_pricing_refuses_naming_the_field(call: Any, field: str, reason: str) -> None:
    periods, start, end = session(local("2026-06-01T10:00"), charging(30, "5"), parking(10))
    with pytest.raises(TariffError) as refused:
        call(NIGHT, periods, start, end)
    assert (refused.value.field, refused.value.reason) == (field, reason)


def test_a_tariff_is_not_applied_outside_its_dates() -> None:
    t = tariff("tariff_6_025kwh_start_max_price.json")  # ends 2019-06-30T23:59:59Z
    periods, start, end = session(local("2019-07-01T10:00"), energy(60, "5"))
    with pytest.raises(TariffError) as refused:
        price_session(t, periods, start, end)
    assert (refused.value.field, refused.value.reason) == ("start_date_time", "not_in_force")


def test_times_are_local_wall_clock() -> None:
    assert local("2026-06-01T10:00").time() == time(10)
