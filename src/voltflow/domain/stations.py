"""Stations, their EVSEs and connectors, and what a station may report about them.

The model follows OCPP 2.0.1 (station → EVSE → connector). An OCPP 1.6 ``connectorId`` n maps to
EVSE n with connector 1; ``connectorId`` 0 is the station itself (EVSE 0).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class Registration(enum.StrEnum):
    """Whether a station may operate: accepted, or waiting for an operator to claim it."""

    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class ConnectorStatus(enum.StrEnum):
    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EVSE = "SuspendedEVSE"
    SUSPENDED_EV = "SuspendedEV"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"
    OCCUPIED = "Occupied"  # OCPP 2.0.1


NO_ERROR = "NoError"


@dataclass(frozen=True, slots=True)
class ConnectorRef:
    evse_id: int
    connector_id: int

    @classmethod
    def from_ocpp16(cls, connector_id: int) -> ConnectorRef:
        ref = _OCPP16_REFS.get(connector_id)
        if ref is not None:
            return ref
        if connector_id < 0:
            raise ValueError(f"connectorId {connector_id} is negative")
        if connector_id == 0:
            return cls(evse_id=0, connector_id=0)
        return cls(evse_id=connector_id, connector_id=1)

    def to_ocpp16(self) -> int:
        return self.evse_id


# The usual connectors, built once: nearly every station message names one.
_OCPP16_REFS: dict[int, ConnectorRef] = {}
_OCPP16_REFS.update((n, ConnectorRef.from_ocpp16(n)) for n in range(0, 33))


def is_online(last_seen: datetime | None, now: datetime, heartbeat_interval: int) -> bool:
    """A station counts as online while it has been heard from within two heartbeat intervals.

    The socket being open is the primary signal; this covers stations whose socket we hold in
    another process, and half-open TCP connections that have not been noticed yet.
    """
    if last_seen is None:
        return False
    return now - last_seen <= timedelta(seconds=2 * heartbeat_interval + 30)


def is_fault(status: ConnectorStatus | str, error_code: str | None) -> bool:
    return status == ConnectorStatus.FAULTED or (error_code not in (None, "", NO_ERROR))
