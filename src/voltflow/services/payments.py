"""Money after documents are issued (DESIGN §2 E, F): payments registered by hand or read from a
bank statement, SEPA files that collect documents under their mandates and pay out what the
platform owes, payouts released when their condition is met, overdue documents and their
reminders, and the checks that tie all of it to the ledger.

Each use case is one unit of work behind the payments' lock: a statement file is booked whole
or not at all (a fault in its last entry leaves its first unbooked), a SEPA file is stored with
the collections and payouts it carries and their bookings, a reminder with its mail.

Payouts are released by ``_release_payouts``, which every use case that moves money runs first:
a host's remuneration with its statement, an employee's reimbursement once their employer's
payment request is paid (or with its statement, ``pay_reimbursements_at_once``). A released
payout goes into the next credit transfer file; a person without an account is listed, and
their payout waits for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from voltflow.banking.camt import StatementError, credit_entries
from voltflow.banking.sepa import (
    CREDIT_TRANSFER,
    DIRECT_DEBIT,
    credit_transfer_file,
    direct_debit_file,
)
from voltflow.domain.access import PLATFORM, Actor, Permission
from voltflow.domain.billing.documents import DocumentKind
from voltflow.domain.billing.payments import (
    Collection,
    Creditor,
    DebitMandate,
    EntryOutcome,
    MatchKind,
    OpenDocument,
    PaymentError,
    Payout,
    SequenceType,
    StatementEntry,
    reconcile,
)
from voltflow.domain.billing.prepaid import PrepaidError
from voltflow.domain.billing.reconciliation import Reconciliation
from voltflow.domain.billing.records import DocumentRecord
from voltflow.domain.billing.runs import BillingPeriod
from voltflow.domain.billing.settlement import (
    EntryKind,
    EntryRow,
    MoneyFigures,
    PaymentRow,
    PaymentSource,
    PayoutRow,
    PayoutState,
    SepaFileRow,
    SettlementError,
    check_payment,
    contract_of_reference,
    money_checks,
    payout_journal,
    payout_released,
    receipt_journal,
    reminder_level,
    state_after,
)
from voltflow.domain.mail import PaymentReminder
from voltflow.domain.money import Money
from voltflow.i18n import _, terms, use
from voltflow.services.access import require
from voltflow.services.audit import AuditTrail
from voltflow.services.billing import DocumentNotFound
from voltflow.services.mail import MailService
from voltflow.services.ports import Clock, UnitOfWork
from voltflow.services.prepaid import PrepaidService
from voltflow.services.units import use_case
from voltflow.store.billing import BillingRepository
from voltflow.store.payments import PaymentRepository

log = logging.getLogger(__name__)
P = Permission
LONGEST_REFERENCE = 140
# A collection is asked for no sooner than this after its file is made (the SEPA Core
# scheme's presentation time, with a day to spare).
COLLECTION_LEAD = timedelta(days=2)
# Prepaid movements' references hold 64 characters; a bank's entry reference may hold more.
_MOVEMENT_REFERENCE = 64


class PaymentProblem(ValueError):
    """A payment, file or import refused: ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class MandateNotFound(LookupError):
    pass


class SepaFileNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class PaymentSettings:
    creditor: Creditor  # the operator's account, and its SEPA creditor identifier
    timezone: str = "Europe/Brussels"
    pay_reimbursements_at_once: bool = False


@dataclass(frozen=True, slots=True)
class PaymentResult:
    document: DocumentRecord  # as it is after the payment
    amount: Decimal
    booked: bool  # False: this payment (its reference) was registered before; nothing added


@dataclass(frozen=True, slots=True)
class ImportedEntry:
    """One credit of an imported statement and what became of it. ``message`` says why it was
    not booked, in the reader's language."""

    entry: StatementEntry
    kind: EntryKind
    document: str | None = None
    contract_id: int | None = None
    applied: Decimal = Decimal(0)
    surplus: Decimal = Decimal(0)
    candidates: tuple[str, ...] = ()
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    entries: tuple[ImportedEntry, ...]

    def of(self, *kinds: EntryKind) -> tuple[ImportedEntry, ...]:
        return tuple(e for e in self.entries if e.kind in kinds)

    @property
    def booked(self) -> tuple[ImportedEntry, ...]:
        return tuple(e for e in self.entries if e.kind.booked)

    @property
    def exceptions(self) -> tuple[ImportedEntry, ...]:
        """What a person must look at: nothing matched, or it paid too much."""
        return self.of(
            EntryKind.UNMATCHED,
            EntryKind.AMBIGUOUS,
            EntryKind.WRONG_CURRENCY,
            EntryKind.OVERPAID,
            EntryKind.TOP_UP_REFUSED,
        )


