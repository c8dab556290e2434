"""The version-neutral terms of ``StationEvents``: transaction ids are text."""

import pytest

from voltflow.services.station_events import session_id_of


@pytest.mark.parametrize(("text", "session"), [("1", 1), ("42", 42), ("-3", -3), ("007", 7)])
def test_a_transaction_id_of_the_platform_names_its_session(text: str, session: int) -> None:
    assert session_id_of(text) == session


@pytest.mark.parametrize("text", ["", "abc", "1.5", " 1", "1_000", "+1", "٣", "0x10"])
def test_any_other_transaction_id_names_no_session(text: str) -> None:
    assert session_id_of(text) is None
