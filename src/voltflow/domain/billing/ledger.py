"""The double-entry ledger behind every amount a document carries (DESIGN §2 F).

Each issued document is booked as one journal: postings to accounts whose debits equal their
credits, or the journal cannot be made. Accounts:

- receivables, per customer organisation: what invoices and payment requests ask of it, less
  what credit notes give back;
- revenue from charging and from subscriptions: invoice lines excl. VAT;
- VAT payable: the invoices' VAT, as computed per rate on each document;
- reimbursements: a pass-through; a payment request credits it (the employer owes the money)
  and the employees' statements debit it (they are owed it), so that it comes back to zero
  when both are issued;
- payables per employee and per host: what the platform owes each person;
- host remuneration: the hosts' share of public charging, a cost; VAT recoverable: VAT on
  self-billed remuneration;
- prepaid balances, per customer organisation: money received for charging not yet invoiced, a
  liability; an invoice moves what its sessions drew from it to revenue (and VAT);
- bank: the operator's account, which payments received, top-ups and payouts move
  (``domain.billing.settlement``); unapplied receipts: what a payer paid beyond what was due,
  owed back to them until a person settles it.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from voltflow.domain.billing.documents import Document, DocumentKind
from voltflow.domain.billing.items import Purpose

ZERO = Decimal(0)


class Account(enum.StrEnum):
    RECEIVABLES = "receivables"
    REVENUE_CHARGING = "revenue_charging"
    REVENUE_SUBSCRIPTIONS = "revenue_subscriptions"
    VAT_PAYABLE = "vat_payable"
    VAT_RECOVERABLE = "vat_recoverable"
    REIMBURSEMENTS = "reimbursements"
    PAYABLES_EMPLOYEES = "payables_employees"
    PAYABLES_HOSTS = "payables_hosts"
    HOST_REMUNERATION = "host_remuneration"
    PREPAID_BALANCES = "prepaid_balances"
    BANK = "bank"
    UNAPPLIED_RECEIPTS = "unapplied_receipts"


# Where a line's net amount is booked, by what it bills.
LINE_ACCOUNTS: dict[Purpose, Account] = {
    Purpose.CHARGING: Account.REVENUE_CHARGING,
    Purpose.SUBSCRIPTION: Account.REVENUE_SUBSCRIPTIONS,
    Purpose.REIMBURSEMENT: Account.REIMBURSEMENTS,
    Purpose.REMUNERATION: Account.HOST_REMUNERATION,
}


class LedgerError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PartyRef:
    """Whose receivable or payable a posting is."""

    kind: str  # "organisation" | "user"
    id: int


@dataclass(frozen=True, slots=True)
class Posting:
    account: Account
    party: PartyRef | None
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Debit minus credit."""
        return self.debit - self.credit


@dataclass(frozen=True, slots=True)
class Journal:
    """One booking: its postings balance, or it is refused."""

    reference: str  # the document's number
    posted_on: date
    currency: str
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        debit = sum((p.debit for p in self.postings), ZERO)
        credit = sum((p.credit for p in self.postings), ZERO)
        if debit != credit:
            raise LedgerError(f"journal {self.reference}: debits {debit} ≠ credits {credit}")
        if any(p.debit < 0 or p.credit < 0 for p in self.postings):
            raise LedgerError(f"journal {self.reference}: a posting is negative")


def _post(account: Account, party: PartyRef | None, amount: Decimal, *, debit: bool) -> Posting:
    """``amount`` on the side asked, or on the other side when it is negative."""
    if (amount >= 0) == debit:
        return Posting(account, party, abs(amount), ZERO)
    return Posting(account, party, ZERO, abs(amount))


def journal_for(
    document: Document,
    purposes: Sequence[Purpose],
    *,
    organisation_id: int | None,
    user_id: int | None,
) -> Journal:
    """The journal that books ``document`` (numbered), whose lines bill ``purposes`` (one each;
    a credit note's are those of the lines it credits)."""
    if document.number is None:
        raise LedgerError("a document is booked once numbered")
    if len(purposes) != len(document.lines):
        raise LedgerError(f"{document.number}: one purpose per line")
    nets: dict[Account, Decimal] = defaultdict(lambda: ZERO)
    for line, purpose in zip(document.lines, purposes, strict=True):
        nets[LINE_ACCOUNTS[purpose]] += line.net
    total = document.total_incl_vat.amount
    vat = document.total_vat.amount
    kind = document.kind
    postings: list[Posting] = []

    def party(kind: str, id_: int | None) -> PartyRef:
        if id_ is None:
            raise LedgerError(f"{document.number}: whose {kind} is it?")
        return PartyRef(kind, id_)

    if kind in (DocumentKind.INVOICE, DocumentKind.PAYMENT_REQUEST):
        customer = party("organisation", organisation_id)
        prepaid = document.prepaid_amount
        postings.append(_post(Account.RECEIVABLES, customer, total - prepaid, debit=True))
        if prepaid:
            postings.append(_post(Account.PREPAID_BALANCES, customer, prepaid, debit=True))
        postings += [_post(account, None, net, debit=False) for account, net in nets.items()]
        postings.append(_post(Account.VAT_PAYABLE, None, vat, debit=False))
    elif kind is DocumentKind.CREDIT_NOTE:
        postings.append(
            _post(Account.RECEIVABLES, party("organisation", organisation_id), total, debit=False)
        )
        postings += [_post(account, None, net, debit=True) for account, net in nets.items()]
        postings.append(_post(Account.VAT_PAYABLE, None, vat, debit=True))
    elif kind is DocumentKind.REIMBURSEMENT_STATEMENT:
        postings += [_post(account, None, net, debit=True) for account, net in nets.items()]
        postings.append(_post(Account.VAT_RECOVERABLE, None, vat, debit=True))
        postings.append(
            _post(Account.PAYABLES_EMPLOYEES, party("user", user_id), total, debit=False)
        )
    elif kind is DocumentKind.SELF_BILLING:
        postings += [_post(account, None, net, debit=True) for account, net in nets.items()]
        postings.append(_post(Account.VAT_RECOVERABLE, None, vat, debit=True))
        postings.append(_post(Account.PAYABLES_HOSTS, party("user", user_id), total, debit=False))
    else:  # pragma: no cover - every kind is booked above
        raise LedgerError(f"{document.number}: no booking for {kind}")
    kept = tuple(p for p in postings if p.debit or p.credit)
    return Journal(document.number, document.issue_date, document.currency, kept)


Key = tuple[Account, PartyRef | None]


def balances(postings: Iterable[Posting]) -> dict[Key, Decimal]:
    """Debit minus credit per account and party."""
    out: dict[Key, Decimal] = defaultdict(lambda: ZERO)
    for p in postings:
        out[(p.account, p.party)] += p.balance
    return dict(out)


def account_balance(balances_: Mapping[Key, Decimal], account: Account) -> Decimal:
    """Debit minus credit of ``account``, every party together."""
    return sum((v for (a, _), v in balances_.items() if a is account), ZERO)
