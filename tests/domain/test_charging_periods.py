import json
import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.charging_periods import (
    ChargingPeriod,
    Dimension,
    DimensionType,
    PeriodFlag,
    Reading,
    from_ocpi,
    periods_from,
    to_ocpi,
)

E, P, A = "Energy.Active.Import.Register", "Power.Active.Import", "Current.Import"
D = Decimal


def at(hh_mm: str) -> datetime:
    hours, minutes = hh_mm.split(":")
    return datetime(2026, 5, 4, int(hours), int(minutes), tzinfo=UTC)


def energy(*points: tuple[str, int], unit: str = "Wh") -> list[Reading]:
    scale = D(1000) if unit == "kWh" else D(1)
    return [Reading(at(t), E, D(wh) / scale, unit) for t, wh in points]


def power(*points: tuple[str, int]) -> list[Reading]:
    return [Reading(at(t), P, D(w), "W") for t, w in points]


def statuses(*changes: tuple[str, str]) -> list[tuple[datetime, str]]:
    return [(at(t), s) for t, s in changes]


def summary(periods: tuple[ChargingPeriod, ...]) -> list[tuple[str, str, str, str]]:
    """(start HH:MM UTC, TIME or PARKING_TIME, kWh, hours) per period."""
    out = []
    for p in periods:
        kind = DimensionType.TIME if p.charging else DimensionType.PARKING_TIME
        hours = p.volume(kind)
        assert hours is not None
        out.append(
            (
                p.start.strftime("%H:%M"),
                kind.value,
                f"{p.energy_kwh.normalize():f}",
                f"{hours.normalize():f}",
            )
        )
    return out


CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str, str]]]] = [
    (
        "charging then parking",
        {
            "stop": "12:00",
            "meter": (1000, 11000),
            "readings": energy(("10:30", 6000), ("11:00", 11000), ("11:30", 11000)),
            "statuses": statuses(("10:00", "Charging"), ("11:00", "SuspendedEV")),
        },
        [("10:00", "TIME", "10", "1"), ("11:00", "PARKING_TIME", "0", "1")],
    ),
    (
        "parking interrupted by charging again",
        {
            "stop": "12:30",
            "meter": (0, 8000),
            "readings": energy(("11:00", 6000), ("11:30", 6000), ("12:00", 8000)),
            "statuses": statuses(
                ("11:00", "SuspendedEV"), ("11:30", "Charging"), ("12:00", "SuspendedEVSE")
            ),
        },
        [
            ("10:00", "TIME", "6", "1"),
            ("11:00", "PARKING_TIME", "0", "0.5"),
            ("11:30", "TIME", "2", "0.5"),
            ("12:00", "PARKING_TIME", "0", "0.5"),
        ],
    ),
    (
        "the register in kWh",
        {
            "stop": "12:00",
            "meter": (1000, 11000),
            "readings": energy(("10:30", 6000), ("11:00", 11000), unit="kWh"),
            "statuses": statuses(("11:00", "Finishing")),
        },
        [("10:00", "TIME", "10", "1"), ("11:00", "PARKING_TIME", "0", "1")],
    ),
    (
        "no readings and no statuses: one period from the meter start and stop",
        {"stop": "11:30", "meter": (500, 7500), "readings": [], "statuses": []},
        [("10:00", "TIME", "7", "1.5")],
    ),
    (
        "readings that stop early: the rest comes from the meter stop, over charging time",
        {
            "stop": "12:00",
            "meter": (0, 5000),
            "readings": energy(("10:00", 0), ("10:30", 3000)),
            "statuses": statuses(("11:00", "SuspendedEV")),
        },
        [("10:00", "TIME", "5", "1"), ("11:00", "PARKING_TIME", "0", "1")],
    ),
    (
        "power falling to zero after charging is parking; rising again is charging",
        {
            "stop": "12:00",
            "meter": (0, 9000),
            "readings": power(
                ("10:00", 7000), ("10:30", 7200), ("11:00", 0), ("11:30", 40), ("11:45", 3000)
            ),
            "statuses": [],
        },
        [
            # no energy readings: the meter's 9 kWh shared over the 1.25 h of charging
            ("10:00", "TIME", "7.2", "1"),
            ("11:00", "PARKING_TIME", "0", "0.75"),
            ("11:45", "TIME", "1.8", "0.25"),
        ],
    ),
    (
        "no power at the start is a car waking up, not parking",
        {
            "stop": "11:00",
            "meter": (0, 7000),
            "readings": power(("10:00", 0), ("10:05", 0), ("10:10", 7000)),
            "statuses": [],
        },
        [("10:00", "TIME", "7", "1")],
    ),
    (
        "a flat register after it rose is parking, without power readings or statuses",
        {
            "stop": "12:00",
            "meter": (0, 4000),
            "readings": energy(("10:30", 2000), ("11:00", 4000), ("11:30", 4000)),
            "statuses": [],
        },
        [("10:00", "TIME", "4", "1"), ("11:00", "PARKING_TIME", "0", "1")],
    ),
    (
        "a flat register does not override what the station said",
        {
            "stop": "12:00",
            "meter": (0, 4000),
            "readings": energy(("10:30", 2000), ("10:45", 2000), ("11:00", 4000)),
            "statuses": statuses(("11:00", "SuspendedEV")),
        },
        [("10:00", "TIME", "4", "1"), ("11:00", "PARKING_TIME", "0", "1")],
    ),
    (
        "statuses outside the session and other statuses change nothing",
        {
            "stop": "11:00",
            "meter": (0, 1000),
            "readings": [],
            "statuses": statuses(
                ("09:59", "SuspendedEVSE"), ("10:10", "Preparing"), ("11:00", "Finishing")
            ),
        },
        [("10:00", "TIME", "1", "1")],
    ),
    (
        "a status at the very start sets the first period's state",
        {
            "stop": "11:00",
            "meter": (0, 1000),
            "readings": [],
            "statuses": statuses(("10:00", "SuspendedEVSE"), ("10:30", "Charging")),
        },
        [("10:00", "PARKING_TIME", "0", "0.5"), ("10:30", "TIME", "1", "0.5")],
    ),
]


