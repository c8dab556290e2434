"""A document's files through the API: its PDF (whose text holds its totals) and, for an invoice or
a credit note, its e-invoice, which passes the Peppol rules; for whoever may read the document,
and not found for anyone else; what has no e-invoice refused naming the format."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from pypdf import PdfReader

from tests.services.billing_world import Month, month
from tests.web.test_api_billing import Clients, problem
from voltflow.config import Settings
from voltflow.documents.peppol import PeppolValidator, RulesMissing, validator

__all__ = ["month"]  # the fixture


@pytest.fixture
async def clients(month: Month) -> AsyncIterator[Clients]:
    made = Clients(month.platform)
    try:
        yield made
    finally:
        for client in made.open:
            await client.aclose()


@pytest.fixture(scope="module")
def peppol() -> PeppolValidator:
    try:
        return validator(Settings.from_env().peppol_rules)
    except RulesMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}: the Peppol rules are mandatory in CI")
        pytest.skip(f"the Peppol rules are missing: {exc}")


def pdf_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


async def test_a_document_downloads_as_pdf_and_e_invoice(
    month: Month, clients: Clients, peppol: PeppolValidator
) -> None:
    await month.platform.billing.finalise(month.op, month.last_period)
    acme = await clients.of(month.acme.manager.username)

    pdf = await acme.get("/api/v1/billing/documents/INV-2026-000001/pdf")
    assert pdf.headers["content-disposition"] == 'attachment; filename="INV-2026-000001.pdf"'
    assert pdf.headers["cache-control"] == "private, no-store"
    text = pdf_text(pdf)
    assert "Invoice INV-2026-000001" in text
    assert "€19.36" in text and "€16.00" in text and "€3.36" in text
    request = pdf_text(await acme.get("/api/v1/billing/documents/PR-2026-000001/pdf"))
    assert "€7.32" in request and "+++226/0000/00108+++" in request

    ubl = await acme.get("/api/v1/billing/documents/INV-2026-000001/ubl")
    assert ubl.status_code == 200, ubl.text
    assert ubl.headers["content-type"] == "application/xml"
    assert ubl.headers["content-disposition"] == 'attachment; filename="INV-2026-000001.xml"'
    verdict = peppol.validate(ubl.content)
    assert verdict.valid, verdict.fatal
    assert b'<cbc:PayableAmount currencyID="EUR">19.36</cbc:PayableAmount>' in ubl.content

    # A credit note is an e-invoice too.
    await month.platform.billing.credit(month.op, "INV-2026-000001", "card lost", [1])
    note = await acme.get("/api/v1/billing/documents/CN-2026-000001/ubl")
    assert note.status_code == 200, note.text
    assert b"<CreditNote" in note.content
    assert peppol.validate(note.content).valid
    assert "€4.84" in pdf_text(await acme.get("/api/v1/billing/documents/CN-2026-000001/pdf"))


async def test_downloads_are_refused_naming_why(month: Month, clients: Clients) -> None:
    await month.platform.billing.finalise(month.op, month.last_period)
    op = await clients.of(month.op.username)
    globex = await clients.of(month.other.manager.username)
    driver = await clients.of(month.acme.drivers[0].username)

    for number in ("PR-2026-000001", "RS-2026-000001", "SB-2026-000001"):
        body = problem(await op.get(f"/api/v1/billing/documents/{number}/ubl"))
        assert body["field"] == "format", body
        assert "has no e-invoice" in body["detail"]
    # Another organisation's document answers as one that does not exist.
    theirs = problem(await globex.get("/api/v1/billing/documents/INV-2026-000001/pdf"), 404)
    nothing = problem(await globex.get("/api/v1/billing/documents/INV-2099-000001/pdf"), 404)
    assert theirs["title"] == nothing["title"] == "Document not found"
    problem(await globex.get("/api/v1/billing/documents/INV-2026-000001/ubl"), 404)
    problem(await driver.get("/api/v1/billing/documents/PR-2026-000001/pdf"), 404)
    own = await driver.get("/api/v1/billing/documents/RS-2026-000001/pdf")
    assert "€7.32" in pdf_text(own)
    odd = problem(await op.get("/api/v1/billing/documents/invoice-1/pdf"))
    assert odd["field"] == "number"
    async with httpx.AsyncClient(transport=clients.transport, base_url="http://test") as nobody:
        anonymous = await nobody.get("/api/v1/billing/documents/INV-2026-000001/pdf")
    assert anonymous.status_code == 401
