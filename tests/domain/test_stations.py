from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.stations import (
    NO_ERROR,
    ConnectorRef,
    ConnectorStatus,
    Registration,
    is_fault,
    is_online,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ocpp16", "ref"),
    [(0, ConnectorRef(0, 0)), (1, ConnectorRef(1, 1)), (2, ConnectorRef(2, 1))],
)
def test_connector_ref_from_ocpp16(ocpp16: int, ref: ConnectorRef) -> None:
    assert ConnectorRef.from_ocpp16(ocpp16) == ref
    assert ref.to_ocpp16() == ocpp16


@given(st.integers(0, 10_000))
def test_connector_ref_round_trips(connector_id: int) -> None:
    ref = ConnectorRef.from_ocpp16(connector_id)
    assert ref.to_ocpp16() == connector_id
    assert ref.connector_id == (0 if connector_id == 0 else 1)


@given(st.integers(max_value=-1))
def test_negative_connector_ids_do_not_exist(connector_id: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        ConnectorRef.from_ocpp16(connector_id)


@pytest.mark.parametrize(
    ("last_seen", "interval", "online"),
    [
        (None, 300, False),
        (NOW, 300, True),
        (NOW - timedelta(seconds=630), 300, True),  # 2 × 300 + 30: still online
        (NOW - timedelta(seconds=630, microseconds=1), 300, False),
        (NOW - timedelta(seconds=90), 30, True),
        (NOW - timedelta(seconds=91), 30, False),
        (NOW + timedelta(seconds=5), 300, True),  # a station clock a little ahead
    ],
)
def test_is_online(last_seen: datetime | None, interval: int, online: bool) -> None:
    assert is_online(last_seen, NOW, interval) is online


@given(st.integers(0, 10**6), st.integers(1, 3600), st.integers(0, 10**6))
def test_is_online_is_monotonic(age: int, interval: int, extra: int) -> None:
    seen = NOW - timedelta(seconds=age)
    if not is_online(seen, NOW, interval):
        assert not is_online(seen - timedelta(seconds=extra), NOW, interval)
    if is_online(seen, NOW, interval):
        assert is_online(seen, NOW, interval + extra)


@pytest.mark.parametrize(
    ("status", "error_code", "fault"),
    [
        (ConnectorStatus.AVAILABLE, NO_ERROR, False),
        (ConnectorStatus.AVAILABLE, None, False),
        (ConnectorStatus.AVAILABLE, "", False),
        ("Charging", "NoError", False),
        (ConnectorStatus.FAULTED, NO_ERROR, True),
        ("Faulted", None, True),
        (ConnectorStatus.AVAILABLE, "GroundFailure", True),
        ("Charging", "WeakSignal", True),
    ],
)
def test_is_fault(status: ConnectorStatus | str, error_code: str | None, fault: bool) -> None:
    assert is_fault(status, error_code) is fault


def test_vocabularies_are_ocpps() -> None:
    assert [r.value for r in Registration] == ["Accepted", "Pending", "Rejected"]
    ocpp16 = {
        "Available",
        "Preparing",
        "Charging",
        "SuspendedEVSE",
        "SuspendedEV",
        "Finishing",
        "Reserved",
        "Unavailable",
        "Faulted",
    }
    assert ocpp16 <= {s.value for s in ConnectorStatus}
