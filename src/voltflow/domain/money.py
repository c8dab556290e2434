"""Money: a Decimal amount with its ISO 4217 currency. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Minor units of the currencies the platform bills in (ISO 4217).
MINOR_UNITS = {
    "EUR": 2,
    "GBP": 2,
    "CHF": 2,
    "DKK": 2,
    "SEK": 2,
    "NOK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "RON": 2,
    "BGN": 2,
    "USD": 2,
}


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float) or not isinstance(self.amount, Decimal):
            raise TypeError("Money takes a Decimal amount, never a float")
        if self.currency not in MINOR_UNITS:
            raise ValueError(f"currency {self.currency!r}: one of {', '.join(sorted(MINOR_UNITS))}")
        if not self.amount.is_finite():
            raise ValueError("amount must be finite")

    def rounded(self) -> Money:
        """Half-up to the currency's minor unit, as every invoice line is."""
        quantum = Decimal(1).scaleb(-MINOR_UNITS[self.currency])
        return Money(self.amount.quantize(quantum, rounding=ROUND_HALF_UP), self.currency)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.rounded().amount} {self.currency}"
