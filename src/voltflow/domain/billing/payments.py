"""Money in and out of the operator's bank account, before any file format: what a direct debit
collects under a mandate, what a credit transfer pays out, and what a bank statement's credits
pay off.

Everything here is checked when it is made, so that a SEPA file is only ever written from
collections and payouts a bank would accept: a mandate that was revoked, or that lapsed after
36 months without a collection (the SEPA Core rulebook's rule), collects nothing; amounts are
whole euro cents above zero; accounts are valid IBANs. Each refusal names the field at fault.

Reconciliation matches a statement's credits to open documents by structured reference only. An
amount alone never picks a document: a payer who forgot the reference is listed for a person to
look at, not credited to whichever document happens to have that total.
"""

from __future__ import annotations

import calendar
import enum
import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from voltflow.domain.billing.documents import cents
from voltflow.domain.billing.references import ReferenceError, parse_structured_reference
from voltflow.domain.contracts import _bank_fault
from voltflow.domain.money import Money

# SEPA schemes move euros only.
SEPA_CURRENCY = "EUR"
# The largest amount one SEPA transaction may carry (EPC implementation guidelines).
MAX_SEPA_AMOUNT = Decimal("999999999.99")
# A mandate lapses when this many months pass without a collection under it.
MANDATE_LIFETIME_MONTHS = 36

# Identifiers banks carry end to end (the SEPA Latin set; no "/" at either end, never "//").
_SEPA_ID = re.compile(r"^[A-Za-z0-9+?/\-:().,' ]{1,35}$")
_CREDITOR_ID = re.compile(r"^([A-Z]{2})(\d{2})([A-Za-z0-9]{3})([A-Za-z0-9]{1,28})$")


