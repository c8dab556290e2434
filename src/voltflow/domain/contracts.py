"""CPO and eMSP contracts, their SEPA direct-debit mandate and subscription plan."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from schwifty import BIC, IBAN
from schwifty.exceptions import (
    InvalidAccountCode,
    InvalidBankCode,
    InvalidBBANChecksum,
    InvalidBranchCode,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    InvalidStructure,
    SchwiftyException,
)

from voltflow.domain.money import MINOR_UNITS, Money


class ContractKind(enum.StrEnum):
    CPO = "cpo"  # the customer's stations operated by us
    EMSP = "emsp"  # the customer's drivers charging with our cards


class ContractError(ValueError):
    """A contract's rule broken: ``field`` names the input at fault, ``reason`` the rule (the
    field when it has one only) and ``values`` what broke it. The message is English; people
    read it translated from ``reason`` and ``values``."""

    def __init__(self, message: str, field: str, reason: str | None = None, **values: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason or field
        self.values = values


# What was wrong with a bank account number or a bank's code, by kind: the message keeps the bank
# library's own English, which says more (the length it expected, the code it did not know).
_BANK_FAULTS: tuple[tuple[type[SchwiftyException], str], ...] = (
    (InvalidLength, "length"),
    (InvalidCountryCode, "country"),
    (InvalidChecksumDigits, "checksum"),
    (InvalidBBANChecksum, "checksum"),
    (InvalidBankCode, "bank"),
    (InvalidBranchCode, "bank"),
    (InvalidAccountCode, "account"),
    (InvalidStructure, "structure"),
)


def _bank_fault(exc: SchwiftyException) -> str:
    return next((name for kind, name in _BANK_FAULTS if isinstance(exc, kind)), "other")


# SEPA mandate reference: up to 35 characters of the SEPA Latin set, no spaces at either end.
_MANDATE_REF = re.compile(r"^[A-Za-z0-9+?/\-:().,' ]{1,35}$")


@dataclass(frozen=True, slots=True)
class Mandate:
    reference: str
    iban: str  # compact, upper case
    bic: str
    signed_on: date


def validate_mandate(
    reference: str, iban: str, bic: str | None, signed_on: date, today: date
) -> Mandate:
    reference = reference.strip()
    if not _MANDATE_REF.match(reference):
        raise ContractError(
            "mandate reference: 1–35 letters, digits or + ? / - : ( ) . , ' and spaces",
            "mandate_reference",
        )
    try:
        parsed_iban = IBAN(iban)
    except SchwiftyException as exc:
        raise ContractError(
            f"IBAN {iban!r}: {exc}", "mandate_iban", "iban", iban=iban, fault=_bank_fault(exc)
        ) from exc
    if bic:
        try:
            parsed_bic = BIC(bic)
        except SchwiftyException as exc:
            raise ContractError(
                f"BIC {bic!r}: {exc}", "mandate_bic", "bic", bic=bic, fault=_bank_fault(exc)
            ) from exc
        if parsed_bic.country_code != parsed_iban.country_code:
            raise ContractError(
                f"BIC {parsed_bic} is of {parsed_bic.country_code}, the IBAN of "
                f"{parsed_iban.country_code}",
                "mandate_bic",
                "bic_country",
                bic=str(parsed_bic),
                bic_country=parsed_bic.country_code,
                iban_country=parsed_iban.country_code,
            )
        bic_text = str(parsed_bic)
    elif parsed_iban.bic is not None:
        bic_text = str(parsed_iban.bic)
    else:
        raise ContractError(
            "BIC: required, it cannot be derived from this IBAN", "mandate_bic", "bic_required"
        )
    if signed_on > today:
        raise ContractError("mandate signature date is in the future", "mandate_signed_on")
    return Mandate(reference, parsed_iban.compact, bic_text, signed_on)


@dataclass(frozen=True, slots=True)
class SubscriptionPlan:
    fee_per_card: Money
    fee_per_station: Money
    fee_per_licence: Money


def subscription_plan(
    currency: str, per_card: Decimal, per_station: Decimal, per_licence: Decimal
) -> SubscriptionPlan:
    fees = []
    for name, amount in (
        ("fee_per_card", per_card),
        ("fee_per_station", per_station),
        ("fee_per_licence", per_licence),
    ):
        if amount < 0:
            raise ContractError(f"{name}: cannot be negative", name, "negative_fee", name=name)
        try:
            fees.append(Money(amount, currency))
        except ValueError as exc:
            if currency not in MINOR_UNITS:
                raise ContractError(
                    str(exc), "currency", currency=currency, known=", ".join(sorted(MINOR_UNITS))
                ) from exc
            raise ContractError(str(exc), name, "amount") from exc
    return SubscriptionPlan(*fees)


def check_period(starts_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise ContractError("ends_on: before the start", "ends_on")
