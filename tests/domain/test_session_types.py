from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.session_types import (
    Classification,
    SessionFacts,
    SessionType,
    ValidityBounds,
    classify,
)

DEFAULT = ValidityBounds()
LONG_ENOUGH = timedelta(minutes=30)


def facts(**overrides: object) -> SessionFacts:
    values: dict[str, object] = {
        "token_accepted": True,
        "energy_wh": 10_000,
        "duration": LONG_ENOUGH,
    }
    values.update(overrides)
    return SessionFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("f", "expected", "reason"),
    [
        (facts(), SessionType.NORMAL, "public session"),
        (facts(on_station_whitelist=True), SessionType.WHITELIST, "whitelist"),
        (facts(licensed_employee_token=True), SessionType.SPLIT_BILLING, "licensed employee"),
        # Order: split billing before whitelist, validity before both.
        (
            facts(licensed_employee_token=True, on_station_whitelist=True),
            SessionType.SPLIT_BILLING,
            "licensed employee",
        ),
        (facts(token_accepted=False), SessionType.INVALID, "token not accepted"),
        # A licensed card does not make a refused or too short session billable.
        (
            facts(token_accepted=False, licensed_employee_token=True),
            SessionType.INVALID,
            "token not accepted",
        ),
        (
            facts(duration=timedelta(seconds=119), licensed_employee_token=True),
            SessionType.INVALID,
            "lasted 119 s",
        ),
        (
            facts(token_accepted=False, energy_wh=-1, duration=timedelta(0)),
            SessionType.INVALID,
            "token not accepted",
        ),
        (
            facts(energy_wh=-1, duration=timedelta(0)),
            SessionType.INVALID,
            "energy -1 Wh outside 0–350000 Wh",
        ),
        (
            facts(energy_wh=350_001, licensed_employee_token=True),
            SessionType.INVALID,
            "energy 350001 Wh outside",
        ),
        (
            facts(duration=timedelta(seconds=119), on_station_whitelist=True),
            SessionType.INVALID,
            "lasted 119 s, under 120 s",
        ),
        (facts(duration=timedelta(seconds=-5)), SessionType.INVALID, "lasted -5 s"),
        # Bounds are inclusive.
        (facts(energy_wh=0), SessionType.NORMAL, "public session"),
        (facts(energy_wh=350_000), SessionType.NORMAL, "public session"),
        (facts(duration=timedelta(minutes=2)), SessionType.NORMAL, "public session"),
    ],
)
def test_classify(f: SessionFacts, expected: SessionType, reason: str) -> None:
    result = classify(f)
    assert result.type is expected
    assert reason in result.reason


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (facts(energy_wh=99), SessionType.INVALID),
        (facts(energy_wh=100), SessionType.NORMAL),
        (facts(energy_wh=1000), SessionType.NORMAL),
        (facts(energy_wh=1001), SessionType.INVALID),
        (facts(energy_wh=500, duration=timedelta(seconds=9)), SessionType.INVALID),
        (facts(energy_wh=500, duration=timedelta(seconds=10)), SessionType.NORMAL),
    ],
)
def test_classify_with_platform_bounds(f: SessionFacts, expected: SessionType) -> None:
    bounds = ValidityBounds(
        min_energy_wh=100, max_energy_wh=1000, min_duration=timedelta(seconds=10)
    )
    assert classify(f, bounds).type is expected


def test_no_bounds_means_the_defaults() -> None:
    f = facts(energy_wh=350_001)
    assert classify(f) == classify(f, DEFAULT)


def test_labels() -> None:
    assert [t.label for t in SessionType] == ["Invalid", "Split billing", "Whitelist", "Normal"]


bounds_st = st.builds(
    lambda lo, span, minutes: ValidityBounds(lo, lo + span, timedelta(minutes=minutes)),
    st.integers(0, 10_000),
    st.integers(0, 500_000),
    st.integers(0, 60),
)
facts_st = st.builds(
    SessionFacts,
    token_accepted=st.booleans(),
    energy_wh=st.integers(-1000, 600_000),
    duration=st.timedeltas(min_value=timedelta(minutes=-5), max_value=timedelta(hours=30)),
    licensed_employee_token=st.booleans(),
    on_station_whitelist=st.booleans(),
)


@given(facts_st, bounds_st)
def test_classification_follows_the_fixed_order(f: SessionFacts, b: ValidityBounds) -> None:
    result = classify(f, b)
    assert isinstance(result, Classification) and result.reason
    valid = (
        f.token_accepted
        and b.min_energy_wh <= f.energy_wh <= b.max_energy_wh
        and f.duration >= b.min_duration
    )
    if not valid:
        assert result.type is SessionType.INVALID
        # The first failing check names the reason.
        if not f.token_accepted:
            assert result.reason == "token not accepted"
        elif not b.min_energy_wh <= f.energy_wh <= b.max_energy_wh:
            assert result.reason.startswith(f"energy {f.energy_wh} Wh")
        else:
            assert result.reason.startswith("lasted")
    elif f.licensed_employee_token:
        assert result.type is SessionType.SPLIT_BILLING
    elif f.on_station_whitelist:
        assert result.type is SessionType.WHITELIST
    else:
        assert result.type is SessionType.NORMAL


@given(facts_st, bounds_st)
def test_flags_never_rescue_an_invalid_session(f: SessionFacts, b: ValidityBounds) -> None:
    plain = SessionFacts(f.token_accepted, f.energy_wh, f.duration)
    if classify(plain, b).type is SessionType.INVALID:
        assert classify(f, b) == classify(plain, b)
