"""OCPP 1.6's actions: what a station sends, what the platform sends it, and the catalogue that
tells the services how the platform's commands read in 1.6."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from voltflow.domain.commands import (
    Command,
    CommandKind,
    RemoteStart,
    RemoteStop,
    Reset,
    Unlock,
)
from voltflow.domain.station_keys import AUTHORIZATION_KEY, is_authorization_key
from voltflow.ocpp.v16.payloads import VERSION, connector_id, transaction_id_out
from voltflow.services.ports import KeyOffer

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

# Allowed before an operator has claimed an auto-registered station (OCPP 1.6 §4.2): its boot,
# asked again at the interval we answer, and heartbeats, which keep its connection alive. It
# sends anything else only when a TriggerMessage asks for it (``StationContext.permit``).
PENDING_ACTIONS = frozenset({"BootNotification", "Heartbeat"})


class RemoteAction(enum.StrEnum):
    """What the platform may send a 1.6 station (central system → charge point)."""

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

    @property
    def kind(self) -> CommandKind:
        return _KINDS[self]


_KINDS = {
    RemoteAction.RESET: CommandKind.RESET,
    RemoteAction.REMOTE_START_TRANSACTION: CommandKind.REMOTE_START,
    RemoteAction.REMOTE_STOP_TRANSACTION: CommandKind.REMOTE_STOP,
    RemoteAction.UNLOCK_CONNECTOR: CommandKind.UNLOCK,
    RemoteAction.CHANGE_AVAILABILITY: CommandKind.CHANGE_AVAILABILITY,
    RemoteAction.GET_CONFIGURATION: CommandKind.GET_SETTINGS,
    RemoteAction.CHANGE_CONFIGURATION: CommandKind.CHANGE_SETTING,
    RemoteAction.TRIGGER_MESSAGE: CommandKind.TRIGGER_MESSAGE,
    RemoteAction.UPDATE_FIRMWARE: CommandKind.UPDATE_FIRMWARE,
    RemoteAction.GET_DIAGNOSTICS: CommandKind.GET_LOG,
    RemoteAction.CLEAR_CACHE: CommandKind.CLEAR_CACHE,
    RemoteAction.GET_LOCAL_LIST_VERSION: CommandKind.GET_LIST_VERSION,
    RemoteAction.SEND_LOCAL_LIST: CommandKind.SEND_LIST,
    RemoteAction.DATA_TRANSFER: CommandKind.DATA_TRANSFER,
}
assert set(_KINDS) == set(RemoteAction)


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

# Shown as the payload's placeholder for the actions that have no default payload: a hint of
# what to fill in, never sent as is (an empty payload is refused with the missing fields).
PAYLOAD_EXAMPLES: dict[RemoteAction, dict[str, object]] = {
    RemoteAction.REMOTE_START_TRANSACTION: {"connectorId": 1, "idTag": "…"},
    RemoteAction.REMOTE_STOP_TRANSACTION: {"transactionId": 0},
    RemoteAction.CHANGE_CONFIGURATION: {"key": "HeartbeatInterval", "value": "300"},
    RemoteAction.UPDATE_FIRMWARE: {"location": "https://…", "retrieveDate": "2030-01-01T00:00:00Z"},
    RemoteAction.GET_DIAGNOSTICS: {"location": "ftp://…"},
    RemoteAction.SEND_LOCAL_LIST: {
        "listVersion": 1,
        "updateType": "Full",
        "localAuthorizationList": [],
    },
    RemoteAction.DATA_TRANSFER: {"vendorId": "…", "messageId": "…", "data": "…"},
}


class Catalogue:
    """The services' :class:`~voltflow.services.ports.ProtocolCatalogue` for OCPP 1.6."""

    version = VERSION
    remote_actions: Sequence[str] = tuple(a.value for a in RemoteAction)
    actions = STATION_ACTIONS | frozenset(remote_actions)

    def action(self, name: str) -> str:
        return RemoteAction.parse(name).value

    def kind(self, action: str) -> CommandKind:
        return RemoteAction(action).kind

    def default_payload(self, action: str) -> dict[str, Any] | None:
        payload = DEFAULT_PAYLOADS.get(RemoteAction(action))
        return None if payload is None else dict(payload)

    def example_payload(self, action: str) -> dict[str, Any]:
        return dict(PAYLOAD_EXAMPLES.get(RemoteAction(action), {}))

    def encode(self, command: Command) -> tuple[str, dict[str, Any]]:
        match command:
            case RemoteStart(token=token, evse=evse):
                payload: dict[str, Any] = {"idTag": token.value}
                if evse is not None:
                    payload["connectorId"] = connector_id(evse)
                return RemoteAction.REMOTE_START_TRANSACTION.value, payload
            case RemoteStop(transaction_id=transaction_id):
                return RemoteAction.REMOTE_STOP_TRANSACTION.value, {
                    "transactionId": transaction_id_out(transaction_id)
                }
            case Reset(hard=hard):
                return RemoteAction.RESET.value, {"type": "Hard" if hard else "Soft"}
            case Unlock(connector=connector):
                return RemoteAction.UNLOCK_CONNECTOR.value, {"connectorId": connector_id(connector)}

    def key_change(self, key: str) -> tuple[str, dict[str, Any]]:
        return RemoteAction.CHANGE_CONFIGURATION.value, {"key": AUTHORIZATION_KEY, "value": key}

    def key_offer(self, action: str, payload: Mapping[str, Any]) -> KeyOffer | None:
        if action == RemoteAction.CHANGE_CONFIGURATION and is_authorization_key(payload.get("key")):
            return KeyOffer(payload.get("value"))
        return None


CATALOGUE = Catalogue()
