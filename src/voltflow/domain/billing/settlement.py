"""Money after documents are issued: what a payment does to the document it pays, what the ledger
books for money received and paid out, when a statement's payout falls due, which reminder an
overdue document has earned, the structured reference a prepaid contract's top-ups carry, and
the checks that tie documents, payments, payouts and balances to the ledger to the cent.

Payments settle what a document asks (``payable``: its total less what was paid in advance from
a prepaid balance): a payment registered by hand pays at most what is still due, since a person
typing more has made a mistake; a bank statement's entry that pays more books what was due and
keeps the surplus apart (unapplied receipts), listed for a person to give back or apply.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from voltflow.domain.billing.documents import DocumentKind, cents
from voltflow.domain.billing.ledger import (
    Account,
    Journal,
    PartyRef,
    Posting,
    account_balance,
    balances,
)
from voltflow.domain.billing.reconciliation import Check, Reconciliation
from voltflow.domain.billing.records import DocumentState
from voltflow.domain.billing.references import (
    ReferenceError,
    parse_structured_reference,
    structured_reference,
)
from voltflow.domain.money import MINOR_UNITS

ZERO = Decimal(0)
# The kinds the platform is paid for, and those it pays out.
RECEIVABLE = (DocumentKind.INVOICE, DocumentKind.PAYMENT_REQUEST)
STATEMENTS = (DocumentKind.REIMBURSEMENT_STATEMENT, DocumentKind.SELF_BILLING)
# The first of a structured reference's ten digits says what it pays: 1 an invoice, 2 a payment
# request (``runs.REFERENCE_DIGITS``), 3 a prepaid contract's balance.
TOP_UP_DIGIT = 3
_TOP_UP_BASE = TOP_UP_DIGIT * 10**9
# Days after the due date at which each reminder level is reached (level 1, 2, 3).
REMINDER_DAYS = (1, 15, 30)


class PaymentSource(enum.StrEnum):
    MANUAL = "manual"  # registered by a person
    STATEMENT = "statement"  # read from a bank statement


class EntryKind(enum.StrEnum):
    """What became of a bank statement's credit: a document's payment (``MatchKind``), or a
    prepaid contract's top-up."""

    MATCHED = "matched"
    PARTIAL = "partial"
    OVERPAID = "overpaid"
    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"
    WRONG_CURRENCY = "wrong_currency"
    ALREADY_IMPORTED = "already_imported"
    TOP_UP = "top_up"  # booked on the prepaid balance its reference names
    TOP_UP_REFUSED = "top_up_refused"  # the balance refused it (another currency, too much)

    @property
    def booked(self) -> bool:
        """Whether money was booked for it (so that a second import books nothing)."""
        return self in (EntryKind.MATCHED, EntryKind.PARTIAL, EntryKind.OVERPAID, EntryKind.TOP_UP)


class PayoutState(enum.StrEnum):
    DUE = "due"  # released: in the next credit transfer file
    SENT = "sent"  # in a credit transfer file handed to the bank


