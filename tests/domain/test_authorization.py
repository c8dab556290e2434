from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltflow.domain.authorization import (
    AuthorizationStatus,
    IdToken,
    IdTokenType,
    Token,
    TokenState,
    authorize,
    normalize_uid,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        pytest.param(None, AuthorizationStatus.INVALID, id="unknown"),
        pytest.param(Token("A", TokenState.ACTIVE), AuthorizationStatus.ACCEPTED, id="active"),
        pytest.param(Token("A", TokenState.BLOCKED), AuthorizationStatus.BLOCKED, id="blocked"),
        pytest.param(
            Token("A", TokenState.BLOCKED, NOW - SECOND),
            AuthorizationStatus.BLOCKED,
            id="blocked-wins-over-expired",
        ),
        pytest.param(
            Token("A", TokenState.ACTIVE, NOW - SECOND), AuthorizationStatus.EXPIRED, id="expired"
        ),
        pytest.param(
            Token("A", TokenState.ACTIVE, NOW),
            AuthorizationStatus.EXPIRED,
            id="expires-this-instant",
        ),
        pytest.param(
            Token("A", TokenState.ACTIVE, NOW + SECOND),
            AuthorizationStatus.ACCEPTED,
            id="expires-later",
        ),
    ],
)
def test_authorize(token: Token | None, expected: AuthorizationStatus) -> None:
    assert authorize(token, NOW) is expected


def test_statuses_use_ocpp_vocabulary() -> None:
    assert {s.value for s in AuthorizationStatus} == {
        "Accepted",
        "Blocked",
        "Expired",
        "Invalid",
        "ConcurrentTx",
    }


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("04A23B", "04A23B"),
        ("04a23b", "04A23B"),
        ("04:a2:3b", "04A23B"),
        ("04-A2-3B", "04A23B"),
        ("  04a2 \n", "04A2"),
        (": 04A2", "04A2"),
        ("04A2 -", "04A2"),
        ("", ""),
    ],
)
def test_normalize_uid(raw: str, stored: str) -> None:
    assert normalize_uid(raw) == stored


@given(st.text())
def test_normalize_uid_is_one_form(uid: str) -> None:
    once = normalize_uid(uid)
    assert normalize_uid(once) == once
    assert ":" not in once and "-" not in once
    assert once == once.strip()
    # Readers that differ only in case and separators mean the same card.
    assert normalize_uid(uid.lower()) == normalize_uid(uid.upper())


@given(st.lists(st.sampled_from("0123456789ABCDEF"), min_size=1, max_size=10).map("".join))
def test_separators_between_bytes_do_not_matter(hex_uid: str) -> None:
    pairs = [hex_uid[i : i + 2] for i in range(0, len(hex_uid), 2)]
    assert normalize_uid(":".join(pairs).lower()) == hex_uid
    assert normalize_uid("-".join(pairs)) == hex_uid


def test_an_id_token_is_stored_by_its_normalized_value() -> None:
    token = IdToken("04:a2-3b ", IdTokenType.ISO14443)
    assert token.uid == normalize_uid("04:a2-3b ") == "04A23B"
    assert token.type is IdTokenType.ISO14443


def test_id_token_types_are_ocpp201s() -> None:
    assert {t.value for t in IdTokenType} == {
        "Central",
        "eMAID",
        "ISO14443",
        "ISO15693",
        "KeyCode",
        "Local",
        "MacAddress",
        "NoAuthorization",
    }
