import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.sessions import (
    ENERGY_REGISTER,
    InferredStop,
    MeterValueError,
    SessionSummary,
    SignedMark,
    energy_wh,
    format_duration,
    format_kwh,
    normalize_sample,
    signed_start_end,
    superseded_stop,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

# OCPP 1.6 UnitOfMeasure: every kilo unit and the base unit it scales to.
KILO_UNITS = {"kWh": "Wh", "kW": "W", "kvarh": "varh", "kvar": "var", "kVA": "VA"}
BASE_UNITS = ["Wh", "W", "varh", "var", "VA", "A", "V", "K", "Celsius", "Fahrenheit", "Percent"]

finite_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=6).filter(
    lambda d: abs(d) < Decimal(10) ** 15
)


@pytest.mark.parametrize(
    ("raw", "measurand", "unit", "value", "stored_measurand", "stored_unit"),
    [
        ("1.5", ENERGY_REGISTER, "kWh", Decimal(1500), ENERGY_REGISTER, "Wh"),
        ("1500", ENERGY_REGISTER, "Wh", Decimal(1500), ENERGY_REGISTER, "Wh"),
        ("7.4", "Power.Active.Import", "kW", Decimal(7400), "Power.Active.Import", "W"),
        ("2", "Energy.Reactive.Import.Register", "kvarh", Decimal(2000), None, "varh"),
        ("0.5", "Power.Reactive.Import", "kvar", Decimal(500), None, "var"),
        ("11", "Power.Offered", "kVA", Decimal(11000), None, "VA"),
        ("230.1", "Voltage", "V", Decimal("230.1"), None, "V"),
        ("16", "Current.Import", "A", Decimal(16), None, "A"),
        # OCPP's defaults: no measurand is the energy register, energy without unit is Wh.
        ("42", None, None, Decimal(42), ENERGY_REGISTER, "Wh"),
        ("42", "Energy.Active.Export.Interval", None, Decimal(42), None, "Wh"),
        ("80", "SoC", None, Decimal(80), None, ""),
        ("-3", None, "kWh", Decimal(-3000), ENERGY_REGISTER, "Wh"),
        (" 12 ", None, None, Decimal(12), ENERGY_REGISTER, "Wh"),
        ("1e3", None, None, Decimal(1000), ENERGY_REGISTER, "Wh"),
    ],
)
def test_normalize_sample(
    raw: str,
    measurand: str | None,
    unit: str | None,
    value: Decimal,
    stored_measurand: str | None,
    stored_unit: str,
) -> None:
    s = normalize_sample(T0, raw, measurand=measurand, unit=unit)
    assert s.value == value
    assert s.unit == stored_unit
    assert s.measurand == (stored_measurand or measurand)
    assert s.timestamp == T0


def test_normalize_sample_keeps_where_and_why() -> None:
    s = normalize_sample(
        T0, "1", measurand="Voltage", unit="V", phase="L1-N", location="Outlet", context="Trigger"
    )
    assert (s.phase, s.location, s.context) == ("L1-N", "Outlet", "Trigger")
    bare = normalize_sample(T0, "1", measurand=None, unit=None)
    assert (bare.phase, bare.location, bare.context) == (None, None, None)


@pytest.mark.parametrize("raw", ["", "abc", "1,5", "12 kWh", "NaN", "sNaN", "Infinity", "-inf"])
def test_normalize_sample_refuses_what_is_not_a_finite_number(raw: str) -> None:
    with pytest.raises(MeterValueError, match=re.escape(repr(raw))):
        normalize_sample(T0, raw, measurand=None, unit=None)


@given(finite_decimals, st.sampled_from(sorted(KILO_UNITS)))
def test_kilo_units_scale_exactly_to_their_base_unit(value: Decimal, unit: str) -> None:
    s = normalize_sample(T0, str(value), measurand="Power.Active.Import", unit=unit)
    assert s.unit == KILO_UNITS[unit]
    assert s.value == value * 1000  # Decimal arithmetic: no rounding on the way


@given(finite_decimals, st.sampled_from(BASE_UNITS))
def test_base_units_are_kept_as_reported(value: Decimal, unit: str) -> None:
    s = normalize_sample(T0, str(value), measurand="Voltage", unit=unit)
    assert (s.value, s.unit) == (value, unit)


@given(finite_decimals, st.sampled_from([*KILO_UNITS, *BASE_UNITS]))
def test_normalizing_twice_changes_nothing(value: Decimal, unit: str) -> None:
    once = normalize_sample(T0, str(value), measurand="Voltage", unit=unit)
    twice = normalize_sample(T0, str(once.value), measurand=once.measurand, unit=once.unit)
    assert twice == once


@pytest.mark.parametrize(
    ("start", "stop", "expected"),
    [(0, 0, 0), (1000, 12_345, 11_345), (5000, None, None), (7000, 6000, -1000)],
)
def test_energy_wh(start: int, stop: int | None, expected: int | None) -> None:
    assert energy_wh(start, stop) == expected


@given(st.integers(0, 10**12), st.integers(0, 10**9))
def test_energy_is_the_register_difference(start: int, charged: int) -> None:
    assert energy_wh(start, start + charged) == charged


def test_session_summary() -> None:
    open_ = SessionSummary(T0, None, 1000, None)
    assert open_.energy_wh is None and open_.duration is None
    done = SessionSummary(T0, T0 + timedelta(minutes=90), 1000, 23_500)
    assert done.energy_wh == 22_500
    assert done.duration == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("duration", "shown"),
    [
        (None, "–"),
        (timedelta(0), "0:00:00"),
        (timedelta(seconds=59), "0:00:59"),
        (timedelta(seconds=60), "0:01:00"),
        (timedelta(seconds=3599), "0:59:59"),
        (timedelta(hours=1), "1:00:00"),
        (timedelta(days=1, hours=1, minutes=1, seconds=1), "25:01:01"),
        (timedelta(hours=123), "123:00:00"),
        (timedelta(seconds=1.999), "0:00:01"),
        (timedelta(seconds=-61), "-0:01:01"),
    ],
)
def test_format_duration(duration: timedelta | None, shown: str) -> None:
    assert format_duration(duration) == shown