@pytest.mark.parametrize(("case", "given_", "expected"), CASES, ids=[c[0] for c in CASES])
def test_periods(case: str, given_: dict[str, Any], expected: list[Any]) -> None:
    meter_start, meter_stop = given_["meter"]
    periods = periods_from(
        at("10:00"),
        at(given_["stop"]),
        meter_start,
        meter_stop,
        given_["readings"],
        given_["statuses"],
    )
    assert summary(periods) == expected
    assert all(not p.flags for p in periods)


def test_readings_out_of_order_give_the_same_periods() -> None:
    readings = energy(*[(f"10:{m:02d}", 100 * m) for m in range(0, 60, 5)]) + power(
        ("10:00", 7000), ("10:40", 0), ("10:50", 7000)
    )
    shuffled = readings[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != readings
    in_order = periods_from(at("10:00"), at("11:00"), 0, 6000, readings, ())
    assert periods_from(at("10:00"), at("11:00"), 0, 6000, shuffled, ()) == in_order
    assert [p.start for p in in_order] == [at("10:00"), at("10:40"), at("10:50")]


def test_a_meter_going_backwards_is_held_and_its_period_flagged() -> None:
    periods = periods_from(
        at("10:00"),
        at("12:00"),
        1000,
        5000,
        energy(("10:30", 3000), ("11:15", 2500), ("11:30", 4000)),
        statuses(("11:00", "SuspendedEV"), ("11:20", "Charging")),
    )
    assert [p.flags for p in periods] == [
        frozenset(),
        frozenset({PeriodFlag.METER_BACKWARDS}),
        frozenset(),
    ]
    assert all(p.energy_kwh >= 0 for p in periods)
    assert sum(p.energy_kwh for p in periods) == D("4")


def test_a_meter_stop_below_the_start_gives_no_energy_and_a_flag() -> None:
    (period,) = periods_from(at("10:00"), at("11:00"), 5000, 4000, (), ())
    assert period.energy_kwh == 0
    assert period.flags == {PeriodFlag.METER_BACKWARDS}


def test_a_day_with_a_clock_change_counts_the_hours_that_passed() -> None:
    """Brussels, 29 March 2026: 02:00 became 03:00. From 01:30 to 04:30 on the wall clock
    is two hours."""
    brussels = ZoneInfo("Europe/Brussels")
    start = datetime(2026, 3, 29, 1, 30, tzinfo=brussels)
    parked = datetime(2026, 3, 29, 3, 30, tzinfo=brussels)
    stop = datetime(2026, 3, 29, 4, 30, tzinfo=brussels)
    periods = periods_from(start, stop, 0, 11000, (), [(parked, "SuspendedEV")])
    assert [(p.start, p.charging) for p in periods] == [
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), True),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), False),
    ]
    assert periods[0].volume(DimensionType.TIME) == 1
    assert periods[1].volume(DimensionType.PARKING_TIME) == 1
    assert periods[0].energy_kwh == 11


