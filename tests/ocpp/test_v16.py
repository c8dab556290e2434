"""The OCPP 1.6 adapter's pure parts: times, samples, connectors, what a station may send."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from voltflow.domain.sessions import ENERGY_REGISTER
from voltflow.domain.stations import ConnectorRef, Registration
from voltflow.ocpp.errors import (
    NotImplementedOcpp,
    NotSupported,
    PropertyConstraintViolation,
    SecurityError,
)
from voltflow.ocpp.protocol import TRIGGERED_FOR, StationContext
from voltflow.ocpp.v16.actions import PENDING_ACTIONS, STATION_ACTIONS
from voltflow.ocpp.v16.handlers import HANDLERS, handler_for
from voltflow.ocpp.v16.payloads import parse_connector, parse_samples, parse_time

T = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("2025-03-01T12:00:00Z", T),
        ("2025-03-01T12:00:00.000Z", T),
        ("2025-03-01T12:00:00+00:00", T),
        ("2025-03-01T14:00:00+02:00", T),
        ("2025-03-01T07:00:00-05:00", T),
        ("2025-03-01T12:00:00", T),  # no offset: OCPP timestamps are UTC
        ("2025-03-01T12:00:00.123456Z", T + timedelta(microseconds=123456)),
    ],
)
def test_parse_time(raw: str, parsed: datetime) -> None:
    ts = parse_time(raw, "timestamp")
    assert ts == parsed
    assert ts.tzinfo is UTC


@pytest.mark.parametrize("raw", ["", "yesterday", "2025-13-01T00:00:00Z", "12:00", None, 5])
def test_parse_time_refuses(raw: Any) -> None:
    with pytest.raises(PropertyConstraintViolation) as info:
        parse_time(raw, "meterValue.0.timestamp")
    assert info.value.details == {"field": "meterValue.0.timestamp"}


def test_parse_samples() -> None:
    samples, signed = parse_samples(
        [
            {
                "timestamp": "2025-03-01T14:00:00+02:00",
                "sampledValue": [
                    {"value": "1.5", "unit": "kWh"},
                    {"value": "230", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
                ],
            },
            {"timestamp": "2025-03-01T12:15:00Z", "sampledValue": [{"value": "2500"}]},
        ]
    )
    assert [(s.timestamp, s.measurand, s.value, s.unit, s.phase) for s in samples] == [
        (T, ENERGY_REGISTER, Decimal(1500), "Wh", None),
        (T, "Voltage", Decimal(230), "V", "L1-N"),
        (T + timedelta(minutes=15), ENERGY_REGISTER, Decimal(2500), "Wh", None),
    ]
    assert signed == []


def test_signed_data_is_kept_as_received_beside_the_numbers() -> None:
    block = "4F434D467C7B7D7C7B7D"  # any text: what it holds is read later, never refused here
    samples, signed = parse_samples(
        [
            {
                "timestamp": "2025-03-01T12:00:00Z",
                "sampledValue": [
                    {"value": "1500", "format": "Raw", "context": "Transaction.Begin"},
                    {"value": block, "format": "SignedData", "context": "Transaction.Begin"},
                    {"value": "not a number either", "format": "SignedData", "unit": "Wh"},
                ],
            }
        ],
        "transactionData",
    )
    assert [(s.value, s.context) for s in samples] == [(Decimal(1500), "Transaction.Begin")]
    assert [(s.timestamp, s.measurand, s.context, s.data, s.unit) for s in signed] == [
        (T, ENERGY_REGISTER, "Transaction.Begin", block, None),
        (T, ENERGY_REGISTER, None, "not a number either", "Wh"),
    ]


@pytest.mark.parametrize(
    ("field", "meter_value", "where"),
    [
        (
            "meterValue",
            [{"timestamp": "now", "sampledValue": [{"value": "1"}]}],
            "meterValue.0.timestamp",
        ),
        (
            "transactionData",
            [
                {"timestamp": "2025-03-01T12:00:00Z", "sampledValue": [{"value": "1"}]},
                {
                    "timestamp": "2025-03-01T12:00:00Z",
                    "sampledValue": [{"value": "1"}, {"value": "x"}],
                },
            ],
            "transactionData.1.sampledValue.1.value",
        ),
        (
            "meterValue",
            [
                {
                    "timestamp": "2025-03-01T12:00:00Z",
                    "sampledValue": [
                        {"value": "OCMF|{}|{}", "format": "SignedData"},
                        {"value": "4F434D467C7B7D7C7B7D", "format": "Raw"},
                    ],
                }
            ],
            "meterValue.0.sampledValue.1.value",
        ),
    ],
)
def test_parse_samples_names_the_bad_field(
    field: str, meter_value: list[dict[str, Any]], where: str
) -> None:
    with pytest.raises(PropertyConstraintViolation) as info:
        parse_samples(meter_value, field)
    assert info.value.details == {"field": where}
    assert info.value.description.startswith(where)


@pytest.mark.parametrize(
    ("value", "whole_station", "ref"),
    [
        (0, True, ConnectorRef(0, 0)),
        (1, True, ConnectorRef(1, 1)),
        (3, False, ConnectorRef(3, 1)),
    ],
)
def test_parse_connector(value: int, whole_station: bool, ref: ConnectorRef) -> None:
    assert parse_connector(value, whole_station=whole_station) == ref


@pytest.mark.parametrize(("value", "whole_station"), [(-1, True), (-7, False), (0, False)])
def test_parse_connector_refuses(value: int, whole_station: bool) -> None:
    with pytest.raises(PropertyConstraintViolation) as info:
        parse_connector(value, whole_station=whole_station)
    assert info.value.details == {"field": "connectorId"}


def test_the_station_sends_what_has_a_handler() -> None:
    assert set(HANDLERS) == STATION_ACTIONS
    assert PENDING_ACTIONS <= STATION_ACTIONS


@pytest.mark.parametrize("action", sorted(STATION_ACTIONS))
def test_an_accepted_station_may_send_its_actions(action: str) -> None:
    ctx = StationContext("CP-1", Registration.ACCEPTED, lenient=False)
    assert handler_for(action, ctx) is HANDLERS[action]


@pytest.mark.parametrize("action", ["Reset", "RemoteStartTransaction", "GetConfiguration"])
def test_central_system_actions_are_not_supported(action: str) -> None:
    ctx = StationContext("CP-1", Registration.ACCEPTED, lenient=False)
    with pytest.raises(NotSupported):
        handler_for(action, ctx)


@pytest.mark.parametrize("registration", [Registration.PENDING, Registration.REJECTED])
@pytest.mark.parametrize("action", sorted(STATION_ACTIONS))
def test_an_unclaimed_station_may_only_boot(registration: Registration, action: str) -> None:
    ctx = StationContext("CP-1", registration, lenient=False)
    if action in PENDING_ACTIONS:
        assert handler_for(action, ctx) is HANDLERS[action]
    else:
        with pytest.raises(SecurityError, match=registration.value):
            handler_for(action, ctx)


def test_pending_stations_may_boot_and_keep_their_connection_alive() -> None:
    assert {"BootNotification", "Heartbeat"} <= PENDING_ACTIONS


def test_a_pending_station_may_send_what_a_trigger_asked_for_for_a_while() -> None:
    ctx = StationContext("CP-1", Registration.PENDING, lenient=False)
    ctx.permit("StatusNotification", T)
    for at in (T, T + TRIGGERED_FOR):
        assert handler_for("StatusNotification", ctx, at) is HANDLERS["StatusNotification"]
    with pytest.raises(SecurityError):
        handler_for("StatusNotification", ctx, T + TRIGGERED_FOR + timedelta(seconds=1))
    with pytest.raises(SecurityError):
        handler_for("MeterValues", ctx, T)
    with pytest.raises(SecurityError):  # no time given, no permission applies
        handler_for("StatusNotification", ctx)


def test_parse_time_handles_offsets_off_the_hour() -> None:
    odd = timezone(timedelta(hours=5, minutes=45))  # Nepal
    assert parse_time(T.astimezone(odd).isoformat(), "t") == T


@pytest.mark.parametrize("action", ["HeartbeatResponse", "Reboot", ""])
def test_what_is_no_ocpp16_action_is_not_implemented(action: str) -> None:
    ctx = StationContext("CP-1", Registration.ACCEPTED, lenient=False)
    with pytest.raises(NotImplementedOcpp):
        handler_for(action, ctx)
