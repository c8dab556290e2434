import pytest

from voltflow.domain.commands import NOT_WHILE_PENDING, allowed_for
from voltflow.domain.stations import Registration
from voltflow.ocpp.v16.actions import DEFAULT_PAYLOADS, RemoteAction


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("Reset", RemoteAction.RESET),
        ("reset", RemoteAction.RESET),
        ("RESET", RemoteAction.RESET),
        ("remotestarttransaction", RemoteAction.REMOTE_START_TRANSACTION),
        ("GetConfiguration", RemoteAction.GET_CONFIGURATION),
        ("dataTransfer", RemoteAction.DATA_TRANSFER),
    ],
)
def test_parse_ignores_case(name: str, action: RemoteAction) -> None:
    assert RemoteAction.parse(name) is action


@pytest.mark.parametrize("name", ["", "Reboot", "BootNotification", "Heartbeat", " Reset"])
def test_parse_refuses_what_an_operator_may_not_send(name: str) -> None:
    with pytest.raises(ValueError, match="unknown remote action") as info:
        RemoteAction.parse(name)
    assert "Reset" in str(info.value), "the error lists the known actions"


@pytest.mark.parametrize("action", list(RemoteAction))
def test_every_action_parses_from_its_own_name(action: RemoteAction) -> None:
    assert RemoteAction.parse(action.value) is action


def test_default_payloads_are_for_known_actions() -> None:
    assert set(DEFAULT_PAYLOADS) <= set(RemoteAction)
    assert DEFAULT_PAYLOADS[RemoteAction.RESET] == {"type": "Soft"}


@pytest.mark.parametrize("action", list(RemoteAction))
def test_a_pending_station_is_sent_no_remote_start_or_stop(action: RemoteAction) -> None:
    assert allowed_for(action.kind, Registration.ACCEPTED)
    expected = action not in {
        RemoteAction.REMOTE_START_TRANSACTION,
        RemoteAction.REMOTE_STOP_TRANSACTION,
    }
    assert allowed_for(action.kind, Registration.PENDING) is expected
    assert (action.kind in NOT_WHILE_PENDING) is not expected
