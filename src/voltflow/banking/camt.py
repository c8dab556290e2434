"""Bank statements as banks deliver them (ISO 20022 camt.053.001.02): the credits booked on the
operator's account, as ``StatementEntry`` values for reconciliation.

A file is read whole before anything is returned, so that a malformed one yields an error naming
the line and the element at fault and imports nothing, rather than the entries before the fault.
Debits, pending entries and reversals are read and checked like every entry, and left out: only
booked credits pay documents.

The file comes from outside: it is parsed without a DTD, without entities and without network
access, and one that declares a DOCTYPE is refused (a bank statement has no use for one; an
entity is how a hostile file reads local files or swells to exhaust memory).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from voltflow.domain.billing.payments import StatementEntry
from voltflow.domain.billing.references import ReferenceError, parse_structured_reference

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
_NS = {"c": NAMESPACE}

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)
_AMOUNT = re.compile(r"^\d{1,18}(\.\d{1,5})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?$")
# A structured reference written into free text, the way Belgian banks print it.
_WRITTEN_REFERENCE = re.compile(r"(?:\+\+\+|\*\*\*)[\d/ ]{12,20}(?:\+\+\+|\*\*\*)")
_NOT_PROVIDED = "NOTPROVIDED"


class StatementError(ValueError):
    """A statement that cannot be read: ``line`` and ``element`` (a path such as
    ``Stmt[1]/Ntry[3]/Amt``) say where, the message what is wrong there."""

    def __init__(self, message: str, *, line: int | None, element: str | None) -> None:
        where = ", ".join(
            part for part in (f"line {line}" if line else None, element) if part is not None
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.line = line
        self.element = element


@dataclass(frozen=True, slots=True)
class Statement:
    """One account's statement in the file: ``entries`` are its booked credits."""

    identifier: str
    account: str  # the IBAN, or the bank's own account id when there is none
    entries: tuple[StatementEntry, ...]


def read_statements(content: bytes) -> tuple[Statement, ...]:
    """Every statement in a camt.053.001.02 file; ``StatementError`` when any part of it is
    malformed."""
    root = _parse(content)
    name = etree.QName(root)
    if (name.namespace, name.localname) != (NAMESPACE, "Document"):
        raise StatementError(
            f"a camt.053.001.02 Document expected, found {name.text}",
            line=root.sourceline,
            element=name.localname,
        )
    report = _required(root, "BkToCstmrStmt", "Document")
    statements = report.findall("c:Stmt", _NS)
    if not statements:
        raise StatementError("no Stmt in the file", line=report.sourceline, element="BkToCstmrStmt")
    return tuple(_statement(s, f"Stmt[{n}]") for n, s in enumerate(statements, 1))


def credit_entries(content: bytes) -> tuple[StatementEntry, ...]:
    """The booked credits of every statement in the file, in the file's order."""
    return tuple(entry for statement in read_statements(content) for entry in statement.entries)


def _parse(content: bytes) -> etree._Element:
    # Refused before the parser sees it, so that not even its entity declarations are read.
    doctype = content.find(b"<!DOCTYPE")
    if doctype >= 0:
        raise StatementError(
            "a DOCTYPE is refused: a bank statement declares none",
            line=content.count(b"\n", 0, doctype) + 1,
            element="DOCTYPE",
        )
    try:
        tree = etree.ElementTree(etree.fromstring(content, _PARSER))
    except etree.XMLSyntaxError as exc:
        raise StatementError(
            f"not well-formed XML: {exc.msg}", line=exc.lineno or None, element=None
        ) from exc
    if tree.docinfo.doctype:  # written some other way than the bytes looked for above
        raise StatementError(
            "a DOCTYPE is refused: a bank statement declares none", line=None, element="DOCTYPE"
        )
    return tree.getroot()


def _find(parent: etree._Element, path: str) -> etree._Element | None:
    return parent.find("/".join(f"c:{step}" for step in path.split("/")), _NS)


def _findall(parent: etree._Element, path: str) -> list[etree._Element]:
    return parent.findall("/".join(f"c:{step}" for step in path.split("/")), _NS)


def _required(parent: etree._Element, path: str, where: str) -> etree._Element:
    found = _find(parent, path)
    if found is None:
        raise StatementError(f"{path} missing", line=parent.sourceline, element=where)
    return found


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _required_text(parent: etree._Element, path: str, where: str) -> str:
    element = _required(parent, path, where)
    text = _text(element)
    if text is None:
        raise StatementError("empty", line=element.sourceline, element=f"{where}/{path}")
    return text


def _statement(statement: etree._Element, where: str) -> Statement:
    identifier = _required_text(statement, "Id", where)
    account_id = _required(statement, "Acct/Id", where)
    account = _text(_find(account_id, "IBAN")) or _text(_find(account_id, "Othr/Id"))
    if account is None:
        raise StatementError(
            "an IBAN or Othr/Id", line=account_id.sourceline, element=f"{where}/Acct/Id"
        )
    entries: list[StatementEntry] = []
    for number, entry in enumerate(statement.findall("c:Ntry", _NS), 1):
        entries.extend(_entry(entry, f"{where}/Ntry[{number}]", account, identifier, number))
    return Statement(identifier, account.replace(" ", ""), tuple(entries))