class PaymentError(ValueError):
    """A payment that cannot be made as asked. ``field`` names the input at fault, ``reason`` the
    rule (the field itself when it has one only) and ``values`` what broke it; the message is
    English, people read it translated from ``reason`` and ``values``."""

    def __init__(self, message: str, field: str, reason: str | None = None, **values: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason or field
        self.values = values


class SequenceType(enum.StrEnum):
    """Where a collection stands in its mandate's life: the debtor's bank checks the first one
    against the mandate it was told of, and rejects a second "first"."""

    FIRST = "FRST"
    RECURRING = "RCUR"


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class DebitMandate:
    """What a collection needs to know of its mandate. ``last_collected_on`` is the date of the
    latest collection presented under it (even one rejected or returned afterwards: the rulebook
    counts presentation), None when it was never used."""

    reference: str
    signed_on: date
    revoked_on: date | None = None
    last_collected_on: date | None = None

    @property
    def expires_on(self) -> date:
        """The first day it no longer collects: 36 months after its latest collection, or after
        its signature when it never collected."""
        return _add_months(self.last_collected_on or self.signed_on, MANDATE_LIFETIME_MONTHS)


def sequence_type(mandate: DebitMandate) -> SequenceType:
    """FRST for a mandate's first collection, RCUR for every later one."""
    return SequenceType.FIRST if mandate.last_collected_on is None else SequenceType.RECURRING


def _iban(value: str, field: str) -> IBAN:
    try:
        return IBAN(value)
    except SchwiftyException as exc:
        raise PaymentError(
            f"{field}: {value!r} is not a valid IBAN ({exc})",
            field,
            "iban",
            iban=value,
            fault=_bank_fault(exc),
        ) from exc


def _bic(value: str | None, iban: IBAN, field: str, *, required: bool) -> str | None:
    """``value`` checked against the account's country; derived from the IBAN when missing and
    the bank is known, since SEPA no longer asks for one."""
    if not value:
        if iban.bic is not None:
            return str(iban.bic)
        if required:
            raise PaymentError(
                f"{field}: required, it cannot be derived from {iban.compact}",
                field,
                "bic_required",
            )
        return None
    try:
        bic = BIC(value)
    except SchwiftyException as exc:
        raise PaymentError(
            f"{field}: {value!r} is not a valid BIC ({exc})",
            field,
            "bic",
            bic=value,
            fault=_bank_fault(exc),
        ) from exc
    if bic.country_code != iban.country_code:
        raise PaymentError(
            f"{field}: {bic} is of {bic.country_code}, the account of {iban.country_code}",
            field,
            "bic_country",
            bic=str(bic),
            bic_country=bic.country_code,
            iban_country=iban.country_code,
        )
    return str(bic)


def _sepa_amount(amount: Money, field: str) -> None:
    if amount.currency != SEPA_CURRENCY:
        raise PaymentError(
            f"{field}: SEPA moves euros, not {amount.currency}",
            field,
            "currency",
            currency=amount.currency,
        )
    if amount.amount <= 0:
        raise PaymentError(f"{field}: above zero, not {amount.amount}", field, "not_positive")
    if cents(amount.amount, amount.currency) != amount.amount:
        raise PaymentError(
            f"{field}: {amount.amount} is not a whole number of cents", field, "cents"
        )
    if amount.amount > MAX_SEPA_AMOUNT:
        raise PaymentError(
            f"{field}: {amount.amount} is above the {MAX_SEPA_AMOUNT} one SEPA transaction carries",
            field,
            "too_large",
        )


def _sepa_id(value: str, field: str) -> None:
    if not _SEPA_ID.match(value) or value.startswith("/") or value.endswith("/") or "//" in value:
        raise PaymentError(
            f"{field}: {value!r} is not 1–35 letters, digits or + ? / - : ( ) . , ' and spaces, "
            "without a / at either end or two together",
            field,
            "identifier",
            value=value,
        )


def _name(value: str, field: str) -> None:
    if not value.strip():
        raise PaymentError(f"{field}: required", field, "required")


def _reference(value: str) -> str:
    try:
        return parse_structured_reference(value)
    except ReferenceError as exc:
        raise PaymentError(
            f"structured_reference: {value!r} is not a Belgian structured reference ({exc.reason})",
            "structured_reference",
            "structured_reference",
            value=value,
            fault=exc.reason,
        ) from exc


def _set(instance: object, name: str, value: object) -> None:
    """Normalises a field of a frozen instance while it is being made."""
    object.__setattr__(instance, name, value)


def creditor_identifier_valid(identifier: str) -> bool:
    """Whether a SEPA creditor identifier's check digits are right: ISO 7064 MOD 97-10 over the
    national identifier, the country code and "00", the three business-code characters left out
    (a creditor may change those without a new identifier)."""
    found = _CREDITOR_ID.match(identifier)
    if found is None:
        return False
    country, check, _business, national = found.groups()
    digits = "".join(str(int(c, 36)) for c in f"{national}{country}{check}".upper())
    return int(digits) % 97 == 1


@dataclass(frozen=True, slots=True)
class Creditor:
    """The operator's side of every file: the account debits are collected into and payouts are
    paid from. ``creditor_id`` is its SEPA creditor identifier (``BE69ZZZ050D000000008``),
    needed to collect only."""

    name: str
    iban: str
    bic: str | None = None
    creditor_id: str | None = None

    def __post_init__(self) -> None:
        _name(self.name, "name")
        iban = _iban(self.iban, "iban")
        _set(self, "iban", iban.compact)
        _set(self, "bic", _bic(self.bic, iban, "bic", required=True))
        if self.creditor_id is not None:
            compact = self.creditor_id.replace(" ", "").upper()
            if not creditor_identifier_valid(compact):
                raise PaymentError(
                    f"creditor_id: {self.creditor_id!r} is not a SEPA creditor identifier with "
                    "valid check digits",
                    "creditor_id",
                    "creditor_id",
                    creditor_id=self.creditor_id,
                )
            _set(self, "creditor_id", compact)


@dataclass(frozen=True, slots=True)
class Collection:
    """One document collected by direct debit under its mandate. ``document_number`` travels
    as the end-to-end id, which the debtor's bank shows and the statement brings back;
    ``structured_reference`` (the document's OGM) is the remittance information."""

    document_number: str
    amount: Money
    structured_reference: str
    debtor_name: str
    debtor_iban: str
    debtor_bic: str | None
    mandate: DebitMandate
    sequence_type: SequenceType
    collection_date: date

    def __post_init__(self) -> None:
        _sepa_id(self.document_number, "document_number")
        _sepa_amount(self.amount, "amount")
        _set(self, "structured_reference", _reference(self.structured_reference))
        _name(self.debtor_name, "debtor_name")
        iban = _iban(self.debtor_iban, "debtor_iban")
        _set(self, "debtor_iban", iban.compact)
        _set(self, "debtor_bic", _bic(self.debtor_bic, iban, "debtor_bic", required=False))
        _check_mandate(self.mandate, self.collection_date)


def _check_mandate(mandate: DebitMandate, collection_date: date) -> None:
    _sepa_id(mandate.reference, "mandate_reference")
    if mandate.revoked_on is not None:
        raise PaymentError(
            f"mandate: {mandate.reference} was revoked on {mandate.revoked_on}",
            "mandate",
            "revoked",
            mandate=mandate.reference,
            revoked_on=mandate.revoked_on.isoformat(),
        )
    if mandate.signed_on > collection_date:
        raise PaymentError(
            f"mandate_signed_on: {mandate.reference} is signed on {mandate.signed_on}, after the "
            f"collection date {collection_date}",
            "mandate_signed_on",
            "after_collection",
        )
    if collection_date >= mandate.expires_on:
        raise PaymentError(
            f"mandate: {mandate.reference} expired on {mandate.expires_on}, "
            f"{MANDATE_LIFETIME_MONTHS} months without a collection",
            "mandate",
            "expired",
            mandate=mandate.reference,
            expired_on=mandate.expires_on.isoformat(),
        )


@dataclass(frozen=True, slots=True)
class Payout:
    """What a credit transfer pays: an employee's reimbursement or a host's remuneration.
    ``end_to_end_id`` is the statement's number; ``remittance`` is the text the payee's bank
    shows."""

    payee_name: str
    payee_iban: str
    payee_bic: str | None
    amount: Money
    end_to_end_id: str
    remittance: str

    def __post_init__(self) -> None:
        _name(self.payee_name, "payee_name")
        iban = _iban(self.payee_iban, "payee_iban")
        _set(self, "payee_iban", iban.compact)
        _set(self, "payee_bic", _bic(self.payee_bic, iban, "payee_bic", required=False))
        _sepa_amount(self.amount, "amount")
        _sepa_id(self.end_to_end_id, "end_to_end_id")
        if not self.remittance.strip():
            raise PaymentError("remittance: required", "remittance", "required")
        if len(self.remittance) > 140:
            raise PaymentError("remittance: at most 140 characters", "remittance", "too_long")


def check_batch_date(value: date, created_at: datetime, field: str) -> None:
    """A file asks for its collection or execution on the day it is made or later."""
    if created_at.tzinfo is None:
        raise PaymentError("created_at: a time with its zone", "created_at", "naive")
    if value < created_at.date():
        raise PaymentError(
            f"{field}: {value} is before the file's day {created_at.date()}", field, "past"
        )


# --- A bank statement's credits, matched to open documents -------------------------------------


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """A credit on the operator's account as the bank booked it. ``entry_reference`` is the
    bank's own reference of it, the same each time the statement is read, so that a second
    import knows it. ``references`` are the valid structured references the payer gave (in the
    structured field or written as ``+++…+++`` in the text), canonical and once each;
    ``remittance`` is what they wrote, for a person to read when nothing matches."""

    entry_reference: str
    booking_date: date
    amount: Decimal
    currency: str
    references: tuple[str, ...] = ()
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    remittance: str | None = None
    end_to_end_id: str | None = None

    def __post_init__(self) -> None:
        if not self.entry_reference:
            raise PaymentError("entry_reference: required", "entry_reference", "required")
        if isinstance(self.amount, float) or not self.amount.is_finite() or self.amount <= 0:
            raise PaymentError(
                f"amount: a credit above zero, not {self.amount}", "amount", "not_positive"
            )

    @property
    def structured_reference(self) -> str | None:
        """The reference, when the payer gave exactly one."""
        return self.references[0] if len(self.references) == 1 else None


@dataclass(frozen=True, slots=True)
class OpenDocument:
    """A document a payment may settle: ``amount_due`` is what is still to be paid (0 for one
    already paid, so that paying it again shows as overpaid rather than unknown)."""

    number: str
    structured_reference: str
    amount_due: Money

    def __post_init__(self) -> None:
        _set(self, "structured_reference", _reference(self.structured_reference))
        if self.amount_due.amount < 0:
            raise PaymentError("amount_due: cannot be negative", "amount_due", "negative")


class MatchKind(enum.StrEnum):
    MATCHED = "matched"  # pays exactly what was due
    PARTIAL = "partial"  # pays part of it: the rest stays due
    OVERPAID = "overpaid"  # pays more: what was due is applied, the surplus listed
    UNMATCHED = "unmatched"  # no reference, or one of no open document
    AMBIGUOUS = "ambiguous"  # several references, or one shared by several documents
    WRONG_CURRENCY = "wrong_currency"  # the document is due in another currency
    ALREADY_IMPORTED = "already_imported"  # the same bank entry was read before


class Unmatched(enum.StrEnum):
    NO_REFERENCE = "no_reference"
    UNKNOWN_REFERENCE = "unknown_reference"


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """What became of one entry. ``applied`` is what settles ``document`` (in the entry's
    currency); ``surplus`` what was paid beyond it; ``candidates`` the documents an ambiguous or
    wrong-currency entry points at."""

    entry: StatementEntry
    kind: MatchKind
    document: str | None = None
    applied: Decimal = Decimal(0)
    surplus: Decimal = Decimal(0)
    candidates: tuple[str, ...] = ()
    unmatched: Unmatched | None = None


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The outcome of each entry, in the entries' order, and what each document still has due
    once they are applied."""

    outcomes: tuple[EntryOutcome, ...]
    remaining: Mapping[str, Money] = field(default_factory=dict)

    def of(self, kind: MatchKind) -> tuple[EntryOutcome, ...]:
        return tuple(o for o in self.outcomes if o.kind is kind)

    @property
    def paid_in_full(self) -> tuple[str, ...]:
        """Documents these entries settled: due before, nothing due after."""
        settled = {o.document for o in self.outcomes if o.applied > 0}
        return tuple(n for n, due in self.remaining.items() if n in settled and due.amount == 0)


def reconcile(
    entries: Iterable[StatementEntry],
    documents: Iterable[OpenDocument],
    already_imported: Container[str] = frozenset(),
) -> Reconciliation:
    """Each entry's outcome, applying entries in order so that two payments of one document
    together never settle more than was due. An entry whose reference was imported before, or
    that repeats one met earlier in ``entries``, changes nothing."""
    by_reference: dict[str, list[OpenDocument]] = {}
    remaining: dict[str, Money] = {}
    for document in documents:
        by_reference.setdefault(document.structured_reference, []).append(document)
        remaining[document.number] = document.amount_due
    seen: set[str] = set()
    outcomes: list[EntryOutcome] = []
    for entry in entries:
        if entry.entry_reference in already_imported or entry.entry_reference in seen:
            outcomes.append(EntryOutcome(entry, MatchKind.ALREADY_IMPORTED))
            continue
        seen.add(entry.entry_reference)
        outcomes.append(_match(entry, by_reference, remaining))
    return Reconciliation(tuple(outcomes), remaining)


def _match(
    entry: StatementEntry,
    by_reference: Mapping[str, list[OpenDocument]],
    remaining: dict[str, Money],
) -> EntryOutcome:
    if not entry.references:
        return EntryOutcome(entry, MatchKind.UNMATCHED, unmatched=Unmatched.NO_REFERENCE)
    candidates = [d for ref in entry.references for d in by_reference.get(ref, ())]
    if not candidates:
        return EntryOutcome(entry, MatchKind.UNMATCHED, unmatched=Unmatched.UNKNOWN_REFERENCE)
    numbers = tuple(dict.fromkeys(d.number for d in candidates))
    if len(entry.references) > 1 or len(numbers) > 1:
        return EntryOutcome(entry, MatchKind.AMBIGUOUS, candidates=numbers)
    document = candidates[0]
    due = remaining[document.number]
    if entry.currency != due.currency:
        return EntryOutcome(
            entry, MatchKind.WRONG_CURRENCY, document=document.number, candidates=numbers
        )
    applied = min(entry.amount, due.amount)
    remaining[document.number] = Money(due.amount - applied, due.currency)
    if entry.amount == due.amount:
        kind = MatchKind.MATCHED
    elif entry.amount < due.amount:
        kind = MatchKind.PARTIAL
    else:
        kind = MatchKind.OVERPAID
    return EntryOutcome(
        entry,
        kind,
        document=document.number,
        applied=applied,
        surplus=entry.amount - applied,
        candidates=numbers,
    )
