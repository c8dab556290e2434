"""The payments API over HTTP (operators only): SEPA files made and downloaded as the bank takes
them, a payment by hand, a bank statement uploaded, payouts, overdue documents, reminders and
the ledger's checks; refusals are problem details naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.banking.statements import Credit, camt053
from tests.services.billing_world import Month, month
from voltflow.banking.sepa import CREDIT_TRANSFER, DIRECT_DEBIT, validate
from voltflow.bootstrap import Platform
from voltflow.domain.billing.runs import BillingPeriod
from voltflow.web import create_app

__all__ = ["month"]  # the fixture


class Clients:
    def __init__(self, platform: Platform) -> None:
        self.transport = httpx.ASGITransport(app=create_app(platform))
        self.platform = platform
        self.open: list[httpx.AsyncClient] = []

    async def of(self, username: str) -> httpx.AsyncClient:
        key = await self.platform.accounts.create_api_key(username)
        client = httpx.AsyncClient(
            transport=self.transport,
            base_url="http://test",
            headers={"Authorization": f"Bearer {key}"},
        )
        self.open.append(client)
        return client


@pytest.fixture
async def clients(month: Month) -> AsyncIterator[Clients]:
    made = Clients(month.platform)
    try:
        yield made
    finally:
        for client in made.open:
            await client.aclose()


def problem(response: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_sepa_files_payments_and_statements(month: Month, clients: Clients) -> None:
    m = month
    await m.platform.billing.finalise(m.op, BillingPeriod.month(2026, 11))
    op = await clients.of(m.op.username)

    made = await op.post("/api/v1/billing/sepa-files", json={"period": "2026-11"})
    assert made.status_code == 200, made.text
    body = made.json()
    assert [(f["format"], f["message_id"], f["transactions"]) for f in body["files"]] == [
        (DIRECT_DEBIT, "VFDD202611-1", 2),
        (CREDIT_TRANSFER, "VFCT202611-1", 1),
    ]
    assert [(c["number"], c["sequence_type"]) for c in body["collections"]] == [
        ("INV-2026-000001", "FRST"),
        ("PR-2026-000001", "RCUR"),
    ]
    assert body["exceptions"] == []
    for f in body["files"]:
        download = await op.get(f["url"])
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/xml"
        assert f'filename="{f["message_id"]}.xml"' in download.headers["content-disposition"]
        validate(download.content, f["format"])
    listed = await op.get("/api/v1/billing/sepa-files", params={"period": "2026-11"})
    assert [f["id"] for f in listed.json()] == [f["id"] for f in body["files"]]
    problem(await op.get("/api/v1/billing/sepa-files/987654"), 404)

    paid = await op.post(
        "/api/v1/billing/documents/INV-2026-000002/payments",
        json={"amount": "1.42", "reference": "TR-1"},
    )
    assert paid.status_code == 200, paid.text
    assert {k: paid.json()[k] for k in ("state", "paid", "amount_due", "booked")} == {
        "state": "partly_paid",
        "paid": "1.42",
        "amount_due": "1.00",
        "booked": True,
    }
    too_much = await op.post(
        "/api/v1/billing/documents/INV-2026-000002/payments",
        json={"amount": "5.00", "reference": "TR-2"},
    )
    assert problem(too_much)["field"] == "amount"
    problem(
        await op.post(
            "/api/v1/billing/documents/INV-2099-000001/payments",
            json={"amount": "1", "reference": "TR-3"},
        ),
        404,
    )

    request = await m.platform.payments.repo.by_number("PR-2026-000001")
    assert request is not None
    statement = camt053(
        [Credit("B1", Decimal("7.32"), request.payment_reference), Credit("B2", Decimal("1"))]
    )
    imported = await op.post(
        "/api/v1/billing/statements",
        content=statement,
        headers={"content-type": "application/xml"},
    )
    assert imported.status_code == 200, imported.text
    result = imported.json()
    assert [(e["outcome"], e["document"]) for e in result["entries"]] == [
        ("matched", "PR-2026-000001"),
        ("unmatched", None),
    ]
    assert (result["booked"], result["exceptions"]) == (1, 1)
    assert result["entries"][1]["message"] == "no structured reference"
    broken = await op.post(
        "/api/v1/billing/statements", content=b"<Document/>", headers={"content-type": "text/xml"}
    )
    assert problem(broken)["field"] == "file"

    payouts = (await op.get("/api/v1/billing/payouts")).json()
    assert [(p["number"], p["state"]) for p in payouts] == [
        ("SB-2026-000001", "sent"),
        ("RS-2026-000001", "due"),
    ]
    due = (await op.get("/api/v1/billing/payouts", params={"state": "due"})).json()
    assert [p["number"] for p in due] == ["RS-2026-000001"]
    checks = (await op.get("/api/v1/billing/checks")).json()
    assert checks["ok"] is True, checks


async def test_overdue_documents_and_their_reminders(month: Month, clients: Clients) -> None:
    m = month
    billing = m.platform.billing
    billing.settings = replace(billing.settings, payment_days=0)
    await billing.finalise(m.op, BillingPeriod.month(2026, 11))
    m.clock.at = m.clock.at.replace(day=20)
    op = await clients.of(m.op.username)
    late = (await op.get("/api/v1/billing/overdue")).json()
    assert [(o["number"], o["days"], o["level"], o["reminded"]) for o in late] == [
        ("INV-2026-000001", 18, 2, 0),
        ("INV-2026-000002", 18, 2, 0),
        ("PR-2026-000001", 18, 2, 0),
    ]
    sent = (await op.post("/api/v1/billing/reminders")).json()
    assert [(s["number"], s["level"], s["mailed"]) for s in sent] == [
        ("INV-2026-000001", 2, True),
        ("INV-2026-000002", 2, False),  # Globex gave no billing address, its manager no mail
        ("PR-2026-000001", 2, True),
    ]
    assert (await op.post("/api/v1/billing/reminders")).json() == []
    late = (await op.get("/api/v1/billing/overdue")).json()
    assert {o["reminded"] for o in late} == {2}


async def test_only_operators_move_money(month: Month, clients: Clients) -> None:
    m = month
    await m.platform.billing.finalise(m.op, BillingPeriod.month(2026, 11))
    manager = await clients.of(m.acme.manager.username)
    for method, url, kwargs in (
        ("POST", "/api/v1/billing/sepa-files", {"json": {"period": "2026-11"}}),
        ("GET", "/api/v1/billing/sepa-files", {}),
        ("GET", "/api/v1/billing/payouts", {}),
        ("GET", "/api/v1/billing/overdue", {}),
        ("POST", "/api/v1/billing/reminders", {}),
        ("GET", "/api/v1/billing/checks", {}),
        (
            "POST",
            "/api/v1/billing/documents/PR-2026-000001/payments",
            {"json": {"amount": "7.32", "reference": "mine"}},
        ),
        ("POST", "/api/v1/billing/statements", {"content": camt053([])}),
    ):
        response = await manager.request(method, url, **kwargs)
        assert response.status_code == 403, (url, response.text)
    request = await m.platform.payments.repo.by_number("PR-2026-000001")
    assert request is not None and request.paid == 0
