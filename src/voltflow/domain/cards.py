"""Charging cards: their lifecycle, and what a card's state and contract say at a station.

in stock → with a distributor (a fleet manager's company for B2B, an installer for B2C)
→ assigned to a driver → active → blocked / lost / expired. Blocked cards can be unblocked; lost
and expired ones are finished. Every step is an :class:`Event` with who and when.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from voltflow.domain.authorization import AuthorizationStatus
from voltflow.domain.billing.prepaid import out_of_credit


class CardState(enum.StrEnum):
    IN_STOCK = "in_stock"
    DISTRIBUTED = "distributed"
    ASSIGNED = "assigned"
    ACTIVE = "active"
    BLOCKED = "blocked"
    LOST = "lost"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    CardState.IN_STOCK: "In stock",
    CardState.DISTRIBUTED: "With distributor",
    CardState.ASSIGNED: "Assigned",
    CardState.ACTIVE: "Active",
    CardState.BLOCKED: "Blocked",
    CardState.LOST: "Lost",
    CardState.EXPIRED: "Expired",
}


class CardAction(enum.StrEnum):
    DISTRIBUTE = "distribute"
    RETURN_TO_STOCK = "return_to_stock"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    ACTIVATE = "activate"
    BLOCK = "block"
    UNBLOCK = "unblock"
    REPORT_LOST = "report_lost"
    EXPIRE = "expire"


TRANSITIONS: dict[CardAction, tuple[frozenset[CardState], CardState]] = {
    CardAction.DISTRIBUTE: (frozenset({CardState.IN_STOCK}), CardState.DISTRIBUTED),
    CardAction.RETURN_TO_STOCK: (frozenset({CardState.DISTRIBUTED}), CardState.IN_STOCK),
    CardAction.ASSIGN: (frozenset({CardState.DISTRIBUTED}), CardState.ASSIGNED),
    CardAction.UNASSIGN: (frozenset({CardState.ASSIGNED}), CardState.DISTRIBUTED),
    CardAction.ACTIVATE: (frozenset({CardState.ASSIGNED}), CardState.ACTIVE),
    CardAction.BLOCK: (frozenset({CardState.ACTIVE}), CardState.BLOCKED),
    CardAction.UNBLOCK: (frozenset({CardState.BLOCKED}), CardState.ACTIVE),
    CardAction.REPORT_LOST: (
        frozenset({CardState.DISTRIBUTED, CardState.ASSIGNED, CardState.ACTIVE, CardState.BLOCKED}),
        CardState.LOST,
    ),
    CardAction.EXPIRE: (frozenset({CardState.ACTIVE, CardState.BLOCKED}), CardState.EXPIRED),
}


class IllegalTransition(ValueError):
    def __init__(self, action: CardAction, state: CardState) -> None:
        allowed, _ = TRANSITIONS[action]
        froms = ", ".join(sorted(s.label.lower() for s in allowed))
        super().__init__(
            f"cannot {action.value.replace('_', ' ')} a card that is {state.label.lower()} "
            f"(only from: {froms})"
        )
        self.action = action
        self.state = state


def next_state(state: CardState, action: CardAction) -> CardState:
    allowed, target = TRANSITIONS[action]
    if state not in allowed:
        raise IllegalTransition(action, state)
    return target


def allowed_actions(state: CardState) -> list[CardAction]:
    return [a for a, (froms, _) in TRANSITIONS.items() if state in froms]


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """What authorization needs to know of the card holder's eMSP contract."""

    starts_on: date
    ends_on: date | None
    prepaid: bool = False
    balance: Decimal = Decimal(0)  # a prepaid contract's credit left


@dataclass(frozen=True, slots=True)
class CardStanding:
    state: CardState
    expires_at: datetime | None
    owned: bool  # a card that belongs to a customer needs that customer's contract


def authorize_card(
    card: CardStanding | None, contract: ContractTerms | None, now: datetime, today: date
) -> AuthorizationStatus:
    if card is None:
        return AuthorizationStatus.INVALID
    if card.state in (CardState.BLOCKED, CardState.LOST):
        return AuthorizationStatus.BLOCKED
    if card.state is CardState.EXPIRED or (card.expires_at is not None and card.expires_at <= now):
        return AuthorizationStatus.EXPIRED
    if card.state is not CardState.ACTIVE:
        return AuthorizationStatus.INVALID
    if card.owned:
        if contract is None or contract.starts_on > today:
            return AuthorizationStatus.INVALID
        if contract.ends_on is not None and contract.ends_on < today:
            return AuthorizationStatus.EXPIRED
        # OCPP 1.6 has no "no credit": Blocked, until a top-up (the holder is told why).
        if contract.prepaid and out_of_credit(contract.balance):
            return AuthorizationStatus.BLOCKED
    return AuthorizationStatus.ACCEPTED