class SettlementError(ValueError):
    """A payment refused: ``field`` names the input at fault, ``reason`` the rule, ``values``
    what broke it (for the message in the reader's language)."""

    def __init__(self, message: str, field: str, reason: str, **values: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.values = values


# -- prepaid contracts' top-ups -----------------------------------------------------------------


def top_up_reference(contract_id: int) -> str:
    """The structured reference of a prepaid contract's top-ups: the same for every transfer,
    so a customer's standing order keeps working."""
    if not 0 < contract_id < 10**9:
        raise ValueError(f"contract {contract_id}: 1 to 999999999")
    return structured_reference(_TOP_UP_BASE + contract_id)


def contract_of_reference(reference: str) -> int | None:
    """The prepaid contract a structured reference tops up, None for any other reference."""
    try:
        written = parse_structured_reference(reference)
    except ReferenceError:
        return None
    base = int("".join(c for c in written if c.isdigit())[:10])
    if base // 10**9 != TOP_UP_DIGIT or base == _TOP_UP_BASE:
        return None
    return base - _TOP_UP_BASE


# -- payments -----------------------------------------------------------------------------------


def state_after(payable: Decimal, paid: Decimal) -> str:
    """A receivable document's state once ``paid`` of its ``payable`` came in."""
    if paid >= payable:
        return DocumentState.PAID
    if paid > 0:
        return DocumentState.PARTLY_PAID
    return DocumentState.ISSUED


def check_payment(
    kind: DocumentKind,
    currency: str,
    amount_due: Decimal,
    amount: Decimal,
    paid_in: str,
) -> None:
    """``SettlementError`` unless ``amount`` in ``paid_in`` may be registered by hand against a
    document of ``kind`` with ``amount_due`` left: a document paid to the platform, in its
    currency, more than nothing, in whole cents, and no more than is due."""
    if kind not in RECEIVABLE:
        raise SettlementError(
            f"document: a {kind.value} is not paid to the platform", "document", "not_receivable"
        )
    if paid_in != currency:
        raise SettlementError(
            f"currency: the document is due in {currency}, not {paid_in}",
            "currency",
            "currency",
            currency=currency,
        )
    if isinstance(amount, float) or not amount.is_finite() or amount <= 0:
        raise SettlementError("amount: more than zero", "amount", "positive")
    if currency in MINOR_UNITS and cents(amount, currency) != amount:
        raise SettlementError("amount: a whole number of cents", "amount", "cents")
    if amount_due <= 0:
        raise SettlementError("document: nothing is due on it any more", "document", "paid")
    if amount > amount_due:
        raise SettlementError(
            f"amount: {amount} is more than the {amount_due} still due",
            "amount",
            "too_much",
            due=str(amount_due),
        )


# -- what the ledger books ----------------------------------------------------------------------


def _posting(account: Account, party: PartyRef | None, debit: Decimal, credit: Decimal) -> Posting:
    return Posting(account, party, debit, credit)


def receipt_journal(
    reference: str,
    posted_on: date,
    currency: str,
    organisation_id: int,
    applied: Decimal,
    surplus: Decimal = ZERO,
) -> Journal:
    """Money in for a customer's document: the bank up by all of it, the customer's receivable
    down by what it settles, the rest owed back to them until someone settles it."""
    postings = [
        _posting(Account.BANK, None, applied + surplus, ZERO),
        _posting(Account.RECEIVABLES, PartyRef("organisation", organisation_id), ZERO, applied),
    ]
    if surplus:
        postings.append(
            _posting(
                Account.UNAPPLIED_RECEIPTS, PartyRef("organisation", organisation_id), ZERO, surplus
            )
        )
    return Journal(
        reference, posted_on, currency, tuple(p for p in postings if p.debit or p.credit)
    )


def payout_journal(
    reference: str,
    posted_on: date,
    currency: str,
    kind: DocumentKind,
    user_id: int,
    amount: Decimal,
) -> Journal:
    """Money out to a person the platform owes: their payable settled from the bank."""
    account = {
        DocumentKind.REIMBURSEMENT_STATEMENT: Account.PAYABLES_EMPLOYEES,
        DocumentKind.SELF_BILLING: Account.PAYABLES_HOSTS,
    }[kind]
    return Journal(
        reference,
        posted_on,
        currency,
        (
            _posting(account, PartyRef("user", user_id), amount, ZERO),
            _posting(Account.BANK, None, ZERO, amount),
        ),
    )


def top_up_journal(
    reference: str, posted_on: date, currency: str, organisation_id: int, amount: Decimal
) -> Journal:
    """Money in for a prepaid balance: owed to the customer in charging until an invoice
    moves what their sessions drew to revenue."""
    return Journal(
        reference,
        posted_on,
        currency,
        (
            _posting(Account.BANK, None, amount, ZERO),
            _posting(
                Account.PREPAID_BALANCES, PartyRef("organisation", organisation_id), ZERO, amount
            ),
        ),
    )


# -- payouts and reminders ----------------------------------------------------------------------


def payout_released(kind: DocumentKind, *, at_once: bool, request_paid: bool) -> bool:
    """Whether a statement's payout is due: a host's with their statement; an employee's once
    their employer's payment request is paid, or at once when the platform is set to advance
    it."""
    if kind is DocumentKind.SELF_BILLING:
        return True
    if kind is DocumentKind.REIMBURSEMENT_STATEMENT:
        return at_once or request_paid
    return False


def reminder_level(due_date: date, today: date) -> int:
    """The reminder an unpaid document has earned by ``today``: 0 none yet, up to 3."""
    late = (today - due_date).days
    return sum(1 for days in REMINDER_DAYS if late >= days)


# -- records, as lists read them --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SepaFileRow:
    id: int
    schema: str
    message_id: str
    period_start: date
    transactions: int
    control_sum: Decimal
    actor_name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PayoutRow:
    """A payout with what its credit transfer needs: the statement, the person and their
    account now."""

    id: int
    document_id: int
    number: str
    kind: DocumentKind
    period_start: date
    user_id: int
    payee: str
    iban: str | None
    language: str | None
    amount: Decimal
    currency: str
    state: str
    released_by: str
    released_at: datetime
    sepa_file_id: int | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: int
    document_id: int
    number: str
    amount: Decimal
    currency: str
    received_on: date
    source: PaymentSource
    reference: str
    actor_name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A bank statement's entry as it was imported, and what became of it."""

    id: int
    entry_reference: str
    booking_date: date
    amount: Decimal
    currency: str
    outcome: EntryKind
    booked: bool
    document: str | None
    contract_id: int | None


# -- the checks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedAmounts:
    """An issued document's amounts, as the settlement checks read them."""

    kind: DocumentKind
    total: Decimal  # incl. VAT
    prepaid: Decimal
    paid: Decimal


@dataclass(frozen=True, slots=True)
class PayoutAmount:
    kind: DocumentKind  # of the statement it pays
    amount: Decimal
    statement_total: Decimal
    sent: bool


@dataclass(frozen=True, slots=True)
class MoneyFigures:
    """What the tables say, beside the ledger: each check compares a figure of these with the
    ledger's balance of an account."""

    documents: Sequence[IssuedAmounts]
    payments: Decimal  # every payment registered, by hand or from statements
    surplus: Decimal  # what statements paid beyond what was due
    payouts: Sequence[PayoutAmount]
    top_ups: Decimal  # booked on prepaid balances
    drawn_billed: Decimal  # what sessions on issued invoices drew from prepaid balances
    drawn: Decimal  # what every session drew
    balances: Decimal  # the prepaid contracts' balances now


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def money_checks(figures: MoneyFigures, postings: Iterable[Posting]) -> Reconciliation:
    """Documents, payments, payouts and prepaid balances against the whole ledger."""
    posted = list(postings)
    ledger = balances(posted)
    docs = figures.documents

    def total(kinds: Sequence[DocumentKind]) -> Decimal:
        return _sum(d.total for d in docs if d.kind in kinds)

    receivable = [d for d in docs if d.kind in RECEIVABLE]
    sent = [p for p in figures.payouts if p.sent]

    def paid_out(kind: DocumentKind) -> Decimal:
        return _sum(p.amount for p in sent if p.kind is kind)

    prepaid_invoiced = _sum(d.prepaid for d in docs)
    checks = [
        Check(
            "ledger balances",
            (
                ("debits", _sum(p.debit for p in posted)),
                ("credits", _sum(p.credit for p in posted)),
            ),
        ),
        Check(
            "receivables",
            (
                (
                    "payable less credit notes and payments",
                    _sum(d.total - d.prepaid for d in receivable)
                    - total((DocumentKind.CREDIT_NOTE,))
                    - figures.payments,
                ),
                ("ledger", account_balance(ledger, Account.RECEIVABLES)),
            ),
        ),
        Check(
            "documents paid",
            (
                ("documents", _sum(d.paid for d in receivable)),
                ("payments", figures.payments),
            ),
        ),
        Check(
            "bank",
            (
                (
                    "payments, surplus and top-ups less payouts sent",
                    figures.payments
                    + figures.surplus
                    + figures.top_ups
                    - _sum(p.amount for p in sent),
                ),
                ("ledger", account_balance(ledger, Account.BANK)),
            ),
        ),
        Check(
            "unapplied receipts",
            (
                ("statements' surplus", figures.surplus),
                ("ledger", -account_balance(ledger, Account.UNAPPLIED_RECEIPTS)),
            ),
        ),
        Check(
            "employees' reimbursements owed",
            (
                (
                    "statements less payouts sent",
                    total((DocumentKind.REIMBURSEMENT_STATEMENT,))
                    - paid_out(DocumentKind.REIMBURSEMENT_STATEMENT),
                ),
                ("ledger", -account_balance(ledger, Account.PAYABLES_EMPLOYEES)),
            ),
        ),
        Check(
            "hosts' remuneration owed",
            (
                (
                    "statements less payouts sent",
                    total((DocumentKind.SELF_BILLING,)) - paid_out(DocumentKind.SELF_BILLING),
                ),
                ("ledger", -account_balance(ledger, Account.PAYABLES_HOSTS)),
            ),
        ),
        Check(
            "payouts",
            (
                ("payouts", _sum(p.amount for p in figures.payouts)),
                ("their statements", _sum(p.statement_total for p in figures.payouts)),
            ),
        ),
        Check(
            "prepaid balances owed",
            (
                ("top-ups less invoiced", figures.top_ups - prepaid_invoiced),
                ("ledger", -account_balance(ledger, Account.PREPAID_BALANCES)),
            ),
        ),
        Check(
            "prepaid invoiced",
            (
                ("invoices' prepaid amounts", prepaid_invoiced),
                ("drawn by their sessions", figures.drawn_billed),
            ),
        ),
        Check(
            "prepaid balances",
            (
                ("top-ups less drawn", figures.top_ups - figures.drawn),
                ("contracts' balances", figures.balances),
            ),
        ),
    ]
    return Reconciliation(tuple(checks))
