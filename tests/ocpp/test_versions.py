"""The OCPP versions served, by subprotocol, and how OCPP 1.6 says the platform's neutral terms."""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.ocpp.support import add_station, fresh_rows, raw_station
from voltflow.bootstrap import Platform
from voltflow.domain.authorization import AuthorizationStatus, IdToken, IdTokenType
from voltflow.domain.commands import CommandKind, RemoteStart, RemoteStop, Reset, Unlock
from voltflow.domain.station_keys import AUTHORIZATION_KEY, REDACTED
from voltflow.domain.stations import ConnectorRef, Registration
from voltflow.ocpp import v16, versions
from voltflow.ocpp.protocol import StationContext
from voltflow.ocpp.v16.actions import CATALOGUE, DEFAULT_PAYLOADS, RemoteAction
from voltflow.ocpp.v16.handlers import start_transaction, stop_transaction
from voltflow.ocpp.v16.payloads import (
    connector_id,
    id_token,
    transaction_id_in,
    transaction_id_out,
)
from voltflow.services.ports import KeyOffer
from voltflow.services.station_events import StartAnswer, StopRequest
from voltflow.store.tables import stations

T = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


# -- the registry -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "offered", [["ocpp1.6"], [" ocpp1.6 "], ["ocpp2.0.1", "ocpp1.6"], ["ocpp1.6", "ocpp2.0.1"]]
)
def test_a_station_offering_ocpp16_speaks_it(offered: list[str]) -> None:
    assert versions.negotiate(offered) is v16.VERSION


@pytest.mark.parametrize("offered", [[], [""], ["ocpp2.0.1"], ["ocpp1.5"], ["OCPP1.6"]])
def test_a_station_offering_no_served_version_is_refused(offered: list[str]) -> None:
    assert versions.negotiate(offered) is None


def test_the_registry_names_each_version_by_its_subprotocol() -> None:
    assert versions.VERSIONS == {"ocpp1.6": v16.VERSION}
    assert versions.DEFAULT is v16.VERSION
    assert v16.VERSION.name == "1.6"
    assert v16.VERSION.catalogue.version == "1.6"


def test_remote_actions_are_looked_up_in_every_served_version() -> None:
    assert versions.remote_action("reset") == "Reset"
    with pytest.raises(ValueError, match="unknown remote action 'Explode'"):
        versions.remote_action("Explode")


