"""``POST /api/v1/devices/{id}/sessions``: an external device's sessions as CSV or JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx

from tests.factories import stock_csv
from voltflow.bootstrap import Platform
from voltflow.domain.access import OrganisationKind
from voltflow.domain.contracts import ContractKind
from voltflow.domain.licences import DeviceKind, FixedRate


async def _cable(platform: Platform) -> str:
    op = await platform.accounts.actor((await platform.accounts.find("op")).id)  # type: ignore[union-attr]
    assert op is not None
    org = await platform.organisations.create(op, "Acme", OrganisationKind.COMPANY)
    await platform.contracts.create(op, org.id, ContractKind.EMSP, starts_on=date(2026, 1, 1))
    uids = await platform.cards.import_csv(op, stock_csv(1))
    await platform.cards.distribute(op, uids, org.id)
    await platform.licences.add(
        op,
        "NRG-1",
        uids,
        FixedRate(Decimal("0.6654")),
        employer_id=org.id,
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        device_kind=DeviceKind.CABLE,
    )
    return uids[0]


async def test_sessions_in_csv_and_json(api: httpx.AsyncClient, platform: Platform) -> None:
    uid = await _cable(platform)
    csv_body = (
        "started_at,stopped_at,energy_wh,card_uid\n"
        f"2026-11-10T14:50:16+01:00,2026-11-10T15:05:18+01:00,3667,{uid}\n"
    )
    answer = await api.post(
        "/api/v1/devices/NRG-1/sessions", content=csv_body, headers={"content-type": "text/csv"}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["imported"], body["already_stored"]) == (1, 0)
    assert body["sessions"][0]["session_type"] == "split_billing"
    assert body["sessions"][0]["id"].startswith("device-")
    # Its reimbursement, decided and stored with it: 3.667 kWh at €0.6654/kWh, no VAT.
    reimbursement = body["sessions"][0]["reimbursement"]
    assert reimbursement["basis"] == "licence_rate" and reimbursement["licence_id"] == 1
    assert (reimbursement["rate"], reimbursement["rate_source"]) == ("0.6654", "fixed")
    assert (reimbursement["amount"], reimbursement["currency"], body["reimbursed"]) == (
        "2.44",
        "EUR",
        "2.44",
    )
    again = await api.post(
        "/api/v1/devices/NRG-1/sessions", content=csv_body, headers={"content-type": "text/csv"}
    )
    assert (again.json()["imported"], again.json()["already_stored"]) == (0, 1)

    sessions = [
        {
            "started_at": "2026-11-11T07:30:37+01:00",
            "stopped_at": "2026-11-11T07:50:39+01:00",
            "kwh": "7.334",
            "card_uid": uid,
        },
        {
            "started_at": "2026-11-12T07:30:37+01:00",
            "stopped_at": "2026-11-12T07:50:39+01:00",
            "kwh": "-1",
            "card_uid": uid,
        },
    ]
    refused = await api.post("/api/v1/devices/NRG-1/sessions", json=sessions)
    assert refused.status_code == 422
    problem = refused.json()
    assert (problem["row"], problem["field"]) == (2, "kwh")
    assert problem["problems"] == [{"row": 2, "column": "kwh", "message": "negative energy"}]
    accepted = await api.post("/api/v1/devices/NRG-1/sessions", json=sessions[:1])
    assert accepted.status_code == 201
    assert accepted.json()["sessions"][0]["energy_wh"] == 7334
    assert accepted.json()["sessions"][0]["reimbursement"]["amount"] == "4.88"


async def test_an_unknown_device(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/api/v1/devices/NOPE/sessions",
        content=json.dumps([]),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 404
    assert answer.json()["detail"] == "no external device NOPE"
