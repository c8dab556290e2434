from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltflow.ocpp import frames
from voltflow.ocpp.errors import (
    FormationViolation,
    NotImplementedOcpp,
    OcppError,
    ProtocolError,
    TypeConstraintViolation,
)
from voltflow.ocpp.frames import Call, CallError, CallResult, FrameError

ID36 = "x" * 36


@pytest.mark.parametrize(
    ("raw", "frame"),
    [
        ('[2,"a1","Heartbeat",{}]', Call("a1", "Heartbeat", {})),
        (
            b'[2, "a1", "Authorize", {"idTag": "04A2"}]',
            Call("a1", "Authorize", {"idTag": "04A2"}),
        ),
        (f'[2,"{ID36}","Heartbeat",{{}}]', Call(ID36, "Heartbeat", {})),
        ('[3,"a1",{"status":"Accepted"}]', CallResult("a1", {"status": "Accepted"})),
        ('[3,"a1",{}]', CallResult("a1", {})),
        (
            '[4,"a1","NotImplemented","no such action",{"cause":"x"}]',
            CallError("a1", "NotImplemented", "no such action", {"cause": "x"}),
        ),
        ('[4,"a1","GenericError",""]', CallError("a1", "GenericError", "", {})),
        ('[4,"a1","GenericError","",[]]', CallError("a1", "GenericError", "", {})),
        ('  [2,"é","Heartbeat",{}]\n', Call("é", "Heartbeat", {})),
    ],
)
def test_parse(raw: str | bytes, frame: frames.Frame) -> None:
    assert frames.parse(raw) == frame


@pytest.mark.parametrize(
    ("raw", "error", "unique_id"),
    [
        # Not JSON, or not an array: nothing to answer to.
        ("", FormationViolation, None),
        ("not json", FormationViolation, None),
        ('[2,"a1","Heartbeat",{}', FormationViolation, None),
        (b"\xff\xfe", FormationViolation, None),
        ("[2, NaN]", FormationViolation, None),
        ("{}", FormationViolation, None),
        ('{"0": 2}', FormationViolation, None),
        ("5", FormationViolation, None),
        ('"[2]"', FormationViolation, None),
        ("null", FormationViolation, None),
        ("[]", FormationViolation, None),
        # No message id we could answer to.
        ("[2]", FormationViolation, None),
        ('[2,5,"Heartbeat",{}]', FormationViolation, None),
        ('[2,null,"Heartbeat",{}]', FormationViolation, None),
        ("[9]", FormationViolation, None),
        # The id is readable: the error answers it.
        (f'[2,"{ID36}y","Heartbeat",{{}}]', FormationViolation, ID36 + "y"),
        ('[2,"a1"]', FormationViolation, "a1"),
        ('[2,"a1","Heartbeat"]', FormationViolation, "a1"),
        ('[2,"a1","Heartbeat",{},{}]', FormationViolation, "a1"),
        ('[2,"a1",7,{}]', FormationViolation, "a1"),
        ('[2,"a1","Heartbeat",[]]', FormationViolation, "a1"),
        ('[2,"a1","Heartbeat",null]', FormationViolation, "a1"),
        ('[2,"a1","Heartbeat","{}"]', FormationViolation, "a1"),
        ('[3,"a1"]', FormationViolation, "a1"),
        ('[3,"a1",[]]', FormationViolation, "a1"),
        ('[3,"a1",{},{}]', FormationViolation, "a1"),
        ('[4,"a1","GenericError"]', FormationViolation, "a1"),
        # Unknown message types.
        ('[5,"a1",{}]', ProtocolError, "a1"),
        ('[0,"a1","Heartbeat",{}]', ProtocolError, "a1"),
        ('[1,"a1","Heartbeat",{}]', ProtocolError, "a1"),
        ('["2","a1","Heartbeat",{}]', ProtocolError, "a1"),
        ('[null,"a1","Heartbeat",{}]', ProtocolError, "a1"),
    ],
)
def test_parse_errors(raw: str | bytes, error: type[OcppError], unique_id: str | None) -> None:
    with pytest.raises(FrameError) as info:
        frames.parse(raw)
    assert type(info.value.error) is error
    assert info.value.unique_id == unique_id
    assert info.value.error.description
    assert str(info.value) == info.value.error.description


def test_serializers() -> None:
    assert orjson.loads(frames.call("a1", "Reset", {"type": "Soft"})) == [
        2,
        "a1",
        "Reset",
        {"type": "Soft"},
    ]
    assert orjson.loads(frames.call_result("a1", {})) == [3, "a1", {}]
    error = TypeConstraintViolation("idTag: too long", {"field": "idTag"})
    assert orjson.loads(frames.call_error("a1", error)) == [
        4,
        "a1",
        "TypeConstraintViolation",
        "idTag: too long",
        {"field": "idTag"},
    ]


def test_call_error_without_details_has_an_empty_object() -> None:
    frame = orjson.loads(frames.call_error("-1", NotImplementedOcpp("no")))
    assert frame == [4, "-1", "NotImplemented", "no", {}]


def test_call_error_description_is_at_most_255_characters() -> None:
    frame = orjson.loads(frames.call_error("a1", FormationViolation("é" * 1000)))
    assert frame[3] == "é" * 255


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
payloads = st.dictionaries(st.text(max_size=10), json_values, max_size=5)
unique_ids = st.text(min_size=1, max_size=36)
# Generating nested JSON is the slow part; fewer examples keep the file fast.
few = settings(max_examples=40)


@few
@given(unique_ids, st.text(min_size=1, max_size=40), payloads)
def test_call_round_trips(unique_id: str, action: str, payload: dict[str, Any]) -> None:
    assert frames.parse(frames.call(unique_id, action, payload)) == Call(unique_id, action, payload)


@few
@given(unique_ids, payloads)
def test_call_result_round_trips(unique_id: str, payload: dict[str, Any]) -> None:
    assert frames.parse(frames.call_result(unique_id, payload)) == CallResult(unique_id, payload)


@few
@given(unique_ids, st.text(max_size=300), payloads)
def test_call_error_round_trips(unique_id: str, description: str, details: dict[str, Any]) -> None:
    parsed = frames.parse(frames.call_error(unique_id, ProtocolError(description, details)))
    assert parsed == CallError(unique_id, "ProtocolError", description[:255], details)


@few
@given(st.binary(max_size=64) | st.lists(json_values, max_size=6).map(orjson.dumps))
def test_parse_never_raises_anything_but_frame_errors(raw: bytes) -> None:
    error: FrameError | None = None
    try:
        frame = frames.parse(raw)
    except FrameError as err:
        error = err
    if error is None:
        assert isinstance(frame, Call | CallResult | CallError)
    else:
        assert isinstance(error.error, OcppError)
        assert error.unique_id is None or isinstance(error.unique_id, str)
