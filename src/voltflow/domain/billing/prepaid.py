"""Prepaid contracts: a credit balance that top-ups raise and charging sessions draw from.

The balance only ever changes through a movement, and no movement takes it below zero: a session
that costs more than what is left draws what is left, and the rest is billed with the month's
invoice like a postpaid contract's sessions. A session draws once, when it is first priced (a
movement of zero when the balance is empty, so that what it did not draw stays on the invoice);
priced again, it draws or gives back only the change of its price.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from voltflow.domain.billing.documents import cents
from voltflow.domain.money import MINOR_UNITS

# Most a single top-up may bring in: a typing error of a few zeros is refused, not booked.
LARGEST_TOP_UP = Decimal(10_000)


class MovementKind(enum.StrEnum):
    TOP_UP = "top_up"  # money received (a transfer, a card payment) for the balance
    SESSION = "session"  # a session's price drawn from the balance (or given back, negative)


class PrepaidError(ValueError):
    """A movement refused: ``field`` names the input at fault, ``reason`` the rule."""

    def __init__(self, message: str, field: str, reason: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Movement:
    """A change of a prepaid balance: ``amount`` raises it (top-ups) or lowers it (sessions,
    negative); ``balance`` is what it is after."""

    kind: MovementKind
    amount: Decimal
    currency: str
    balance: Decimal
    reference: str  # the payment's reference, or the session's id
    # A session's price when it drew: a session priced again draws only if its price changed.
    price: Decimal | None = None


def top_up(
    balance: Decimal, currency: str, amount: Decimal, paid_in: str, reference: str
) -> Movement:
    """The movement that books a top-up of ``amount`` in ``paid_in`` onto a balance kept in
    ``currency``; refused (``PrepaidError``) in another currency, for nothing or less, finer
    than the currency's cents, above ``LARGEST_TOP_UP``, or without a reference."""
    if paid_in != currency:
        raise PrepaidError(
            f"currency: the balance is kept in {currency}, not {paid_in}", "currency", "currency"
        )
    if not amount.is_finite() or amount <= 0:
        raise PrepaidError("amount: more than zero", "amount", "positive")
    if amount != cents(amount, currency):
        raise PrepaidError(
            f"amount: at most {MINOR_UNITS[currency]} decimals", "amount", "decimals"
        )
    if amount > LARGEST_TOP_UP:
        raise PrepaidError(f"amount: at most {LARGEST_TOP_UP}", "amount", "too_large")
    if not reference.strip():
        raise PrepaidError("reference: required", "reference", "required")
    return Movement(MovementKind.TOP_UP, amount, currency, balance + amount, reference.strip())


def draw(
    balance: Decimal,
    currency: str,
    price: Decimal,
    last_price: Decimal | None,
    drawn_before: Decimal,
    session: int,
) -> Movement | None:
    """What a session priced ``price`` (incl. VAT, what its driver pays) draws now: the first
    time, its price as far as the balance covers it (the rest is billed with the month's
    invoice, and a later top-up does not draw it); priced again at another price (a correction),
    the rise as far as the balance covers it, or the fall given back up to what it drew
    (``drawn_before``). None when the price is the one drawn against before."""
    price = cents(price, currency)
    if last_price is not None and price == last_price:
        return None
    change = price - (last_price or Decimal(0))
    # A rise draws what the balance covers; a fall gives back no more than was drawn.
    change = min(change, balance) if change > 0 else max(change, -drawn_before)
    return Movement(MovementKind.SESSION, -change, currency, balance - change, str(session), price)


def out_of_credit(balance: Decimal) -> bool:
    """A prepaid contract's cards stop charging when nothing is left to draw."""
    return balance <= 0
