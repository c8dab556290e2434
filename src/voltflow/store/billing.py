"""Billing's store: what a run reads (the billable price lines, the contracts' counts, the
customers and payees), and what it writes in its one transaction (the run, the documents with
their numbers, the billed items, the ledger's journals).

Price lines are read in ONE place, :meth:`BillingRepository.billable_lines`: the shape of
``session_price_lines`` is known to that function alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from voltflow.domain.access import OrganisationKind, Role
from voltflow.domain.billing.documents import SERIES, Document, DocumentKind, cents
from voltflow.domain.billing.items import (
    BillableLine,
    BilledItem,
    Purpose,
    SourceKind,
    SubscriptionBasis,
)
from voltflow.domain.billing.ledger import Account, Journal, PartyRef, Posting
from voltflow.domain.billing.records import DocumentFilter, DocumentRecord, DocumentState
from voltflow.domain.billing.snapshot import document_json, document_of
from voltflow.domain.contracts import ContractKind
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.records import Contract, Organisation
from voltflow.store.database import Database
from voltflow.store.paging import fetch_page, record_of
from voltflow.store.statements import dialect_insert
from voltflow.store.tables import (
    billed_items,
    billing_documents,
    billing_runs,
    billing_sequences,
    card_events,
    cards,
    charging_sessions,
    contracts,
    ledger_entries,
    licence_cards,
    licences,
    memberships,
    organisations,
    session_price_lines,
    stations,
    users,
)

D, B, J = billing_documents, billed_items, ledger_entries
# The row a finalising run locks first: two runs at once wait for each other, so that the
# second reads what the first billed.
_RUN_LOCK = ("RUN", 0)
_PAID_TO_US = (DocumentKind.INVOICE, DocumentKind.PAYMENT_REQUEST)
_PURPOSE_OF_PARTY = {
    "driver": Purpose.CHARGING,
    "employee": Purpose.REIMBURSEMENT,
    "host": Purpose.REMUNERATION,
}


class BillingRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- what a run reads ----------------------------------------------------------------------
    async def billable_lines(
        self,
        start: datetime | None,
        stop: datetime | None,
        customer: int | None = None,
        *,
        sessions: Sequence[int] | None = None,
    ) -> list[BillableLine]:
        """The current price lines billing reads of the platform's stations' sessions, as
        billing values: the driver's (CHARGING), the employee's (REIMBURSEMENT) and the host's
        (REMUNERATION), each with whom it is billed to or paid to.

        Without ``sessions``: those of sessions that stopped before ``stop`` and are not billed
        yet for that purpose: public and split-billing ones whenever they closed (a late one
        goes into the next run), the others (invalid, whitelist: never billed, listed as
        skipped) only when they closed in [``start``, ``stop``). With ``customer``: only what
        is billed to that organisation, or paid to its people as hosts. With ``sessions``: those
        sessions' current lines, billed or not (the reconciliation's side of the sessions)."""
        L, S, C, ST = session_price_lines, charging_sessions, cards, stations
        purpose = case(
            (L.c.party == "driver", literal(Purpose.CHARGING.value)),
            (L.c.party == "employee", literal(Purpose.REIMBURSEMENT.value)),
            else_=literal(Purpose.REMUNERATION.value),
        )
        licence = (
            select(licences.c.id)
            .join(licence_cards, licence_cards.c.licence_id == licences.c.id)
            .where(
                licence_cards.c.card_uid == S.c.id_tag,
                licences.c.station_id == S.c.station_id,
                licences.c.valid_from <= S.c.started_at,
                or_(licences.c.valid_until.is_(None), S.c.started_at < licences.c.valid_until),
            )
            .order_by(licences.c.id)
            .limit(1)
            .correlate(S)
            .scalar_subquery()
        )
        cond: list[ColumnElement[bool]] = [
            L.c.current,
            L.c.party.in_(list(_PURPOSE_OF_PARTY)),
            S.c.stopped_at.is_not(None),
        ]
        if sessions is not None:
            cond.append(L.c.session_id.in_(list(sessions)))
        else:
            assert start is not None and stop is not None, "a period, or the sessions"
            billed = exists().where(
                B.c.source_kind == SourceKind.SESSION.value,
                B.c.source_id == cast(L.c.session_id, String),
                B.c.purpose == purpose,
            )
            cond += [
                S.c.stopped_at < stop,
                or_(
                    S.c.stopped_at >= start,
                    L.c.session_type.in_(["normal", "split_billing"]),
                ),
                ~billed,
            ]
        q = (
            select(
                L.c.session_id,
                L.c.revision,
                L.c.session_type,
                L.c.party,
                L.c.basis,
                L.c.currency,
                L.c.excl_vat,
                L.c.incl_vat,
                L.c.tariff_id,
                L.c.tariff_version,
                L.c.rate,
                S.c.station_id,
                S.c.id_tag,
                S.c.started_at,
                S.c.stopped_at,
                S.c.energy_wh,
                S.c.type_reason,
                C.c.organisation_id.label("card_organisation"),
                C.c.driver_id.label("card_driver"),
                ST.c.host_user_id,
                licence.label("licence_id"),
            )
            .join(S, S.c.id == L.c.session_id)
            .join(ST, ST.c.id == S.c.station_id)
            .outerjoin(C, C.c.uid == S.c.id_tag)
            .where(*cond)
            .subquery("q")
        )
        lic = licences.alias("l")
        employer = lic.c.employer_id
        customer_of = case(
            (q.c.party == "driver", q.c.card_organisation),
            (q.c.party == "employee", employer),
            else_=None,
        )
        person_of = case(
            (q.c.party == "employee", func.coalesce(lic.c.employee_id, q.c.card_driver)),
            (q.c.party == "host", q.c.host_user_id),
            else_=None,
        )
        outer = (
            select(q, customer_of.label("customer_id"), person_of.label("person_id"))
            .select_from(q.outerjoin(lic, lic.c.id == q.c.licence_id))
            .order_by(q.c.session_id, q.c.party)
        )
        if customer is not None:
            host_member = exists().where(
                memberships.c.user_id == q.c.host_user_id,
                memberships.c.organisation_id == customer,
            )
            outer = outer.where(
                or_(
                    and_(q.c.party == "driver", q.c.card_organisation == customer),
                    and_(q.c.party == "employee", employer == customer),
                    and_(q.c.party == "host", host_member),
                )
            )
        async with self.db.reading() as conn:
            rows = (await conn.execute(outer)).all()
        return [_billable(row) for row in rows]

    async def subscription_bases(
        self, first: date, last: date, start: datetime, stop: datetime, customer: int | None
    ) -> list[SubscriptionBasis]:
        """The contracts in force on some day of [``first``, ``last``] (one month; the UTC
        instants ``start``/``stop`` bound it) whose month is not billed yet, with what they
        count: the organisation's cards that were active at some moment of the month (their
        history says when), its stations, and the licences it pays for that held in it."""
        month = f"{first.year:04d}-{first.month:02d}"
        k = contracts
        billed = exists().where(
            B.c.source_kind == SourceKind.CONTRACT.value,
            B.c.source_id == cast(k.c.id, String) + literal(f":{month}", String),
            B.c.purpose == Purpose.SUBSCRIPTION.value,
        )
        cond: list[ColumnElement[bool]] = [
            k.c.starts_on <= last,
            or_(k.c.ends_on.is_(None), k.c.ends_on >= first),
            organisations.c.kind != OrganisationKind.OPERATOR.value,
            ~billed,
        ]
        if customer is not None:
            cond.append(k.c.organisation_id == customer)
        query = (
            select(k).join(organisations, organisations.c.id == k.c.organisation_id).where(*cond)
        )
        async with self.db.reading() as conn:
            rows = (await conn.execute(query.order_by(k.c.id))).all()
            orgs = sorted({int(r.organisation_id) for r in rows})
            if not orgs:
                return []
            state_then = (
                select(card_events.c.to_state)
                .where(card_events.c.card_uid == cards.c.uid, card_events.c.at < start)
                .order_by(card_events.c.at.desc(), card_events.c.id.desc())
                .limit(1)
                .correlate(cards)
                .scalar_subquery()
            )
            activated = exists().where(
                card_events.c.card_uid == cards.c.uid,
                card_events.c.to_state == "active",
                card_events.c.at >= start,
                card_events.c.at < stop,
            )
            card_counts: dict[Any, Any] = dict(
                (
                    await conn.execute(
                        select(cards.c.organisation_id, func.count())
                        .where(
                            cards.c.organisation_id.in_(orgs),
                            or_(state_then == "active", activated),
                        )
                        .group_by(cards.c.organisation_id)
                    )
                ).all()
            )
            station_counts: dict[Any, Any] = dict(
                (
                    await conn.execute(
                        select(stations.c.organisation_id, func.count())
                        .where(stations.c.organisation_id.in_(orgs), stations.c.created_at < stop)
                        .group_by(stations.c.organisation_id)
                    )
                ).all()
            )
            licence_counts: dict[Any, Any] = dict(
                (
                    await conn.execute(
                        select(licences.c.employer_id, func.count())
                        .where(
                            licences.c.employer_id.in_(orgs),
                            licences.c.valid_from < stop,
                            or_(licences.c.valid_until.is_(None), licences.c.valid_until > start),
                        )
                        .group_by(licences.c.employer_id)
                    )
                ).all()
            )
        return [
            SubscriptionBasis(
                contract_id=int(r.id),
                organisation_id=int(r.organisation_id),
                currency=r.currency,
                starts_on=r.starts_on,
                ends_on=r.ends_on,
                fee_per_card=_plain(r.fee_per_card),
                fee_per_station=_plain(r.fee_per_station),
                fee_per_licence=_plain(r.fee_per_licence),
                cards=int(card_counts.get(r.organisation_id, 0)),
                stations=int(station_counts.get(r.organisation_id, 0)),
                licences=int(licence_counts.get(r.organisation_id, 0)),
            )
            for r in rows
        ]

    async def organisations(self, ids: Iterable[int]) -> dict[int, Organisation]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(select(organisations).where(organisations.c.id.in_(wanted)))
            ).all()
        return {
            int(r.id): record_of(Organisation, r._mapping, kind=OrganisationKind(r.kind))
            for r in rows
        }

    async def contracts_of(self, ids: Iterable[int]) -> dict[int, list[Contract]]:
        """Each organisation's contracts, the latest first."""
        wanted = sorted(set(ids))
        out: dict[int, list[Contract]] = {i: [] for i in wanted}
        if not wanted:
            return out
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(contracts)
                    .where(contracts.c.organisation_id.in_(wanted))
                    .order_by(contracts.c.starts_on.desc(), contracts.c.id.desc())
                )
            ).all()
        for r in rows:
            out[int(r.organisation_id)].append(
                record_of(Contract, r._mapping, kind=ContractKind(r.kind))
            )
        return out

    async def find_customer(self, name_or_id: str) -> list[int]:
        """Customer organisations (not the operator's) whose id or exact name is
        ``name_or_id``."""
        cond: ColumnElement[bool] = organisations.c.name == name_or_id
        if name_or_id.isdigit():
            cond = or_(cond, organisations.c.id == int(name_or_id))
        query = select(organisations.c.id).where(
            cond, organisations.c.kind != OrganisationKind.OPERATOR.value
        )
        async with self.db.reading() as conn:
            return [
                int(i) for i in (await conn.execute(query.order_by(organisations.c.id))).scalars()
            ]

    async def people(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(
                        users.c.id,
                        users.c.username,
                        users.c.full_name,
                        users.c.email,
                        users.c.language,
                        users.c.iban,
                    ).where(users.c.id.in_(wanted))
                )
            ).all()
        return {int(r.id): dict(r._mapping) for r in rows}

    async def fleet_managers(self, organisation_id: int) -> list[int]:
        """The organisation's fleet managers with an e-mail address, the longest-standing
        first."""
        query = (
            select(users.c.id)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(
                memberships.c.organisation_id == organisation_id,
                memberships.c.role == Role.FLEET_MANAGER.value,
                users.c.email.is_not(None),
                users.c.disabled_at.is_(None),
            )
            .order_by(memberships.c.created_at, users.c.id)
        )
        async with self.db.reading() as conn:
            return [int(i) for i in (await conn.execute(query)).scalars()]

    # -- what a finalising run writes, in its transaction --------------------------------------
    async def lock_runs(self) -> None:
        """Takes the runs' lock until the transaction ends (SQLite: the writing transaction
        holds the database already)."""
        series, year = _RUN_LOCK
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

    async def next_number(self, kind: DocumentKind, year: int) -> int:
        """The next number of ``kind``'s series in ``year``: its row is locked by the increment
        until the transaction ends, and given back if it rolls back."""
        series = SERIES[kind]
        async with self.db.writing() as conn:
            await conn.execute(
                dialect_insert(self.db.dialect, billing_sequences)
                .values(series=series, year=year, last=0)
                .on_conflict_do_nothing(index_elements=["series", "year"])
            )
            result = await conn.execute(
                update(billing_sequences)
                .where(billing_sequences.c.series == series, billing_sequences.c.year == year)
                .values(last=billing_sequences.c.last + 1)
                .returning(billing_sequences.c.last)
            )
            return int(result.scalar_one())

    async def last_numbers(self) -> dict[tuple[str, int], int]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(billing_sequences))).all()
        return {(r.series, int(r.year)): int(r.last) for r in rows if r.series != _RUN_LOCK[0]}

    async def add_run(
        self,
        first: date,
        last: date,
        organisation_id: int | None,
        actor_name: str,
        documents: int,
        now: datetime,
    ) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(billing_runs)
                .values(
                    period_start=first,
                    period_end=last,
                    organisation_id=organisation_id,
                    actor_name=actor_name,
                    documents=documents,
                    finalised_at=now,
                )
                .returning(billing_runs.c.id)
            )
            return int(result.scalar_one())

    async def add_document(
        self,
        document: Document,
        purposes: Sequence[Purpose],
        *,
        run_id: int | None,
        organisation_id: int | None,
        user_id: int | None,
        now: datetime,
    ) -> int:
        snapshot = document_json(document, purposes=[p.value for p in purposes])
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(D)
                .values(
                    number=document.number,
                    kind=document.kind.value,
                    run_id=run_id,
                    organisation_id=organisation_id,
                    user_id=user_id,
                    period_start=document.period_start,
                    period_end=document.period_end,
                    issue_date=document.issue_date,
                    due_date=document.due_date,
                    currency=document.currency,
                    total_excl_vat=document.total_excl_vat.amount,
                    total_vat=document.total_vat.amount,
                    total_incl_vat=document.total_incl_vat.amount,
                    prepaid=document.prepaid_amount,
                    payment_reference=document.payment_reference,
                    mandate_reference=document.mandate_reference,
                    corrects=document.corrects,
                    # Nothing asked (paid in full from a prepaid balance): settled at once.
                    state=DocumentState.PAID
                    if document.kind in _PAID_TO_US and document.payable.amount <= 0
                    else DocumentState.ISSUED,
                    snapshot=json.dumps(snapshot, ensure_ascii=False, sort_keys=True),
                    created_at=now,
                )
                .returning(D.c.id)
            )
            return int(result.scalar_one())

    async def add_billed(
        self, items: Sequence[BilledItem], document_id: int, now: datetime
    ) -> None:
        """Marks ``items`` billed by the document; an item billed already makes it fail (the
        key is unique), and the transaction with it."""
        if not items:
            return
        rows = [
            {
                "source_kind": i.source_kind.value,
                "source_id": i.source_id,
                "purpose": i.purpose.value,
                "document_id": document_id,
                "revision": i.revision,
                "amount": i.amount,
                "billed_at": now,
            }
            for i in items
        ]
        async with self.db.writing() as conn:
            await conn.execute(insert(B), rows)

    async def add_journal(self, journal: Journal, document_id: int | None, now: datetime) -> None:
        rows = [
            {
                "journal": journal.reference,
                "document_id": document_id,
                "account": p.account.value,
                "party_kind": p.party.kind if p.party else None,
                "party_id": p.party.id if p.party else None,
                "debit": p.debit,
                "credit": p.credit,
                "currency": journal.currency,
                "posted_on": journal.posted_on,
                "created_at": now,
            }
            for p in journal.postings
        ]
        if rows:
            async with self.db.writing() as conn:
                await conn.execute(insert(J), rows)

    # -- reading what was issued -----------------------------------------------------------------
    def _records(self) -> Any:
        recipient = func.coalesce(
            case(
                (D.c.user_id.is_not(None), func.coalesce(users.c.full_name, users.c.username)),
                else_=organisations.c.name,
            ),
            literal(""),
        )
        return (
            select(
                *[c for c in D.c if c.name != "snapshot"],
                recipient.label("recipient"),
            )
            .select_from(D)
            .outerjoin(organisations, organisations.c.id == D.c.organisation_id)
            .outerjoin(users, users.c.id == D.c.user_id)
        )

    async def page(
        self,
        filters: DocumentFilter,
        page: PageRequest,
        *,
        within: Iterable[int] | None,
        person: int | None = None,
        newest_first: bool = False,
    ) -> Page[DocumentRecord]:
        """``within``: the organisations whose documents may be shown (None: all); ``person``:
        also the documents that pay this person."""
        cond: list[ColumnElement[bool]] = []
        if within is not None:
            seen: ColumnElement[bool] = D.c.organisation_id.in_(sorted(within))
            if person is not None:
                seen = or_(seen, D.c.user_id == person)
            cond.append(seen)
        if filters.period_start is not None:
            cond.append(D.c.period_start == filters.period_start)
        if filters.kind is not None:
            cond.append(D.c.kind == filters.kind.value)
        if filters.organisation_id is not None:
            cond.append(D.c.organisation_id == filters.organisation_id)
        if filters.user_id is not None:
            cond.append(D.c.user_id == filters.user_id)
        if filters.state is not None:
            cond.append(D.c.state == filters.state)
        if filters.corrects is not None:
            cond.append(D.c.corrects == filters.corrects)
        async with self.db.reading() as conn:
            return await fetch_page(
                conn,
                self._records().where(*cond),
                D.c.id.desc() if newest_first else D.c.id,
                page=page,
                record=_record,
            )

    async def issued(
        self, *, number: str | None = None, period_start: date | None = None
    ) -> list[tuple[DocumentRecord, Document, tuple[Purpose, ...]]]:
        """Documents with their whole content: the one numbered ``number``, or those of the
        period that starts on ``period_start``, in the order they were issued."""
        query = self._records().add_columns(D.c.snapshot)
        if number is not None:
            query = query.where(D.c.number == number)
        if period_start is not None:
            query = query.where(D.c.period_start == period_start)
        async with self.db.reading() as conn:
            rows = (await conn.execute(query.order_by(D.c.id))).all()
        out = []
        for row in rows:
            data = json.loads(row.snapshot)
            purposes = tuple(Purpose(p) for p in data.get("purposes", ()))
            out.append((_record(row._mapping), document_of(data), purposes))
        return out

    async def billed_by(self, document_ids: Sequence[int]) -> list[BilledItem]:
        if not document_ids:
            return []
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(B)
                    .where(B.c.document_id.in_(list(document_ids)))
                    .order_by(B.c.document_id, B.c.source_kind, B.c.source_id)
                )
            ).all()
        return [
            BilledItem(
                SourceKind(r.source_kind),
                r.source_id,
                Purpose(r.purpose),
                _cent(r.amount),
                r.revision,
            )
            for r in rows
        ]

    async def postings_of(self, document_ids: Sequence[int]) -> list[Posting]:
        if not document_ids:
            return []
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(J).where(J.c.document_id.in_(list(document_ids))).order_by(J.c.id)
                )
            ).all()
        return [
            Posting(
                Account(r.account),
                PartyRef(r.party_kind, int(r.party_id)) if r.party_kind else None,
                _cent(r.debit),
                _cent(r.credit),
            )
            for r in rows
        ]

    async def credited_lines(self, number: str) -> set[int]:
        """The lines (1-based) of invoice ``number`` that credit notes gave back already."""
        prefix = f"{number}/"
        async with self.db.reading() as conn:
            ids = (
                await conn.execute(
                    select(B.c.source_id).where(
                        B.c.source_kind == SourceKind.INVOICE_LINE.value,
                        B.c.source_id.startswith(prefix, autoescape=True),
                    )
                )
            ).scalars()
            return {int(i.removeprefix(prefix)) for i in ids}