def _amount(element: etree._Element, where: str) -> tuple[Decimal, str]:
    text = _text(element) or ""
    if not _AMOUNT.match(text):
        raise StatementError(f"{text!r} is not an amount", line=element.sourceline, element=where)
    currency = element.get("Ccy", "")
    if not _CURRENCY.match(currency):
        raise StatementError(
            f"Ccy {currency!r} is not a currency code", line=element.sourceline, element=where
        )
    return Decimal(text), currency


def _booking_date(entry: etree._Element, where: str) -> date:
    booked = _required(entry, "BookgDt", where)
    for name in ("Dt", "DtTm"):
        element = _find(booked, name)
        if element is None:
            continue
        text = _text(element) or ""
        try:
            if name == "DtTm":
                return datetime.fromisoformat(text).date()
            found = _DATE.match(text)
            if found is not None:
                return date.fromisoformat(found.group(1))
        except ValueError:
            pass
        raise StatementError(
            f"{text!r} is not a date", line=element.sourceline, element=f"{where}/BookgDt/{name}"
        )
    raise StatementError("Dt or DtTm missing", line=booked.sourceline, element=f"{where}/BookgDt")


def _code(entry: etree._Element, name: str, codes: tuple[str, ...], where: str) -> str:
    element = _required(entry, name, where)
    code = _text(element)
    if code not in codes:
        raise StatementError(
            f"{code!r}: {', '.join(codes[:-1])} or {codes[-1]}",
            line=element.sourceline,
            element=f"{where}/{name}",
        )
    return code


def _entry(
    entry: etree._Element, where: str, account: str, statement: str, number: int
) -> Iterator[StatementEntry]:
    amount_element = _required(entry, "Amt", where)
    amount, currency = _amount(amount_element, f"{where}/Amt")
    direction = _code(entry, "CdtDbtInd", ("CRDT", "DBIT"), where)
    status = _code(entry, "Sts", ("BOOK", "PDNG", "INFO"), where)
    booked_on = _booking_date(entry, where) if status == "BOOK" else None
    # The bank's reference is unique per account; the account makes it unique across banks.
    own = _text(_find(entry, "AcctSvcrRef"))
    reference = own or f"{statement}/{_text(_find(entry, 'NtryRef')) or number}"
    reference = f"{account}/{reference}"
    details = _findall(entry, "NtryDtls/TxDtls")
    parts: list[tuple[Decimal, str, etree._Element | None]]
    if len(details) <= 1:
        parts = [(amount, reference, details[0] if details else None)]
    else:
        parts = []
        for index, transaction in enumerate(details, 1):
            at = f"{where}/NtryDtls/TxDtls[{index}]"
            part = _find(transaction, "AmtDtls/TxAmt/Amt")
            if part is None:
                raise StatementError(
                    "AmtDtls/TxAmt/Amt missing: an entry of several transactions gives each "
                    "its amount",
                    line=transaction.sourceline,
                    element=at,
                )
            value, part_currency = _amount(part, f"{at}/AmtDtls/TxAmt/Amt")
            if part_currency != currency:
                raise StatementError(
                    f"{part_currency}, the entry is in {currency}",
                    line=part.sourceline,
                    element=f"{at}/AmtDtls/TxAmt/Amt",
                )
            parts.append((value, f"{reference}/{index}", transaction))
        total = sum((value for value, _, _ in parts), Decimal(0))
        if total != amount:
            raise StatementError(
                f"its transactions add up to {total}, the entry says {amount}",
                line=amount_element.sourceline,
                element=f"{where}/Amt",
            )
    reversal = (_text(_find(entry, "RvslInd")) or "false") in ("true", "1")
    if direction != "CRDT" or booked_on is None or reversal:
        return
    for value, part_reference, part_details in parts:
        if value > 0:
            yield _credit(part_reference, booked_on, value, currency, part_details)


def _credit(
    reference: str,
    booked_on: date,
    amount: Decimal,
    currency: str,
    transaction: etree._Element | None,
) -> StatementEntry:
    if transaction is None:
        return StatementEntry(reference, booked_on, amount, currency)
    structured = [t for e in _findall(transaction, "RmtInf/Strd/CdtrRefInf/Ref") if (t := _text(e))]
    free = [t for e in _findall(transaction, "RmtInf/Ustrd") if (t := _text(e))]
    found: list[str] = []
    for candidate in structured + [m for text in free for m in _WRITTEN_REFERENCE.findall(text)]:
        try:
            found.append(parse_structured_reference(candidate))
        except ReferenceError:
            continue  # not a valid OGM: left in the remittance text for a person to read
    end_to_end = _text(_find(transaction, "Refs/EndToEndId"))
    iban = _text(_find(transaction, "RltdPties/DbtrAcct/Id/IBAN"))
    return StatementEntry(
        reference,
        booked_on,
        amount,
        currency,
        references=tuple(dict.fromkeys(found)),
        counterparty_name=_text(_find(transaction, "RltdPties/Dbtr/Nm")),
        counterparty_iban=iban.replace(" ", "").upper() if iban else None,
        remittance=" ".join(structured + free) or None,
        end_to_end_id=None if end_to_end == _NOT_PROVIDED else end_to_end,
    )
