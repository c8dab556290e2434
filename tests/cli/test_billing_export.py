"""``voltflow billing export``: an issued document written to a file as its PDF or its e-invoice;
a document without an e-invoice, or none at all, is a message and exit status 1, and no file."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

from click.testing import CliRunner
from pypdf import PdfReader

from tests.services.billing_world import Month, month
from voltflow.cli.main import main
from voltflow.documents.ubl import INVOICE_NS

__all__ = ["month"]  # the fixture


async def invoke(m: Month, *args: str) -> tuple[int, bytes, str]:
    """The command, run as a person runs it (its own event loop: in a thread of its own)."""

    def run() -> tuple[int, bytes, str]:
        result = CliRunner().invoke(
            main, ["--database", m.platform.settings.database_url, *args], catch_exceptions=False
        )
        return result.exit_code, result.stdout_bytes, result.stderr

    return await asyncio.to_thread(run)


async def test_a_document_exported_as_pdf_and_ubl(month: Month, tmp_path: Path) -> None:
    await month.platform.billing.finalise(month.op, month.last_period)
    out = tmp_path / "exports"  # beside the SQLite database, not in its folder
    out.mkdir()
    pdf = out / "invoice.pdf"
    code, _out, err = await invoke(
        month, "billing", "export", "INV-2026-000001", "--format", "pdf", "--out", str(pdf)
    )
    assert code == 0, err
    assert err.startswith(f"INV-2026-000001 written to {pdf} (")
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "INV-2026-000001" in text and "€19.36" in text
    assert await asyncio.to_thread(os.listdir, out) == ["invoice.pdf"]  # no part left

    xml = out / "invoice.xml"
    code, _out, err = await invoke(
        month, "billing", "export", "INV-2026-000001", "--format", "ubl", "--out", str(xml)
    )
    assert code == 0, err
    assert INVOICE_NS.encode() in xml.read_bytes()
    assert b"<cbc:ID>INV-2026-000001</cbc:ID>" in xml.read_bytes()

    code, out, _err = await invoke(
        month, "billing", "export", "PR-2026-000001", "--format", "pdf", "--out", "-"
    )
    assert code == 0 and out.startswith(b"%PDF")


async def test_an_export_refused_is_a_message_and_no_file(month: Month, tmp_path: Path) -> None:
    await month.platform.billing.finalise(month.op, month.last_period)
    target = tmp_path / "statement.xml"
    code, _out, err = await invoke(
        month, "billing", "export", "RS-2026-000001", "--format", "ubl", "--out", str(target)
    )
    assert code == 1
    assert err.strip() == (
        "Error: format: RS-2026-000001 is no invoice nor credit note: it has no e-invoice (UBL)"
    )
    assert not target.exists()
    code, _out, err = await invoke(
        month, "billing", "export", "INV-2099-000001", "--out", str(target)
    )
    assert (code, err.strip()) == (1, "Error: no document INV-2099-000001")
    assert not target.exists()
    code, _out, err = await invoke(
        month, "billing", "export", "INV-2026-000001", "--format", "docx", "--out", str(target)
    )
    assert code == 2 and "docx" in err
