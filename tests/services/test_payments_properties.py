"""For random months of priced sessions, top-ups and payments, in the database: after each
month's run, its payments (by hand and from bank statements, some paying part, some too much,
each statement imported twice) and its SEPA files, the documents, payments, payouts and prepaid
balances reconcile with the priced sessions and the ledger to the cent; each month's SEPA files
validate, and each collection under the mandate is FRST only when the mandate never collected
before; a payout waits for its employer's payment and an account, and is listed until it has
one.

Sessions and their price lines are written as the platform stores them, and each prepaid
session draws from its balance as the pricing consumer has it draw (their own tests cover how
they are made); each example is a month of its own, after the months before it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import func, insert, select

from tests.banking.statements import Credit, camt053
from tests.conftest import make_settings
from tests.factories import company, operator, stock_csv
from tests.factories import tariff_document as tariff
from tests.services.billing_world import HandClock
from voltflow.banking.sepa import CREDIT_TRANSFER, DIRECT_DEBIT, validate
from voltflow.bootstrap import Platform, build
from voltflow.domain.access import Actor, OrganisationKind, Role
from voltflow.domain.billing.documents import DocumentKind
from voltflow.domain.billing.records import DocumentState
from voltflow.domain.billing.runs import BillingPeriod
from voltflow.domain.billing.settlement import PayoutState, top_up_reference
from voltflow.domain.contracts import ContractKind
from voltflow.domain.licences import FixedRate
from voltflow.domain.session_prices import Basis, Party, PriceLine
from voltflow.domain.session_types import SessionType
from voltflow.store.tables import (
    charging_sessions,
    ledger_entries,
    payments,
    prepaid_movements,
)

D = Decimal
CENT = D("0.01")
RATE = D("0.3070")
MANDATE = "ACME-CORE-1"


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class World:
    platform: Platform
    clock: HandClock
    op: Actor
    acme: int  # postpaid, under a mandate
    globex: int  # prepaid
    prepaid_contract: int
    cards: list[tuple[str, int]]  # (uid, organisation) of each driver's card
    licensed: dict[str, str]  # card → its home station
    no_iban: set[int]  # employees without an account
    months: itertools.count[int]
    meters: itertools.count[int]
    statements: itertools.count[int]
    collected: set[str] = field(default_factory=set)  # mandates that collected before


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    clock = HandClock()
    clock.at = datetime(2024, 12, 1, tzinfo=UTC)
    platform = build(make_settings(database_url), clock=clock)
    await platform.start()
    try:
        op = await operator(platform)
        await platform.tariffs.add(tariff("PUBLIC", "0.40", start="2024-01-01T00:00:00Z"), actor=op)
        await platform.tariffs.add(tariff("HOST", "0.25", start="2024-01-01T00:00:00Z"), actor=op)
        home = await platform.organisations.create(op, "Homes", OrganisationKind.HOUSEHOLD)
        host = await platform.organisations.add_person(
            op, home.id, "host", Role.HOST, password="host-pw-01"
        )
        await platform.organisations.set_person_iban(op, home.id, host.user_id, "BE62510007547061")
        await platform.stations.add("PUB", "station-pass-0001")
        await platform.pricing.set_station_prices(
            op, "PUB", tariff_id="PUBLIC", host="host", host_tariff_id="HOST"
        )
        orgs, cards, licensed, no_iban = [], [], {}, set()
        for n, name in enumerate(("Acme", "Globex")):
            org = await company(platform, op, name)
            orgs.append(org.id)
            uids = await platform.cards.import_csv(op, stock_csv(2, start=1 + 2 * n))
            await platform.cards.distribute(op, uids, org.id)
            for uid, driver in zip(uids, org.drivers, strict=True):
                await platform.cards.assign(org.manager, uid, driver.user_id)
                cards.append((uid, org.id))
            await platform.cards.activate(op, uids)
            station = f"HOME-{n}"
            await platform.stations.add(station, "station-pass-0001")
            await platform.licences.add(
                org.manager,
                station,
                [uids[0]],
                FixedRate(RATE),
                valid_from=datetime(2024, 12, 1, tzinfo=UTC),
            )
            licensed[uids[0]] = station
            employee = org.drivers[0].user_id
            if name == "Acme":
                await platform.organisations.set_person_iban(
                    op, org.id, employee, "BE68539007547034"
                )
            else:
                no_iban.add(employee)
        acme, globex = orgs
        await platform.contracts.create(
            op,
            acme,
            ContractKind.EMSP,
            starts_on=date(2024, 1, 1),
            mandate_reference=MANDATE,
            mandate_iban="BE43068999999501",
            mandate_signed_on=date(2024, 11, 20),
        )
        prepaid = await platform.contracts.create(
            op, globex, ContractKind.EMSP, starts_on=date(2024, 1, 1), prepaid=True
        )
        yield World(
            platform,
            clock,
            op,
            acme,
            globex,
            prepaid.id,
            cards,
            licensed,
            no_iban,
            itertools.count(1),
            itertools.count(0),
            itertools.count(1),
        )
    finally:
        await platform.stop()


@dataclass(frozen=True)
class Drawn:
    kind: str  # public, split, whitelist, invalid
    card: int
    minute: int  # of the month
    wh: int
    excl: D
    host: D | None


@dataclass(frozen=True)
class Payment:
    """What happens to one of the month's documents paid to the platform: ``share`` of what
    is due (0: nothing, above 1: too much), by hand or by bank statement."""

    share: D
    by_statement: bool


sessions = st.lists(
    st.builds(
        Drawn,
        kind=st.sampled_from(["public", "public", "split", "whitelist", "invalid"]),
        card=st.integers(0, 3),
        minute=st.integers(0, 27 * 24 * 60),
        wh=st.integers(0, 60_000),
        excl=st.decimals(min_value=0, max_value=60, places=2),
        host=st.none() | st.decimals(min_value=0, max_value=20, places=2),
    ),
    max_size=12,
)
top_ups = st.lists(st.decimals(min_value="0.01", max_value=80, places=2), max_size=2)
paying = st.lists(
    st.builds(
        Payment,
        share=st.sampled_from([D(0), D(0), D("0.5"), D(1), D(1), D("1.25")]),
        by_statement=st.booleans(),
    ),
    min_size=6,
    max_size=6,
)


def _lines(kind: str, d: Drawn) -> list[PriceLine]:
    zero = D("0.00")
    if kind in ("whitelist", "invalid"):
        basis = Basis.WHITELIST if kind == "whitelist" else Basis.INVALID
        return [PriceLine(Party.DRIVER, basis, "EUR", zero, zero)]
    if kind == "split":
        amount = cents(D(d.wh) / 1000 * RATE)
        return [
            PriceLine(Party.DRIVER, Basis.SPLIT_BILLING, "EUR", zero, zero),
            PriceLine(Party.EMPLOYEE, Basis.LICENCE_RATE, "EUR", amount, amount, rate=RATE),
        ]
    lines = [PriceLine(Party.DRIVER, Basis.PUBLIC_TARIFF, "EUR", d.excl, cents(d.excl * D("1.21")))]
    if d.host is not None:
        lines.append(
            PriceLine(Party.HOST, Basis.HOST_TARIFF, "EUR", d.host, cents(d.host * D("1.21")))
        )
    return lines


async def _store(
    w: World, period: BillingPeriod, drawn: list[Drawn]
) -> list[tuple[int, str, Drawn]]:
    """The sessions with their price lines, each drawing from a prepaid balance as priced."""
    start, _ = period.bounds(w.platform.billing.zone)
    stored = []
    for d in drawn:
        uid, _org = w.cards[d.card]
        split = d.kind == "split" and uid in w.licensed
        kind = "public" if d.kind == "split" and not split else d.kind
        began = start + timedelta(minutes=d.minute)
        session_type = {
            "public": SessionType.NORMAL,
            "split": SessionType.SPLIT_BILLING,
            "whitelist": SessionType.WHITELIST,
            "invalid": SessionType.INVALID,
        }[kind]
        row = {
            "station_id": w.licensed[uid] if split else "PUB",
            "evse_id": 1,
            "connector_id": 1,
            "id_tag": uid,
            "auth_status": "Accepted",
            "started_at": began,
            "meter_start_wh": next(w.meters),
            "stopped_at": began + timedelta(minutes=30),
            "meter_stop_wh": 0,
            "energy_wh": d.wh,
            "session_type": session_type.value,
            "type_reason": None,
            "created_at": began,
        }
        async with w.platform.db.writing() as conn:
            session_id = int(
                (
                    await conn.execute(
                        insert(charging_sessions).values(**row).returning(charging_sessions.c.id)
                    )
                ).scalar_one()
            )
        lines = _lines(kind, d)
        async with w.platform.uow():
            await w.platform.pricing.repo.replace(
                [(session_id, session_type, lines)], w.clock.now()
            )
            await w.platform.prepaid.draw_for({session_id: lines})
        stored.append((session_id, kind, d))
    return stored


async def _count(w: World, table: Any) -> int:
    async with w.platform.db.reading() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


def _sequence_types(content: bytes) -> list[tuple[str, str]]:
    root = etree.fromstring(content)
    ns = {"p": etree.QName(root).namespace}
    return [
        (
            tx.findtext("p:DrctDbtTxInf/p:PmtId/p:EndToEndId", namespaces=ns) or "",
            batch.findtext("p:PmtTpInf/p:SeqTp", namespaces=ns) or "",
        )
        for batch in root.iterfind("p:*/p:PmtInf", ns)
        for tx in [batch]
        for _ in batch.iterfind("p:DrctDbtTxInf", ns)
    ]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=sessions, topped=top_ups, paid=paying)
async def test_money_reconciles_with_the_priced_sessions_after_random_payments(
    world: World, drawn: list[Drawn], topped: list[D], paid: list[Payment]
) -> None:
    w = world
    p = w.platform
    n = next(w.months)
    # Each example a month after the last (shrinking a failure runs many).
    period = BillingPeriod.month(2025 + (n - 1) // 12, (n - 1) % 12 + 1)
    w.clock.at = datetime.combine(period.start, datetime.min.time(), UTC) + timedelta(hours=6)
    statement_no = next(w.statements)
    # Top-ups reach the bank first, with the contract's reference.
    if topped:
        credits = [
            Credit(f"T{statement_no}-{i}", amount, top_up_reference(w.prepaid_contract))
            for i, amount in enumerate(topped)
        ]
        done = await p.payments.import_statement(w.op, camt053(credits, statement=f"T{n}"))
        assert all(e.kind.value == "top_up" for e in done.entries)
    stored = await _store(w, period, drawn)
    balance = (await p.contracts.repo.get(w.prepaid_contract)).prepaid_balance  # type: ignore[union-attr]
    assert balance >= 0

    w.clock.at = datetime.combine(period.end + timedelta(days=2), datetime.min.time(), UTC)
    result = await p.billing.finalise(w.op, period)
    assert (await p.billing.reconcile(w.op, period)).ok

    # What the documents bill is what the sessions were priced: the drivers' public charging
    # (less what prepaid balances paid), the employees' reimbursements, the host's share.
    docs = [d.document for d in result.documents]
    public = [(sid, d) for sid, kind, d in stored if kind == "public"]
    split = [(sid, d) for sid, kind, d in stored if kind == "split"]
    charged = sum(
        (
            line.net
            for doc in docs
            if doc.kind is DocumentKind.INVOICE
            for line in doc.lines
            if line.sessions
        ),
        D(0),
    )
    assert charged == sum((d.excl for _, d in public), D(0))
    reimbursed = sum(
        (
            doc.total_incl_vat.amount
            for doc in docs
            if doc.kind is DocumentKind.REIMBURSEMENT_STATEMENT
        ),
        D(0),
    )
    assert reimbursed == sum((cents(D(d.wh) / 1000 * RATE) for _, d in split), D(0))
    remunerated = sum(
        (doc.total_incl_vat.amount for doc in docs if doc.kind is DocumentKind.SELF_BILLING), D(0)
    )
    assert remunerated == sum(
        (cents(d.host * D("1.21")) for _, d in public if d.host is not None), D(0)
    )
    drawn_now = await p.payments.repo.drawn([sid for sid, _ in public])
    prepaid_invoiced = sum((doc.prepaid_amount for doc in docs), D(0))
    assert prepaid_invoiced == sum(drawn_now.values(), D(0))

    # The month's documents paid to the platform, paid at random: by hand, or by a statement
    # (imported twice: the second books nothing).
    receivable = [
        d
        for d in result.documents
        if d.document.kind in (DocumentKind.INVOICE, DocumentKind.PAYMENT_REQUEST)
    ]
    expected: dict[str, D] = {}
    credits = []
    for i, (issued, payment) in enumerate(zip(receivable, paid, strict=False)):
        document = issued.document
        due = max(document.payable.amount, D(0))
        amount = cents(due * payment.share)
        number = document.number or ""
        if amount <= 0:
            expected[number] = D(0)
            continue
        if payment.by_statement:
            credits.append(Credit(f"S{statement_no}-{i}", amount, document.payment_reference))
            expected[number] = min(amount, due)
        elif amount <= due:
            await p.payments.register(w.op, number, amount, f"HAND-{n}-{i}")
            expected[number] = amount
        else:
            expected[number] = D(0)  # more than is due by hand: refused, tested elsewhere
    if credits:
        statement = camt053(credits, statement=f"S{n}")
        first = await p.payments.import_statement(w.op, statement)
        assert not [e for e in first.entries if e.kind.value in ("unmatched", "ambiguous")]
        tables = (payments, ledger_entries, prepaid_movements)
        before = [await _count(w, t) for t in tables]
        again = await p.payments.import_statement(w.op, statement)
        assert {e.kind.value for e in again.entries} == {"already_imported"}
        assert [await _count(w, t) for t in tables] == before
    for number, amount in expected.items():
        record = await p.payments.repo.by_number(number)
        assert record is not None
        assert record.paid == amount
        assert record.amount_due == max(record.payable - amount, D(0))
        if record.payable <= amount:
            assert record.state == DocumentState.PAID

    # The month's SEPA files: each validates; under the mandate, FRST only the first time.
    made = await p.payments.sepa(w.op, period)
    for row in made.files:
        validate(made.contents[row.id], row.schema)
    debits = [made.contents[f.id] for f in made.files if f.schema == DIRECT_DEBIT]
    for content in debits:
        for _number, sequence in _sequence_types(content):
            assert sequence == ("RCUR" if MANDATE in w.collected else "FRST")
            w.collected.add(MANDATE)
    collected = {c.number for c in made.collections}
    for issued in receivable:
        record = await p.payments.repo.by_number(issued.document.number or "")
        assert record is not None
        under_mandate = issued.organisation_id == w.acme and record.amount_due > 0
        assert (record.number in collected) == under_mandate
    # Payouts: a host's with its statement, an employee's once the employer paid; without an
    # account, listed and left due.
    payouts = {q.number: q for q in await p.payments.payouts(w.op)}
    requests = {
        d.organisation_id: d.document.number
        for d in result.documents
        if d.document.kind is DocumentKind.PAYMENT_REQUEST
    }
    listed = {e.number for e in made.exceptions if e.kind == "payout"}
    for issued in result.documents:
        doc = issued.document
        number = doc.number or ""
        if doc.kind is DocumentKind.SELF_BILLING and doc.total_incl_vat.amount > 0:
            assert payouts[number].state == PayoutState.SENT
        if doc.kind is DocumentKind.REIMBURSEMENT_STATEMENT and doc.total_incl_vat.amount > 0:
            request = await p.payments.repo.by_number(requests[issued.organisation_id] or "")
            assert request is not None
            if request.state != DocumentState.PAID:
                assert number not in payouts
            elif issued.user_id in w.no_iban:
                assert payouts[number].state == PayoutState.DUE and number in listed
            else:
                assert payouts[number].state == PayoutState.SENT
                assert payouts[number].amount == doc.total_incl_vat.amount
    assert {e.number for e in made.exceptions if e.kind == "collection"} == set()

    # And the whole: ledger, documents, payments, payouts and balances, to the cent.
    money = await p.payments.checks(w.op)
    assert money.ok, money.failures()
    balance = (await p.contracts.repo.get(w.prepaid_contract)).prepaid_balance  # type: ignore[union-attr]
    assert balance >= 0
    again = await p.payments.sepa(w.op, period)
    assert (again.files, again.collections, again.payouts) == ((), (), ())
    assert CREDIT_TRANSFER  # the payouts' files were validated with the rest
