"""Facts the platform tells whoever listens: a session closed, a card changed, a station booted.

Each event is written to the outbox in the transaction that made it true and published after
that commits (``services.events``), in the process or over NATS JetStream. Pricing, billing,
mail, tickets and roaming start from these. An event has an id that stays the same however many
times it is delivered, so a consumer applies it once by remembering the ids it has applied.

Events are plain values with a ``kind``; :func:`encode` and :func:`decode` turn them into JSON
and back, the same on every process and version that knows the kind.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar, get_type_hints


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event as the outbox holds it and a bus carries it: what publishing needs, the event
    itself still encoded. ``seq``: its place in the outbox's order of commits."""

    seq: int
    id: str
    kind: str
    occurred_at: datetime
    payload: str

    def open(self) -> Event:
        return decode(self.kind, self.payload)


# Ids unique across processes and restarts without a random draw each (stations' traffic makes
# events many times a second): this process's random prefix, then a counter.
_PROCESS = uuid.uuid4().hex[:16]
_COUNTER = itertools.count(1)


def new_event_id() -> str:
    return f"{_PROCESS}-{next(_COUNTER):019d}"


@dataclass(frozen=True, kw_only=True)
class Event:
    """What every event has. ``occurred_at``: when the platform learned it (UTC)."""

    kind: ClassVar[str] = ""
    occurred_at: datetime
    id: str = field(default_factory=new_event_id)


# -- sessions ------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class SessionStarted(Event):
    kind: ClassVar[str] = "session.started"
    session_id: str
    station_id: str
    evse_id: int
    connector_id: int
    id_token: str
    authorization: str
    started_at: datetime
    meter_start_wh: int


@dataclass(frozen=True, kw_only=True)
class SessionClosed(Event):
    """A session ended and got its type. ``closed_by``: ``station`` (its StopTransaction) or
    ``platform`` (a later transaction on the same EVSE showed the station had lost it)."""

    kind: ClassVar[str] = "session.closed"
    session_id: str
    station_id: str
    evse_id: int
    connector_id: int
    id_token: str
    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    session_type: str
    type_reason: str | None
    stop_reason: str
    closed_by: str


@dataclass(frozen=True, kw_only=True)
class SessionCorrected(Event):
    """A closed session's facts changed: the station's own stop replaced the one the platform
    had inferred. The new values, and the ones they replace, so a consumer can adjust."""

    kind: ClassVar[str] = "session.corrected"
    session_id: str
    station_id: str
    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    session_type: str
    type_reason: str | None
    stop_reason: str
    previous_stopped_at: datetime
    previous_energy_wh: int
    previous_session_type: str
    reason: str


# -- cards -----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CardChanged(Event):
    """Cards took a step of their life (``action``: import, distribute, assign, block …)."""

    kind: ClassVar[str] = "card.changed"
    uids: tuple[str, ...]
    action: str
    states: tuple[str, ...]
    actor: str


# -- stations ------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class StationConnected(Event):
    kind: ClassVar[str] = "station.connected"
    station_id: str


@dataclass(frozen=True, kw_only=True)
class StationDisconnected(Event):
    kind: ClassVar[str] = "station.disconnected"
    station_id: str


@dataclass(frozen=True, kw_only=True)
class StationBooted(Event):
    kind: ClassVar[str] = "station.booted"
    station_id: str
    registration: str
    vendor: str
    model: str
    firmware_version: str | None
    protocol: str


@dataclass(frozen=True, kw_only=True)
class ConnectorStatusChanged(Event):
    kind: ClassVar[str] = "connector.status_changed"
    station_id: str
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None
    vendor_error_code: str | None
    info: str | None
    status_at: datetime


@dataclass(frozen=True, kw_only=True)
class FirmwareStatusChanged(Event):
    kind: ClassVar[str] = "station.firmware_status"
    station_id: str
    status: str


@dataclass(frozen=True, kw_only=True)
class DiagnosticsStatusChanged(Event):
    kind: ClassVar[str] = "station.diagnostics_status"
    station_id: str
    status: str


@dataclass(frozen=True, kw_only=True)
class CommandAnswered(Event):
    """A remote command's outcome: ``outcome`` is ``answered`` (``status`` then holds what the
    station said, when its answer has one) or why there was no answer (offline, timeout …)."""

    kind: ClassVar[str] = "command.answered"
    station_id: str
    action: str
    outcome: str
    status: str | None
    actor: str | None


KINDS: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        SessionStarted,
        SessionClosed,
        SessionCorrected,
        CardChanged,
        StationConnected,
        StationDisconnected,
        StationBooted,
        ConnectorStatusChanged,
        FirmwareStatusChanged,
        DiagnosticsStatusChanged,
        CommandAnswered,
    )
}

E = TypeVar("E", bound=Event)


class UnknownEvent(ValueError):
    pass


def encode(event: Event) -> str:
    """The event as JSON: its fields, with times in ISO 8601 UTC and amounts as text."""
    names = _NAMES.get(type(event))
    if names is None:
        names = _NAMES[type(event)] = tuple(sorted(f.name for f in dataclasses.fields(event)))
    return _ENCODER.encode({name: _plain(getattr(event, name)) for name in names})


_NAMES: dict[type[Event], tuple[str, ...]] = {}
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def decode(kind: str, text: str) -> Event:
    """The event :func:`encode` wrote. Fields a newer version added are ignored; a kind this
    version does not know raises :class:`UnknownEvent`."""
    cls = KINDS.get(kind)
    if cls is None:
        raise UnknownEvent(kind)
    data = json.loads(text)
    values = {}
    for name, convert in _converters(cls):
        if name in data:
            value = data[name]
            values[name] = value if value is None or convert is None else convert(value)
    return cls(**values)


# Per kind, each field and what turns its JSON back into its type (None: as it is), worked out
# once: the stations' traffic decodes events many times a second.
_CONVERTERS: dict[type[Event], tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}


def _converters(cls: type[Event]) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    found = _CONVERTERS.get(cls)
    if found is None:
        every = get_type_hints(cls)
        found = _CONVERTERS[cls] = tuple(
            (f.name, _converter(every[f.name])) for f in dataclasses.fields(cls)
        )
    return found


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    text = str(hint)
    if "datetime" in text:
        return datetime.fromisoformat
    if "Decimal" in text:
        return Decimal
    if "tuple" in text:
        return tuple
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def station_session_ids(events: Sequence[Event]) -> list[int]:
    """The station sessions that these closes and corrections name, once each, in order. An
    imported device's session closes too (its reference is ``device-<id>``): it has no meter
    values to cut into periods and is priced at import, so consumers of station sessions
    leave it out."""
    return list(
        dict.fromkeys(
            int(e.session_id)
            for e in events
            if isinstance(e, SessionClosed | SessionCorrected) and e.session_id.isdigit()
        )
    )
