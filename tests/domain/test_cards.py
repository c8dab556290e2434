from datetime import UTC, date, datetime, timedelta

import pytest

from voltflow.domain.authorization import AuthorizationStatus as A
from voltflow.domain.cards import (
    TRANSITIONS,
    CardAction,
    CardStanding,
    CardState,
    ContractTerms,
    IllegalTransition,
    allowed_actions,
    authorize_card,
    next_state,
)

S = CardState
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
TODAY = NOW.date()
CONTRACT = ContractTerms(starts_on=date(2026, 1, 1), ends_on=None)


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (S.IN_STOCK, CardAction.DISTRIBUTE, S.DISTRIBUTED),
        (S.DISTRIBUTED, CardAction.RETURN_TO_STOCK, S.IN_STOCK),
        (S.DISTRIBUTED, CardAction.ASSIGN, S.ASSIGNED),
        (S.ASSIGNED, CardAction.UNASSIGN, S.DISTRIBUTED),
        (S.ASSIGNED, CardAction.ACTIVATE, S.ACTIVE),
        (S.ACTIVE, CardAction.BLOCK, S.BLOCKED),
        (S.BLOCKED, CardAction.UNBLOCK, S.ACTIVE),
        (S.ACTIVE, CardAction.REPORT_LOST, S.LOST),
        (S.BLOCKED, CardAction.EXPIRE, S.EXPIRED),
    ],
)
def test_legal_steps(state: CardState, action: CardAction, expected: CardState) -> None:
    assert next_state(state, action) == expected


def test_every_other_step_is_refused_with_a_clear_message() -> None:
    refused = 0
    for action, (froms, _) in TRANSITIONS.items():
        for state in CardState:
            if state in froms:
                continue
            refused += 1
            with pytest.raises(IllegalTransition, match=f"cannot {action.value.replace('_', ' ')}"):
                next_state(state, action)
    assert refused > 40


def test_finished_cards_allow_nothing() -> None:
    assert allowed_actions(S.LOST) == []
    assert allowed_actions(S.EXPIRED) == []
    assert CardAction.ACTIVATE in allowed_actions(S.ASSIGNED)


@pytest.mark.parametrize(
    ("standing", "contract", "expected"),
    [
        (None, CONTRACT, A.INVALID),
        (CardStanding(S.ACTIVE, None, owned=True), CONTRACT, A.ACCEPTED),
        (CardStanding(S.ACTIVE, None, owned=False), None, A.ACCEPTED),
        (CardStanding(S.ACTIVE, None, owned=True), None, A.INVALID),
        (CardStanding(S.BLOCKED, None, owned=True), CONTRACT, A.BLOCKED),
        (CardStanding(S.LOST, None, owned=True), CONTRACT, A.BLOCKED),
        (CardStanding(S.EXPIRED, None, owned=True), CONTRACT, A.EXPIRED),
        (CardStanding(S.ACTIVE, NOW - timedelta(seconds=1), owned=True), CONTRACT, A.EXPIRED),
        (CardStanding(S.ASSIGNED, None, owned=True), CONTRACT, A.INVALID),
        (CardStanding(S.IN_STOCK, None, owned=False), None, A.INVALID),
        (
            CardStanding(S.ACTIVE, None, owned=True),
            ContractTerms(date(2026, 1, 1), date(2026, 6, 30)),
            A.EXPIRED,
        ),
        (
            CardStanding(S.ACTIVE, None, owned=True),
            ContractTerms(date(2027, 1, 1), None),
            A.INVALID,
        ),
    ],
)
def test_authorization_follows_state_and_contract(
    standing: CardStanding | None, contract: ContractTerms | None, expected: A
) -> None:
    assert authorize_card(standing, contract, NOW, TODAY) == expected