def _billable(row: Any) -> BillableLine:
    party = row.party
    return BillableLine(
        source_kind=SourceKind.SESSION,
        source_id=int(row.session_id),
        revision=int(row.revision),
        purpose=_PURPOSE_OF_PARTY[party],
        session_type=row.session_type,
        type_reason=row.type_reason,
        basis=row.basis,
        customer_id=None if row.customer_id is None else int(row.customer_id),
        person_id=None if row.person_id is None else int(row.person_id),
        station_id=row.station_id,
        card_uid=row.id_tag,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        energy_wh=int(row.energy_wh or 0),
        currency=row.currency,
        excl_vat=cents(row.excl_vat, row.currency),
        incl_vat=cents(row.incl_vat, row.currency),
        rate=None if row.rate is None else _plain(row.rate),
        tariff_id=row.tariff_id,
        tariff_version=None if row.tariff_version is None else int(row.tariff_version),
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
        prepaid=cents(m.get("prepaid") or Decimal(0), currency),
        paid=cents(m.get("paid") or Decimal(0), currency),
    )


# PostgreSQL's NUMERIC gives its scale's digits (2.440000): amounts come back to the cent (every
# currency billed in has two decimals), rates and fees without trailing zeros.
_CENT = Decimal("0.01")


def _cent(value: Decimal) -> Decimal:
    return Decimal(value).quantize(_CENT)


def _plain(value: Decimal) -> Decimal:
    """0.665400 → 0.6654, 9.000000 → 9."""
    normal = Decimal(value).normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal
