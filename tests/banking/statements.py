"""CAMT.053 statements as a bank writes them, for tests: one booked credit per ``Credit``, its
structured reference in the structured field (or written into the free text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

OPERATOR_IBAN = "BE71096123456769"


@dataclass(frozen=True)
class Credit:
    bank_reference: str  # the bank's own reference of the entry (AcctSvcrRef)
    amount: Decimal
    reference: str | None = None  # a structured reference, +++…+++ or its twelve digits
    currency: str = "EUR"
    payer: str = "A payer"
    free_text: str | None = None  # unstructured remittance, instead of or beside the reference
    booked_on: date = date(2026, 12, 10)


def _entry(credit: Credit) -> str:
    remittance = ""
    if credit.reference is not None:
        digits = "".join(c for c in credit.reference if c.isdigit())
        remittance += (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>BBA</Issr></Tp>"
            f"<Ref>{digits}</Ref></CdtrRefInf></Strd>"
        )
    if credit.free_text is not None:
        remittance += f"<Ustrd>{escape(credit.free_text)}</Ustrd>"
    return f"""
      <Ntry>
        <Amt Ccy="{credit.currency}">{credit.amount}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{credit.booked_on.isoformat()}</Dt></BookgDt>
        <AcctSvcrRef>{escape(credit.bank_reference)}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <RltdPties><Dbtr><Nm>{escape(credit.payer)}</Nm></Dbtr></RltdPties>
          {f"<RmtInf>{remittance}</RmtInf>" if remittance else ""}
        </TxDtls></NtryDtls>
      </Ntry>"""


def camt053(credits: list[Credit], *, statement: str = "2026-00001") -> bytes:
    entries = "".join(_entry(c) for c in credits)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>TEST{statement}</MsgId><CreDtTm>2026-12-11T06:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{statement}</Id>
      <CreDtTm>2026-12-11T06:00:00+01:00</CreDtTm>
      <Acct><Id><IBAN>{OPERATOR_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>{entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()
