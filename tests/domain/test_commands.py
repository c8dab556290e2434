import pytest

from voltflow.domain.commands import NOT_WHILE_PENDING, CommandKind, allowed_for
from voltflow.domain.stations import Registration


@pytest.mark.parametrize("kind", list(CommandKind))
def test_a_pending_station_is_sent_no_remote_start_or_stop(kind: CommandKind) -> None:
    assert allowed_for(kind, Registration.ACCEPTED)
    expected = kind not in {CommandKind.REMOTE_START, CommandKind.REMOTE_STOP}
    assert allowed_for(kind, Registration.PENDING) is expected
    assert (kind in NOT_WHILE_PENDING) is not expected
