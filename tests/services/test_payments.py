"""Money after the month of the release note is billed, on both databases: SEPA files that
collect under the mandate (FRST, then RCUR) and pay the host, mandates revoked or lapsed listed
rather than collected, payments by hand, a bank statement imported (twice), payouts released
when the employer pays, reminders for overdue documents, and the ledger agreeing with all of it
to the cent."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import func, select

from tests.banking.statements import Credit, camt053
from tests.factories import stock_csv
from tests.ocpp.support import eventually, fresh_rows
from tests.services.billing_world import Month, month, utc
from voltflow import failpoints
from voltflow.banking.sepa import CREDIT_TRANSFER, DIRECT_DEBIT, validate
from voltflow.documents.ubl import to_ubl
from voltflow.domain.access import OrganisationKind, Role
from voltflow.domain.billing.ledger import Account
from voltflow.domain.billing.records import DocumentState
from voltflow.domain.billing.references import structured_reference
from voltflow.domain.billing.runs import BillingPeriod
from voltflow.domain.billing.settlement import EntryKind, PayoutState, top_up_reference
from voltflow.domain.contracts import ContractKind
from voltflow.domain.mail import MailKind
from voltflow.domain.paging import PageRequest
from voltflow.services.access import Forbidden
from voltflow.services.billing import DocumentNotFound
from voltflow.services.payments import PaymentProblem, ReminderTask, SepaResult
from voltflow.store.tables import (
    bank_entries,
    ledger_entries,
    mail_outbox,
    payment_reminders,
    payments,
    prepaid_movements,
)

__all__ = ["month"]  # the fixture

D = Decimal
NOVEMBER = BillingPeriod.month(2026, 11)
DECEMBER = BillingPeriod.month(2026, 12)
INVOICE_ACME = "INV-2026-000001"  # €19.36 under mandate ACME-2026
INVOICE_GLOBEX = "INV-2026-000002"  # €2.42, paid by transfer
REQUEST = "PR-2026-000001"  # €7.32 under mandate ACME-2026
STATEMENT = "RS-2026-000001"  # €7.32 for Acme's driver 0
HOST_STATEMENT = "SB-2026-000001"  # €3.03 for the host
EMPLOYEE_IBAN = "BE68539007547034"


def transactions(content: bytes) -> dict[str, dict[str, str]]:
    """Each transaction of a SEPA file by its end-to-end id: its amount, sequence type and
    dates, as the bank reads them."""
    root = etree.fromstring(content)
    ns = {"p": etree.QName(root).namespace}
    out: dict[str, dict[str, str]] = {}
    for batch in root.iterfind("p:*/p:PmtInf", ns):
        sequence = batch.findtext("p:PmtTpInf/p:SeqTp", namespaces=ns)
        when = batch.findtext("p:ReqdColltnDt", namespaces=ns) or batch.findtext(
            "p:ReqdExctnDt", namespaces=ns
        )
        found = [*batch.iterfind("p:DrctDbtTxInf", ns), *batch.iterfind("p:CdtTrfTxInf", ns)]
        for tx in found:
            e2e = tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns) or ""
            amount = tx.findtext(".//p:InstdAmt", namespaces=ns) or ""
            out[e2e] = {
                "amount": amount,
                "sequence": sequence or "",
                "date": when or "",
                "mandate": tx.findtext(".//p:MndtId", namespaces=ns) or "",
                "signed": tx.findtext(".//p:DtOfSgntr", namespaces=ns) or "",
                "account": tx.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=ns)
                or tx.findtext(".//p:CdtrAcct/p:Id/p:IBAN", namespaces=ns)
                or "",
                "reference": tx.findtext(".//p:CdtrRefInf/p:Ref", namespaces=ns) or "",
            }
    return out


def files(result: SepaResult) -> dict[str, bytes]:
    return {f.schema: result.contents[f.id] for f in result.files}


async def count(m: Month, table: object) -> int:
    rows = await fresh_rows(m.platform, select(func.count()).select_from(table))  # type: ignore[arg-type]
    return int(next(iter(rows[0].values())))


async def document(m: Month, number: str) -> tuple[str, D, D]:
    found = await m.platform.payments.repo.by_number(number)
    assert found is not None
    return found.state, found.paid, found.amount_due


async def checks_ok(m: Month) -> None:
    money = await m.platform.payments.checks(m.op)
    assert money.ok, money.failures()


async def test_the_months_sepa_files_collect_under_the_mandate_and_pay_the_host(
    month: Month,
) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER)
    result = await m.platform.payments.sepa(m.op, NOVEMBER)

    made = files(result)
    assert set(made) == {DIRECT_DEBIT, CREDIT_TRANSFER}
    validate(made[DIRECT_DEBIT], DIRECT_DEBIT)
    validate(made[CREDIT_TRANSFER], CREDIT_TRANSFER)
    debits = transactions(made[DIRECT_DEBIT])
    # Both of Acme's documents, under its mandate: the first collection FRST, the next RCUR;
    # Globex has no mandate and pays by transfer.
    assert {n: (t["amount"], t["sequence"]) for n, t in debits.items()} == {
        INVOICE_ACME: ("19.36", "FRST"),
        REQUEST: ("7.32", "RCUR"),
    }
    assert {t["mandate"] for t in debits.values()} == {"ACME-2026"}
    assert {t["signed"] for t in debits.values()} == {"2026-10-15"}
    assert {t["account"] for t in debits.values()} == {"BE68539007547034"}
    # Collected on the due date, with the structured reference as remittance.
    assert {t["date"] for t in debits.values()} == {"2026-12-16"}
    assert debits[REQUEST]["reference"] == "226000000108"
    # The host is paid with their statement; the employee once Acme's request is paid.
    credits = transactions(made[CREDIT_TRANSFER])
    assert {n: (t["amount"], t["account"]) for n, t in credits.items()} == {
        HOST_STATEMENT: ("3.03", "BE62510007547061")
    }
    assert result.exceptions == ()
    assert [(p.number, p.amount) for p in result.payouts] == [(HOST_STATEMENT, D("3.03"))]
    assert (await document(m, HOST_STATEMENT))[0] == DocumentState.PAID
    [sent] = await m.platform.payments.payouts(m.op)
    assert (sent.state, sent.sepa_file_id) == (PayoutState.SENT, result.files[1].id)
    # The payout traces back to the sessions it pays for, through its statement.
    _record, statement = await m.platform.billing.document(m.op, sent.number)
    assert statement.sessions == (m.sessions["public"],)
    await checks_ok(m)

    # Made again: nothing new to collect or pay; the files made stay, byte for byte.
    again = await m.platform.payments.sepa(m.op, NOVEMBER)
    assert (again.files, again.collections, again.payouts) == ((), (), ())
    kept = await m.platform.payments.sepa_files(m.op, NOVEMBER)
    assert [f.message_id for f in kept] == ["VFDD202611-1", "VFCT202611-1"]
    assert (await m.platform.payments.sepa_file(m.op, kept[0].id))[1] == made[DIRECT_DEBIT]

    # December's invoice under the same mandate is a recurring collection.
    await m.charge("PUB-1", m.uids[1], utc(2026, 12, 5, 10, 0), 30, 5_000)
    m.clock.at = utc(2027, 1, 3, 9, 0)
    await m.platform.billing.finalise(m.op, DECEMBER)
    december = await m.platform.payments.sepa(m.op, DECEMBER)
    debits = transactions(files(december)[DIRECT_DEBIT])
    assert {n: t["sequence"] for n, t in debits.items()} == {"INV-2027-000001": "RCUR"}
    assert december.files[0].message_id == "VFDD202612-1"
    await checks_ok(m)


async def test_a_revoked_or_lapsed_mandate_is_listed_not_collected(month: Month) -> None:
    m = month
    # Globex signed a mandate in 2023 and never had anything collected: it lapsed after 36
    # months. Acme revoked its mandate before the file was made.
    await m.platform.contracts.create(
        m.op,
        m.other.id,
        ContractKind.EMSP,
        starts_on=date(2026, 11, 1),
        mandate_reference="GLOBEX-2023",
        mandate_iban="BE43068999999501",
        mandate_signed_on=date(2023, 6, 1),
    )
    await m.platform.billing.finalise(m.op, NOVEMBER)
    await m.platform.payments.revoke_mandate(m.op, "ACME-2026", date(2026, 12, 1))
    result = await m.platform.payments.sepa(m.op, NOVEMBER)
    assert [f.schema for f in result.files] == [CREDIT_TRANSFER]  # the host's payout only
    listed = {(e.number, e.reason) for e in result.exceptions}
    assert listed == {
        (INVOICE_ACME, "revoked"),
        (REQUEST, "revoked"),
        (INVOICE_GLOBEX, "expired"),
    }
    revoked = next(e for e in result.exceptions if e.number == REQUEST)
    assert "ACME-2026" in revoked.message and revoked.amount == D("7.32")
    # Nothing was presented: the next file lists them again.
    again = await m.platform.payments.sepa(m.op, NOVEMBER)
    assert {(e.number, e.reason) for e in again.exceptions} == listed
    assert await m.platform.payments.repo.collections() == []
    with pytest.raises(LookupError):
        await m.platform.payments.revoke_mandate(m.op, "NO-SUCH-MANDATE")


async def test_payments_by_hand_release_the_employees_reimbursement(month: Month) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER)
    pay = m.platform.payments.register
    first = await pay(m.op, REQUEST, D("5.00"), "TR-1")
    assert first.booked and first.document.state == DocumentState.PARTLY_PAID
    assert first.document.amount_due == D("2.32")
    # The same payment registered twice books it once.
    twice = await pay(m.op, REQUEST, D("5.00"), "TR-1")
    assert not twice.booked and twice.document.paid == D("5.00")
    for amount, reference, field in (
        (D("3.00"), "TR-2", "amount"),  # more than is due
        (D("0.001"), "TR-2", "amount"),
        (D("-1"), "TR-2", "amount"),
    ):
        with pytest.raises(PaymentProblem) as refused:
            await pay(m.op, REQUEST, amount, reference)
        assert refused.value.field == field
    with pytest.raises(PaymentProblem) as refused:
        await pay(m.op, REQUEST, D("2.32"), "TR-2", currency="USD")
    assert refused.value.field == "currency"
    with pytest.raises(PaymentProblem) as refused:
        await pay(m.op, STATEMENT, D("1.00"), "TR-3")  # the platform pays it, not the reverse
    assert refused.value.field == "document"
    with pytest.raises(DocumentNotFound):
        await pay(m.op, "PR-2026-999999", D("1.00"), "TR-3")
    with pytest.raises(Forbidden):
        await pay(m.acme.manager, REQUEST, D("2.32"), "TR-2")  # not an operator
    # Nothing of the refusals was booked; the employee waits for the rest (the host is paid
    # with their statement).
    due = await m.platform.payments.payouts(m.op, PayoutState.DUE)
    assert [p.number for p in due] == [HOST_STATEMENT]

    paid = await pay(m.op, REQUEST, D("2.32"), "TR-2")
    assert (paid.document.state, paid.document.amount_due) == (DocumentState.PAID, D(0))
    with pytest.raises(PaymentProblem) as refused:
        await pay(m.op, REQUEST, D("0.01"), "TR-4")
    assert refused.value.field == "document"
    # The request is paid: the employee's reimbursement is due, to an employee without an
    # account, listed until they give one.
    due = await m.platform.payments.payouts(m.op, PayoutState.DUE)
    assert [(p.number, p.amount, p.released_by) for p in due] == [
        (HOST_STATEMENT, D("3.03"), "statement"),
        (STATEMENT, D("7.32"), "request_paid"),
    ]
    result = await m.platform.payments.sepa(m.op, NOVEMBER)
    assert [(e.number, e.reason) for e in result.exceptions] == [(STATEMENT, "no_iban")]
    assert "acme-driver0" in result.exceptions[0].message
    # Acme's request is paid: only its invoice is collected.
    assert set(transactions(files(result)[DIRECT_DEBIT])) == {INVOICE_ACME}
    driver = m.acme.drivers[0]
    await m.platform.organisations.set_person_iban(m.op, m.acme.id, driver.user_id, EMPLOYEE_IBAN)
    later = await m.platform.payments.sepa(m.op, NOVEMBER)
    assert later.exceptions == ()
    credits = transactions(files(later)[CREDIT_TRANSFER])
    assert {n: (t["amount"], t["account"]) for n, t in credits.items()} == {
        STATEMENT: ("7.32", EMPLOYEE_IBAN)
    }
    assert later.files[0].message_id == "VFCT202611-2"
    assert (await document(m, STATEMENT))[0] == DocumentState.PAID
    await checks_ok(m)
    ledger = await m.platform.payments.repo.postings()
    employees = sum(
        (p.credit - p.debit for p in ledger if p.account is Account.PAYABLES_EMPLOYEES), D(0)
    )
    assert employees == D(0)


async def test_reimbursements_paid_at_once_go_with_their_statement(month: Month) -> None:
    m = month
    service = m.platform.payments
    service.settings = replace(service.settings, pay_reimbursements_at_once=True)
    await m.platform.billing.finalise(m.op, NOVEMBER)
    driver = m.acme.drivers[0]
    await m.platform.organisations.set_person_iban(m.op, m.acme.id, driver.user_id, EMPLOYEE_IBAN)
    result = await service.sepa(m.op, NOVEMBER)
    assert {p.number for p in result.payouts} == {STATEMENT, HOST_STATEMENT}
    [employee] = [p for p in await service.payouts(m.op) if p.number == STATEMENT]
    assert employee.released_by == "at_once"
    await checks_ok(m)


async def test_a_bank_statement_is_booked_once_and_its_exceptions_listed(month: Month) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER)
    references = {d.number: d.payment_reference for d in (await _records(m))}
    household = await m.platform.organisations.create(
        m.op, "The Janssens household", OrganisationKind.HOUSEHOLD
    )
    prepaid = await m.platform.contracts.create(
        m.op, household.id, ContractKind.EMSP, starts_on=date(2026, 1, 1), prepaid=True
    )
    top_up = top_up_reference(prepaid.id)
    both = f"{references[INVOICE_ACME]} {references[REQUEST]}"
    statement = camt053(
        [
            Credit("E1", D("7.32"), references[REQUEST], payer="ACME NV"),
            Credit("E2", D("10.00"), references[INVOICE_ACME], payer="ACME NV"),
            Credit("E3", D("5.00"), references[INVOICE_GLOBEX], payer="GLOBEX"),
            Credit("E4", D("12.00"), structured_reference(1_269_999_999)),
            Credit("E5", D("3.00"), free_text="for the charging, thanks"),
            Credit("E6", D("9.36"), free_text=both),
            Credit("E7", D("9.36"), references[INVOICE_ACME], currency="USD"),
            Credit("E8", D("20.00"), top_up, payer="Janssens"),
            Credit("E9", D("20.00"), top_up, currency="USD"),
            Credit("E1", D("7.32"), references[REQUEST]),  # the same entry twice in a file
        ]
    )
    result = await m.platform.payments.import_statement(m.op, statement)
    got = [(e.entry.entry_reference.rsplit("/", 1)[1], e.kind, e.document) for e in result.entries]
    assert got == [
        ("E1", EntryKind.MATCHED, REQUEST),
        ("E2", EntryKind.PARTIAL, INVOICE_ACME),
        ("E3", EntryKind.OVERPAID, INVOICE_GLOBEX),
        ("E4", EntryKind.UNMATCHED, None),
        ("E5", EntryKind.UNMATCHED, None),
        ("E6", EntryKind.AMBIGUOUS, None),
        ("E7", EntryKind.WRONG_CURRENCY, INVOICE_ACME),
        ("E8", EntryKind.TOP_UP, None),
        ("E9", EntryKind.TOP_UP_REFUSED, None),
        ("E1", EntryKind.ALREADY_IMPORTED, None),
    ]
    overpaid = result.entries[2]
    assert (overpaid.applied, overpaid.surplus) == (D("2.42"), D("2.58"))
    assert {e.entry.entry_reference[-2:] for e in result.exceptions} == {
        "E3",
        "E4",
        "E5",
        "E6",
        "E7",
        "E9",
    }
    assert all(e.message for e in result.exceptions)
    assert await document(m, REQUEST) == (DocumentState.PAID, D("7.32"), D(0))
    assert await document(m, INVOICE_ACME) == (DocumentState.PARTLY_PAID, D("10.00"), D("9.36"))
    assert await document(m, INVOICE_GLOBEX) == (DocumentState.PAID, D("2.42"), D(0))
    balance = (await m.platform.contracts.repo.get(prepaid.id)).prepaid_balance  # type: ignore[union-attr]
    assert balance == D("20.00")
    await checks_ok(m)
    ledger = await m.platform.payments.repo.postings()
    bank = sum((p.debit - p.credit for p in ledger if p.account is Account.BANK), D(0))
    assert bank == D("7.32") + D("10.00") + D("5.00") + D("20.00")

    # The same file again: nothing is booked twice, the exceptions are still listed.
    before = {t.name: await count(m, t) for t in (payments, ledger_entries, prepaid_movements)}
    again = await m.platform.payments.import_statement(m.op, statement)
    assert [e.kind for e in again.entries] == [
        EntryKind.ALREADY_IMPORTED,
        EntryKind.ALREADY_IMPORTED,
        EntryKind.ALREADY_IMPORTED,
        EntryKind.UNMATCHED,
        EntryKind.UNMATCHED,
        EntryKind.AMBIGUOUS,
        EntryKind.WRONG_CURRENCY,
        EntryKind.ALREADY_IMPORTED,
        EntryKind.TOP_UP_REFUSED,
        EntryKind.ALREADY_IMPORTED,
    ]
    assert {t.name: await count(m, t) for t in (payments, ledger_entries, prepaid_movements)} == (
        before
    )
    assert await count(m, bank_entries) == 9
    await checks_ok(m)


async def test_a_statement_that_fails_midway_books_nothing(month: Month) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER)
    references = {d.number: d.payment_reference for d in (await _records(m))}
    statement = camt053([Credit("E1", D("7.32"), references[REQUEST])])
    failpoints.enable("audit.record", "error")
    try:
        with pytest.raises(failpoints.InjectedFault):
            await m.platform.payments.import_statement(m.op, statement)
    finally:
        failpoints.disable("audit.record")
    assert [await count(m, t) for t in (payments, bank_entries)] == [0, 0]
    assert await document(m, REQUEST) == (DocumentState.ISSUED, D(0), D("7.32"))
    done = await m.platform.payments.import_statement(m.op, statement)
    assert [e.kind for e in done.entries] == [EntryKind.MATCHED]
    with pytest.raises(PaymentProblem) as refused:
        await m.platform.payments.import_statement(m.op, b"<Document>not a statement</Document>")
    assert refused.value.field == "file"


async def test_overdue_documents_are_reminded_once_per_level(month: Month) -> None:
    m = month
    await m.platform.organisations.set_document_language(m.op, m.other.id, "fr")
    await m.platform.organisations.update(m.op, m.other.id, {"billing_email": "ap@globex.example"})
    await m.platform.billing.finalise(m.op, NOVEMBER)
    await m.platform.payments.register(m.op, REQUEST, D("7.32"), "TR-1")
    await m.platform.payments.register(m.op, INVOICE_GLOBEX, D("1.00"), "TR-2")
    service = m.platform.payments
    m.clock.at = utc(2026, 12, 16, 12, 0)  # due today: not late yet
    assert await service.overdue(m.op) == []
    m.clock.at = utc(2026, 12, 17, 12, 0)
    late = await service.overdue(m.op)
    assert [(o.document.number, o.days, o.level, o.document.amount_due) for o in late] == [
        (INVOICE_ACME, 1, 1, D("19.36")),
        (INVOICE_GLOBEX, 1, 1, D("1.42")),
    ]
    sent = await service.send_reminders(m.op)
    assert [(s.number, s.level, s.mailed) for s in sent] == [
        (INVOICE_ACME, 1, True),
        (INVOICE_GLOBEX, 1, True),
    ]
    assert await service.send_reminders(m.op) == []  # once per level
    m.clock.at = utc(2026, 12, 30, 12, 0)
    assert await service.send_reminders(m.op) == []
    m.clock.at = utc(2026, 12, 31, 12, 0)
    assert [(s.number, s.level) for s in await service.send_reminders(m.op)] == [
        (INVOICE_ACME, 2),
        (INVOICE_GLOBEX, 2),
    ]
    # Paid meanwhile: no longer overdue, no third reminder.
    await m.platform.payments.register(m.op, INVOICE_GLOBEX, D("1.42"), "TR-3")
    m.clock.at = utc(2027, 1, 20, 12, 0)
    assert [(s.number, s.level) for s in await service.send_reminders(m.op)] == [(INVOICE_ACME, 3)]
    mails = await fresh_rows(
        m.platform,
        select(mail_outbox.c.recipient, mail_outbox.c.subject, mail_outbox.c.document_id)
        .where(mail_outbox.c.kind == MailKind.PAYMENT_REMINDER.value)
        .order_by(mail_outbox.c.id),
    )
    assert [(r["recipient"], r["subject"]) for r in mails] == [
        ("billing@acme.example", f"Reminder: invoice {INVOICE_ACME} is overdue"),
        ("ap@globex.example", f"Rappel : facture {INVOICE_GLOBEX} en retard de paiement"),
        ("billing@acme.example", f"Reminder 2: invoice {INVOICE_ACME} is overdue"),
        ("ap@globex.example", f"Rappel 2 : facture {INVOICE_GLOBEX} en retard de paiement"),
        ("billing@acme.example", f"Reminder 3: invoice {INVOICE_ACME} is overdue"),
    ]
    # Each carries its document (attached when it is sent).
    assert len({r["document_id"] for r in mails}) == 2
    page = await m.platform.mail.page(m.op, PageRequest(0, 50))
    assert page.total >= len(mails)


async def test_a_direct_debit_under_way_is_not_overdue(month: Month) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER)
    m.clock.at = utc(2026, 12, 15, 9, 0)
    await m.platform.payments.sepa(m.op, NOVEMBER)  # collected on the 17th (two days ahead)
    m.clock.at = utc(2026, 12, 17, 9, 0)
    assert [o.document.number for o in await m.platform.payments.overdue(m.op)] == [INVOICE_GLOBEX]
    # The collection day passed and the bank brought nothing: overdue.
    m.clock.at = utc(2026, 12, 18, 9, 0)
    assert [o.document.number for o in await m.platform.payments.overdue(m.op)] == [
        INVOICE_ACME,
        INVOICE_GLOBEX,
        REQUEST,
    ]


async def _records(m: Month) -> list:  # type: ignore[type-arg]
    return await m.platform.payments.repo.records()


async def test_only_operators_move_money(month: Month) -> None:
    m = month
    await m.platform.billing.finalise(m.op, NOVEMBER)
    service = m.platform.payments
    for call in (
        lambda a: service.sepa(a, NOVEMBER),
        lambda a: service.import_statement(a, camt053([])),
        lambda a: service.overdue(a),
        lambda a: service.send_reminders(a),
        lambda a: service.checks(a),
        lambda a: service.sepa_files(a),
        lambda a: service.revoke_mandate(a, "ACME-2026"),
    ):
        for someone in (m.acme.manager, m.acme.drivers[0], m.host):
            with pytest.raises(Forbidden):
                await call(someone)
    assert await count(m, bank_entries) == 0


async def test_sessions_drawn_from_a_prepaid_balance_are_on_the_invoice_as_paid(
    month: Month,
) -> None:
    m = month
    p = m.platform
    janssens = await p.organisations.create(m.op, "Janssens BV", OrganisationKind.COMPANY)
    await p.organisations.update(
        m.op,
        janssens.id,
        {
            "vat_number": "BE0417497106",
            "street": "Meir 1",
            "postal_code": "2000",
            "city": "Antwerpen",
            "billing_email": "boekhouding@janssens.example",
        },
    )
    driver = await p.organisations.add_person(
        m.op, janssens.id, "an-janssens", Role.DRIVER, password="driver-pass"
    )
    contract = await p.contracts.create(
        m.op, janssens.id, ContractKind.EMSP, starts_on=date(2026, 11, 1), prepaid=True
    )
    [uid] = await p.cards.import_csv(m.op, stock_csv(1, start=40))
    await p.cards.distribute(m.op, [uid], janssens.id)
    await p.cards.assign(m.op, uid, driver.user_id)
    await p.cards.activate(m.op, [uid])
    # €10 arrives on the bank with the contract's top-up reference.
    topped = await p.payments.import_statement(
        m.op, camt053([Credit("T1", D("10.00"), top_up_reference(contract.id))])
    )
    assert [e.kind for e in topped.entries] == [EntryKind.TOP_UP]
    # Three sessions of 10 kWh at €0.40 (€4.84 with VAT): 4.84, 4.84, then the 0.32 left.
    for day in (20, 21, 22):
        await m.charge("PUB-1", uid, utc(2026, 11, day, 10, 0), 30, 10_000)
    assert (await p.contracts.repo.get(contract.id)).prepaid_balance == D("0.00")  # type: ignore[union-attr]

    result = await p.billing.finalise(m.op, NOVEMBER, janssens.id)
    [invoice] = [d.document for d in result.documents]
    assert (invoice.total_excl_vat.amount, invoice.total_incl_vat.amount) == (
        D("12.00"),
        D("14.52"),
    )
    assert (invoice.prepaid_amount, invoice.payable.amount) == (D("10.00"), D("4.52"))
    ubl = etree.fromstring(to_ubl(invoice))
    totals = {
        etree.QName(e).localname: e.text
        for e in ubl.find("{*}LegalMonetaryTotal")  # type: ignore[union-attr]
    }
    assert (totals["PrepaidAmount"], totals["PayableAmount"]) == ("10.00", "4.52")
    found = await p.payments.repo.by_number(invoice.number or "")
    assert found is not None and (found.amount_due, found.state) == (D("4.52"), "issued")
    # The balance (a liability) moved to revenue: the customer owes the rest only.
    ledger = await p.payments.repo.postings()
    customer = [p_ for p_ in ledger if p_.party and p_.party.id == janssens.id]
    by_account = {
        account: sum((x.debit - x.credit for x in customer if x.account is account), D(0))
        for account in (Account.PREPAID_BALANCES, Account.RECEIVABLES)
    }
    assert by_account == {Account.PREPAID_BALANCES: D(0), Account.RECEIVABLES: D("4.52")}
    assert (await p.billing.reconcile(m.op, NOVEMBER)).ok
    await checks_ok(m)
    # Paid by transfer: nothing more is due; nothing was asked twice.
    await p.payments.register(m.op, invoice.number or "", D("4.52"), "TR-J1")
    assert (await document(m, invoice.number or ""))[0] == DocumentState.PAID
    await checks_ok(m)


async def test_the_server_sends_reminders_on_its_own(month: Month) -> None:
    m = month
    billing = m.platform.billing
    billing.settings = replace(billing.settings, payment_days=0)  # due on receipt
    await billing.finalise(m.op, NOVEMBER)
    m.clock.at = utc(2026, 12, 4, 9, 0)
    task = ReminderTask(m.platform.payments, interval=0.05, delay=0)
    await task.start()
    try:

        async def reminded() -> bool | None:
            rows = await fresh_rows(m.platform, select(payment_reminders.c.document_id))
            return True if len(rows) == 3 else None

        await eventually(reminded, timeout=10)
    finally:
        await task.stop()
    # Passes after the first send nothing more: each level once.
    rows = await fresh_rows(m.platform, select(payment_reminders.c.level))
    assert [r["level"] for r in rows] == [1, 1, 1]