@pytest.mark.parametrize(
    ("readings", "max_a", "min_a"),
    [
        # per phase, summed; the neutral is not added
        ([("L1", "16"), ("L2", "16"), ("L3", "15.5"), ("N", "3")], "47.5", "47.5"),
        # a reading without a phase is the whole, whatever the phases say
        ([("L1", "16"), ("", "32")], "32", "32"),
        ([(None, "10")], "10", "10"),
    ],
)
def test_current_over_the_phases(
    readings: list[tuple[str | None, str]], max_a: str, min_a: str
) -> None:
    values = [Reading(at("10:10"), A, D(v), "A", phase) for phase, v in readings]
    values.append(Reading(at("10:20"), A, D(max_a), "A", None))
    (period,) = periods_from(at("10:00"), at("11:00"), 0, 1000, values, ())
    assert period.volume(DimensionType.MAX_CURRENT) == D(max_a)
    assert period.volume(DimensionType.MIN_CURRENT) == D(min_a)


def test_power_in_kw_and_w_and_per_phase() -> None:
    readings = [
        Reading(at("10:10"), P, D("7.4"), "kW"),
        Reading(at("10:20"), P, D("3700"), "W"),
        Reading(at("10:30"), P, D("1100"), "W", "L1"),
        Reading(at("10:30"), P, D("1100"), "W", "L2"),
        Reading(at("10:30"), P, D("1100"), "W", "L3"),
        Reading(at("10:40"), "SoC", D("80"), "Percent"),
        Reading(at("10:50"), P, D("9"), "MW"),  # a unit OCPP does not know: ignored
        Reading(at("09:50"), P, D("22000"), "W"),  # before the session: ignored
    ]
    (period,) = periods_from(at("10:00"), at("11:00"), 0, 1000, readings, ())
    assert period.volume(DimensionType.MAX_POWER) == D("7.4")
    assert period.volume(DimensionType.MIN_POWER) == D("3.3")
    assert period.volume(DimensionType.MAX_CURRENT) is None


def test_without_a_meter_stop_the_last_reading_ends_the_session() -> None:
    (period,) = periods_from(at("10:00"), at("11:00"), 1000, None, energy(("10:30", 3500)), ())
    assert period.energy_kwh == D("2.5")


def test_fractions_of_a_wh_are_rounded_so_the_periods_add_up() -> None:
    readings = [Reading(at("10:20"), E, D("1.2345"), "kWh")]
    periods = periods_from(
        at("10:00"),
        at("11:00"),
        1000,
        2001,
        readings,
        [(at("10:20"), "SuspendedEV"), (at("10:40"), "Charging")],
    )
    assert [p.energy_kwh for p in periods] == [D("0.235"), D("0"), D("0.766")]


def test_refuses_times_without_a_zone_and_a_stop_before_the_start() -> None:
    with pytest.raises(ValueError, match="time zone"):
        periods_from(datetime(2026, 5, 4, 10), at("11:00"), 0, 0)
    with pytest.raises(ValueError, match="before it starts"):
        periods_from(at("11:00"), at("10:00"), 0, 0)


# -- OCPI JSON ------------------------------------------------------------------------------------
def test_ocpi_json_round_trip() -> None:
    periods = periods_from(
        at("10:00"),
        at("12:00"),
        0,
        12345,
        [*power(("10:00", 11040), ("11:00", 0)), Reading(at("10:05"), A, D("16.2"), "A", "L1")],
        (),
    )
    document = to_ocpi(periods)
    assert document[0] == {
        "start_date_time": "2026-05-04T10:00:00Z",
        "dimensions": [
            {"type": "ENERGY", "volume": 12.345},
            {"type": "TIME", "volume": 1},
            {"type": "MAX_POWER", "volume": 11.04},
            {"type": "MIN_POWER", "volume": 11.04},
            {"type": "MAX_CURRENT", "volume": 16.2},
            {"type": "MIN_CURRENT", "volume": 16.2},
        ],
    }
    text = json.dumps(document)
    back = from_ocpi(json.loads(text, parse_float=Decimal))
    assert back == tuple(ChargingPeriod(p.start, p.dimensions) for p in periods)
    assert from_ocpi(json.loads(text)) == back


