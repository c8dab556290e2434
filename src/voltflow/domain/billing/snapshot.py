"""A document as the JSON its stored row keeps, and back: every field, Decimals as text (never a
float), dates and times in ISO 8601. What is read back equals what was written, so a stored
document renders (PDF, UBL) exactly as it was issued."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from voltflow.domain.billing.documents import (
    AnnexRow,
    Document,
    DocumentKind,
    DocumentLine,
    Party,
    VatCategory,
)

VERSION = 1


def _party(party: Party) -> dict[str, Any]:
    return {f.name: getattr(party, f.name) for f in fields(Party)}


def _line(line: DocumentLine) -> dict[str, Any]:
    return {
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_code": line.unit_code,
        "unit_price": str(line.unit_price),
        "vat_category": line.vat_category.value,
        "vat_rate": str(line.vat_rate),
        "net": str(line.net),
        "sessions": list(line.sessions),
        "period_start": _day(line.period_start),
        "period_end": _day(line.period_end),
    }


def _annex(row: AnnexRow) -> dict[str, Any]:
    return {
        "session_id": row.session_id,
        "started_at": row.started_at.isoformat(),
        "station": row.station,
        "card": row.card,
        "energy_wh": row.energy_wh,
        "amount": str(row.amount),
    }


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def document_json(document: Document, **extra: Any) -> dict[str, Any]:
    """The document as JSON-ready values; ``extra`` keys are kept beside it (what a line bills,
    for the ledger)."""
    return {
        "version": VERSION,
        "kind": document.kind.value,
        "currency": document.currency,
        "issue_date": document.issue_date.isoformat(),
        "due_date": document.due_date.isoformat(),
        "seller": _party(document.seller),
        "buyer": _party(document.buyer),
        "lines": [_line(line) for line in document.lines],
        "period_start": document.period_start.isoformat(),
        "period_end": document.period_end.isoformat(),
        "number": document.number,
        "payment_reference": document.payment_reference,
        "mandate_reference": document.mandate_reference,
        "corrects": document.corrects,
        "note": document.note,
        "annex": [_annex(row) for row in document.annex],
        "prepaid_amount": str(document.prepaid_amount),
        **extra,
    }


def document_of(data: dict[str, Any]) -> Document:
    """The document that ``document_json`` wrote."""
    lines = tuple(
        DocumentLine(
            line["description"],
            Decimal(line["quantity"]),
            line["unit_code"],
            Decimal(line["unit_price"]),
            VatCategory(line["vat_category"]),
            Decimal(line["vat_rate"]),
            Decimal(line["net"]),
            tuple(int(s) for s in line["sessions"]),
            _date(line["period_start"]),
            _date(line["period_end"]),
        )
        for line in data["lines"]
    )
    annex = tuple(
        AnnexRow(
            int(row["session_id"]),
            datetime.fromisoformat(row["started_at"]),
            row["station"],
            row["card"],
            int(row["energy_wh"]),
            Decimal(row["amount"]),
        )
        for row in data["annex"]
    )
    return Document(
        DocumentKind(data["kind"]),
        data["currency"],
        date.fromisoformat(data["issue_date"]),
        date.fromisoformat(data["due_date"]),
        Party(**data["seller"]),
        Party(**data["buyer"]),
        lines,
        date.fromisoformat(data["period_start"]),
        date.fromisoformat(data["period_end"]),
        number=data["number"],
        payment_reference=data["payment_reference"],
        mandate_reference=data["mandate_reference"],
        corrects=data["corrects"],
        note=data["note"],
        annex=annex,
        # Documents issued before prepaid balances were on invoices have none.
        prepaid_amount=Decimal(data.get("prepaid_amount", "0")),
    )
