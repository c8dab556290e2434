"""SEPA payment initiation files: direct debits (pain.008.001.02, SEPA Core) that collect
documents under their mandates, credit transfers (pain.001.001.03) that pay employees and hosts.

The ``sepaxml`` library lays the files out (batches per sequence type and date, control sums);
this module then gives them what banks expect of us and the library leaves to chance: the message
id the caller chose and the time it was made (so that the same batch always gives the same file),
payment information ids derived from it, and the Belgian structured reference as structured
remittance (``SCOR``, issuer ``BBA``) rather than free text, which a debtor's bank reports back in
the statement where reconciliation looks for it. Texts are reduced to the SEPA Latin character
set, which every bank accepts.

A ``SepaFile`` is validated against its XSD when it is made: there is no way to hold, and so to
write, one that does not validate.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

import xmlschema
from lxml import etree
from sepaxml import SepaDD, SepaTransfer
from text_unidecode import unidecode

from voltflow.domain.billing.payments import (
    Collection,
    Creditor,
    PaymentError,
    Payout,
    SequenceType,
    check_batch_date,
)

DIRECT_DEBIT = "pain.008.001.02"
CREDIT_TRANSFER = "pain.001.001.03"
_ISO_NS = "urn:iso:std:iso:20022:tech:xsd:"

# Room is left for "-" and a batch's number in each payment information id (35 at most).
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9+?:().,'\-]{1,30}$")
_NOT_SEPA_LATIN = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]+")
_NAME_LENGTH = 70
_REMITTANCE_LENGTH = 140

# The files are ours, but they are read the safe way all the same: no entities, no network.
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True
)


class SepaFileError(ValueError):
    """A file that does not validate against its schema: ``element`` is the path to the first
    element at fault, ``reason`` what the schema says of it."""

    def __init__(self, message: str, element: str | None, reason: str) -> None:
        super().__init__(message)
        self.element = element
        self.reason = reason


@functools.cache
def _schema(name: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(resources.files("sepaxml") / "schemas" / f"{name}.xsd"))


def validate(content: bytes, schema: str) -> None:
    """``SepaFileError`` unless ``content`` is well-formed and valid against ``schema``
    (``pain.008.001.02`` or ``pain.001.001.03``)."""
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SepaFileError(f"{schema}: not well-formed XML ({exc})", None, str(exc)) from exc
    name = etree.QName(root)
    if (name.namespace, name.localname) != (f"{_ISO_NS}{schema}", "Document"):
        raise SepaFileError(
            f"{schema}: the root element is {name.text}, not this schema's Document",
            name.text,
            "root",
        )
    source = xmlschema.XMLResource(content, allow="none", defuse="always")
    error = next(iter(_schema(schema).iter_errors(source)), None)
    if error is not None:
        path = error.path or "/"
        reason = error.reason or str(error)
        raise SepaFileError(f"{schema}: {path}: {reason}", path, reason)


@dataclass(frozen=True, slots=True)
class SepaFile:
    """A payment initiation ready for the bank: valid against ``schema`` by construction."""

    schema: str
    message_id: str
    content: bytes
    transactions: int
    control_sum: Decimal

    def __post_init__(self) -> None:
        validate(self.content, self.schema)

    def write(self, path: Path) -> None:
        """Writes the file whole or not at all: a partial file is never left where the upload
        to the bank may pick it up."""
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(self.content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _latin(text: str, field: str, limit: int) -> str:
    """``text`` in the SEPA Latin set: accents dropped, ``&`` as ``+``, anything else a space."""
    plain = unidecode(text).replace("&", "+")
    latin = " ".join(_NOT_SEPA_LATIN.sub(" ", plain).split())[:limit].rstrip()
    if not latin:
        raise PaymentError(
            f"{field}: {text!r} has nothing a bank can carry", field, "no_latin", value=text
        )
    return latin


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


def _check_header(message_id: str, created_at: datetime) -> None:
    if not _MESSAGE_ID.match(message_id):
        raise PaymentError(
            f"message_id: {message_id!r} is not 1–30 letters, digits or + ? : ( ) . , ' -",
            "message_id",
            "identifier",
            value=message_id,
        )
    if created_at.tzinfo is None:
        raise PaymentError("created_at: a time with its zone", "created_at", "naive")


def _unique(ids: Sequence[str], field: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise PaymentError(
                f"{field}: {value} twice in one file", field, "duplicate", value=value
            )
        seen.add(value)


def _finish(
    raw: bytes,
    schema: str,
    message_id: str,
    created_at: datetime,
    references: dict[str, str] | None = None,
) -> bytes:
    """The library's file with our header, batch ids and structured remittances."""
    ns = {"p": f"{_ISO_NS}{schema}"}
    root = etree.fromstring(raw, _PARSER)
    (header,) = root.iterfind("p:*/p:GrpHdr", ns)
    _text(header, "p:MsgId", ns).text = message_id
    _text(header, "p:CreDtTm", ns).text = created_at.isoformat(timespec="seconds")
    for number, batch in enumerate(root.iterfind("p:*/p:PmtInf", ns), 1):
        _text(batch, "p:PmtInfId", ns).text = f"{message_id}-{number}"
    if references is not None:
        for transaction in root.iterfind("p:*/p:PmtInf/p:DrctDbtTxInf", ns):
            end_to_end = _text(transaction, "p:PmtId/p:EndToEndId", ns).text or ""
            remittance = _text(transaction, "p:RmtInf", ns)
            _structured_remittance(remittance, references[end_to_end], ns["p"])
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _text(parent: etree._Element, path: str, ns: dict[str, str]) -> etree._Element:
    found = parent.find(path, ns)
    if found is None:
        raise AssertionError(f"the SEPA library left out {path}")
    return found


