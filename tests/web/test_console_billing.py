"""The billing pages over real HTTP, on both databases: the operator previews a month, is refused
without the confirmation, finalises it in the background while the page polls its progress,
then reads the documents (filtered, one by one with their parties, lines, VAT, annex and mail),
credits an invoice in full or line by line, and reconciles the month. The customer's fleet
manager reads its invoices on its page and downloads them; an employee and a host read the
statements that pay them; another organisation finds none of it."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader

from tests.services.billing_world import HOST, Month, month
from tests.web.conftest import console
from voltflow.domain.billing.records import DocumentFilter
from voltflow.domain.paging import PageRequest
from voltflow.web import create_app

__all__ = ["month"]  # the fixture

HTMX = {"HX-Request": "true"}


@dataclass
class Site:
    month: Month
    app: FastAPI


@pytest.fixture
def site(month: Month) -> Site:
    return Site(month, create_app(month.platform))


@pytest.fixture
async def op(site: Site) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with console(site.app, site.month.op.username, "op-password") as logged_in:
        yield logged_in


def rows(html: str, table: str, attribute: str) -> list[str]:
    """The values of ``attribute`` on the rows of table ``table``, in order."""
    found = re.search(rf'<table[^>]*id="{table}".*?</table>', html, re.S)
    assert found, f"no table {table}"
    return re.findall(rf'<tr {attribute}="([^"]+)"', found.group(0))


def text(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed (non-breaking ones too)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("\xa0", " ").split())


async def finalise(site: Site) -> None:
    await site.month.platform.billing.finalise(site.month.op, site.month.last_period)


# -- the run -------------------------------------------------------------------------------------


async def test_the_operator_previews_then_finalises_a_month(
    site: Site, op: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = op
    page = await client.get("/billing")
    assert page.status_code == 200, page.text
    assert 'value="2026-11"' in page.text  # last month, by the clock
    assert 'id="preview"' not in page.text
    assert ">Acme</option>" in page.text and ">Globex</option>" in page.text

    preview = await client.get("/billing", params={"period": "2026-11"})
    assert preview.status_code == 200, preview.text
    assert rows(preview.text, "preview-summary", "data-kind") == [
        "invoice",
        "payment_request",
        "reimbursement_statement",
        "self_billing",
    ]
    words = text(preview.text)
    assert "Preview of November 2026 5 documents" in words
    assert "Not billed: 2 lines" in words
    assert "Free charging on a whitelist: 1" in words
    assert "An invalid session: never billed: 1" in words
    assert 'id="finalise-form"' in preview.text
    # A preview stores nothing.
    assert (await client.get("/billing/documents")).text.count('data-document="') == 0

    refused = await client.post(
        "/billing/runs", data={"csrf_token": csrf, "period": "2026-11", "organisation_id": ""}
    )
    assert refused.status_code == 422
    assert 'id="run-confirm-error">tick this box' in refused.text
    assert 'id="preview"' in refused.text  # the preview again, the error next to its box
    no_csrf = await client.post("/billing/runs", data={"period": "2026-11", "confirm": "yes"})
    assert no_csrf.status_code == 403

    started = await client.post(
        "/billing/runs",
        data={"csrf_token": csrf, "period": "2026-11", "organisation_id": "", "confirm": "yes"},
        headers=HTMX,
    )
    assert started.status_code == 200, started.text
    poll = re.search(r'hx-get="(/billing/runs/[^"]+)"', started.text)
    done = re.search(r'id="run-done"', started.text)
    assert poll or done, started.text
    fragment = started.text
    async with asyncio.timeout(30):
        while poll and 'id="run-done"' not in fragment:
            await asyncio.sleep(0.05)
            answer = await client.get(poll.group(1), headers=HTMX)
            assert answer.status_code == 200, answer.text
            fragment = answer.text
            assert 'id="run-error"' not in fragment, fragment
    assert "November 2026: 5 documents issued." in text(fragment)
    assert "/billing/documents?period=2026-11" in fragment
    if poll:
        # Without htmx, the same progress is a page of its own.
        whole = await client.get(poll.group(1))
        assert whole.status_code == 200 and "<h1>Billing run</h1>" in whole.text

    listed = await client.get("/billing/documents")
    assert rows(listed.text, "documents-table", "data-document") == [
        "SB-2026-000001",
        "RS-2026-000001",
        "PR-2026-000001",
        "INV-2026-000002",
        "INV-2026-000001",
    ]
    # Run again: nothing is billed twice.
    again = await client.get("/billing", params={"period": "2026-11"})
    assert "Nothing to bill for this month" in again.text
    assert 'id="finalise-form"' not in again.text


async def test_a_run_is_refused_next_to_what_is_wrong(
    site: Site, op: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = op
    bad = await client.get("/billing", params={"period": "2026-13"})
    assert bad.status_code == 422
    assert 'id="run-period-error">a month, e.g. 2026-11' in bad.text
    nobody = await client.get("/billing", params={"period": "2026-11", "organisation_id": "98765"})
    assert nobody.status_code == 422
    assert 'id="run-organisation_id-error">customer: no customer organisation 98765' in nobody.text

    # December is not over (the clock says the 2nd): previewed, never finalised.
    current = await client.get("/billing", params={"period": "2026-12"})
    assert current.status_code == 200
    assert 'id="not-finalisable"' in current.text and 'id="finalise-form"' not in current.text
    early = await client.post(
        "/billing/runs",
        data={"csrf_token": csrf, "period": "2026-12", "confirm": "yes"},
        headers=HTMX,
    )
    assert early.status_code == 422
    assert "2026-12 has not ended yet" in early.text
    issued = await site.month.platform.billing.documents(
        site.month.op, DocumentFilter(), PageRequest()
    )
    assert issued.total == 0


# -- the documents ---------------------------------------------------------------------------------


async def test_the_documents_list_filters(site: Site, op: tuple[httpx.AsyncClient, str]) -> None:
    client, _csrf = op
    empty = await client.get("/billing/documents")
    assert "No documents yet: preview last month" in text(empty.text)
    await finalise(site)
    acme = site.month.acme.id

    async def numbers(**params: Any) -> list[str]:
        answer = await client.get("/billing/documents", params=params)
        assert answer.status_code == 200, answer.text
        if 'id="documents-table"' not in answer.text:
            assert "No documents match these filters." in answer.text
            return []
        return rows(answer.text, "documents-table", "data-document")

    assert await numbers(kind="payment_request") == ["PR-2026-000001"]
    assert await numbers(organisation_id=acme) == [
        "RS-2026-000001",
        "PR-2026-000001",
        "INV-2026-000001",
    ]
    assert await numbers(period="2026-10") == []
    assert len(await numbers(period="2026-11", state="issued")) == 5
    assert await numbers(kind="credit_note") == []
    bad = await client.get("/billing/documents", params={"period": "november"})
    assert bad.status_code == 422 and 'id="filter-period-error"' in bad.text


async def test_a_documents_page_shows_what_it_bills_and_its_mail(
    site: Site, op: tuple[httpx.AsyncClient, str]
) -> None:
    client, _csrf = op
    await finalise(site)
    page = await client.get("/billing/documents/INV-2026-000001")
    assert page.status_code == 200, page.text
    words = text(page.text)
    assert "Invoice INV-2026-000001" in words
    assert "Voltflow Operations NV" in words and "Kunstlaan 1" in words
    assert "BE0403170701" in words and "0208:0403170701" in words
    assert "Structured reference +++126/0000/00171+++" in words
    assert "collected under mandate ACME-2026" in words
    assert rows(page.text, "lines-table", "data-line") == ["1", "2"]
    assert "Standard rate 21 % €16.00 €3.36" in words
    assert "To pay €19.36" in words
    assert rows(page.text, "annex-table", "data-session") == [str(site.month.sessions["public"])]
    assert 'href="/billing/documents/INV-2026-000001/pdf"' in page.text
    assert 'href="/billing/documents/INV-2026-000001/ubl"' in page.text
    assert rows(page.text, "mail-table", "data-mail")  # to its billing address
    assert "billing@acme.example" in words
    assert 'id="credit-form"' in page.text

    request = await client.get("/billing/documents/PR-2026-000001")
    words = text(request.text)
    assert "Payment request PR-2026-000001" in words
    assert "No VAT: the employees sell this electricity" in words
    assert "/ubl" not in request.text  # not an e-invoice
    assert 'id="credit-form"' not in request.text
    assert len(rows(request.text, "annex-table", "data-session")) == 2

    statement = await client.get("/billing/documents/SB-2026-000001")
    assert "To be paid to you €3.03" in text(statement.text)
    # Hilde has an address: her statement is mailed to her.
    assert "hilde@home.example" in text(statement.text)

    missing = await client.get("/billing/documents/INV-2099-000001")
    assert missing.status_code == 404
    odd = await client.get("/billing/documents/not-a-number")
    assert odd.status_code == 404


async def test_an_invoice_is_credited_whole_or_by_line(
    site: Site, op: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = op
    await finalise(site)
    url = "/billing/documents/INV-2026-000001/credit"
    no_reason = await client.post(url, data={"csrf_token": csrf, "scope": "all", "reason": " "})
    assert no_reason.status_code == 422
    assert 'id="credit-reason-error">required' in no_reason.text
    no_lines = await client.post(
        url, data={"csrf_token": csrf, "scope": "lines", "reason": "card lost"}
    )
    assert no_lines.status_code == 422
    assert 'id="credit-scope-error">tick the lines to credit' in no_lines.text
    wrong_line = await client.post(
        url, data={"csrf_token": csrf, "scope": "lines", "lines": "7", "reason": "card lost"}
    )
    assert wrong_line.status_code == 422
    assert "each of 1 to 2 at most once" in wrong_line.text

    made = await client.post(
        url, data={"csrf_token": csrf, "scope": "lines", "lines": "2", "reason": "card lost"}
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/billing/documents/CN-2026-000001"
    note = await client.get(made.headers["location"])
    words = text(note.text)
    assert "CN-2026-000001 credits INV-2026-000001: €14.52." in words  # the flash
    assert "Corrects INV-2026-000001" in words and "Reason card lost" in words
    assert "Credited €14.52" in words
    assert 'href="/billing/documents/INV-2026-000001"' in note.text

    invoice = await client.get("/billing/documents/INV-2026-000001")
    assert rows(invoice.text, "credit-notes-table", "data-document") == ["CN-2026-000001"]
    assert re.search(r'data-line="2">.*?credited', invoice.text, re.S)
    assert 'name="lines" value="2"' not in invoice.text  # offered once only
    again = await client.post(
        url, data={"csrf_token": csrf, "scope": "lines", "lines": "2", "reason": "again"}
    )
    assert again.status_code == 422 and "credited already" in again.text

    rest = await client.post(url, data={"csrf_token": csrf, "scope": "all", "reason": "closed"})
    assert rest.status_code == 303
    assert rest.headers["location"] == "/billing/documents/CN-2026-000002"
    invoice = await client.get("/billing/documents/INV-2026-000001")
    assert 'id="credit-form"' not in invoice.text  # nothing left to credit
    request = await client.post(
        "/billing/documents/PR-2026-000001/credit",
        data={"csrf_token": csrf, "scope": "all", "reason": "no"},
    )
    assert request.status_code == 422 and "only invoices are credited" in request.text


async def test_the_reconciliation_of_a_month(site: Site, op: tuple[httpx.AsyncClient, str]) -> None:
    client, _csrf = op
    before = await client.get("/billing/reconciliation")
    assert before.status_code == 200
    assert "Nothing was issued for November 2026" in text(before.text)
    await finalise(site)
    after = await client.get("/billing/reconciliation", params={"period": "2026-11"})
    assert after.status_code == 200
    assert 'id="reconciliation-verdict">reconciles' in after.text
    assert "Invoice: 2" in text(after.text) and "Payment request: 1" in text(after.text)
    checks = rows(after.text, "checks", "data-check")
    assert "receivables" in checks and "host remuneration" in checks
    assert "differs" not in after.text
    bad = await client.get("/billing/reconciliation", params={"period": "2026-1"})
    assert bad.status_code == 422 and 'id="reconcile-period-error"' in bad.text


# -- downloads -------------------------------------------------------------------------------------


async def test_the_console_downloads_a_pdf_and_an_e_invoice(
    site: Site, op: tuple[httpx.AsyncClient, str]
) -> None:
    client, _csrf = op
    await finalise(site)
    pdf = await client.get("/billing/documents/INV-2026-000001/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert 'filename="INV-2026-000001.pdf"' in pdf.headers["content-disposition"]
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "INV-2026-000001" in words and "19.36" in words
    ubl = await client.get("/billing/documents/INV-2026-000001/ubl")
    assert ubl.status_code == 200, ubl.text
    assert ubl.headers["content-type"] == "application/xml"
    assert b"<cbc:ID>INV-2026-000001</cbc:ID>" in ubl.content
    none = await client.get("/billing/documents/RS-2026-000001/ubl")
    assert none.status_code == 422 and "has no e-invoice" in none.text


# -- the customer's side ---------------------------------------------------------------------------


async def test_the_fleet_manager_reads_its_invoices_and_nothing_else(site: Site) -> None:
    m = site.month
    async with console(site.app, m.acme.manager.username, "manager-pass") as (client, csrf):
        empty = await client.get(f"/customers/{m.acme.id}")
        assert 'id="invoices"' in empty.text
        assert "No invoices yet: each month's invoice" in text(empty.text)
        await finalise(site)
        page = await client.get(f"/customers/{m.acme.id}")
        assert rows(page.text, "customer-documents", "data-document") == [
            "RS-2026-000001",
            "PR-2026-000001",
            "INV-2026-000001",
        ]
        assert 'href="/billing/documents/INV-2026-000001/ubl"' in page.text
        invoice = await client.get("/billing/documents/INV-2026-000001")
        assert invoice.status_code == 200
        assert 'id="credit-form"' not in invoice.text and 'id="mail"' not in invoice.text
        assert f'href="/customers/{m.acme.id}#invoices"' in invoice.text
        pdf = await client.get("/billing/documents/INV-2026-000001/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        for path in ("/billing", "/billing/documents", "/billing/reconciliation"):
            assert (await client.get(path)).status_code == 403, path
        credit = await client.post(
            "/billing/documents/INV-2026-000001/credit",
            data={"csrf_token": csrf, "scope": "all", "reason": "please"},
        )
        assert credit.status_code == 403
        run = await client.post(
            "/billing/runs", data={"csrf_token": csrf, "period": "2026-11", "confirm": "yes"}
        )
        assert run.status_code == 403
        # Globex's invoice is not found, as one that does not exist.
        for path in (
            "/billing/documents/INV-2026-000002",
            "/billing/documents/INV-2026-000002/pdf",
            "/billing/documents/INV-2026-000002/ubl",
        ):
            assert (await client.get(path)).status_code == 404, path
        assert "Billing" not in re.findall(r"<nav[^>]*>(.*?)</nav>", page.text, re.S)[0]

    async with console(site.app, m.other.manager.username, "manager-pass") as (client, _csrf):
        assert (await client.get(f"/customers/{m.acme.id}")).status_code == 404
        for number in ("INV-2026-000001", "PR-2026-000001", "RS-2026-000001"):
            assert (await client.get(f"/billing/documents/{number}")).status_code == 404
        own = await client.get(f"/customers/{m.other.id}")
        assert rows(own.text, "customer-documents", "data-document") == ["INV-2026-000002"]


async def test_an_employee_and_a_host_read_their_statements(site: Site) -> None:
    m = site.month
    await finalise(site)
    employee = m.acme.drivers[0].username
    async with console(site.app, employee, "driver-pass", "nl") as (client, _csrf):
        page = await client.get("/my/statements")
        assert page.status_code == 200
        assert '<a href="/my/statements" aria-current="page">Mijn afrekeningen</a>' in page.text
        assert re.findall(r'<li data-document="([^"]+)"', page.text) == ["RS-2026-000001"]
        words = text(page.text)
        assert "November 2026" in words and "€ 7,32" in words
        assert "Terugbetalingsafrekening" in words
        statement = await client.get("/billing/documents/RS-2026-000001")
        assert statement.status_code == 200
        assert 'href="/my/statements"' in statement.text
        pdf = await client.get("/billing/documents/RS-2026-000001/pdf")
        assert pdf.status_code == 200
        for number in ("PR-2026-000001", "INV-2026-000001", "SB-2026-000001"):
            assert (await client.get(f"/billing/documents/{number}")).status_code == 404
    async with console(site.app, m.acme.drivers[1].username, "driver-pass") as (client, _csrf):
        page = await client.get("/my/statements")
        assert "No statements yet: once your employer's month has been billed" in text(page.text)
    async with console(site.app, HOST, "host-password", "fr") as (client, _csrf):
        page = await client.get("/my/statements")
        assert re.findall(r'<li data-document="([^"]+)"', page.text) == ["SB-2026-000001"]
        assert "Relevé d'autofacturation" in text(page.text).replace("&#39;", "'")
        assert "3,03 €" in text(page.text) or "€ 3,03" in text(page.text)
