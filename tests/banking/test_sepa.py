"""SEPA files: valid against their XSD (checked here by a second validator, libxml2's), with
each collection in the batch of its sequence type and date, the structured reference where
Belgian banks read it, and nothing made or written from a batch a bank would refuse."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from voltflow.banking.sepa import (
    CREDIT_TRANSFER,
    DIRECT_DEBIT,
    SepaFile,
    SepaFileError,
    credit_transfer_file,
    direct_debit_file,
    validate,
)
from voltflow.domain.billing.payments import (
    Collection,
    Creditor,
    DebitMandate,
    PaymentError,
    Payout,
    sequence_type,
)
from voltflow.domain.billing.references import structured_reference
from voltflow.domain.money import Money

D = Decimal
CREATED = datetime(2026, 4, 1, 7, 30, tzinfo=UTC)
OPERATOR = Creditor("Voltflow NV", "BE71 0961 2345 6769", "GKCCBEBB", "BE69ZZZ050D000000008")
NEW_MANDATE = DebitMandate("VF-2026-0012", date(2026, 3, 20))
USED_MANDATE = DebitMandate("VF-2025-0007", date(2025, 3, 1), last_collected_on=date(2026, 3, 10))


def eur(amount: str) -> Money:
    return Money(D(amount), "EUR")


def collection(number: int, mandate: DebitMandate, amount: str, **changes: Any) -> Collection:
    values: dict[str, Any] = {
        "document_number": f"PR-2026-{number:06d}",
        "amount": eur(amount),
        "structured_reference": structured_reference(2026040000 + number),
        "debtor_name": "Acme Logistics NV",
        "debtor_iban": "BE62510007547061",
        "debtor_bic": "VAPEBE22",
        "mandate": mandate,
        "sequence_type": sequence_type(mandate),
        "collection_date": date(2026, 4, 10),
    } | changes
    return Collection(**values)


COLLECTIONS = [
    collection(1, NEW_MANDATE, "245.30", debtor_name="Brico Services BV"),
    collection(2, USED_MANDATE, "80.00", debtor_iban="NL91ABNA0417164300", debtor_bic=None),
    collection(
        3,
        DebitMandate("VF-2024-0100", date(2024, 6, 1), last_collected_on=date(2026, 3, 10)),
        "19.99",
    ),
]
PAYOUTS = [
    Payout(
        "Jan Peeters",
        "BE68539007547034",
        None,
        eur("48.80"),
        "RS-2026-000001",
        "Reimbursement March 2026 RS-2026-000001",
    ),
    Payout(
        "Søren & Zoë Hôte",
        "NL91ABNA0417164300",
        "ABNANL2A",
        eur("1234.56"),
        "SB-2026-000001",
        "Remuneration March 2026 – SB-2026-000001",
    ),
]


def libxml2_valid(content: bytes, schema: str) -> bool:
    xsd = resources.files("sepaxml") / "schemas" / f"{schema}.xsd"
    with resources.as_file(xsd) as path:
        checker = etree.XMLSchema(etree.parse(str(path)))
    return checker.validate(etree.fromstring(content))


def read(content: bytes, schema: str) -> tuple[etree._Element, dict[str, str]]:
    return etree.fromstring(content), {"p": f"urn:iso:std:iso:20022:tech:xsd:{schema}"}


def texts(element: etree._Element, path: str, ns: dict[str, str]) -> list[str]:
    return [e.text or "" for e in element.iterfind(path, ns)]


def dd(collections: list[Collection] = COLLECTIONS, **changes: Any) -> SepaFile:
    values: dict[str, Any] = {"message_id": "VF-DD-2026-04", "created_at": CREATED} | changes
    return direct_debit_file(values.pop("creditor", OPERATOR), collections, **values)


def ct(payouts: list[Payout] = PAYOUTS, **changes: Any) -> SepaFile:
    values: dict[str, Any] = {
        "execution_date": date(2026, 4, 2),
        "message_id": "VF-CT-2026-04",
        "created_at": CREATED,
    } | changes
    return credit_transfer_file(values.pop("operator", OPERATOR), payouts, **values)


# --- Direct debits ----------------------------------------------------------------------------


def test_a_direct_debit_file_is_valid_pain_008() -> None:
    made = dd()
    assert made.schema == DIRECT_DEBIT == "pain.008.001.02"
    assert libxml2_valid(made.content, DIRECT_DEBIT)
    assert made.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert (made.transactions, made.control_sum) == (3, D("345.29"))


def test_the_header_is_the_callers_and_the_same_batch_gives_the_same_file() -> None:
    made = dd()
    root, ns = read(made.content, DIRECT_DEBIT)
    header = "p:CstmrDrctDbtInitn/p:GrpHdr/"
    assert texts(root, header + "p:MsgId", ns) == ["VF-DD-2026-04"]
    assert texts(root, header + "p:CreDtTm", ns) == ["2026-04-01T07:30:00+00:00"]
    assert texts(root, header + "p:NbOfTxs", ns) == ["3"]
    assert texts(root, header + "p:CtrlSum", ns) == ["345.29"]
    assert dd(list(reversed(COLLECTIONS))).content == made.content


def test_first_and_recurring_collections_go_in_batches_of_their_own() -> None:
    root, ns = read(dd().content, DIRECT_DEBIT)
    batches = {
        (
            batch.findtext("p:PmtTpInf/p:SeqTp", None, ns),
            batch.findtext("p:ReqdColltnDt", None, ns),
        ): (
            batch.findtext("p:PmtInfId", None, ns),
            batch.findtext("p:NbOfTxs", None, ns),
            batch.findtext("p:CtrlSum", None, ns),
            texts(batch, "p:DrctDbtTxInf/p:PmtId/p:EndToEndId", ns),
        )
        for batch in root.iterfind("p:CstmrDrctDbtInitn/p:PmtInf", ns)
    }
    assert batches == {
        ("FRST", "2026-04-10"): ("VF-DD-2026-04-1", "1", "245.30", ["PR-2026-000001"]),
        ("RCUR", "2026-04-10"): (
            "VF-DD-2026-04-2",
            "2",
            "99.99",
            ["PR-2026-000002", "PR-2026-000003"],
        ),
    }
    for batch in root.iterfind("p:CstmrDrctDbtInitn/p:PmtInf", ns):
        assert batch.findtext("p:PmtTpInf/p:LclInstrm/p:Cd", None, ns) == "CORE"
        assert batch.findtext("p:CdtrAcct/p:Id/p:IBAN", None, ns) == "BE71096123456769"
        assert batch.findtext("p:CdtrAgt/p:FinInstnId/p:BIC", None, ns) == "GKCCBEBB"
        assert (
            batch.findtext("p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", None, ns)
            == "BE69ZZZ050D000000008"
        )


def test_each_collection_carries_its_mandate_debtor_and_structured_reference() -> None:
    root, ns = read(dd().content, DIRECT_DEBIT)
    transactions = {
        t.findtext("p:PmtId/p:EndToEndId", None, ns): t
        for t in root.iterfind("p:CstmrDrctDbtInitn/p:PmtInf/p:DrctDbtTxInf", ns)
    }
    first = transactions["PR-2026-000001"]
    assert first.findtext("p:InstdAmt", None, ns) == "245.30"
    amount = first.find("p:InstdAmt", ns)
    assert amount is not None
    assert amount.get("Ccy") == "EUR"
    assert first.findtext("p:DrctDbtTx/p:MndtRltdInf/p:MndtId", None, ns) == "VF-2026-0012"
    assert first.findtext("p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", None, ns) == "2026-03-20"
    assert first.findtext("p:Dbtr/p:Nm", None, ns) == "Brico Services BV"
    assert first.findtext("p:DbtrAcct/p:Id/p:IBAN", None, ns) == "BE62510007547061"
    assert first.findtext("p:DbtrAgt/p:FinInstnId/p:BIC", None, ns) == "VAPEBE22"
    reference = "p:RmtInf/p:Strd/p:CdtrRefInf/"
    assert first.findtext(reference + "p:Tp/p:CdOrPrtry/p:Cd", None, ns) == "SCOR"
    assert first.findtext(reference + "p:Tp/p:Issr", None, ns) == "BBA"
    assert first.findtext(reference + "p:Ref", None, ns) == "202604000131"
    assert first.find("p:RmtInf/p:Ustrd", ns) is None
    # A Dutch account's BIC is found from its IBAN when the mandate gave none.
    second = transactions["PR-2026-000002"]
    assert second.findtext("p:DbtrAgt/p:FinInstnId/p:BIC", None, ns) == "ABNANL2A"


def test_collections_on_two_dates_make_two_batches() -> None:
    later = collection(4, USED_MANDATE, "10.00", collection_date=date(2026, 4, 20))
    root, ns = read(dd([*COLLECTIONS, later]).content, DIRECT_DEBIT)
    batches = [
        (b.findtext("p:PmtTpInf/p:SeqTp", None, ns), b.findtext("p:ReqdColltnDt", None, ns))
        for b in root.iterfind("p:CstmrDrctDbtInitn/p:PmtInf", ns)
    ]
    assert batches == [("FRST", "2026-04-10"), ("RCUR", "2026-04-10"), ("RCUR", "2026-04-20")]


def test_a_revoked_or_lapsed_mandate_collects_nothing() -> None:
    revoked = DebitMandate("VF-2025-0007", date(2025, 3, 1), revoked_on=date(2026, 3, 31))
    with pytest.raises(PaymentError, match="revoked") as err:
        collection(9, revoked, "10.00")
    assert err.value.field == "mandate"
    lapsed = DebitMandate("VF-2022-0001", date(2022, 1, 3), last_collected_on=date(2023, 1, 10))
    with pytest.raises(PaymentError, match="expired") as err:
        collection(9, lapsed, "10.00")
    assert err.value.field == "mandate"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": Money(D("10.00"), "USD")}, "amount"),
        ({"amount": eur("0.00")}, "amount"),
        ({"amount": eur("-10.00")}, "amount"),
        ({"debtor_iban": "BE62510007547060"}, "debtor_iban"),
    ],
)
def test_a_collection_a_bank_would_refuse_is_not_made(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PaymentError) as err:
        replace(COLLECTIONS[1], **changes)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("collections", "changes", "field"),
    [
        ([], {}, "collections"),
        ([COLLECTIONS[0], COLLECTIONS[0]], {}, "document_number"),
        (
            [COLLECTIONS[0], collection(7, NEW_MANDATE, "5.00")],
            {},
            "sequence_type",
        ),
        (
            [collection(7, USED_MANDATE, "5.00", collection_date=date(2026, 3, 31))],
            {},
            "collection_date",
        ),
        (COLLECTIONS, {"message_id": "VF DD 2026"}, "message_id"),
        (COLLECTIONS, {"message_id": "X" * 31}, "message_id"),
        (COLLECTIONS, {"created_at": datetime(2026, 4, 1, 7, 30)}, "created_at"),
        (
            COLLECTIONS,
            {"creditor": Creditor("Voltflow NV", "BE71096123456769", "GKCCBEBB")},
            "creditor_id",
        ),
    ],
)
def test_a_batch_that_cannot_go_names_the_field(
    collections: list[Collection], changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(PaymentError) as err:
        dd(collections, **changes)
    assert err.value.field == field


def test_the_file_day_is_the_day_of_its_own_zone() -> None:
    # 23:30 in Brussels on 9 April: a collection on the 10th is not in the past.
    evening = datetime(2026, 4, 9, 23, 30, tzinfo=timezone(timedelta(hours=2)))
    made = dd([collection(1, NEW_MANDATE, "1.00")], created_at=evening)
    assert b"<CreDtTm>2026-04-09T23:30:00+02:00</CreDtTm>" in made.content


# --- Credit transfers -------------------------------------------------------------------------


def test_a_credit_transfer_file_is_valid_pain_001() -> None:
    made = ct()
    assert made.schema == CREDIT_TRANSFER == "pain.001.001.03"
    assert libxml2_valid(made.content, CREDIT_TRANSFER)
    assert (made.transactions, made.control_sum) == (2, D("1283.36"))
    root, ns = read(made.content, CREDIT_TRANSFER)
    (batch,) = root.iterfind("p:CstmrCdtTrfInitn/p:PmtInf", ns)
    assert batch.findtext("p:PmtInfId", None, ns) == "VF-CT-2026-04-1"
    assert batch.findtext("p:ReqdExctnDt", None, ns) == "2026-04-02"
    assert batch.findtext("p:DbtrAcct/p:Id/p:IBAN", None, ns) == "BE71096123456769"
    assert batch.findtext("p:CtrlSum", None, ns) == "1283.36"


def test_each_payout_carries_its_payee_amount_and_remittance() -> None:
    root, ns = read(ct().content, CREDIT_TRANSFER)
    payouts = [
        (
            t.findtext("p:PmtId/p:EndToEndId", None, ns),
            t.findtext("p:Amt/p:InstdAmt", None, ns),
            t.findtext("p:Cdtr/p:Nm", None, ns),
            t.findtext("p:CdtrAcct/p:Id/p:IBAN", None, ns),
            t.findtext("p:CdtrAgt/p:FinInstnId/p:BIC", None, ns),
            t.findtext("p:RmtInf/p:Ustrd", None, ns),
        )
        for t in root.iterfind("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf", ns)
    ]
    assert payouts == [
        (
            "RS-2026-000001",
            "48.80",
            "Jan Peeters",
            "BE68539007547034",
            None,  # a bank the IBAN does not tell: left to the payee's bank to route
            "Reimbursement March 2026 RS-2026-000001",
        ),
        (
            "SB-2026-000001",
            "1234.56",
            "Soren + Zoe Hote",  # the SEPA Latin set every bank accepts
            "NL91ABNA0417164300",
            "ABNANL2A",
            "Remuneration March 2026 - SB-2026-000001",
        ),
    ]


def test_a_long_name_is_cut_to_what_the_scheme_carries() -> None:
    long = Payout("N" * 90, "BE68539007547034", None, eur("1.00"), "RS-2026-000002", "r")
    root, ns = read(ct([long]).content, CREDIT_TRANSFER)
    assert texts(root, "p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf/p:Cdtr/p:Nm", ns) == ["N" * 70]


@pytest.mark.parametrize(
    ("payouts", "changes", "field"),
    [
        ([], {}, "payouts"),
        ([PAYOUTS[0], PAYOUTS[0]], {}, "end_to_end_id"),
        (PAYOUTS, {"execution_date": date(2026, 3, 31)}, "execution_date"),
        (PAYOUTS, {"message_id": ""}, "message_id"),
    ],
)
def test_a_payout_batch_that_cannot_go_names_the_field(
    payouts: list[Payout], changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(PaymentError) as err:
        ct(payouts, **changes)
    assert err.value.field == field


def test_a_name_with_nothing_a_bank_can_carry_is_refused() -> None:
    payout = Payout("😀✓", "BE68539007547034", None, eur("1.00"), "RS-2026-000003", "r")
    with pytest.raises(PaymentError) as err:
        ct([payout])
    assert err.value.field == "payee_name"


# --- Validation is part of making and writing a file ------------------------------------------


def test_a_file_that_does_not_validate_names_the_element() -> None:
    content = dd().content.replace(b"<IBAN>BE62510007547061</IBAN>", b"<IBAN>be62 5100</IBAN>")
    assert not libxml2_valid(content, DIRECT_DEBIT)
    with pytest.raises(SepaFileError) as err:
        validate(content, DIRECT_DEBIT)
    assert err.value.element is not None
    assert "DbtrAcct/Id/IBAN" in err.value.element


@pytest.mark.parametrize(
    ("content", "schema"),
    [
        (b"<Document", DIRECT_DEBIT),  # not XML
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>', DIRECT_DEBIT),
    ],
)
def test_what_is_not_a_file_of_its_schema_is_refused(content: bytes, schema: str) -> None:
    with pytest.raises(SepaFileError):
        validate(content, schema)


def test_an_invalid_file_cannot_be_held_so_it_is_never_written(tmp_path: Path) -> None:
    good = ct()
    broken = good.content.replace(b"<CtrlSum>1283.36</CtrlSum>", b"<CtrlSum>lots</CtrlSum>", 1)
    target = tmp_path / "payouts.xml"
    with pytest.raises(SepaFileError) as err:
        SepaFile(good.schema, good.message_id, broken, good.transactions, good.control_sum).write(
            target
        )
    assert "CtrlSum" in (err.value.element or "")
    assert list(tmp_path.iterdir()) == []


def test_a_file_is_written_whole(tmp_path: Path) -> None:
    made = dd()
    target = tmp_path / "VF-DD-2026-04.xml"
    target.write_bytes(b"an older file of the same name")
    made.write(target)
    assert target.read_bytes() == made.content
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary left behind
