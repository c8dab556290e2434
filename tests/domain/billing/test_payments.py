"""Payments before any file format: collections and payouts refused with the field at fault, a
mandate's sequence type and expiry, and bank credits matched to documents by reference only."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    Unmatched,
    creditor_identifier_valid,
    reconcile,
    sequence_type,
)
from voltflow.domain.billing.references import structured_reference
from voltflow.domain.money import Money

D = Decimal
DAY = date(2026, 4, 10)
OGM_1 = structured_reference(2026040001)  # +++202/6040/00131+++
OGM_2 = structured_reference(2026040002)
OGM_3 = structured_reference(2026040003)
UNKNOWN = structured_reference(1999000001)


def eur(amount: str) -> Money:
    return Money(D(amount), "EUR")


# --- The operator as creditor ---------------------------------------------------------------


def test_a_creditor_is_normalised_and_its_bic_derived_from_a_belgian_iban() -> None:
    creditor = Creditor("Voltflow NV", "be71 0961 2345 6769", None, "be69 zzz 050d000000008")
    assert (creditor.iban, creditor.bic, creditor.creditor_id) == (
        "BE71096123456769",
        "GKCCBEBB",
        "BE69ZZZ050D000000008",
    )


@pytest.mark.parametrize(
    ("identifier", "valid"),
    [
        ("BE69ZZZ050D000000008", True),  # the example of the Belgian creditor-id registry
        ("BE69ABC050D000000008", True),  # the business code is left out of the check
        ("DE98ZZZ09999999999", True),  # the German example
        ("BE68ZZZ050D000000008", False),  # one check digit off
        ("BE69ZZZ050D000000009", False),  # one identifier digit off
        ("BE69ZZ", False),  # no national identifier
        ("6969ZZZ050D000000008", False),  # no country
    ],
)
def test_a_creditor_identifier_has_mod_97_check_digits(identifier: str, valid: bool) -> None:
    assert creditor_identifier_valid(identifier) is valid


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"creditor_id": "BE68ZZZ050D000000008"}, "creditor_id", "creditor_id"),
        ({"iban": "BE71096123456760"}, "iban", "iban"),
        ({"bic": "KREDBEBB1"}, "bic", "bic"),
        ({"bic": "ABNANL2A"}, "bic", "bic_country"),
        ({"name": " "}, "name", "required"),
    ],
)
def test_a_bad_creditor_names_the_field(changes: dict[str, Any], field: str, reason: str) -> None:
    values: dict[str, Any] = {
        "name": "Voltflow NV",
        "iban": "BE71096123456769",
        "bic": "GKCCBEBB",
        "creditor_id": "BE69ZZZ050D000000008",
    } | changes
    with pytest.raises(PaymentError) as err:
        Creditor(**values)
    assert (err.value.field, err.value.reason) == (field, reason)


# --- Mandates ---------------------------------------------------------------------------------


def test_a_mandates_first_collection_is_frst_and_every_later_one_rcur() -> None:
    new = DebitMandate("VF-2026-0001", date(2026, 1, 5))
    assert sequence_type(new) is SequenceType.FIRST
    used = DebitMandate("VF-2026-0001", date(2026, 1, 5), last_collected_on=date(2026, 2, 10))
    assert sequence_type(used) is SequenceType.RECURRING
    assert (SequenceType.FIRST.value, SequenceType.RECURRING.value) == ("FRST", "RCUR")


@pytest.mark.parametrize(
    ("mandate", "expires_on"),
    [
        (DebitMandate("M", date(2023, 4, 10)), date(2026, 4, 10)),  # never used: from signature
        (
            DebitMandate("M", date(2020, 1, 1), last_collected_on=date(2024, 5, 31)),
            date(2027, 5, 31),
        ),
        (
            DebitMandate("M", date(2020, 1, 1), last_collected_on=date(2024, 2, 29)),
            date(2027, 2, 28),
        ),
    ],
)
def test_a_mandate_lapses_36_months_after_its_latest_collection(
    mandate: DebitMandate, expires_on: date
) -> None:
    assert mandate.expires_on == expires_on


# --- Collections ------------------------------------------------------------------------------


def collection(**changes: Any) -> Collection:
    values: dict[str, Any] = {
        "document_number": "PR-2026-000001",
        "amount": eur("123.45"),
        "structured_reference": OGM_1,
        "debtor_name": "Acme Logistics NV",
        "debtor_iban": "BE62 5100 0754 7061",
        "debtor_bic": None,
        "mandate": DebitMandate(
            "VF-2025-0007", date(2025, 3, 1), last_collected_on=date(2026, 3, 10)
        ),
        "sequence_type": SequenceType.RECURRING,
        "collection_date": DAY,
    } | changes
    return Collection(**values)


def test_a_collection_is_normalised() -> None:
    made = collection(structured_reference="202604000131", debtor_bic="vapebe22")
    assert made.structured_reference == OGM_1
    assert (made.debtor_iban, made.debtor_bic) == ("BE62510007547061", "VAPEBE22")


def test_a_collection_one_day_before_its_mandate_lapses_goes_through() -> None:
    mandate = DebitMandate("VF-1", date(2020, 1, 1), last_collected_on=date(2023, 4, 11))
    assert collection(mandate=mandate).mandate is mandate


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        (
            {"mandate": DebitMandate("VF-1", date(2025, 1, 1), revoked_on=date(2026, 3, 1))},
            "mandate",
            "revoked",
        ),
        (
            {
                "mandate": DebitMandate(
                    "VF-1", date(2020, 1, 1), last_collected_on=date(2023, 4, 10)
                )
            },
            "mandate",
            "expired",
        ),
        ({"mandate": DebitMandate("VF-1", date(2023, 4, 1))}, "mandate", "expired"),
        (
            {"mandate": DebitMandate("VF-1", date(2026, 4, 11))},
            "mandate_signed_on",
            "after_collection",
        ),
        ({"mandate": DebitMandate("VF 1/", date(2026, 1, 1))}, "mandate_reference", "identifier"),
        ({"amount": Money(D("123.45"), "USD")}, "amount", "currency"),
        ({"amount": eur("0")}, "amount", "not_positive"),
        ({"amount": eur("-5.00")}, "amount", "not_positive"),
        ({"amount": eur("1.005")}, "amount", "cents"),
        ({"amount": eur("1000000000.00")}, "amount", "too_large"),
        ({"debtor_iban": "BE62 5100 0754 7062"}, "debtor_iban", "iban"),
        ({"debtor_iban": "XX62510007547061"}, "debtor_iban", "iban"),
        ({"debtor_bic": "ABNANL2A"}, "debtor_bic", "bic_country"),
        ({"debtor_name": ""}, "debtor_name", "required"),
        ({"structured_reference": "+++202/6040/00132+++"}, "structured_reference", None),
        ({"document_number": "PR//2026"}, "document_number", "identifier"),
        ({"document_number": "P" * 36}, "document_number", "identifier"),
    ],
)
def test_a_collection_that_cannot_go_names_the_field(
    changes: dict[str, Any], field: str, reason: str | None
) -> None:
    with pytest.raises(PaymentError) as err:
        collection(**changes)
    assert err.value.field == field
    assert err.value.reason == (reason or field)
    assert field in str(err.value)


# --- Payouts ----------------------------------------------------------------------------------


def payout(**changes: Any) -> Payout:
    values: dict[str, Any] = {
        "payee_name": "Jan Peeters",
        "payee_iban": "NL91ABNA0417164300",
        "payee_bic": None,
        "amount": eur("48.80"),
        "end_to_end_id": "RS-2026-000001",
        "remittance": "Reimbursement March 2026 RS-2026-000001",
    } | changes
    return Payout(**values)


def test_a_payout_is_normalised() -> None:
    made = payout(payee_iban="nl91 abna 0417 1643 00")
    assert (made.payee_iban, made.payee_bic) == ("NL91ABNA0417164300", "ABNANL2A")


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"payee_iban": "NL91ABNA0417164301"}, "payee_iban", "iban"),
        ({"payee_bic": "GKCCBEBB"}, "payee_bic", "bic_country"),
        ({"amount": Money(D("48.80"), "GBP")}, "amount", "currency"),
        ({"amount": eur("0.00")}, "amount", "not_positive"),
        ({"end_to_end_id": "/RS-1"}, "end_to_end_id", "identifier"),
        ({"remittance": "  "}, "remittance", "required"),
        ({"remittance": "x" * 141}, "remittance", "too_long"),
        ({"payee_name": ""}, "payee_name", "required"),
    ],
)
def test_a_payout_that_cannot_go_names_the_field(
    changes: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(PaymentError) as err:
        payout(**changes)
    assert (err.value.field, err.value.reason) == (field, reason)


# --- Reconciliation ---------------------------------------------------------------------------


def entry(reference: str, amount: str, *refs: str, currency: str = "EUR") -> StatementEntry:
    return StatementEntry(reference, DAY, D(amount), currency, references=refs)


DOCUMENTS = (
    OpenDocument("PR-2026-000001", OGM_1, eur("100.00")),
    OpenDocument("INV-2026-000002", OGM_2, eur("80.00")),
)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param(
            [entry("E1", "100.00", OGM_1)],
            [(MatchKind.MATCHED, "PR-2026-000001", "100.00", "0", None)],
            id="matched",
        ),
        pytest.param(
            [entry("E1", "60.00", OGM_1)],
            [(MatchKind.PARTIAL, "PR-2026-000001", "60.00", "0", None)],
            id="partial",
        ),
        pytest.param(
            [entry("E1", "60.00", OGM_1), entry("E2", "40.00", OGM_1)],
            [
                (MatchKind.PARTIAL, "PR-2026-000001", "60.00", "0", None),
                (MatchKind.MATCHED, "PR-2026-000001", "40.00", "0", None),
            ],
            id="two-payments-settle-it",
        ),
        pytest.param(
            [entry("E1", "120.00", OGM_1)],
            [(MatchKind.OVERPAID, "PR-2026-000001", "100.00", "20.00", None)],
            id="overpaid",
        ),
        pytest.param(
            [entry("E1", "100.00", OGM_1), entry("E2", "100.00", OGM_1)],
            [
                (MatchKind.MATCHED, "PR-2026-000001", "100.00", "0", None),
                (MatchKind.OVERPAID, "PR-2026-000001", "0", "100.00", None),
            ],
            id="paid-twice",
        ),
        pytest.param(
            [entry("E1", "100.00")],
            [(MatchKind.UNMATCHED, None, "0", "0", Unmatched.NO_REFERENCE)],
            id="no-reference",
        ),
        pytest.param(
            [entry("E1", "100.00", UNKNOWN)],
            [(MatchKind.UNMATCHED, None, "0", "0", Unmatched.UNKNOWN_REFERENCE)],
            id="unknown-reference",
        ),
        pytest.param(
            [entry("E1", "80.00")],
            [(MatchKind.UNMATCHED, None, "0", "0", Unmatched.NO_REFERENCE)],
            id="never-by-amount-alone",
        ),
        pytest.param(
            [entry("E1", "180.00", OGM_1, OGM_2)],
            [(MatchKind.AMBIGUOUS, None, "0", "0", None)],
            id="ambiguous-two-references",
        ),
        pytest.param(
            [entry("E1", "100.00", OGM_1, currency="USD")],
            [(MatchKind.WRONG_CURRENCY, "PR-2026-000001", "0", "0", None)],
            id="wrong-currency",
        ),
        pytest.param(
            [entry("E0", "100.00", OGM_1)],
            [(MatchKind.ALREADY_IMPORTED, None, "0", "0", None)],
            id="imported-before",
        ),
        pytest.param(
            [entry("E1", "50.00", OGM_1), entry("E1", "50.00", OGM_1)],
            [
                (MatchKind.PARTIAL, "PR-2026-000001", "50.00", "0", None),
                (MatchKind.ALREADY_IMPORTED, None, "0", "0", None),
            ],
            id="repeated-in-one-import",
        ),
    ],
)
def test_each_entry_gets_its_outcome(
    entries: list[StatementEntry],
    expected: list[tuple[MatchKind, str | None, str, str, Unmatched | None]],
) -> None:
    result = reconcile(entries, DOCUMENTS, already_imported={"E0"})
    got = [(o.kind, o.document, o.applied, o.surplus, o.unmatched) for o in result.outcomes]
    assert got == [(k, doc, D(a), D(s), u) for k, doc, a, s, u in expected]


def test_an_ambiguous_entry_lists_the_documents_it_points_at() -> None:
    shared = (*DOCUMENTS, OpenDocument("INV-2026-000009", OGM_1, eur("100.00")))
    result = reconcile([entry("E1", "100.00", OGM_1)], shared)
    (outcome,) = result.of(MatchKind.AMBIGUOUS)
    assert outcome.candidates == ("PR-2026-000001", "INV-2026-000009")
    assert result.remaining["PR-2026-000001"] == eur("100.00")


def test_what_remains_due_and_what_is_paid_in_full() -> None:
    result = reconcile(
        [entry("E1", "100.00", OGM_1), entry("E2", "30.00", OGM_2), entry("E3", "5.00", OGM_3)],
        DOCUMENTS,
    )
    assert result.remaining == {"PR-2026-000001": eur("0.00"), "INV-2026-000002": eur("50.00")}
    assert result.paid_in_full == ("PR-2026-000001",)
    assert [o.entry.entry_reference for o in result.of(MatchKind.UNMATCHED)] == ["E3"]


def test_a_paid_document_paid_again_is_overpaid_not_unknown() -> None:
    paid = OpenDocument("PR-2026-000001", OGM_1, eur("0"))
    (outcome,) = reconcile([entry("E1", "100.00", OGM_1)], [paid]).outcomes
    assert (outcome.kind, outcome.applied, outcome.surplus) == (
        MatchKind.OVERPAID,
        D(0),
        D("100.00"),
    )


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: StatementEntry("E1", DAY, D("0"), "EUR"), "amount"),
        (lambda: StatementEntry("E1", DAY, D("-1"), "EUR"), "amount"),
        (lambda: StatementEntry("", DAY, D("1"), "EUR"), "entry_reference"),
        (lambda: OpenDocument("PR-1", OGM_1, eur("-1")), "amount_due"),
        (lambda: OpenDocument("PR-1", "+++202/6040/00132+++", eur("1")), "structured_reference"),
    ],
)
def test_bad_entries_and_documents_are_refused(make: Any, field: str) -> None:
    with pytest.raises(PaymentError) as err:
        make()
    assert err.value.field == field


# A small pool of references and entry ids, so that draws collide: shared references, repeated
# entries, entries imported before.
REFERENCES = [structured_reference(base) for base in (11, 12, 13, 14)]
amounts = st.decimals(min_value=D("0.01"), max_value=D("500"), places=2)
documents = st.lists(
    st.builds(
        OpenDocument,
        number=st.sampled_from(["D1", "D2", "D3", "D4", "D5"]),
        structured_reference=st.sampled_from(REFERENCES[:3]),
        amount_due=st.builds(
            Money, st.decimals(min_value=0, max_value=500, places=2), st.just("EUR")
        ),
    ),
    max_size=5,
    unique_by=lambda d: d.number,
)
entries = st.lists(
    st.builds(
        StatementEntry,
        entry_reference=st.sampled_from(["E1", "E2", "E3", "E4", "E5", "E6"]),
        booking_date=st.just(DAY),
        amount=amounts,
        currency=st.sampled_from(["EUR", "EUR", "EUR", "USD"]),
        references=st.lists(st.sampled_from(REFERENCES), max_size=2, unique=True).map(tuple),
    ),
    max_size=12,
)


@settings(max_examples=300)
@given(entries, documents, st.sets(st.sampled_from(["E1", "E2", "E3"])))
def test_every_entry_has_one_outcome_and_nothing_settles_more_than_was_due(
    entries: list[StatementEntry], documents: list[OpenDocument], before: set[str]
) -> None:
    result = reconcile(entries, documents, already_imported=before)
    assert [o.entry for o in result.outcomes] == entries
    applied: defaultdict[str, Decimal] = defaultdict(Decimal)
    counted: set[str] = set()
    for outcome in result.outcomes:
        _check_outcome(outcome)
        if outcome.kind is not MatchKind.ALREADY_IMPORTED:
            assert outcome.entry.entry_reference not in before | counted
            counted.add(outcome.entry.entry_reference)
        if outcome.document is not None:
            applied[outcome.document] += outcome.applied
    for document in documents:
        assert applied[document.number] <= document.amount_due.amount
        assert result.remaining[document.number].amount == (
            document.amount_due.amount - applied[document.number]
        )


def _check_outcome(outcome: EntryOutcome) -> None:
    paying = {MatchKind.MATCHED, MatchKind.PARTIAL, MatchKind.OVERPAID}
    if outcome.kind in paying:
        assert outcome.document is not None
        assert outcome.applied + outcome.surplus == outcome.entry.amount
        assert outcome.entry.structured_reference is not None
    else:
        assert (outcome.applied, outcome.surplus) == (0, 0)
    assert (outcome.surplus > 0) == (outcome.kind is MatchKind.OVERPAID)
    assert (outcome.unmatched is not None) == (outcome.kind is MatchKind.UNMATCHED)
