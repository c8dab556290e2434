"""The remote actions an operator may send to a station (OCPP 1.6, CSMS → station), and the
actions a station sends."""

from __future__ import annotations

import enum

from voltflow.domain.stations import Registration

# What the station may send us. Everything else in OCPP 1.6 flows the other way (DataTransfer
# both ways).
STATION_ACTIONS = frozenset(
    {
        "BootNotification",
        "Heartbeat",
        "StatusNotification",
        "Authorize",
        "StartTransaction",
        "StopTransaction",
        "MeterValues",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
    }
)


class RemoteAction(enum.StrEnum):
    RESET = "Reset"
    REMOTE_START_TRANSACTION = "RemoteStartTransaction"
    REMOTE_STOP_TRANSACTION = "RemoteStopTransaction"
    UNLOCK_CONNECTOR = "UnlockConnector"
    CHANGE_AVAILABILITY = "ChangeAvailability"
    GET_CONFIGURATION = "GetConfiguration"
    CHANGE_CONFIGURATION = "ChangeConfiguration"
    TRIGGER_MESSAGE = "TriggerMessage"
    UPDATE_FIRMWARE = "UpdateFirmware"
    GET_DIAGNOSTICS = "GetDiagnostics"
    CLEAR_CACHE = "ClearCache"
    GET_LOCAL_LIST_VERSION = "GetLocalListVersion"
    SEND_LOCAL_LIST = "SendLocalList"
    DATA_TRANSFER = "DataTransfer"

    @classmethod
    def parse(cls, name: str) -> RemoteAction:
        for action in cls:
            if action.value.lower() == name.lower():
                return action
        known = ", ".join(a.value for a in cls)
        raise ValueError(f"unknown remote action {name!r}; known: {known}")


# Payloads the console's buttons send when the operator gives none.
DEFAULT_PAYLOADS: dict[RemoteAction, dict[str, object]] = {
    RemoteAction.RESET: {"type": "Soft"},
    RemoteAction.GET_CONFIGURATION: {},
    RemoteAction.CLEAR_CACHE: {},
    RemoteAction.GET_LOCAL_LIST_VERSION: {},
    RemoteAction.TRIGGER_MESSAGE: {"requestedMessage": "StatusNotification"},
    RemoteAction.UNLOCK_CONNECTOR: {"connectorId": 1},
    RemoteAction.CHANGE_AVAILABILITY: {"connectorId": 0, "type": "Operative"},
}


# What a station must not be sent while its registration is Pending (OCPP 1.6 §4.2): it may be
# configured and asked about itself, but it charges only once an operator has accepted it.
NOT_WHILE_PENDING = frozenset(
    {RemoteAction.REMOTE_START_TRANSACTION, RemoteAction.REMOTE_STOP_TRANSACTION}
)


def allowed_for(action: RemoteAction, registration: Registration) -> bool:
    """Whether a station with this registration may be sent the action."""
    return registration is Registration.ACCEPTED or action not in NOT_WHILE_PENDING