@dataclass(frozen=True, slots=True)
class SepaException:
    """A document or payout left out of a SEPA file, and why (``reason``: a code; ``message``
    in the reader's language)."""

    kind: str  # "collection" | "payout"
    number: str  # the document's number
    party: str  # the debtor or the payee
    amount: Decimal
    currency: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class CollectionMade:
    number: str
    debtor: str
    mandate: str
    sequence_type: SequenceType
    collection_date: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PayoutMade:
    number: str
    payee: str
    iban: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class SepaResult:
    period: BillingPeriod
    files: tuple[SepaFileRow, ...]  # made by this call
    collections: tuple[CollectionMade, ...]
    payouts: tuple[PayoutMade, ...]
    exceptions: tuple[SepaException, ...]
    contents: dict[int, bytes] = field(default_factory=dict)  # each new file's bytes, by id


@dataclass(frozen=True, slots=True)
class OverdueDocument:
    document: DocumentRecord
    days: int
    reminded: int  # the highest reminder level sent (0: none)
    level: int  # the level it has earned


@dataclass(frozen=True, slots=True)
class ReminderSent:
    number: str
    level: int
    mailed: bool  # False: nobody to mail (no billing address, no fleet manager with one)


def _reason_text(exc: PaymentError) -> str:
    """A domain refusal of a collection or a payout, in the reader's language."""
    values = exc.values
    messages = {
        "revoked": lambda: (
            _("mandate %(mandate)s was revoked on %(day)s")
            % {"mandate": values.get("mandate", ""), "day": values.get("revoked_on", "")}
        ),
        "expired": lambda: (
            _("mandate %(mandate)s expired on %(day)s: 36 months without a collection")
            % {"mandate": values.get("mandate", ""), "day": values.get("expired_on", "")}
        ),
        "after_collection": lambda: _("the mandate is signed after the collection date"),
        "iban": lambda: (
            _("%(field)s: %(iban)s is not a valid IBAN")
            % {"field": exc.field, "iban": values.get("iban", "")}
        ),
        "currency": lambda: (
            _("SEPA moves euros, not %(currency)s") % {"currency": values.get("currency", "")}
        ),
        "not_positive": lambda: _("nothing to move"),
        "too_large": lambda: _("more than one SEPA transaction carries"),
        "bic_country": lambda: _("the BIC is of another country than the account"),
        "bic": lambda: _("the BIC is not valid"),
        "no_latin": lambda: _("%(field)s: nothing a bank can carry") % {"field": exc.field},
        "identifier": lambda: (
            _("%(field)s: not an identifier a bank carries") % {"field": exc.field}
        ),
    }
    made = messages.get(exc.reason)
    return made() if made is not None else str(exc)


def _settlement_text(exc: SettlementError) -> str:
    messages = {
        "not_receivable": lambda: _("document: only invoices and payment requests are paid"),
        "currency": lambda: (
            _("currency: the document is due in %(currency)s")
            % {"currency": exc.values.get("currency", "")}
        ),
        "positive": lambda: _("amount: more than zero"),
        "cents": lambda: _("amount: at most two decimals"),
        "paid": lambda: _("document: nothing is due on it any more"),
        "too_much": lambda: (
            _("amount: more than the %(due)s still due") % {"due": exc.values.get("due", "")}
        ),
    }
    made = messages.get(exc.reason)
    return made() if made is not None else str(exc)


def _movement_reference(entry_reference: str) -> str:
    """A bank entry's reference as a prepaid movement keeps it: whole when it fits, else a
    digest that stays the same for the same entry."""
    if len(entry_reference) <= _MOVEMENT_REFERENCE:
        return entry_reference
    digest = hashlib.sha256(entry_reference.encode()).hexdigest()
    return f"bank:{digest[: _MOVEMENT_REFERENCE - 5]}"