def _structured_remittance(remittance: etree._Element, reference: str, ns: str) -> None:
    """``RmtInf`` holding the OGM the way Belgian banks read it: a creditor reference of type
    SCOR issued under the BBA scheme, its twelve digits bare."""
    for child in list(remittance):
        remittance.remove(child)
    sub = etree.SubElement
    info = sub(sub(remittance, f"{{{ns}}}Strd"), f"{{{ns}}}CdtrRefInf")
    kind = sub(info, f"{{{ns}}}Tp")
    sub(sub(kind, f"{{{ns}}}CdOrPrtry"), f"{{{ns}}}Cd").text = "SCOR"
    sub(kind, f"{{{ns}}}Issr").text = "BBA"
    sub(info, f"{{{ns}}}Ref").text = "".join(c for c in reference if c.isdigit())


def direct_debit_file(
    creditor: Creditor,
    collections: Sequence[Collection],
    *,
    message_id: str,
    created_at: datetime,
) -> SepaFile:
    """The pain.008 that collects ``collections`` into the creditor's account: one batch per
    sequence type and collection date. ``PaymentError`` names the field when the batch as a
    whole cannot go (each collection checked itself when it was made)."""
    _check_header(message_id, created_at)
    if creditor.creditor_id is None:
        raise PaymentError(
            "creditor_id: a direct debit needs the creditor's SEPA identifier",
            "creditor_id",
            "required",
        )
    if not collections:
        raise PaymentError("collections: at least one", "collections", "empty")
    _unique([c.document_number for c in collections], "document_number")
    firsts = [c.mandate.reference for c in collections if c.sequence_type is SequenceType.FIRST]
    for reference in {r for r in firsts if firsts.count(r) > 1}:
        raise PaymentError(
            f"sequence_type: mandate {reference} has one first collection, not two",
            "sequence_type",
            "two_firsts",
            mandate=reference,
        )
    for collection in collections:
        check_batch_date(collection.collection_date, created_at, "collection_date")
    dd = SepaDD(
        {
            "name": _latin(creditor.name, "name", _NAME_LENGTH),
            "IBAN": creditor.iban,
            "BIC": creditor.bic,
            "batch": True,
            "creditor_id": creditor.creditor_id,
            "currency": "EUR",
        },
        schema=DIRECT_DEBIT,
        clean=True,
    )
    ordered = sorted(
        collections, key=lambda c: (c.collection_date, c.sequence_type, c.document_number)
    )
    for collection in ordered:
        payment: dict[str, object] = {
            "name": _latin(collection.debtor_name, "debtor_name", _NAME_LENGTH),
            "IBAN": collection.debtor_iban,
            "amount": _cents(collection.amount.amount),
            "type": collection.sequence_type.value,
            "collection_date": collection.collection_date,
            "mandate_id": collection.mandate.reference,
            "mandate_date": collection.mandate.signed_on,
            "description": collection.structured_reference,
            "endtoend_id": collection.document_number,
        }
        if collection.debtor_bic:
            payment["BIC"] = collection.debtor_bic
        dd.add_payment(payment)
    content = _finish(
        dd.export(validate=False),
        DIRECT_DEBIT,
        message_id,
        created_at,
        {c.document_number: c.structured_reference for c in collections},
    )
    return SepaFile(
        DIRECT_DEBIT,
        message_id,
        content,
        len(collections),
        sum((c.amount.amount for c in collections), Decimal(0)),
    )


def credit_transfer_file(
    operator: Creditor,
    payouts: Sequence[Payout],
    *,
    execution_date: date,
    message_id: str,
    created_at: datetime,
) -> SepaFile:
    """The pain.001 that pays ``payouts`` from the operator's account on ``execution_date``."""
    _check_header(message_id, created_at)
    if not payouts:
        raise PaymentError("payouts: at least one", "payouts", "empty")
    _unique([p.end_to_end_id for p in payouts], "end_to_end_id")
    check_batch_date(execution_date, created_at, "execution_date")
    transfer = SepaTransfer(
        {
            "name": _latin(operator.name, "name", _NAME_LENGTH),
            "IBAN": operator.iban,
            "BIC": operator.bic,
            "batch": True,
            "currency": "EUR",
        },
        schema=CREDIT_TRANSFER,
        clean=True,
    )
    for payout in sorted(payouts, key=lambda p: p.end_to_end_id):
        payment: dict[str, object] = {
            "name": _latin(payout.payee_name, "payee_name", _NAME_LENGTH),
            "IBAN": payout.payee_iban,
            "amount": _cents(payout.amount.amount),
            "execution_date": execution_date,
            "description": _latin(payout.remittance, "remittance", _REMITTANCE_LENGTH),
            "endtoend_id": payout.end_to_end_id,
        }
        if payout.payee_bic:
            payment["BIC"] = payout.payee_bic
        transfer.add_payment(payment)
    content = _finish(transfer.export(validate=False), CREDIT_TRANSFER, message_id, created_at)
    return SepaFile(
        CREDIT_TRANSFER,
        message_id,
        content,
        len(payouts),
        sum((p.amount.amount for p in payouts), Decimal(0)),
    )