async def test_a_connection_speaks_the_version_it_negotiated(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    assert platform.commands.catalogue("CP-1") is versions.DEFAULT.catalogue  # not connected
    async with raw_station(ocpp_url, "CP-1") as st:
        boot = {"chargePointVendor": "Acme", "chargePointModel": "Wallbox"}
        assert (await st.result("BootNotification", boot))["status"] == "Accepted"
        assert platform.ocpp.connections["CP-1"].version is v16.VERSION
        assert platform.commands.catalogue("CP-1") is v16.VERSION.catalogue
    [row] = await fresh_rows(platform, select(stations.c.ocpp_version))
    assert row["ocpp_version"] == "1.6"


# -- payloads -----------------------------------------------------------------------------------
def test_an_id_tag_is_an_iso14443_token() -> None:
    assert id_token("04A2") == IdToken("04A2", IdTokenType.ISO14443)


@pytest.mark.parametrize("value", [1, 0, 2_147_483_647, -5])
def test_transaction_ids_go_both_ways(value: int) -> None:
    assert transaction_id_in(value) == str(value)
    assert transaction_id_out(transaction_id_in(value)) == value


@pytest.mark.parametrize("value", ["", "abc", "1.0", " 1", "+1", "1_0", "٣", "6f1c-uuid"])
def test_a_transaction_id_that_is_no_integer_never_reaches_a_16_station(value: str) -> None:
    with pytest.raises(ValueError, match="cannot carry it"):
        transaction_id_out(value)
    with pytest.raises(ValueError, match="cannot carry it"):
        CATALOGUE.encode(RemoteStop(value))


class _Events:
    """What the handlers under test call, answering with a transaction id 1.6 cannot carry."""

    def __init__(self, transaction_id: str) -> None:
        self.transaction_id = transaction_id
        self.calls: list[tuple[str, Any]] = []

    async def start_transaction(self, *args: Any) -> StartAnswer:
        self.calls.append(("start", args))
        return StartAnswer(self.transaction_id, AuthorizationStatus.ACCEPTED)

    async def stop_transaction(self, station_id: str, stop: StopRequest) -> None:
        self.calls.append(("stop", stop))


START = {"connectorId": 1, "idTag": "04a2", "meterStart": 0, "timestamp": "2025-03-01T12:00:00Z"}


async def test_start_answers_the_services_transaction_id_as_an_integer() -> None:
    ctx = StationContext("CP-1", Registration.ACCEPTED, lenient=False)
    events = _Events("17")
    answer = await start_transaction(events, ctx, START)  # type: ignore[arg-type]
    assert answer == {"transactionId": 17, "idTagInfo": {"status": "Accepted"}}
    (_, args), *_ = events.calls
    assert args[2] == IdToken("04a2", IdTokenType.ISO14443)


async def test_start_never_answers_a_transaction_id_that_is_no_integer() -> None:
    ctx = StationContext("CP-1", Registration.ACCEPTED, lenient=False)
    with pytest.raises(ValueError, match="not an integer"):
        await start_transaction(_Events("tx-17"), ctx, START)  # type: ignore[arg-type]


async def test_stop_hands_the_services_text_and_a_token() -> None:
    ctx = StationContext("CP-1", Registration.ACCEPTED, lenient=False)
    events = _Events("17")
    stop = {"transactionId": 17, "idTag": "04a2", "meterStop": 10, "timestamp": T.isoformat()}
    assert await stop_transaction(events, ctx, stop) == {}  # type: ignore[arg-type]
    (_, request), *_ = events.calls
    assert request.transaction_id == "17"
    assert request.id_token == IdToken("04a2", IdTokenType.ISO14443)


def test_connectors_are_evses_in_16() -> None:
    assert connector_id(ConnectorRef(2, 1)) == 2
    assert connector_id(ConnectorRef(0, 0)) == 0
    for ref in (ConnectorRef(1, 2), ConnectorRef(0, 1), ConnectorRef(1, 0)):
        with pytest.raises(ValueError, match="one connector per EVSE"):
            connector_id(ref)


# -- the catalogue ------------------------------------------------------------------------------
def test_the_catalogue_lists_16s_actions() -> None:
    assert tuple(CATALOGUE.remote_actions) == tuple(a.value for a in RemoteAction)
    assert {"BootNotification", "Reset", "DataTransfer"} <= CATALOGUE.actions
    assert CATALOGUE.action("remotestarttransaction") == "RemoteStartTransaction"
    assert CATALOGUE.kind("RemoteStopTransaction") is CommandKind.REMOTE_STOP
    with pytest.raises(ValueError, match="unknown remote action"):
        CATALOGUE.action("Heartbeat")


def test_default_payloads_are_copies() -> None:
    payload = CATALOGUE.default_payload("Reset")
    assert payload == DEFAULT_PAYLOADS[RemoteAction.RESET]
    assert payload is not None
    payload["type"] = "Hard"
    assert CATALOGUE.default_payload("Reset") == {"type": "Soft"}
    assert CATALOGUE.default_payload("RemoteStartTransaction") is None
    assert CATALOGUE.example_payload("RemoteStopTransaction") == {"transactionId": 0}


@pytest.mark.parametrize(
    ("command", "action", "payload"),
    [
        (
            RemoteStart(IdToken("04A2", IdTokenType.CENTRAL), ConnectorRef(2, 1)),
            "RemoteStartTransaction",
            {"idTag": "04A2", "connectorId": 2},
        ),
        (
            RemoteStart(IdToken("04A2", IdTokenType.ISO14443)),
            "RemoteStartTransaction",
            {"idTag": "04A2"},
        ),
        (RemoteStop("17"), "RemoteStopTransaction", {"transactionId": 17}),
        (Reset(), "Reset", {"type": "Soft"}),
        (Reset(hard=True), "Reset", {"type": "Hard"}),
        (Unlock(ConnectorRef(1, 1)), "UnlockConnector", {"connectorId": 1}),
    ],
)
def test_neutral_commands_in_16s_words(command: Any, action: str, payload: dict[str, Any]) -> None:
    assert CATALOGUE.encode(command) == (action, payload)
    assert v16.VERSION.schemas.validate(action, payload) == []


def test_a_key_change_is_told_apart_and_never_logged_in_clear() -> None:
    action, payload = CATALOGUE.key_change("new-key-0123456789")
    assert (action, payload) == (
        "ChangeConfiguration",
        {"key": AUTHORIZATION_KEY, "value": "new-key-0123456789"},
    )
    assert CATALOGUE.key_offer(action, payload) == KeyOffer("new-key-0123456789")
    assert CATALOGUE.key_offer(action, {"key": "HeartbeatInterval", "value": "60"}) is None
    assert CATALOGUE.key_offer("GetConfiguration", payload) is None
    assert v16.VERSION.loggable(action, payload) == {**payload, "value": REDACTED}
    assert v16.VERSION.loggable("Reset", {"type": "Soft"}) is None


def test_a_pending_station_may_send_what_an_accepted_trigger_asked_for() -> None:
    ctx = StationContext("CP-1", Registration.PENDING, lenient=False)
    trigger = {"requestedMessage": "StatusNotification"}
    v16.VERSION.answered(ctx, "TriggerMessage", trigger, {"status": "Rejected"}, T)
    v16.VERSION.answered(ctx, "TriggerMessage", trigger, None, T)
    v16.VERSION.answered(ctx, "Reset", trigger, {"status": "Accepted"}, T)
    assert not ctx.was_asked_for("StatusNotification", T)
    v16.VERSION.answered(ctx, "TriggerMessage", trigger, {"status": "Accepted"}, T)
    assert ctx.was_asked_for("StatusNotification", T)
