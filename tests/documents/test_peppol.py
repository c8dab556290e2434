"""The offline Peppol validator: OpenPeppol's own examples pass it, broken documents fail it
with the rule named, and one compiled validator serves every thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from tests.documents.conftest import RULES
from tests.documents.samples import NS, invoice, line, mixed_rates, parse
from voltflow.config import Settings
from voltflow.documents.peppol import XSD, PeppolValidator, RulesMissing, validator
from voltflow.documents.ubl import to_ubl
from voltflow.domain.billing.documents import DocumentKind

EXAMPLES = sorted(path.name for path in (RULES / "examples").glob("*.xml"))


# Parametrised by the examples found at collection; none found (the rules missing) still makes
# one test, which the fixture skips, or fails in CI.
@pytest.mark.parametrize("name", EXAMPLES or ["(no examples)"])
def test_every_openpeppol_example_passes(peppol: PeppolValidator, name: str) -> None:
    path = peppol.rules / "examples" / name
    assert path.is_file(), f"no OpenPeppol examples in {path.parent}"
    result = peppol.validate(path.read_bytes())
    assert result.valid, [f"{f.id}: {f.text} at {f.location}" for f in result.fatal]


def _example(name: str = "base-example.xml") -> bytes:
    return (RULES / "examples" / name).read_bytes()


def test_a_wrong_total_fails_with_the_rule_named(peppol: PeppolValidator) -> None:
    good = _example()
    broken = good.replace(
        b'<cbc:PayableAmount currencyID="EUR">1656.25<',
        b'<cbc:PayableAmount currencyID="EUR">1600.00<',
    )
    assert broken != good
    result = peppol.validate(broken)
    assert not result.valid
    (failure,) = result.fatal
    assert failure.id == "BR-CO-16"  # amount due = total with VAT - paid + rounding
    assert failure.rules == "CEN-EN16931-UBL"
    assert "LegalMonetaryTotal" in failure.location
    assert "Amount due for payment" in failure.text


def test_a_missing_buyer_fails_the_schema_and_the_rules(peppol: PeppolValidator) -> None:
    root = etree.fromstring(_example())
    buyer = root.find("cac:AccountingCustomerParty", NS)
    root.remove(buyer)
    result = peppol.validate(etree.tostring(root))
    assert {"BR-07", "BR-10", XSD} <= result.fatal_ids
    (structure,) = [f for f in result.fatal if f.id == XSD]
    assert "AccountingCustomerParty" in structure.text


def test_our_invoice_with_a_tampered_vat_amount_fails(peppol: PeppolValidator) -> None:
    root = parse(to_ubl(mixed_rates()))
    root.find("cac:TaxTotal/cbc:TaxAmount", NS).text = "12.02"
    result = peppol.validate(etree.tostring(root))
    assert "BR-CO-14" in result.fatal_ids  # total VAT = sum of the breakdown's


def test_our_invoice_without_a_buyer_address_fails_peppols_own_rules(
    peppol: PeppolValidator,
) -> None:
    root = parse(to_ubl(invoice()))
    endpoint = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    endpoint.getparent().remove(endpoint)
    result = peppol.validate(etree.tostring(root))
    assert "PEPPOL-EN16931-R010" in result.fatal_ids
    assert {f.rules for f in result.fatal} == {"PEPPOL-EN16931-UBL"}


def test_warnings_do_not_make_a_document_invalid(peppol: PeppolValidator) -> None:
    # An element EN 16931 does not use (UBL-CR-…) is a warning of the CEN rules.
    root = parse(to_ubl(invoice()))
    issue_date = root.find("cbc:IssueDate", NS)
    time = etree.Element(f"{{{NS['cbc']}}}IssueTime")
    time.text = "10:00:00"
    issue_date.addnext(time)
    result = peppol.validate(etree.tostring(root))
    assert result.valid
    assert result.warnings
    assert {f.flag for f in result.warnings} == {"warning"}


@pytest.mark.parametrize(
    ("xml", "rule", "words"),
    [
        (b"<Invoice", "XML", "Start Tag"),
        (
            b'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY e "x">]><Invoice>&e;</Invoice>',
            "XML",
            "document type",
        ),
        (b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>', XSD, "Order"),
    ],
)
def test_what_is_not_a_ubl_invoice_is_refused_before_the_rules(
    peppol: PeppolValidator, xml: bytes, rule: str, words: str
) -> None:
    result = peppol.validate(xml)
    (failure,) = result.failed
    assert (failure.id, failure.flag) == (rule, "fatal")
    assert words in failure.text


def test_one_validator_serves_every_thread_each_its_own_verdict(
    peppol: PeppolValidator,
) -> None:
    good = to_ubl(invoice())
    root = parse(good)
    root.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS).text = "99.99"
    bad = etree.tostring(root)

    def verdict(index: int) -> tuple[int, bool]:
        return index, peppol.validate(bad if index % 2 else good).valid

    with ThreadPoolExecutor(4) as pool:
        verdicts = list(pool.map(verdict, range(40)))
    assert verdicts == [(index, index % 2 == 0) for index in range(40)]
    assert validator(RULES) is peppol  # compiled once per process


def test_rules_missing_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(RulesMissing) as caught:
        validator(tmp_path)
    assert "VOLTFLOW_PEPPOL_RULES" in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_the_rules_are_found_next_to_the_checkout_unless_the_setting_says(
    tmp_path: Path,
) -> None:
    checkout = Path(__file__).resolve().parents[2]
    assert Settings.from_env({}).peppol_rules == checkout.parent / "shared" / "peppol"
    settings = Settings.from_env({"VOLTFLOW_PEPPOL_RULES": str(tmp_path)})
    assert settings.peppol_rules == tmp_path


def test_a_credit_note_is_validated_against_the_credit_note_schema(
    peppol: PeppolValidator,
) -> None:
    credit = invoice(line("2.00"), kind=DocumentKind.CREDIT_NOTE, corrects="INV-1")
    root = parse(to_ubl(credit))
    assert peppol.validate(etree.tostring(root)).valid
    # An invoice's element in a credit note: the credit note's schema knows no DueDate.
    due = etree.Element(f"{{{NS['cbc']}}}DueDate")
    due.text = "2026-12-31"
    root.find("cbc:IssueDate", NS).addnext(due)
    result = peppol.validate(etree.tostring(root))
    assert XSD in result.fatal_ids
