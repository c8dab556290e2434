"""What happens to issued documents' money (``services.payments``): payments received, bank
statement entries as imported, SEPA files and each mandate's collections, payouts, reminders;
and the figures the settlement checks compare with the ledger.

Amounts are summed here in Python, never in SQL: SQLite keeps them as text (``ExactDecimal``),
whose arithmetic would go through floating point.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)

from voltflow.domain.billing.documents import Document, DocumentKind, cents
from voltflow.domain.billing.items import Purpose, SourceKind
from voltflow.domain.billing.ledger import Account, PartyRef, Posting
from voltflow.domain.billing.payments import StatementEntry
from voltflow.domain.billing.prepaid import MovementKind
from voltflow.domain.billing.records import DocumentRecord, DocumentState
from voltflow.domain.billing.settlement import (
    RECEIVABLE,
    STATEMENTS,
    EntryKind,
    EntryRow,
    IssuedAmounts,
    PaymentRow,
    PaymentSource,
    PayoutAmount,
    PayoutRow,
    PayoutState,
    SepaFileRow,
)
from voltflow.domain.billing.snapshot import document_of
from voltflow.store.database import Database
from voltflow.store.paging import record_of
from voltflow.store.statements import dialect_insert
from voltflow.store.tables import (
    bank_entries,
    billed_items,
    billing_documents,
    billing_sequences,
    contracts,
    ledger_entries,
    mandate_collections,
    organisations,
    payment_reminders,
    payments,
    payouts,
    prepaid_movements,
    sepa_files,
    users,
)

D = billing_documents
# The row every use case that moves money locks first (``billing_sequences``, as the billing
# runs' lock): two imports, a payment and a SEPA file never interleave.
_LOCK = ("PAY", 0)
_CENT = Decimal("0.01")


def _cent(value: Any) -> Decimal:
    return Decimal(value).quantize(_CENT)


@dataclass(frozen=True, slots=True)
class MandateDetails:
    """A mandate as its contract holds it, and its collections so far."""

    reference: str
    organisation_id: int
    iban: str | None
    bic: str | None
    signed_on: date | None
    revoked_on: date | None
    last_collected_on: date | None


def _records_query() -> Any:
    recipient = func.coalesce(
        case(
            (D.c.user_id.is_not(None), func.coalesce(users.c.full_name, users.c.username)),
            else_=organisations.c.name,
        ),
        literal(""),
    )
    return (
        select(*[c for c in D.c if c.name != "snapshot"], recipient.label("recipient"))
        .select_from(D)
        .outerjoin(organisations, organisations.c.id == D.c.organisation_id)
        .outerjoin(users, users.c.id == D.c.user_id)
    )


def _record(m: Any) -> DocumentRecord:
    currency = m["currency"]
    return record_of(
        DocumentRecord,
        m,
        kind=DocumentKind(m["kind"]),
        total_excl_vat=cents(m["total_excl_vat"], currency),
        total_vat=cents(m["total_vat"], currency),
        total_incl_vat=cents(m["total_incl_vat"], currency),
        prepaid=cents(m["prepaid"], currency),
        paid=cents(m["paid"], currency),
    )


class PaymentRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def lock(self) -> None:
        """Holds the payments' lock until the unit of work ends."""
        series, year = _LOCK
        async with self.db.writing() as conn:
            await conn.execute(
                dialect_insert(self.db.dialect, billing_sequences)
                .values(series=series, year=year, last=0)
                .on_conflict_do_nothing(index_elements=["series", "year"])
            )
            await conn.execute(
                update(billing_sequences)
                .where(billing_sequences.c.series == series, billing_sequences.c.year == year)
                .values(last=billing_sequences.c.last + 1)
            )

    # -- documents -------------------------------------------------------------------------------
    async def records(self, *cond: ColumnElement[bool]) -> list[DocumentRecord]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(_records_query().where(*cond).order_by(D.c.id))).all()
        return [_record(r._mapping) for r in rows]

    async def with_content(
        self, *cond: ColumnElement[bool]
    ) -> list[tuple[DocumentRecord, Document]]:
        """Documents with their stored content, in the order they were issued."""
        query = _records_query().add_columns(D.c.snapshot).where(*cond).order_by(D.c.id)
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return [(_record(r._mapping), document_of(json.loads(r.snapshot))) for r in rows]

    async def by_number(self, number: str) -> DocumentRecord | None:
        found = await self.records(D.c.number == number)
        return found[0] if found else None

    async def content(self, document_id: int) -> tuple[DocumentRecord, Document] | None:
        found = await self.with_content(D.c.id == document_id)
        return found[0] if found else None

    async def by_references(self, references: Iterable[str]) -> list[DocumentRecord]:
        """The documents paid to the platform that carry one of these structured references."""
        wanted = sorted(set(references))
        if not wanted:
            return []
        return await self.records(
            D.c.payment_reference.in_(wanted), D.c.kind.in_([k.value for k in RECEIVABLE])
        )

    async def set_paid(self, document_id: int, paid: Decimal, state: str) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                update(D).where(D.c.id == document_id).values(paid=paid, state=state)
            )

    async def unpaid(self) -> list[DocumentRecord]:
        """Documents paid to the platform with something still due, oldest first."""
        return [
            r
            for r in await self.records(
                D.c.kind.in_([k.value for k in RECEIVABLE]), D.c.state != DocumentState.PAID
            )
            if r.amount_due > 0
        ]

    # -- payments --------------------------------------------------------------------------------
    async def payment_booked(self, document_id: int, reference: str) -> bool:
        async with self.db.reading() as conn:
            found = await conn.execute(
                select(payments.c.id).where(
                    payments.c.document_id == document_id, payments.c.reference == reference
                )
            )
            return found.first() is not None

    async def add_payment(
        self,
        document_id: int,
        amount: Decimal,
        currency: str,
        received_on: date,
        source: PaymentSource,
        reference: str,
        actor_name: str,
        now: datetime,
        bank_entry_id: int | None = None,
    ) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(payments)
                .values(
                    document_id=document_id,
                    amount=amount,
                    currency=currency,
                    received_on=received_on,
                    source=source.value,
                    reference=reference,
                    bank_entry_id=bank_entry_id,
                    actor_name=actor_name,
                    created_at=now,
                )
                .returning(payments.c.id)
            )
            return int(result.scalar_one())

    async def payments_of(self, document_ids: Sequence[int] | None = None) -> list[PaymentRow]:
        query = select(payments, D.c.number).join(D, D.c.id == payments.c.document_id)
        if document_ids is not None:
            query = query.where(payments.c.document_id.in_(list(document_ids)))
        async with self.db.reading() as conn:
            rows = (await conn.execute(query.order_by(payments.c.id))).all()
        return [
            PaymentRow(
                r.id,
                r.document_id,
                r.number,
                _cent(r.amount),
                r.currency,
                r.received_on,
                PaymentSource(r.source),
                r.reference,
                r.actor_name,
                r.created_at,
            )
            for r in rows
        ]

    # -- bank statements -------------------------------------------------------------------------
    async def booked_entries(self, references: Iterable[str]) -> set[str]:
        """Which of these bank entries booked something when they were imported before."""
        wanted = sorted(set(references))
        found: set[str] = set()
        async with self.db.reading() as conn:
            for start in range(0, len(wanted), 500):
                rows = await conn.execute(
                    select(bank_entries.c.entry_reference).where(
                        bank_entries.c.entry_reference.in_(wanted[start : start + 500]),
                        bank_entries.c.booked,
                    )
                )
                found.update(r.entry_reference for r in rows)
        return found

    async def record_entry(
        self,
        entry: StatementEntry,
        outcome: EntryKind,
        *,
        booked: bool,
        applied: Decimal,
        surplus: Decimal,
        document_id: int | None,
        contract_id: int | None,
        actor_name: str,
        now: datetime,
    ) -> int:
        """The entry and its outcome: a new row, or the row of an earlier import that booked
        nothing brought up to date."""
        values = {
            "booking_date": entry.booking_date,
            "amount": entry.amount,
            "currency": entry.currency,
            "structured_references": " ".join(entry.references)[:255] or None,
            "counterparty_name": (entry.counterparty_name or "")[:140] or None,
            "counterparty_iban": (entry.counterparty_iban or "")[:34] or None,
            "remittance": (entry.remittance or "")[:500] or None,
            "outcome": outcome.value,
            "document_id": document_id,
            "contract_id": contract_id,
            "applied": applied,
            "surplus": surplus,
            "booked": booked,
            "actor_name": actor_name,
            "imported_at": now,
        }
        async with self.db.writing() as conn:
            existing = (
                await conn.execute(
                    select(bank_entries.c.id).where(
                        bank_entries.c.entry_reference == entry.entry_reference
                    )
                )
            ).first()
            if existing is not None:
                await conn.execute(
                    update(bank_entries).where(bank_entries.c.id == existing.id).values(values)
                )
                return int(existing.id)
            result = await conn.execute(
                insert(bank_entries)
                .values(entry_reference=entry.entry_reference, **values)
                .returning(bank_entries.c.id)
            )
            return int(result.scalar_one())

    async def entries(self, *, booked: bool | None = None) -> list[EntryRow]:
        query = select(bank_entries, D.c.number).outerjoin(D, D.c.id == bank_entries.c.document_id)
        if booked is not None:
            query = query.where(bank_entries.c.booked == booked)
        async with self.db.reading() as conn:
            rows = (await conn.execute(query.order_by(bank_entries.c.id))).all()
        return [
            EntryRow(
                r.id,
                r.entry_reference,
                r.booking_date,
                _cent(r.amount),
                r.currency,
                EntryKind(r.outcome),
                bool(r.booked),
                r.number,
                r.contract_id,
            )
            for r in rows
        ]

    async def prepaid_contract(self, contract_id: int) -> tuple[int, str] | None:
        """A prepaid contract's organisation and currency; None when there is no such prepaid
        contract."""
        async with self.db.reading() as conn:
            row = (
                await conn.execute(
                    select(contracts.c.organisation_id, contracts.c.currency).where(
                        contracts.c.id == contract_id, contracts.c.prepaid
                    )
                )
            ).first()
        return None if row is None else (int(row.organisation_id), row.currency)

    # -- mandates and SEPA files -----------------------------------------------------------------
    async def to_collect(self, period_start: date) -> list[tuple[DocumentRecord, Document]]:
        """The period's documents under a mandate never presented for collection."""
        presented = exists().where(mandate_collections.c.document_id == D.c.id)
        return await self.with_content(
            D.c.period_start == period_start,
            D.c.kind.in_([k.value for k in RECEIVABLE]),
            D.c.mandate_reference.is_not(None),
            D.c.state != DocumentState.PAID,
            ~presented,
        )

    async def mandates(self, references: Iterable[str]) -> dict[str, MandateDetails]:
        wanted = sorted(set(references))
        if not wanted:
            return {}
        k, m = contracts, mandate_collections
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(
                        k.c.mandate_reference,
                        k.c.organisation_id,
                        k.c.mandate_iban,
                        k.c.mandate_bic,
                        k.c.mandate_signed_on,
                        k.c.mandate_revoked_on,
                    ).where(k.c.mandate_reference.in_(wanted))
                )
            ).all()
            last = dict(
                (
                    await conn.execute(
                        select(m.c.mandate_reference, func.max(m.c.collection_date))
                        .where(m.c.mandate_reference.in_(wanted))
                        .group_by(m.c.mandate_reference)
                    )
                ).all()
            )
        return {
            r.mandate_reference: MandateDetails(
                r.mandate_reference,
                int(r.organisation_id),
                r.mandate_iban,
                r.mandate_bic,
                r.mandate_signed_on,
                r.mandate_revoked_on,
                last.get(r.mandate_reference),
            )
            for r in rows
        }

    async def revoke_mandate(self, reference: str, on: date) -> bool:
        """False when no contract holds this mandate."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                update(contracts)
                .where(contracts.c.mandate_reference == reference)
                .values(mandate_revoked_on=on)
                .returning(contracts.c.id)
            )
            return result.first() is not None

    async def files_made(self, period_start: date, schema: str) -> int:
        async with self.db.reading() as conn:
            found = await conn.execute(
                select(func.count()).where(
                    sepa_files.c.period_start == period_start, sepa_files.c.schema == schema
                )
            )
            return int(found.scalar_one())

    async def add_sepa_file(
        self,
        schema: str,
        message_id: str,
        period_start: date,
        transactions: int,
        control_sum: Decimal,
        content: bytes,
        actor_name: str,
        now: datetime,
    ) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(sepa_files)
                .values(
                    schema=schema,
                    message_id=message_id,
                    period_start=period_start,
                    transactions=transactions,
                    control_sum=control_sum,
                    content=content,
                    actor_name=actor_name,
                    created_at=now,
                )
                .returning(sepa_files.c.id)
            )
            return int(result.scalar_one())

    async def add_collection(
        self,
        mandate_reference: str,
        document_id: int,
        sequence_type: str,
        collection_date: date,
        amount: Decimal,
        sepa_file_id: int,
        now: datetime,
    ) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                insert(mandate_collections).values(
                    mandate_reference=mandate_reference,
                    document_id=document_id,
                    sequence_type=sequence_type,
                    collection_date=collection_date,
                    amount=amount,
                    sepa_file_id=sepa_file_id,
                    created_at=now,
                )
            )

    async def collections(self, period_start: date | None = None) -> list[dict[str, Any]]:
        m = mandate_collections
        query = select(m, D.c.number).join(D, D.c.id == m.c.document_id)
        if period_start is not None:
            query = query.where(D.c.period_start == period_start)
        async with self.db.reading() as conn:
            rows = (await conn.execute(query.order_by(m.c.id))).all()
        return [dict(r._mapping) for r in rows]

    async def pending_collections(self, document_ids: Sequence[int], today: date) -> set[int]:
        """Which of these documents are in a direct debit not collected yet."""
        if not document_ids:
            return set()
        m = mandate_collections
        async with self.db.reading() as conn:
            rows = await conn.execute(
                select(m.c.document_id).where(
                    m.c.document_id.in_(list(document_ids)), m.c.collection_date >= today
                )
            )
            return {int(r.document_id) for r in rows}

    async def sepa_files(self, period_start: date | None = None) -> list[SepaFileRow]:
        query = select(*[c for c in sepa_files.c if c.name != "content"])
        if period_start is not None:
            query = query.where(sepa_files.c.period_start == period_start)
        async with self.db.reading() as conn:
            rows = (await conn.execute(query.order_by(sepa_files.c.id))).all()
        return [record_of(SepaFileRow, r._mapping, control_sum=_cent(r.control_sum)) for r in rows]

    async def sepa_file(self, file_id: int) -> tuple[SepaFileRow, bytes] | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(sepa_files).where(sepa_files.c.id == file_id))).first()
        if row is None:
            return None
        return (
            record_of(SepaFileRow, row._mapping, control_sum=_cent(row.control_sum)),
            bytes(row.content),
        )

    # -- payouts ---------------------------------------------------------------------------------
    async def statements_without_payout(self) -> list[DocumentRecord]:
        """Statements with something to pay and no payout yet, oldest first."""
        paid_out = exists().where(payouts.c.document_id == D.c.id)
        return [
            r
            for r in await self.records(
                D.c.kind.in_([k.value for k in STATEMENTS]), D.c.user_id.is_not(None), ~paid_out
            )
            if r.total_incl_vat > 0
        ]

    async def requests_paid(self, runs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
        """Which (run, employer) pairs have their payment request paid in full."""
        wanted = set(runs)
        if not wanted:
            return set()
        run_ids = sorted({run for run, _ in wanted})
        async with self.db.reading() as conn:
            rows = await conn.execute(
                select(D.c.run_id, D.c.organisation_id).where(
                    D.c.kind == DocumentKind.PAYMENT_REQUEST.value,
                    D.c.state == DocumentState.PAID,
                    D.c.run_id.in_(run_ids),
                )
            )
            return {(int(r.run_id), int(r.organisation_id)) for r in rows} & wanted

    async def add_payout(
        self,
        document_id: int,
        user_id: int,
        amount: Decimal,
        currency: str,
        released_by: str,
        now: datetime,
    ) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                insert(payouts).values(
                    document_id=document_id,
                    user_id=user_id,
                    amount=amount,
                    currency=currency,
                    state=PayoutState.DUE.value,
                    released_by=released_by,
                    released_at=now,
                )
            )

    async def payouts(self, *, state: PayoutState | None = None) -> list[PayoutRow]:
        query = (
            select(
                payouts,
                D.c.number,
                D.c.kind,
                D.c.period_start,
                func.coalesce(users.c.full_name, users.c.username).label("payee"),
                users.c.iban.label("user_iban"),
                users.c.language,
            )
            .join(D, D.c.id == payouts.c.document_id)
            .join(users, users.c.id == payouts.c.user_id)
        )
        if state is not None:
            query = query.where(payouts.c.state == state.value)
        async with self.db.reading() as conn:
            rows = (await conn.execute(query.order_by(payouts.c.id))).all()
        return [
            PayoutRow(
                r.id,
                r.document_id,
                r.number,
                DocumentKind(r.kind),
                r.period_start,
                r.user_id,
                r.payee,
                r.iban or r.user_iban,
                r.language,
                _cent(r.amount),
                r.currency,
                r.state,
                r.released_by,
                r.released_at,
                r.sepa_file_id,
                r.sent_at,
            )
            for r in rows
        ]

    async def mark_sent(
        self, payout: PayoutRow, iban: str, sepa_file_id: int, now: datetime
    ) -> None:
        """The payout sent, and its statement paid."""
        async with self.db.writing() as conn:
            await conn.execute(
                update(payouts)
                .where(payouts.c.id == payout.id)
                .values(
                    state=PayoutState.SENT.value, sepa_file_id=sepa_file_id, iban=iban, sent_at=now
                )
            )
            await conn.execute(
                update(D)
                .where(D.c.id == payout.document_id)
                .values(paid=payout.amount, state=DocumentState.PAID)
            )

    # -- reminders -------------------------------------------------------------------------------
    async def reminder_levels(self, document_ids: Sequence[int]) -> dict[int, int]:
        """The highest reminder level sent for each document (absent: none)."""
        if not document_ids:
            return {}
        r = payment_reminders
        async with self.db.reading() as conn:
            rows = await conn.execute(
                select(r.c.document_id, func.max(r.c.level))
                .where(r.c.document_id.in_(list(document_ids)))
                .group_by(r.c.document_id)
            )
            return {int(d): int(level) for d, level in rows.all()}

    async def add_reminder(
        self, document_id: int, level: int, mail_id: int | None, amount_due: Decimal, now: datetime
    ) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                insert(payment_reminders).values(
                    document_id=document_id,
                    level=level,
                    mail_id=mail_id,
                    amount_due=amount_due,
                    sent_at=now,
                )
            )

    # -- prepaid balances ------------------------------------------------------------------------
    async def drawn(self, session_ids: Sequence[int]) -> dict[int, Decimal]:
        """What each of these sessions drew from a prepaid balance, in all (absent: nothing)."""
        if not session_ids:
            return {}
        m = prepaid_movements
        out: dict[int, Decimal] = defaultdict(Decimal)
        async with self.db.reading() as conn:
            for start in range(0, len(session_ids), 500):
                chunk = [str(s) for s in session_ids[start : start + 500]]
                rows = await conn.execute(
                    select(m.c.reference, m.c.amount).where(
                        m.c.kind == MovementKind.SESSION.value, m.c.reference.in_(chunk)
                    )
                )
                for r in rows:
                    out[int(r.reference)] -= Decimal(r.amount)
        return {k: _cent(v) for k, v in out.items() if v}

    # -- the settlement checks' figures ----------------------------------------------------------
    async def issued_amounts(self) -> list[IssuedAmounts]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(select(D.c.kind, D.c.total_incl_vat, D.c.prepaid, D.c.paid))
            ).all()
        return [
            IssuedAmounts(
                DocumentKind(r.kind), _cent(r.total_incl_vat), _cent(r.prepaid), _cent(r.paid)
            )
            for r in rows
        ]

    async def payment_sums(self) -> tuple[Decimal, Decimal]:
        """Every payment registered; what statements' entries paid beyond what was due."""
        async with self.db.reading() as conn:
            paid = (await conn.execute(select(payments.c.amount))).scalars().all()
            surplus = (
                (await conn.execute(select(bank_entries.c.surplus).where(bank_entries.c.booked)))
                .scalars()
                .all()
            )
        return sum(map(_cent, paid), Decimal(0)), sum(map(_cent, surplus), Decimal(0))

    async def payout_amounts(self) -> list[PayoutAmount]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(payouts.c.amount, payouts.c.state, D.c.kind, D.c.total_incl_vat).join(
                        D, D.c.id == payouts.c.document_id
                    )
                )
            ).all()
        return [
            PayoutAmount(
                DocumentKind(r.kind),
                _cent(r.amount),
                _cent(r.total_incl_vat),
                r.state == PayoutState.SENT.value,
            )
            for r in rows
        ]

    async def prepaid_sums(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """Top-ups booked, drawn by sessions on issued invoices, drawn in all, and the prepaid
        contracts' balances now."""
        m = prepaid_movements
        billed = exists().where(
            billed_items.c.source_kind == SourceKind.SESSION.value,
            billed_items.c.purpose == Purpose.CHARGING.value,
            billed_items.c.source_id == cast(m.c.reference, String),
        )
        async with self.db.reading() as conn:
            moves = (
                await conn.execute(
                    select(m.c.kind, m.c.amount, billed.label("billed")).where(
                        m.c.kind.in_([MovementKind.TOP_UP.value, MovementKind.SESSION.value])
                    )
                )
            ).all()
            held = (
                (await conn.execute(select(contracts.c.prepaid_balance).where(contracts.c.prepaid)))
                .scalars()
                .all()
            )
        top_ups = drawn = drawn_billed = Decimal(0)
        for r in moves:
            amount = Decimal(r.amount)
            if r.kind == MovementKind.TOP_UP.value:
                top_ups += amount
            else:
                drawn -= amount
                if r.billed:
                    drawn_billed -= amount
        return (
            _cent(top_ups),
            _cent(drawn_billed),
            _cent(drawn),
            sum(map(_cent, held), Decimal(0)),
        )

    async def postings(self) -> list[Posting]:
        """Every posting of the ledger."""
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(ledger_entries))).all()
        return [
            Posting(
                Account(r.account),
                PartyRef(r.party_kind, int(r.party_id)) if r.party_kind else None,
                _cent(r.debit),
                _cent(r.credit),
            )
            for r in rows
        ]
