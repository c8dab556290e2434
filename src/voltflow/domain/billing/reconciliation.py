"""A period's reconciliation: its documents' totals, the priced sessions they bill, and the
ledger's balances must tell the same amounts, to the cent.

For each purpose the figures are: what the documents' lines add up to, what was recorded as
billed (the amount of each billed item when it was billed), what the price lines say of those
sessions now (a session corrected after it was billed differs here, until a credit note or a
later document puts it right), and the ledger account it is booked on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from voltflow.domain.billing.documents import Document, DocumentKind
from voltflow.domain.billing.items import BilledItem, Purpose
from voltflow.domain.billing.ledger import Account, Posting, account_balance, balances

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class IssuedDocument:
    """An issued document as the reconciliation reads it: the purpose of each line."""

    document: Document
    purposes: tuple[Purpose, ...]


@dataclass(frozen=True, slots=True)
class Check:
    """Figures that must be equal: each names where it comes from."""

    name: str
    figures: tuple[tuple[str, Decimal], ...]

    @property
    def ok(self) -> bool:
        return len({value for _, value in self.figures}) <= 1


@dataclass(frozen=True, slots=True)
class Reconciliation:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


def _lines(documents: Iterable[IssuedDocument], kind: DocumentKind, purpose: Purpose) -> Decimal:
    return sum(
        (
            line.net
            for d in documents
            if d.document.kind is kind
            for line, p in zip(d.document.lines, d.purposes, strict=True)
            if p is purpose
        ),
        ZERO,
    )


def _total(documents: Iterable[IssuedDocument], kind: DocumentKind, what: str) -> Decimal:
    """The documents' of ``kind`` total: ``excl`` (of VAT), ``vat`` or ``incl``."""
    out = ZERO
    for d in documents:
        if d.document.kind is not kind:
            continue
        doc = d.document
        if what == "excl":
            out += doc.total_excl_vat.amount
        elif what == "vat":
            out += doc.total_vat.amount
        else:
            out += doc.total_incl_vat.amount
    return out


def _prepaid(documents: Iterable[IssuedDocument]) -> Decimal:
    return sum((d.document.prepaid_amount for d in documents), ZERO)


def reconcile(
    documents: Sequence[IssuedDocument],
    billed: Iterable[BilledItem],
    priced: Mapping[tuple[str, str, str], Decimal],
    postings: Iterable[Posting],
) -> Reconciliation:
    """``documents``: a period's issued documents (credit notes of its invoices included);
    ``billed``: the items they billed; ``priced``: the current amount of each billed session by
    its item key (absent: no longer priced); ``postings``: the documents' ledger postings."""
    items = list(billed)
    posted = list(postings)
    ledger = balances(posted)

    def billed_sum(purpose: Purpose) -> Decimal:
        return sum((i.amount for i in items if i.purpose is purpose), ZERO)

    def priced_sum(purpose: Purpose) -> Decimal:
        return sum((priced.get(i.key, ZERO) for i in items if i.purpose is purpose), ZERO)

    inv, cn = DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE
    pr, rs = DocumentKind.PAYMENT_REQUEST, DocumentKind.REIMBURSEMENT_STATEMENT
    sb = DocumentKind.SELF_BILLING
    charging = _lines(documents, inv, Purpose.CHARGING)
    subscriptions = _lines(documents, inv, Purpose.SUBSCRIPTION)
    credited_charging = _lines(documents, cn, Purpose.CHARGING)
    credited_subscriptions = _lines(documents, cn, Purpose.SUBSCRIPTION)
    checks = [
        Check(
            "ledger balances",
            (
                ("debits", sum((p.debit for p in posted), ZERO)),
                ("credits", sum((p.credit for p in posted), ZERO)),
            ),
        ),
        Check(
            "charging",
            (
                ("invoice lines", charging),
                ("billed", billed_sum(Purpose.CHARGING)),
                ("priced sessions", priced_sum(Purpose.CHARGING)),
            ),
        ),
        Check(
            "charging revenue",
            (
                ("invoice lines less credit notes", charging - credited_charging),
                ("ledger", -account_balance(ledger, Account.REVENUE_CHARGING)),
            ),
        ),
        Check(
            "subscriptions",
            (
                ("invoice lines", subscriptions),
                ("billed", billed_sum(Purpose.SUBSCRIPTION)),
            ),
        ),
        Check(
            "subscription revenue",
            (
                ("invoice lines less credit notes", subscriptions - credited_subscriptions),
                ("ledger", -account_balance(ledger, Account.REVENUE_SUBSCRIPTIONS)),
            ),
        ),
        Check(
            "VAT",
            (
                (
                    "invoices less credit notes",
                    _total(documents, inv, "vat") - _total(documents, cn, "vat"),
                ),
                ("ledger", -account_balance(ledger, Account.VAT_PAYABLE)),
            ),
        ),
        Check(
            "receivables",
            (
                (
                    "invoices and payment requests less prepaid and credit notes",
                    _total(documents, inv, "incl")
                    + _total(documents, pr, "incl")
                    - _prepaid(documents)
                    - _total(documents, cn, "incl"),
                ),
                ("ledger", account_balance(ledger, Account.RECEIVABLES)),
            ),
        ),
        Check(
            "prepaid balances invoiced",
            (
                ("invoices' prepaid amounts", _prepaid(documents)),
                ("ledger", account_balance(ledger, Account.PREPAID_BALANCES)),
            ),
        ),
        Check(
            "reimbursements",
            (
                ("payment requests", _total(documents, pr, "incl")),
                ("reimbursement statements", _total(documents, rs, "incl")),
                ("billed", billed_sum(Purpose.REIMBURSEMENT)),
                ("priced sessions", priced_sum(Purpose.REIMBURSEMENT)),
                ("ledger payables", -account_balance(ledger, Account.PAYABLES_EMPLOYEES)),
            ),
        ),
        Check(
            "reimbursements passed through",
            (
                ("zero", ZERO),
                ("ledger", account_balance(ledger, Account.REIMBURSEMENTS)),
            ),
        ),
        Check(
            "host remuneration",
            (
                ("self-billing statements", _total(documents, sb, "incl")),
                ("billed", billed_sum(Purpose.REMUNERATION)),
                ("priced sessions", priced_sum(Purpose.REMUNERATION)),
                ("ledger payables", -account_balance(ledger, Account.PAYABLES_HOSTS)),
            ),
        ),
    ]
    return Reconciliation(tuple(checks))
