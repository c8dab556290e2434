"""What the platform asks of a station, whatever the protocol version calls it.

Each OCPP version names its own actions and shapes its own payloads (``voltflow.ocpp.v16``); the
platform speaks of a command's kind, and builds the few commands it sends itself from the values
below, which address an EVSE and a connector as the station model does (``stations``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from voltflow.domain.authorization import IdToken
from voltflow.domain.stations import ConnectorRef, Registration


class CommandKind(enum.StrEnum):
    """What a remote command does."""

    RESET = "reset"
    REMOTE_START = "remote-start"
    REMOTE_STOP = "remote-stop"
    UNLOCK = "unlock"
    CHANGE_AVAILABILITY = "change-availability"
    GET_SETTINGS = "get-settings"
    CHANGE_SETTING = "change-setting"
    TRIGGER_MESSAGE = "trigger-message"
    UPDATE_FIRMWARE = "update-firmware"
    GET_LOG = "get-log"
    CLEAR_CACHE = "clear-cache"
    GET_LIST_VERSION = "get-list-version"
    SEND_LIST = "send-list"
    DATA_TRANSFER = "data-transfer"


# What a station must not be sent while its registration is Pending (OCPP 1.6 §4.2, 2.0.1 B02):
# it may be configured and asked about itself, but it charges only once an operator has accepted
# it.
NOT_WHILE_PENDING = frozenset({CommandKind.REMOTE_START, CommandKind.REMOTE_STOP})


def allowed_for(kind: CommandKind, registration: Registration) -> bool:
    """Whether a station with this registration may be sent a command of this kind."""
    return registration is Registration.ACCEPTED or kind not in NOT_WHILE_PENDING


@dataclass(frozen=True, slots=True)
class RemoteStart:
    """Start charging for ``token``, on ``evse`` or wherever the station chooses."""

    token: IdToken
    evse: ConnectorRef | None = None


@dataclass(frozen=True, slots=True)
class RemoteStop:
    transaction_id: str


@dataclass(frozen=True, slots=True)
class Reset:
    hard: bool = False


@dataclass(frozen=True, slots=True)
class Unlock:
    connector: ConnectorRef


Command = RemoteStart | RemoteStop | Reset | Unlock