def test_ocpi_times_keep_milliseconds_at_most() -> None:
    start = datetime(2026, 5, 4, 10, 0, 0, 123456, tzinfo=UTC)
    (item,) = to_ocpi([ChargingPeriod(start, (Dimension(DimensionType.TIME, D("0.5")),))])
    assert item["start_date_time"] == "2026-05-04T10:00:00.123Z"
    assert len(item["start_date_time"]) <= 25


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([{"dimensions": []}], "start_date_time"),
        ([{"start_date_time": "yesterday", "dimensions": []}], "yesterday"),
        ([{"start_date_time": "2026-05-04T10:00:00", "dimensions": [{"type": "FLAT"}]}], "FLAT"),
        (
            [{"start_date_time": "2026-05-04T10:00:00", "dimensions": [{"type": "TIME"}]}],
            "volume",
        ),
        (
            [
                {
                    "start_date_time": "2026-05-04T10:00:00",
                    "dimensions": [{"type": "TIME", "volume": "NaN"}],
                }
            ],
            "finite",
        ),
    ],
)
def test_from_ocpi_refuses_what_is_not_a_charging_period(
    document: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        from_ocpi(document)


def test_from_ocpi_reads_a_time_without_a_zone_as_utc() -> None:
    (period,) = from_ocpi([{"start_date_time": "2026-05-04T10:00:00", "dimensions": []}])
    assert period.start == at("10:00")


# -- properties -----------------------------------------------------------------------------------
START = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
STATUSES = ["Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Preparing", "Faulted"]


@st.composite
def sessions(draw: st.DrawFn, monotonic: bool) -> dict[str, Any]:
    seconds = draw(st.integers(min_value=0, max_value=3 * 24 * 3600))
    stop = START + timedelta(seconds=seconds, microseconds=draw(st.integers(0, 999_999)))
    span = max(seconds, 1)
    meter_start = draw(st.integers(min_value=0, max_value=10**9))
    times = draw(st.lists(st.integers(min_value=0, max_value=span), max_size=30))
    if monotonic:
        steps = draw(st.lists(st.integers(0, 50_000), min_size=len(times), max_size=len(times)))
        totals = [meter_start + sum(steps[: i + 1]) for i in range(len(steps))]
        meter_stop = (totals[-1] if totals else meter_start) + draw(st.integers(0, 50_000))
        values = [D(v) for v in totals]
    else:
        values = [D(draw(st.integers(0, 2 * 10**9))) for _ in times]
        meter_stop = draw(st.integers(0, 2 * 10**9))
    in_kwh = draw(st.booleans())
    readings: list[Reading] = [
        Reading(
            START + timedelta(seconds=t), E, v / 1000 if in_kwh else v, "kWh" if in_kwh else "Wh"
        )
        for t, v in zip(sorted(times), values, strict=True)
    ]
    readings += [
        Reading(START + timedelta(seconds=t), P, D(w), "W")
        for t, w in draw(
            st.lists(st.tuples(st.integers(0, span), st.integers(0, 22_000)), max_size=20)
        )
    ]
    changes = [
        (START + timedelta(seconds=t), s)
        for t, s in draw(
            st.lists(st.tuples(st.integers(0, span), st.sampled_from(STATUSES)), max_size=10)
        )
    ]
    return {
        "start": START,
        "stop": stop,
        "meter_start_wh": meter_start,
        "meter_stop_wh": meter_stop,
        "readings": draw(st.permutations(readings)),
        "statuses": changes,
    }


def _hours(session: dict[str, Any]) -> Decimal:
    elapsed = session["stop"] - session["start"]
    return (D(elapsed // timedelta(microseconds=1)) / D(3_600_000_000)).quantize(
        D("0.000001"), ROUND_HALF_UP
    )


def _check_shape(session: dict[str, Any], periods: tuple[ChargingPeriod, ...]) -> None:
    assert periods[0].start == session["start"]
    starts = [p.start for p in periods]
    assert starts == sorted(set(starts))
    assert all(p.energy_kwh >= 0 for p in periods)
    assert [p.charging for p in periods[1:]] == [not p.charging for p in periods[:-1]]
    times = [
        (p.volume(DimensionType.TIME) or 0) + (p.volume(DimensionType.PARKING_TIME) or 0)
        for p in periods
    ]
    assert all(t >= 0 for t in times)
    assert sum(times) == _hours(session)


@given(sessions(monotonic=True))
def test_the_periods_add_up_to_the_session(session: dict[str, Any]) -> None:
    periods = periods_from(**session)
    _check_shape(session, periods)
    assert (
        sum(p.energy_kwh for p in periods)
        == D(session["meter_stop_wh"] - session["meter_start_wh"]) / 1000
    )
    assert not any(p.flags for p in periods)


@given(sessions(monotonic=False))
def test_whatever_the_meter_says_no_period_has_negative_energy(session: dict[str, Any]) -> None:
    _check_shape(session, periods_from(**session))
