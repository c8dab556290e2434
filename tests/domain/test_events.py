"""Events read back exactly as they were written, whatever the kind."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from voltflow.domain.events import KINDS, Envelope, Event, UnknownEvent, decode, encode

AT = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
SAMPLE: dict[str, Any] = {
    "str": "CP-1",
    "int": 3667,
    "datetime": AT,
    "tuple": ("A0000001", "A0000002"),
}


def _example(cls: type[Event]) -> Event:
    values: dict[str, Any] = {"occurred_at": AT}
    for field in dataclasses.fields(cls):
        if field.name in ("occurred_at", "id"):
            continue
        hint = str(field.type)
        kind = next(k for k in ("datetime", "tuple", "int", "str") if k in hint)
        values[field.name] = SAMPLE[kind]
    return cls(**values)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_reads_back_equal(kind: str) -> None:
    event = _example(KINDS[kind])
    text = encode(event)
    assert decode(kind, text) == event
    assert Envelope(1, event.id, kind, AT, text).open() == event


def test_an_unknown_kind_is_refused_and_unknown_fields_are_ignored() -> None:
    with pytest.raises(UnknownEvent):
        decode("session.teleported", "{}")
    event = _example(KINDS["station.connected"])
    newer = encode(event)[:-1] + ',"added_later":1}'
    assert decode("station.connected", newer) == event


def test_ids_differ_and_times_are_utc() -> None:
    a, b = _example(KINDS["station.connected"]), _example(KINDS["station.connected"])
    assert a.id != b.id
    assert '"occurred_at":"2026-03-29T00:30:00+00:00"' in encode(a)
