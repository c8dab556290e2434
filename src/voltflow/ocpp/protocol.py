"""What every OCPP version module gives the server, and what a connection knows of its station.

The server speaks OCPP-J (frames, the WebSocket, the message log) and nothing of any version:
what a station's CALLs mean, how they are checked, and what our commands are called comes from
the :class:`OcppVersion` its connection negotiated (``versions``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from voltflow.domain.stations import Registration
from voltflow.ocpp.validation import SchemaSet
from voltflow.services.ports import ProtocolCatalogue
from voltflow.services.station_events import StationEvents

Payload = dict[str, Any]
Handler = Callable[[StationEvents, "StationContext", Payload], Awaitable[Payload]]

# How long a Pending station may send what a TriggerMessage asked for, once it accepted it:
# a status or meter values without a connector come once for each of its connectors.
TRIGGERED_FOR = timedelta(seconds=60)


class StationContext:
    """What one connection knows about its station; kept small, there are thousands."""

    __slots__ = ("lenient", "registration", "station_id", "triggered")

    def __init__(self, station_id: str, registration: Registration, lenient: bool) -> None:
        self.station_id = station_id
        self.registration = registration
        self.lenient = lenient
        # What TriggerMessages the station accepted asked for while it was not accepted itself,
        # and until when it may send it.
        self.triggered: dict[str, datetime] | None = None

    def permit(self, action: str, now: datetime) -> None:
        """The station accepted a TriggerMessage for ``action``: while it is Pending, it may
        send that for ``TRIGGERED_FOR`` (OCPP 1.6 §4.2)."""
        if self.triggered is None:
            self.triggered = {}
        self.triggered[action] = now + TRIGGERED_FOR

    def was_asked_for(self, action: str, now: datetime) -> bool:
        until = self.triggered.get(action) if self.triggered is not None else None
        return until is not None and now <= until


@dataclass(frozen=True, slots=True, eq=False)
class OcppVersion:
    """One OCPP version, as the server uses it: a package beside ``v16`` fills one in."""

    # As stored with a station ("1.6"), and the WebSocket subprotocol that selects it.
    name: str
    subprotocol: str
    schemas: SchemaSet
    catalogue: ProtocolCatalogue
    # The handler of a station's CALL, or the OcppError it is answered with (received at ``now``).
    handler_for: Callable[[str, StationContext, datetime | None], Handler]
    # Whether a message dates what it reports: the same frame again on a later connection is
    # then the same report sent again.
    says_when: Callable[[str, Payload], bool]
    # Told of the station's answer to one of our calls, as it arrives (before the caller hears):
    # the call's action and payload, and whether the answer is a CALLRESULT's payload.
    answered: Callable[[StationContext, str, Payload, Payload | None, datetime], None]
    # The payload of one of our calls as the message log keeps it, when it must not be kept as
    # sent (a station's new key); None to keep it as sent.
    loggable: Callable[[str, Payload], Payload | None]