class PaymentService:
    def __init__(
        self,
        repo: PaymentRepository,
        billing: BillingRepository,
        prepaid: PrepaidService,
        mail: MailService,
        audit: AuditTrail,
        clock: Clock,
        settings: PaymentSettings,
        *,
        uow: UnitOfWork,
    ) -> None:
        self.repo = repo
        self.billing = billing
        self.prepaid = prepaid
        self.mail = mail
        self.audit = audit
        self.clock = clock
        self.settings = settings
        self.uow = uow
        self.zone = ZoneInfo(settings.timezone)

    def today(self) -> date:
        return self.clock.now().astimezone(self.zone).date()

    # -- payments by hand ------------------------------------------------------------------------
    @use_case
    async def register(
        self,
        actor: Actor,
        number: str,
        amount: Decimal,
        reference: str,
        *,
        currency: str | None = None,
        received_on: date | None = None,
    ) -> PaymentResult:
        """A payment received for document ``number`` (a transfer the bank statement does not
        bring, a payment at the desk). Its ``reference`` registered before for this document
        books nothing again."""
        require(actor, P.BILLING_WRITE, None)
        reference = reference.strip()
        if not 1 <= len(reference) <= LONGEST_REFERENCE:
            raise PaymentProblem(
                _("reference: 1–%(n)s characters") % {"n": LONGEST_REFERENCE}, "reference"
            )
        await self.repo.lock()
        record = await self.repo.by_number(number)
        if record is None:
            raise DocumentNotFound(number)
        if await self.repo.payment_booked(record.id, reference):
            return PaymentResult(record, amount, booked=False)
        try:
            check_payment(
                record.kind, record.currency, record.amount_due, amount, currency or record.currency
            )
        except SettlementError as exc:
            raise PaymentProblem(_settlement_text(exc), exc.field) from exc
        done = await self._book_payment(
            record,
            amount,
            received_on or self.today(),
            PaymentSource.MANUAL,
            reference,
            actor,
        )
        await self.audit.record(
            actor,
            "billing.payment",
            "billing_document",
            record.id,
            record.organisation_id,
            {"number": number, "amount": str(amount), "reference": reference},
        )
        return PaymentResult(done, amount, booked=True)

    async def _book_payment(
        self,
        record: DocumentRecord,
        applied: Decimal,
        received_on: date,
        source: PaymentSource,
        reference: str,
        actor: Actor,
        *,
        surplus: Decimal = Decimal(0),
        bank_entry_id: int | None = None,
        release: bool = True,
    ) -> DocumentRecord:
        """The payment, its booking (bank, receivable, any surplus owed back), the document's
        paid amount and state; and the payouts its payment releases."""
        now = self.clock.now()
        payment_id = await self.repo.add_payment(
            record.id,
            applied,
            record.currency,
            received_on,
            source,
            reference[:255],
            actor.username,
            now,
            bank_entry_id,
        )
        assert record.organisation_id is not None
        journal = receipt_journal(
            f"{record.number}/payment/{payment_id}",
            received_on,
            record.currency,
            record.organisation_id,
            applied,
            surplus,
        )
        await self.billing.add_journal(journal, None, now)
        paid = record.paid + applied
        state = state_after(record.payable, paid)
        await self.repo.set_paid(record.id, paid, state)
        if release:
            await self._release_payouts()
        found = await self.repo.by_number(record.number)
        assert found is not None
        return found

    # -- bank statements -------------------------------------------------------------------------
    @use_case
    async def import_statement(self, actor: Actor, content: bytes) -> ImportResult:
        """A CAMT.053 file's credits, each matched by its structured reference to an open
        document (and its amount to what is due) or to a prepaid contract's top-ups, and booked;
        what matches nothing, matches twice, pays too much or in another currency is listed. An
        entry booked by an earlier import books nothing again."""
        require(actor, P.BILLING_WRITE, None)
        try:
            entries = credit_entries(content)
        except StatementError as exc:
            raise PaymentProblem(
                _("file: not a CAMT.053 statement we can read: %(problem)s") % {"problem": exc},
                "file",
            ) from exc
        await self.repo.lock()
        booked_before = await self.repo.booked_entries(e.entry_reference for e in entries)
        seen: set[str] = set()
        plan: list[tuple[StatementEntry, int | None]] = []  # (entry, top-up contract)
        for entry in entries:
            contract = None
            if entry.structured_reference is not None:
                contract = contract_of_reference(entry.structured_reference)
            plan.append((entry, contract))
        to_documents = [
            e for e, contract in plan if contract is None or e.entry_reference in booked_before
        ]
        records = await self.repo.by_references(r for e in to_documents for r in e.references)
        by_number = {r.number: r for r in records}
        matched = reconcile(
            to_documents,
            [
                OpenDocument(r.number, r.payment_reference or "", Money(r.amount_due, r.currency))
                for r in records
                if r.payment_reference
            ],
            booked_before,
        )
        # Each entry's outcome in turn (an entry repeated in the file has two).
        outcomes: dict[str, list[EntryOutcome]] = {}
        for o in matched.outcomes:
            outcomes.setdefault(o.entry.entry_reference, []).append(o)
        results: list[ImportedEntry] = []
        for entry, contract in plan:
            if entry.entry_reference in booked_before or entry.entry_reference in seen:
                results.append(ImportedEntry(entry, EntryKind.ALREADY_IMPORTED))
                continue
            seen.add(entry.entry_reference)
            if contract is not None:
                results.append(await self._top_up(actor, entry, contract))
                continue
            outcome = outcomes[entry.entry_reference].pop(0)
            kind = EntryKind(outcome.kind.value)
            record = by_number.get(outcome.document or "")
            document_id = record.id if record is not None else None
            if outcome.kind in (MatchKind.MATCHED, MatchKind.PARTIAL, MatchKind.OVERPAID):
                assert record is not None
                entry_id = await self._record(
                    actor, entry, kind, outcome.applied, outcome.surplus, document_id, None
                )
                # What was due is applied first; an entry that paid a document settled before
                # books its whole amount as a surplus.
                applied = outcome.applied
                surplus = outcome.surplus
                if applied > 0:
                    await self._book_payment(
                        await self._fresh(record),
                        applied,
                        entry.booking_date,
                        PaymentSource.STATEMENT,
                        entry.entry_reference,
                        actor,
                        surplus=surplus,
                        bank_entry_id=entry_id,
                        release=False,
                    )
                else:
                    await self._book_surplus(record, entry, surplus)
                results.append(
                    ImportedEntry(
                        entry,
                        kind,
                        record.number,
                        applied=applied,
                        surplus=surplus,
                        candidates=outcome.candidates,
                        message=_("paid %(surplus)s more than was due") % {"surplus": surplus}
                        if surplus
                        else None,
                    )
                )
                continue
            await self._record(actor, entry, kind, Decimal(0), Decimal(0), document_id, None)
            results.append(
                ImportedEntry(
                    entry,
                    kind,
                    outcome.document,
                    candidates=outcome.candidates,
                    message=self._unbooked_text(entry, kind, outcome.candidates),
                )
            )
        await self._release_payouts()
        await self.audit.record(
            actor,
            "billing.statement",
            "bank_statement",
            None,
            None,
            {
                "entries": len(results),
                "booked": sum(1 for r in results if r.kind.booked),
                "exceptions": len(ImportResult(tuple(results)).exceptions),
            },
        )
        return ImportResult(tuple(results))

    async def _fresh(self, record: DocumentRecord) -> DocumentRecord:
        found = await self.repo.by_number(record.number)
        assert found is not None
        return found

    async def _book_surplus(
        self, record: DocumentRecord, entry: StatementEntry, surplus: Decimal
    ) -> None:
        """An entry for a document settled already: the money is in the bank, owed back."""
        assert record.organisation_id is not None
        journal = receipt_journal(
            f"{record.number}/surplus/{hashlib.sha256(entry.entry_reference.encode()).hexdigest()[:12]}",
            entry.booking_date,
            entry.currency,
            record.organisation_id,
            Decimal(0),
            surplus,
        )
        await self.billing.add_journal(journal, None, self.clock.now())

    def _unbooked_text(
        self, entry: StatementEntry, kind: EntryKind, candidates: Sequence[str]
    ) -> str:
        if kind is EntryKind.AMBIGUOUS:
            if len(entry.references) > 1:
                return _("several structured references: %(references)s") % {
                    "references": ", ".join(entry.references)
                }
            return _("its reference is on several documents: %(documents)s") % {
                "documents": ", ".join(candidates)
            }
        if kind is EntryKind.WRONG_CURRENCY:
            return _("paid in %(currency)s, the document is due in another currency") % {
                "currency": entry.currency
            }
        if entry.references:
            return _("no open document has the reference %(reference)s") % {
                "reference": ", ".join(entry.references)
            }
        return _("no structured reference")

    async def _record(
        self,
        actor: Actor,
        entry: StatementEntry,
        kind: EntryKind,
        applied: Decimal,
        surplus: Decimal,
        document_id: int | None,
        contract_id: int | None,
    ) -> int:
        return await self.repo.record_entry(
            entry,
            kind,
            booked=kind.booked,
            applied=applied,
            surplus=surplus,
            document_id=document_id,
            contract_id=contract_id,
            actor_name=actor.username,
            now=self.clock.now(),
        )

    async def _top_up(self, actor: Actor, entry: StatementEntry, contract_id: int) -> ImportedEntry:
        """A credit whose reference is a prepaid contract's: booked on its balance."""
        contract = await self.repo.prepaid_contract(contract_id)
        if contract is None:
            await self._record(
                actor, entry, EntryKind.UNMATCHED, Decimal(0), Decimal(0), None, None
            )
            return ImportedEntry(
                entry,
                EntryKind.UNMATCHED,
                message=_("no prepaid contract has the reference %(reference)s")
                % {"reference": entry.structured_reference},
            )
        try:
            done = await self.prepaid.top_up(
                actor,
                contract_id,
                entry.amount,
                entry.currency,
                _movement_reference(entry.entry_reference),
            )
        except PrepaidError as exc:
            await self._record(
                actor,
                entry,
                EntryKind.TOP_UP_REFUSED,
                Decimal(0),
                Decimal(0),
                None,
                contract_id,
            )
            return ImportedEntry(
                entry, EntryKind.TOP_UP_REFUSED, contract_id=contract_id, message=str(exc)
            )
        kind = EntryKind.TOP_UP if done.booked else EntryKind.ALREADY_IMPORTED
        await self._record(
            actor, entry, EntryKind.TOP_UP, entry.amount, Decimal(0), None, contract_id
        )
        return ImportedEntry(entry, kind, contract_id=contract_id, applied=entry.amount)

    # -- payouts ---------------------------------------------------------------------------------
    async def _release_payouts(self) -> int:
        """Payouts for the statements whose payment is due now; the number released."""
        statements = await self.repo.statements_without_payout()
        if not statements:
            return 0
        paid = await self.repo.requests_paid(
            (r.run_id, r.organisation_id)
            for r in statements
            if r.run_id is not None and r.organisation_id is not None
        )
        at_once = self.settings.pay_reimbursements_at_once
        released = 0
        now = self.clock.now()
        for record in statements:
            request_paid = (record.run_id, record.organisation_id) in paid
            if not payout_released(record.kind, at_once=at_once, request_paid=request_paid):
                continue
            assert record.user_id is not None
            reason = (
                "statement"
                if record.kind is DocumentKind.SELF_BILLING
                else "request_paid"
                if request_paid
                else "at_once"
            )
            await self.repo.add_payout(
                record.id, record.user_id, record.total_incl_vat, record.currency, reason, now
            )
            released += 1
        return released

    @use_case
    async def release_payouts(self, actor: Actor) -> int:
        require(actor, P.BILLING_WRITE, None)
        await self.repo.lock()
        return await self._release_payouts()

    async def payouts(self, actor: Actor, state: PayoutState | None = None) -> list[PayoutRow]:
        require(actor, P.BILLING_WRITE, None)
        return await self.repo.payouts(state=state)

    async def payments(self, actor: Actor) -> list[PaymentRow]:
        require(actor, P.BILLING_WRITE, None)
        return await self.repo.payments_of()

    async def entries(self, actor: Actor, *, booked: bool | None = None) -> list[EntryRow]:
        require(actor, P.BILLING_WRITE, None)
        return await self.repo.entries(booked=booked)

    # -- SEPA files ------------------------------------------------------------------------------
    @use_case
    async def sepa(self, actor: Actor, period: BillingPeriod) -> SepaResult:
        """The period's direct debits (pain.008: its open documents under a mandate, each
        mandate's first collection FRST and every later one RCUR) and a credit transfer
        (pain.001) of every payout due; each file stored with what it carries, the payouts
        marked sent and booked. A mandate revoked or lapsed, a payee without an account: listed,
        left for the next file."""
        require(actor, P.BILLING_WRITE, None)
        await self.repo.lock()
        await self._release_payouts()
        now = self.clock.now()
        exceptions: list[SepaException] = []
        files: list[SepaFileRow] = []
        contents: dict[int, bytes] = {}
        collections, made = await self._collections(period, now, exceptions)
        if collections:
            file_id, made_file, content = await self._direct_debit(period, collections, actor, now)
            files.append(made_file)
            contents[file_id] = content
        payouts, paid = await self._payouts(now, exceptions)
        if payouts:
            number = await self.repo.files_made(period.start, CREDIT_TRANSFER) + 1
            sepa = credit_transfer_file(
                self.settings.creditor,
                [p for p, _row in payouts],
                execution_date=max(self.today(), now.date()),
                message_id=f"VFCT{period.start:%Y%m}-{number}",
                created_at=now,
            )
            file_id = await self.repo.add_sepa_file(
                sepa.schema,
                sepa.message_id,
                period.start,
                sepa.transactions,
                sepa.control_sum,
                sepa.content,
                actor.username,
                now,
            )
            for payout, due in payouts:
                await self.repo.mark_sent(due, payout.payee_iban, file_id, now)
                journal = payout_journal(
                    f"{due.number}/payout",
                    self.today(),
                    due.currency,
                    due.kind,
                    due.user_id,
                    due.amount,
                )
                await self.billing.add_journal(journal, None, now)
            found = await self.repo.sepa_file(file_id)
            assert found is not None
            files.append(found[0])
            contents[file_id] = sepa.content
        await self.audit.record(
            actor,
            "billing.sepa",
            "sepa_file",
            None,
            None,
            {
                "period": period.label,
                "files": [f.message_id for f in files],
                "collections": len(made),
                "payouts": len(paid),
                "exceptions": len(exceptions),
            },
        )
        return SepaResult(
            period, tuple(files), tuple(made), tuple(paid), tuple(exceptions), contents
        )

    async def _collections(
        self, period: BillingPeriod, now: datetime, exceptions: list[SepaException]
    ) -> tuple[list[tuple[Collection, DocumentRecord]], list[CollectionMade]]:
        documents = await self.repo.to_collect(period.start)
        mandates = await self.repo.mandates(
            d.mandate_reference for _r, d in documents if d.mandate_reference
        )
        # Collected in this file already: a mandate's next collection is recurring.
        collected: dict[str, date] = {}
        out: list[tuple[Collection, DocumentRecord]] = []
        made: list[CollectionMade] = []
        earliest = self.today() + COLLECTION_LEAD
        for record, document in documents:
            due = record.amount_due
            if due <= 0:
                continue
            reference = record.mandate_reference or ""
            details = mandates.get(reference)

            def refuse(reason: str, message: str, record: DocumentRecord = record) -> None:
                exceptions.append(
                    SepaException(
                        "collection",
                        record.number,
                        record.recipient,
                        record.amount_due,
                        record.currency,
                        reason,
                        message,
                    )
                )

            if details is None or not details.iban or details.signed_on is None:
                refuse(
                    "mandate_unknown",
                    _("no contract holds mandate %(mandate)s any more") % {"mandate": reference},
                )
                continue
            last = collected.get(reference, details.last_collected_on)
            mandate = DebitMandate(reference, details.signed_on, details.revoked_on, last)
            collection_date = max(record.due_date, earliest)
            try:
                collection = Collection(
                    record.number,
                    Money(due, record.currency),
                    record.payment_reference or "",
                    document.buyer.name,
                    details.iban,
                    details.bic,
                    mandate,
                    SequenceType.FIRST if last is None else SequenceType.RECURRING,
                    collection_date,
                )
            except PaymentError as exc:
                refuse(exc.reason, _reason_text(exc))
                continue
            collected[reference] = collection_date
            out.append((collection, record))
            made.append(
                CollectionMade(
                    record.number,
                    document.buyer.name,
                    reference,
                    collection.sequence_type,
                    collection_date,
                    due,
                )
            )
        return out, made

    async def _direct_debit(
        self,
        period: BillingPeriod,
        collections: list[tuple[Collection, DocumentRecord]],
        actor: Actor,
        now: datetime,
    ) -> tuple[int, SepaFileRow, bytes]:
        number = await self.repo.files_made(period.start, DIRECT_DEBIT) + 1
        sepa = direct_debit_file(
            self.settings.creditor,
            [c for c, _r in collections],
            message_id=f"VFDD{period.start:%Y%m}-{number}",
            created_at=now,
        )
        file_id = await self.repo.add_sepa_file(
            sepa.schema,
            sepa.message_id,
            period.start,
            sepa.transactions,
            sepa.control_sum,
            sepa.content,
            actor.username,
            now,
        )
        for collection, record in collections:
            await self.repo.add_collection(
                collection.mandate.reference,
                record.id,
                collection.sequence_type.value,
                collection.collection_date,
                collection.amount.amount,
                file_id,
                now,
            )
        found = await self.repo.sepa_file(file_id)
        assert found is not None
        return file_id, found[0], sepa.content

    async def _payouts(
        self, now: datetime, exceptions: list[SepaException]
    ) -> tuple[list[tuple[Payout, PayoutRow]], list[PayoutMade]]:
        out: list[tuple[Payout, PayoutRow]] = []
        made: list[PayoutMade] = []
        for row in await self.repo.payouts(state=PayoutState.DUE):

            def refuse(reason: str, message: str, row: PayoutRow = row) -> None:
                exceptions.append(
                    SepaException(
                        "payout", row.number, row.payee, row.amount, row.currency, reason, message
                    )
                )

            if not row.iban:
                refuse(
                    "no_iban",
                    _("%(payee)s has no bank account: add their IBAN") % {"payee": row.payee},
                )
                continue
            with use(row.language):
                remittance = (
                    f"{terms.document_kind(row.kind.value)} {row.number} {row.period_start:%Y-%m}"
                )
            try:
                payout = Payout(
                    row.payee,
                    row.iban,
                    None,
                    Money(row.amount, row.currency),
                    row.number,
                    remittance,
                )
            except PaymentError as exc:
                refuse(exc.reason, _reason_text(exc))
                continue
            out.append((payout, row))
            made.append(PayoutMade(row.number, row.payee, payout.payee_iban, row.amount))
        return out, made

    async def sepa_files(
        self, actor: Actor, period: BillingPeriod | None = None
    ) -> list[SepaFileRow]:
        require(actor, P.BILLING_WRITE, None)
        return await self.repo.sepa_files(period.start if period else None)

    async def sepa_file(self, actor: Actor, file_id: int) -> tuple[SepaFileRow, bytes]:
        require(actor, P.BILLING_WRITE, None)
        found = await self.repo.sepa_file(file_id)
        if found is None:
            raise SepaFileNotFound(file_id)
        return found

    @use_case
    async def revoke_mandate(self, actor: Actor, reference: str, on: date | None = None) -> None:
        """The customer revoked the mandate: nothing is collected under it from ``on`` (today)."""
        require(actor, P.BILLING_WRITE, None)
        if not await self.repo.revoke_mandate(reference, on or self.today()):
            raise MandateNotFound(reference)
        await self.audit.record(
            actor, "billing.mandate_revoked", "mandate", reference, None, {"on": str(on)}
        )

    # -- overdue documents -----------------------------------------------------------------------
    async def overdue(self, actor: Actor) -> list[OverdueDocument]:
        """Documents paid to the platform, past their due date with something unpaid, oldest
        first; one being collected by a direct debit not due yet is not overdue."""
        require(actor, P.BILLING_WRITE, None)
        return await self._overdue(self.today())

    async def _overdue(self, today: date) -> list[OverdueDocument]:
        late = [r for r in await self.repo.unpaid() if r.due_date < today]
        pending = await self.repo.pending_collections([r.id for r in late], today)
        late = [r for r in late if r.id not in pending]
        sent = await self.repo.reminder_levels([r.id for r in late])
        return [
            OverdueDocument(
                r, (today - r.due_date).days, sent.get(r.id, 0), reminder_level(r.due_date, today)
            )
            for r in sorted(late, key=lambda r: (r.due_date, r.id))
        ]

    @use_case
    async def send_reminders(self, actor: Actor) -> list[ReminderSent]:
        """A reminder for each overdue document that earned a level not reminded yet (the
        highest only, when several were earned meanwhile): mailed with the document, once."""
        require(actor, P.BILLING_WRITE, None)
        await self.repo.lock()
        sent: list[ReminderSent] = []
        now = self.clock.now()
        operator_iban = self.settings.creditor.iban
        for late in await self._overdue(self.today()):
            if late.level <= late.reminded:
                continue
            record = late.document
            content = PaymentReminder(
                document_kind=record.kind.value,
                number=record.number,
                issuer=self.settings.creditor.name,
                issued_on=record.issue_date,
                due_on=record.due_date,
                days_overdue=late.days,
                level=late.level,
                currency=record.currency,
                total=record.payable,
                amount_due=record.amount_due,
                payment_reference=record.payment_reference,
                iban=operator_iban,
            )
            mail_id = await self._mail(content, record)
            await self.repo.add_reminder(record.id, late.level, mail_id, record.amount_due, now)
            sent.append(ReminderSent(record.number, late.level, mail_id is not None))
        if sent:
            await self.audit.record(
                actor,
                "billing.reminders",
                "billing_document",
                None,
                None,
                {"reminders": [f"{s.number}:{s.level}" for s in sent]},
            )
        return sent

    async def _mail(self, content: PaymentReminder, record: DocumentRecord) -> int | None:
        """To the organisation's billing address, else its longest-standing fleet manager with
        an address."""
        organisation_id = record.organisation_id
        if organisation_id is None:
            return None
        organisation = (await self.billing.organisations([organisation_id])).get(organisation_id)
        if organisation is not None and organisation.billing_email:
            return await self.mail.to_organisation(
                content,
                organisation_id,
                organisation.billing_email,
                organisation.name,
                document_id=record.id,
            )
        for manager in await self.billing.fleet_managers(organisation_id):
            queued = await self.mail.to_person(
                content, manager, organisation_id=organisation_id, document_id=record.id
            )
            if queued is not None:
                return queued
        return None

    # -- the checks ------------------------------------------------------------------------------
    async def checks(self, actor: Actor) -> Reconciliation:
        """Documents, payments, payouts and prepaid balances against the ledger, to the cent."""
        require(actor, P.BILLING_WRITE, None)
        payments, surplus = await self.repo.payment_sums()
        top_ups, drawn_billed, drawn, held = await self.repo.prepaid_sums()
        figures = MoneyFigures(
            documents=await self.repo.issued_amounts(),
            payments=payments,
            surplus=surplus,
            payouts=await self.repo.payout_amounts(),
            top_ups=top_ups,
            drawn_billed=drawn_billed,
            drawn=drawn,
            balances=held,
        )
        return money_checks(figures, await self.repo.postings())


class ReminderTask:
    """Sends the reminders overdue documents have earned, every ``interval`` seconds while the
    server runs; the first pass ``delay`` seconds after it starts, once it has settled (each
    level is sent once, however often the server restarts)."""

    def __init__(self, payments: PaymentService, interval: float, delay: float = 300.0) -> None:
        self.payments = payments
        self.interval = interval
        self.delay = min(delay, interval)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None and self.interval > 0:
            self._task = asyncio.create_task(self._run(), name="payment-reminders")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        await asyncio.sleep(self.delay)
        while True:
            try:
                sent = await self.payments.send_reminders(PLATFORM)
                if sent:
                    log.info("payment reminders: %s sent", len(sent))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("payment reminders failed; trying again in %.0f s", self.interval)
            await asyncio.sleep(self.interval)
