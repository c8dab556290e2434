"""OCPP-J framing: CALL ``[2, id, action, payload]``, CALLRESULT ``[3, id, payload]``,
CALLERROR ``[4, id, code, description, details]``."""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from voltflow.ocpp.errors import FormationViolation, OcppError, ProtocolError

CALL, CALLRESULT, CALLERROR = 2, 3, 4

# Frames are tuples, as on the wire: one is made for every message (a frozen dataclass costs
# several times as much to build).


class Call(NamedTuple):
    unique_id: str
    action: str
    payload: dict[str, Any]


class CallResult(NamedTuple):
    unique_id: str
    payload: dict[str, Any]


class CallError(NamedTuple):
    unique_id: str
    code: str
    description: str
    details: dict[str, Any]


Frame = Call | CallResult | CallError


class FrameError(Exception):
    """A frame we must answer with a CALLERROR; ``unique_id`` is None when the frame has none we
    could read, and then OCPP-J gives us nothing to answer to but "-1"."""

    def __init__(self, error: OcppError, unique_id: str | None) -> None:
        super().__init__(error.description)
        self.error = error
        self.unique_id = unique_id


def parse(raw: str | bytes) -> Frame:
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FrameError(FormationViolation(f"frame is not valid JSON: {exc}"), None) from exc
    if not isinstance(msg, list) or not msg:
        raise FrameError(FormationViolation("frame is not a JSON array"), None)
    message_type = msg[0]
    unique_id = msg[1] if len(msg) > 1 and isinstance(msg[1], str) else None
    if len(msg) < 2 or not isinstance(msg[1], str):
        raise FrameError(FormationViolation("frame has no string message id"), None)
    if len(unique_id or "") > 36:
        raise FrameError(FormationViolation("message id longer than 36 characters"), unique_id)
    if message_type == CALL:
        if len(msg) != 4 or not isinstance(msg[2], str):
            raise FrameError(
                FormationViolation("a CALL is [2, messageId, action, payload]"), unique_id
            )
        if not isinstance(msg[3], dict):
            raise FrameError(FormationViolation("CALL payload is not a JSON object"), unique_id)
        return Call(msg[1], msg[2], msg[3])
    if message_type == CALLRESULT:
        if len(msg) != 3 or not isinstance(msg[2], dict):
            raise FrameError(
                FormationViolation("a CALLRESULT is [3, messageId, payload]"), unique_id
            )
        return CallResult(msg[1], msg[2])
    if message_type == CALLERROR:
        if len(msg) < 4:
            raise FrameError(
                FormationViolation("a CALLERROR is [4, messageId, code, description, details]"),
                unique_id,
            )
        details = msg[4] if len(msg) > 4 and isinstance(msg[4], dict) else {}
        return CallError(msg[1], str(msg[2]), str(msg[3]), details)
    raise FrameError(ProtocolError(f"unknown message type {message_type!r}"), unique_id)


def message_type(answer: CallResult | CallError) -> int:
    """CALLRESULT or CALLERROR, as the frame's first element said."""
    return CALLRESULT if isinstance(answer, CallResult) else CALLERROR


def call(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return orjson.dumps([CALL, unique_id, action, payload]).decode()


def call_result(unique_id: str, payload: dict[str, Any]) -> str:
    return orjson.dumps([CALLRESULT, unique_id, payload]).decode()


def call_error(unique_id: str, error: OcppError) -> str:
    return orjson.dumps(
        [CALLERROR, unique_id, error.code, error.description[:255], error.details]
    ).decode()