@given(st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400)))
def test_format_duration_reads_back(duration: timedelta) -> None:
    shown = format_duration(duration)
    m = re.fullmatch(r"(-?)(\d+):(\d\d):(\d\d)", shown)
    assert m, shown
    sign, h, mm, ss = m.groups()
    assert int(mm) < 60 and int(ss) < 60
    seconds = int(h) * 3600 + int(mm) * 60 + int(ss)
    assert (-seconds if sign else seconds) == int(duration.total_seconds())
    assert not (sign and seconds == 0), "no negative zero"


@pytest.mark.parametrize(
    ("wh", "shown"),
    [
        (None, "–"),
        (0, "0.000 kWh"),
        (1, "0.001 kWh"),
        (999, "0.999 kWh"),
        (12_345, "12.345 kWh"),
        (350_000, "350.000 kWh"),
        (-500, "-0.500 kWh"),
    ],
)
def test_format_kwh(wh: int | None, shown: str) -> None:
    assert format_kwh(wh) == shown


@given(st.integers(-(10**12), 10**12))
def test_format_kwh_is_exact(wh: int) -> None:
    shown = format_kwh(wh)
    assert shown.endswith(" kWh")
    assert Decimal(shown.removesuffix(" kWh")) * 1000 == wh


@pytest.mark.parametrize(
    ("last_reading", "expected"),
    [
        (None, InferredStop(T0, 1000)),
        (
            (T0 + timedelta(minutes=12), Decimal(4000)),
            InferredStop(T0 + timedelta(minutes=12), 4000),
        ),
        (
            (T0 + timedelta(minutes=12), Decimal("4000.9")),
            InferredStop(T0 + timedelta(minutes=12), 4000),
        ),
        # A reading timed before the start (a clock that jumped) ends it no earlier than its
        # start; one below the start's register measured nothing.
        ((T0 - timedelta(minutes=1), Decimal(4000)), InferredStop(T0, 4000)),
        ((T0 + timedelta(minutes=5), Decimal(900)), InferredStop(T0 + timedelta(minutes=5), 1000)),
    ],
)
def test_a_superseded_session_ends_at_what_it_measured(
    last_reading: tuple[datetime, Decimal] | None, expected: InferredStop
) -> None:
    assert superseded_stop(T0, 1000, last_reading) == expected


def _mark(minutes: int, context: str | None = None, *tx: str) -> SignedMark:
    return SignedMark(T0 + timedelta(minutes=minutes), context, tuple(tx))


@pytest.mark.parametrize(
    ("marks", "start", "end"),
    [
        pytest.param([], None, None, id="none"),
        pytest.param(
            [
                _mark(0, "Transaction.Begin"),
                _mark(5, "Sample.Periodic"),
                _mark(9, "Transaction.End"),
            ],
            0,
            2,
            id="by-context",
        ),
        pytest.param(
            [_mark(9, "Transaction.End"), _mark(0, "Transaction.Begin")], 1, 0, id="out-of-order"
        ),
        pytest.param(
            [_mark(0, None, "B"), _mark(5, None, "C"), _mark(9, None, "R")], 0, 2, id="ocmf"
        ),
        pytest.param([_mark(0, None, "B", "E")], 0, 0, id="one-record-both"),
        pytest.param(
            [_mark(0, "Sample.Clock"), _mark(5, "Sample.Clock"), _mark(9, "Sample.Clock")],
            0,
            2,
            id="first-and-last",
        ),
        pytest.param([_mark(3, "Sample.Clock")], 0, None, id="one-unmarked-is-the-start"),
        pytest.param([_mark(3, "Transaction.End")], None, 0, id="only-the-end"),
        pytest.param(
            [_mark(0, "Sample.Clock"), _mark(5, "Transaction.End"), _mark(9, "Sample.Clock")],
            0,
            1,
            id="the-marked-end-wins",
        ),
        pytest.param(
            [_mark(0, "Sample.Clock"), _mark(2, "Transaction.Begin"), _mark(9, "Sample.Clock")],
            1,
            2,
            id="the-marked-start-wins",
        ),
    ],
)
def test_signed_start_and_end(marks: list[SignedMark], start: int | None, end: int | None) -> None:
    assert signed_start_end(marks) == (start, end)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 600),
            st.sampled_from([None, "Transaction.Begin", "Transaction.End", "Sample.Periodic"]),
            st.lists(st.sampled_from("BCEXLRAPST"), max_size=2),
        ),
        max_size=8,
    )
)
def test_signed_start_and_end_follow_the_marks_and_time(
    raw: list[tuple[int, str | None, list[str]]],
) -> None:
    marks = [_mark(m, c, *tx) for m, c, tx in raw]
    start, end = signed_start_end(marks)

    def begins(m: SignedMark) -> bool:
        return m.context == "Transaction.Begin" or "B" in m.transactions

    def ends(m: SignedMark) -> bool:
        return m.context == "Transaction.End" or bool(set(m.transactions) & set("ELRAP"))

    if marks:
        assert start is not None or end is not None
    if any(begins(m) for m in marks):
        assert start is not None and begins(marks[start])
    if any(ends(m) for m in marks):
        assert end is not None and ends(marks[end])
    if start is not None and end is not None and not (begins(marks[start]) and ends(marks[end])):
        assert marks[start].sampled_at <= marks[end].sampled_at
