"""CAMT.053 statements: a bank's day of credits read into entries, a malformed file refused
whole with the line and element at fault, and a hostile one refused before it can do harm."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from voltflow.banking.camt import StatementError, credit_entries, read_statements
from voltflow.domain.billing.payments import MatchKind, OpenDocument, Unmatched, reconcile
from voltflow.domain.money import Money

FIXTURES = Path(__file__).parent / "camt053"
STATEMENT = (FIXTURES / "statement.xml").read_bytes()
ACCOUNT = "BE71096123456769"
D = Decimal


def test_a_statement_is_read_into_its_booked_credits() -> None:
    (statement,) = read_statements(STATEMENT)
    assert (statement.identifier, statement.account) == ("2026-00064", ACCOUNT)
    got = [
        (
            e.entry_reference,
            e.booking_date,
            e.amount,
            e.currency,
            e.references,
            e.counterparty_name,
            e.counterparty_iban,
            e.end_to_end_id,
        )
        for e in statement.entries
    ]
    day = date(2026, 4, 2)
    assert got == [
        (
            f"{ACCOUNT}/2026040200001",
            day,
            D("245.30"),
            "EUR",
            ("+++202/6040/00131+++",),  # from RmtInf/Strd/CdtrRefInf/Ref
            "ACME LOGISTICS NV",
            "BE62510007547061",
            None,  # NOTPROVIDED is no id
        ),
        (
            f"{ACCOUNT}/2026040200002",
            day,
            D("80.00"),
            "EUR",
            ("+++202/6040/00232+++",),  # written into the free text
            "Jan Peeters",
            "NL91ABNA0417164300",
            None,
        ),
        (
            f"{ACCOUNT}/2026040200003/1",  # one of a batch: each collection apart
            day,
            D("100.00"),
            "EUR",
            ("+++202/6040/00333+++",),
            "BRICO SERVICES BV",
            "BE43068999999501",
            "PR-2026-000003",
        ),
        (
            f"{ACCOUNT}/2026040200003/2",
            day,
            D("50.00"),
            "EUR",
            ("+++202/6040/00434+++",),
            "Garage Dubois SRL",
            "BE73735012345660",
            "PR-2026-000004",
        ),
        # Entry 4, the bank's fees, is a debit: not a payment received.
        (
            f"{ACCOUNT}/2026040200005",
            day,
            D("19.99"),
            "EUR",
            (),
            "M. Dubois",
            "BE68539007547034",
            None,
        ),
        # A reference whose check digits fail is no reference; it stays in the text.
        (f"{ACCOUNT}/2026040200006", day, D("30.00"), "EUR", (), "Sophie Lambert", None, None),
        # Entry 7 reverses a debit: not a payment received either.
    ]
    assert [e.remittance for e in statement.entries] == [
        "202604000131",
        "BETALING FACTUUR INV-2026-000002 +++202/6040/00232+++",
        "202604000333",
        "202604000434",
        "laadkosten maart",
        "202604000599",
    ]


def test_reading_a_statement_twice_gives_the_same_entry_references() -> None:
    assert credit_entries(STATEMENT) == credit_entries(STATEMENT)


def test_a_statement_is_reconciled_by_reference_and_imported_once() -> None:
    documents = [
        OpenDocument("INV-2026-000001", "+++202/6040/00131+++", Money(D("245.30"), "EUR")),
        OpenDocument("INV-2026-000002", "+++202/6040/00232+++", Money(D("100.00"), "EUR")),
        OpenDocument("PR-2026-000003", "+++202/6040/00333+++", Money(D("100.00"), "EUR")),
        OpenDocument("PR-2026-000004", "+++202/6040/00434+++", Money(D("40.00"), "EUR")),
        # The same amount as the unreferenced credit: never matched by amount alone.
        OpenDocument("INV-2026-000005", "+++202/6040/00535+++", Money(D("19.99"), "EUR")),
    ]
    entries = credit_entries(STATEMENT)
    first = reconcile(entries, documents)
    assert [(o.kind, o.document, o.surplus, o.unmatched) for o in first.outcomes] == [
        (MatchKind.MATCHED, "INV-2026-000001", 0, None),
        (MatchKind.PARTIAL, "INV-2026-000002", 0, None),
        (MatchKind.MATCHED, "PR-2026-000003", 0, None),
        (MatchKind.OVERPAID, "PR-2026-000004", D("10.00"), None),
        (MatchKind.UNMATCHED, None, 0, Unmatched.NO_REFERENCE),
        (MatchKind.UNMATCHED, None, 0, Unmatched.NO_REFERENCE),
    ]
    again = reconcile(entries, documents, {e.entry_reference for e in entries})
    assert {o.kind for o in again.outcomes} == {MatchKind.ALREADY_IMPORTED}


def test_the_broken_statement_names_the_line_and_element_and_imports_nothing() -> None:
    with pytest.raises(StatementError) as err:
        credit_entries((FIXTURES / "broken.xml").read_bytes())
    assert (err.value.line, err.value.element) == (191, "Stmt[1]/Ntry[3]/Amt")
    assert str(err.value) == "line 191, Stmt[1]/Ntry[3]/Amt: '1.234,50' is not an amount"


def broken(old: str, new: str, count: int = 1) -> bytes:
    text = STATEMENT.decode()
    assert old in text
    return text.replace(old, new, count).encode()


@pytest.mark.parametrize(
    ("content", "element", "message"),
    [
        pytest.param(
            broken("<Sts>BOOK</Sts>", "<Sts>BOOK</Stss>"),
            None,
            "not well-formed",
            id="not-xml",
        ),
        pytest.param(
            broken("camt.053.001.02", "camt.054.001.02"),
            "Document",
            "camt.053.001.02 Document expected",
            id="another-message",
        ),
        pytest.param(
            broken("<Id>2026-00064</Id>", ""),
            "Stmt[1]",
            "Id missing",
            id="no-statement-id",
        ),
        pytest.param(
            broken("<IBAN>BE71096123456769</IBAN>", ""),
            "Stmt[1]/Acct/Id",
            "an IBAN or Othr/Id",
            id="no-account",
        ),
        pytest.param(
            broken('<Amt Ccy="EUR">245.30</Amt>', '<Amt Ccy="euro">245.30</Amt>'),
            "Stmt[1]/Ntry[1]/Amt",
            "not a currency code",
            id="bad-currency",
        ),
        pytest.param(
            broken('<Amt Ccy="EUR">80.00</Amt>', '<Amt Ccy="EUR">-80.00</Amt>'),
            "Stmt[1]/Ntry[2]/Amt",
            "not an amount",
            id="negative-amount",
        ),
        pytest.param(
            broken("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>DEBIT</CdtDbtInd>"),
            "Stmt[1]/Ntry[4]/CdtDbtInd",
            "CRDT or DBIT",
            id="bad-direction",
        ),
        pytest.param(
            broken("<Sts>BOOK</Sts>", "<Sts>DONE</Sts>"),
            "Stmt[1]/Ntry[1]/Sts",
            "BOOK, PDNG or INFO",
            id="bad-status",
        ),
        pytest.param(
            broken(
                "<BookgDt>\n          <Dt>2026-04-02</Dt>\n        </BookgDt>",
                "",
            ),
            "Stmt[1]/Ntry[1]",
            "BookgDt missing",
            id="booked-without-date",
        ),
        pytest.param(
            broken("<DtTm>2026-04-02T14:31:07+02:00</DtTm>", "<DtTm>2 April</DtTm>"),
            "Stmt[1]/Ntry[6]/BookgDt/DtTm",
            "not a date",
            id="bad-date",
        ),
        pytest.param(
            broken('<Amt Ccy="EUR">50.00</Amt>', '<Amt Ccy="EUR">49.00</Amt>'),
            "Stmt[1]/Ntry[3]/Amt",
            "add up to 149.00, the entry says 150.00",
            id="batch-does-not-add-up",
        ),
        pytest.param(
            broken(
                '<AmtDtls>\n              <TxAmt>\n                <Amt Ccy="EUR">50.00</Amt>\n'
                "              </TxAmt>\n            </AmtDtls>",
                "",
            ),
            "Stmt[1]/Ntry[3]/NtryDtls/TxDtls[2]",
            "AmtDtls/TxAmt/Amt missing",
            id="batch-without-amounts",
        ),
    ],
)
def test_a_malformed_statement_names_what_is_wrong(
    content: bytes, element: str | None, message: str
) -> None:
    with pytest.raises(StatementError) as err:
        read_statements(content)
    assert err.value.element == element
    assert err.value.line is not None
    assert message in str(err.value)
    if element is not None and element.endswith(("Amt", "CdtDbtInd", "Sts", "DtTm")):
        # The line is the faulty element's own.
        line = content.decode().splitlines()[err.value.line - 1]
        assert f"<{element.rsplit('/', 1)[-1]}" in line


def test_an_error_in_a_debit_still_refuses_the_whole_file() -> None:
    # Entry 4 is a debit, which import skips; a fault in it still says the file is not sound.
    content = broken('<Amt Ccy="EUR">12.10</Amt>', '<Amt Ccy="EUR">12,10</Amt>')
    with pytest.raises(StatementError) as err:
        read_statements(content)
    assert err.value.element == "Stmt[1]/Ntry[4]/Amt"


def test_an_external_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("operator's private key")
    hostile = broken(
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE Document [<!ENTITY leak SYSTEM "file://{secret}">]>',
    ).replace(b"<Nm>Jan Peeters</Nm>", b"<Nm>&leak;</Nm>")
    with pytest.raises(StatementError) as err:
        read_statements(hostile)
    assert (err.value.line, err.value.element) == (2, "DOCTYPE")
    assert "private key" not in str(err.value)


def test_an_entity_expansion_bomb_is_refused() -> None:
    entities = "".join(f'<!ENTITY e{n} "{f"&e{n - 1};" * 10 if n else "boom"}">' for n in range(10))
    bomb = broken(
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Document [{entities}]>',
    ).replace(b"<Nm>Jan Peeters</Nm>", b"<Nm>&e9;</Nm>")
    with pytest.raises(StatementError) as err:
        read_statements(bomb)
    assert err.value.element == "DOCTYPE"


def test_an_empty_report_is_refused() -> None:
    start = STATEMENT.index(b"<Stmt>")
    end = STATEMENT.index(b"</Stmt>") + len(b"</Stmt>")
    with pytest.raises(StatementError, match="no Stmt"):
        read_statements(STATEMENT[:start] + STATEMENT[end:])


def test_pending_entries_are_read_but_not_imported() -> None:
    content = broken("<Sts>BOOK</Sts>", "<Sts>PDNG</Sts>")
    references = [e.entry_reference for e in credit_entries(content)]
    assert f"{ACCOUNT}/2026040200001" not in references
    assert f"{ACCOUNT}/2026040200002" in references
