from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltflow.ocpp.errors import (
    FormationViolation,
    NotImplementedOcpp,
    OccurenceConstraintViolation,
    OcppError,
    PropertyConstraintViolation,
    ProtocolError,
    TypeConstraintViolation,
)
from voltflow.ocpp.v16.actions import DEFAULT_PAYLOADS, STATION_ACTIONS, RemoteAction
from voltflow.ocpp.validation import (
    LENIENT_RULES,
    SchemaSet,
    _to_ocpp_error,
    schemas,
)

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "Wallbox"}
STATUS = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
TS = "2025-03-01T12:00:00Z"


def meter_values(**sampled: Any) -> dict[str, Any]:
    return {
        "connectorId": 1,
        "meterValue": [{"timestamp": TS, "sampledValue": [{"value": "1", **sampled}]}],
    }


def late(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with a timestamp that breaks only the date-time format."""
    payload["meterValue"][0]["timestamp"] = "yesterday"
    return payload


@pytest.fixture(scope="module")
def v16() -> SchemaSet:
    return schemas("1.6")


def test_schema_sets_are_shared() -> None:
    assert schemas("1.6") is schemas()


@pytest.mark.parametrize(
    ("action", "payload", "error", "field", "rule"),
    [
        # Issue mapping: type and length → TypeConstraintViolation, missing → ProtocolError,
        # additional property → FormationViolation, bad values → PropertyConstraintViolation.
        (
            "BootNotification",
            {**BOOT, "chargePointVendor": 5},
            TypeConstraintViolation,
            "chargePointVendor",
            "type",
        ),
        (
            "StatusNotification",
            {**STATUS, "connectorId": "1"},
            TypeConstraintViolation,
            "connectorId",
            "type",
        ),
        (
            "StatusNotification",
            {**STATUS, "connectorId": 1.5},
            TypeConstraintViolation,
            "connectorId",
            "type",
        ),
        (
            "StatusNotification",
            {**STATUS, "connectorId": True},
            TypeConstraintViolation,
            "connectorId",
            "type",
        ),
        (
            "BootNotification",
            {**BOOT, "chargePointSerialNumber": "s" * 26},
            TypeConstraintViolation,
            "chargePointSerialNumber",
            "maxLength",
        ),
        ("Authorize", {"idTag": "T" * 21}, TypeConstraintViolation, "idTag", "maxLength"),
        ("BootNotification", {"chargePointVendor": "Acme"}, ProtocolError, "", "required"),
        (
            "StartTransaction",
            {"connectorId": 1, "idTag": "A", "meterStart": 0},
            ProtocolError,
            "",
            "required",
        ),
        (
            "BootNotification",
            {**BOOT, "colour": "red"},
            FormationViolation,
            "",
            "additionalProperties",
        ),
        (
            "StatusNotification",
            {**STATUS, "status": "Sleeping"},
            PropertyConstraintViolation,
            "status",
            "enum",
        ),
        (
            "StatusNotification",
            {**STATUS, "timestamp": "yesterday"},
            PropertyConstraintViolation,
            "timestamp",
            "format",
        ),
        (
            "MeterValues",
            meter_values(unit="MWh"),
            PropertyConstraintViolation,
            "meterValue.0.sampledValue.0.unit",
            "enum",
        ),
        (
            "MeterValues",
            {"connectorId": 1, "meterValue": []},
            OccurenceConstraintViolation,
            "meterValue",
            "minItems",
        ),
        (
            "MeterValues",
            {"connectorId": 1, "meterValue": [{"timestamp": TS, "sampledValue": []}]},
            OccurenceConstraintViolation,
            "meterValue.0.sampledValue",
            "minItems",
        ),
    ],
)
def test_violations_map_to_ocpp_errors(
    v16: SchemaSet,
    action: str,
    payload: dict[str, Any],
    error: type[OcppError],
    field: str,
    rule: str,
) -> None:
    with pytest.raises(OcppError) as info:
        v16.validate(action, payload)
    assert type(info.value) is error
    assert info.value.details == {"field": field, "rule": rule}
    assert info.value.description.startswith(field or "payload")


@pytest.mark.parametrize(
    ("schema", "value", "error"),
    [
        ({"type": "integer", "minimum": 0}, -1, PropertyConstraintViolation),
        ({"type": "integer", "maximum": 5}, 6, PropertyConstraintViolation),
        ({"type": "number", "multipleOf": 0.5}, 0.3, PropertyConstraintViolation),
        ({"type": "array", "maxItems": 1}, [1, 2], OccurenceConstraintViolation),
        ({"type": "array", "minItems": 1}, [], OccurenceConstraintViolation),
        ({"type": "string", "pattern": "^a$"}, "b", FormationViolation),  # unmapped rule
    ],
)
def test_rules_outside_the_ocpp16_schemas(schema: dict[str, Any], value: Any, error: type) -> None:
    validate = fastjsonschema.compile({"type": "object", "properties": {"f": schema}})
    with pytest.raises(fastjsonschema.JsonSchemaValueException) as info:
        validate({"f": value})
    mapped = _to_ocpp_error(info.value)
    assert type(mapped) is error
    assert mapped.details["field"] == "f"


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("BootNotification", BOOT),
        ("BootNotification", {**BOOT, "chargePointSerialNumber": "s" * 25}),
        ("Heartbeat", {}),
        ("StatusNotification", {**STATUS, "timestamp": "2025-03-01T12:00:00.123+02:00"}),
        ("MeterValues", meter_values(unit="kWh", format="Raw", measurand="Voltage")),
        ("ResetResponse", {"status": "Accepted"}),
        ("GetConfigurationResponse", {}),
    ],
)
def test_valid_payloads_pass(v16: SchemaSet, action: str, payload: dict[str, Any]) -> None:
    assert v16.validate(action, payload) == []
    assert v16.validate(action, payload, lenient=True) == []


@pytest.mark.parametrize(
    "action",
    ["Reboot", "heartbeat", "", "BootNotificationRequest", "FooResponse", "../v201/schemas/x"],
)
def test_unknown_actions_are_not_implemented(v16: SchemaSet, action: str) -> None:
    with pytest.raises(NotImplementedOcpp, match=r"not part of OCPP 1\.6"):
        v16.validate(action, {})


@pytest.mark.parametrize(
    ("action", "payload", "rule", "mentions"),
    [
        (
            "BootNotification",
            {**BOOT, "chargePointSerialNumber": "s" * 30},
            "maxLength",
            "chargePointSerialNumber",
        ),
        ("BootNotification", {**BOOT, "colour": "red"}, "additionalProperties", "colour"),
        ("StatusNotification", {**STATUS, "timestamp": "yesterday"}, "format", "timestamp"),
        ("MeterValues", meter_values(extra=1), "additionalProperties", "extra"),
    ],
)
def test_lenient_returns_known_deviations(
    v16: SchemaSet, action: str, payload: dict[str, Any], rule: str, mentions: str
) -> None:
    with pytest.raises(OcppError):
        v16.validate(action, payload)
    deviations = v16.validate(action, payload, lenient=True)
    assert [d.rule for d in deviations] == [rule]
    assert mentions in deviations[0].message
    # The lenient validator does not leak into strict validation.
    with pytest.raises(OcppError):
        v16.validate(action, payload)


@pytest.mark.parametrize(
    ("action", "payload", "error"),
    [
        # Not deviations we tolerate: still errors for a lenient station.
        ("StatusNotification", {**STATUS, "status": "Sleeping"}, PropertyConstraintViolation),
        ("BootNotification", {"chargePointVendor": "Acme"}, ProtocolError),
        ("BootNotification", {**BOOT, "chargePointModel": 5}, TypeConstraintViolation),
        # A tolerated deviation does not hide another violation in the same payload.
        ("BootNotification", {"chargePointVendor": "A" * 30}, ProtocolError),
        (
            "StatusNotification",
            {**STATUS, "info": "i" * 60, "status": "Sleeping"},
            PropertyConstraintViolation,
        ),
        # SampledValue has a *property* named "format": relaxing the "format" keyword must not
        # drop it. (The bad timestamp is validated first, so the tolerated deviation is the
        # first error seen and the relaxed schema decides.)
        ("MeterValues", late(meter_values(format="Bogus")), PropertyConstraintViolation),
        ("MeterValues", late(meter_values(format=7)), TypeConstraintViolation),
    ],
)
def test_lenient_still_refuses_other_violations(
    v16: SchemaSet, action: str, payload: dict[str, Any], error: type[OcppError]
) -> None:
    with pytest.raises(OcppError) as info:
        v16.validate(action, payload, lenient=True)
    assert type(info.value) is error


def test_lenient_rules_are_the_documented_ones() -> None:
    assert frozenset({"maxLength", "additionalProperties", "format"}) == LENIENT_RULES


def test_station_actions_and_remote_actions_are_ocpp16_actions(v16: SchemaSet) -> None:
    assert set(STATION_ACTIONS) <= v16.actions
    assert {a.value for a in RemoteAction} <= v16.actions
    assert not STATION_ACTIONS & {a.value for a in RemoteAction} - {"DataTransfer"}
    assert not any(a.endswith("Response") for a in v16.actions)


@pytest.mark.parametrize("action", sorted(DEFAULT_PAYLOADS), ids=str)
def test_default_command_payloads_are_valid(v16: SchemaSet, action: RemoteAction) -> None:
    assert v16.validate(action.value, DEFAULT_PAYLOADS[action]) == []


# -- the fast check never lets through what the full one refuses ------------------------------

STATION_EXAMPLES: dict[str, dict[str, Any]] = {
    "BootNotification": {**BOOT, "firmwareVersion": "1.2.3", "iccid": "8932"},
    "Heartbeat": {},
    "StatusNotification": {**STATUS, "timestamp": TS, "info": "ok", "vendorErrorCode": "E1"},
    "Authorize": {"idTag": "04A2BC11"},
    "StartTransaction": {"connectorId": 1, "idTag": "04A2BC11", "meterStart": 0, "timestamp": TS},
    "StopTransaction": {
        "transactionId": 7,
        "meterStop": 1500,
        "timestamp": TS,
        "reason": "Local",
        "transactionData": meter_values()["meterValue"],
    },
    "MeterValues": meter_values(unit="kWh", measurand="Energy.Active.Import.Register"),
    "DataTransfer": {"vendorId": "Acme", "messageId": "x", "data": "{}"},
    "DiagnosticsStatusNotification": {"status": "Uploaded"},
    "FirmwareStatusNotification": {"status": "Installed"},
}
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from([TS, "2025-03-01T12:00:00", "2025-13-01T00:00:00Z", "Wh", "kWh", "Raw"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``value``'s dicts and lists, the value itself first."""
    found = [path]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += _places(sub, (*path, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            found += _places(sub, (*path, i))
    return found


def _with(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _with(value[head], rest, new)}
    return [_with(v, rest, new) if i == head else v for i, v in enumerate(value)]


def test_valid_station_messages_take_the_fast_check(v16: SchemaSet) -> None:
    assert set(STATION_EXAMPLES) == STATION_ACTIONS
    for action, payload in STATION_EXAMPLES.items():
        fast = v16._fast_check(action)
        assert fast is not None and fast(payload), action


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_fast_check_accepts_nothing_the_full_one_refuses(v16: SchemaSet, data: Any) -> None:
    action = data.draw(st.sampled_from(sorted(STATION_EXAMPLES)))
    example = STATION_EXAMPLES[action]
    path = data.draw(st.sampled_from(_places(example)))
    extra = data.draw(st.one_of(st.just(None), st.text(min_size=1, max_size=8)))
    new = data.draw(json_values)
    payload = _with(example, path, new)
    if extra is not None and isinstance(payload, dict):
        payload = {**payload, extra: new}
    fast = v16._fast_check(action)
    assert fast is not None
    try:
        fast_says_valid = fast(payload)
    except (ValueError, TypeError, OverflowError):
        fast_says_valid = False
    if fast_says_valid:
        full = v16._validator(action, lenient=False)
        full(payload)  # raises if the full check refuses it
