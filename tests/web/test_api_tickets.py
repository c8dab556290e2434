"""``/api/v1/tickets``: the list by age with its filters, a ticket's detail, acknowledging and
closing with a note; and ``PUT /api/v1/stations/{id}/installer``."""

from __future__ import annotations

import asyncio

import httpx

from tests import factories
from voltflow.bootstrap import Platform
from voltflow.domain.access import OrganisationKind
from voltflow.domain.stations import ConnectorRef
from voltflow.web import create_app

KEY = "ticket-station-key-01"


async def _published(platform: Platform) -> None:
    for _ in range(200):
        if not await platform.outbox.unpublished(1):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the relay never published the outbox")


async def _faulted(platform: Platform, station: str, connector: int = 1) -> None:
    await platform.events.status(
        station,
        ConnectorRef.from_ocpp16(connector),
        "Faulted",
        "GroundFailure",
        info="relay stuck",
        vendor_error_code="E-42",
        timestamp=None,
    )


async def test_the_operators_list_and_an_installers(
    api: httpx.AsyncClient, platform: Platform
) -> None:
    await platform.monitoring.stop()  # the remedies are not what this test is about
    op_user = await platform.accounts.find("op")
    assert op_user is not None
    op = await platform.accounts.actor(op_user.id)
    assert op is not None
    fixit = await factories.company(platform, op, "Fixit", kind=OrganisationKind.INSTALLER)
    for station in ("CP-1", "CP-2"):
        await platform.stations.add(station, KEY)
    answer = await api.put("/api/v1/stations/CP-1/installer", json={"organisation_id": fixit.id})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"station_id": "CP-1", "installer_id": fixit.id}
    station = await api.get("/api/v1/stations/CP-1")
    assert station.json()["installer_id"] == fixit.id
    await _faulted(platform, "CP-1")
    await platform.events.firmware_status("CP-2", "InstallationFailed")
    await _published(platform)

    listed = await api.get("/api/v1/tickets")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == 2
    first, second = body["items"]
    assert (first["station_id"], first["rule"], second["rule"]) == (
        "CP-1",
        "connector_faulted",
        "firmware_failed",
    )
    assert first["summary"] == "Connector faulted: connector 1 (GroundFailure, E-42)"
    assert (first["connector"], first["state"], first["priority"]) == (1, "remedying", "high")
    assert (first["installer_id"], second["installer_id"]) == (fixit.id, None)
    assert first["occurrences"] == 1 and first["overdue"] is False
    assert first["age_seconds"] >= 0
    assert second["summary"] == "Firmware update failed (InstallationFailed)"
    # Filters; in Dutch, the titles.
    for query, ids in (
        ({"station_id": "CP-2"}, [second["id"]]),
        ({"rule": "connector_faulted"}, [first["id"]]),
        ({"priority": "normal"}, [second["id"]]),
        ({"installer_id": fixit.id}, [first["id"]]),
        ({"state": "open"}, [second["id"]]),
        ({"state": "closed"}, []),
        ({"overdue": "true"}, []),
        ({"limit": 1, "offset": 1}, [second["id"]]),
    ):
        found = await api.get("/api/v1/tickets", params=query)
        assert [t["id"] for t in found.json()["items"]] == ids, (query, found.text)
    dutch = await api.get("/api/v1/tickets", headers={"Accept-Language": "nl"})
    assert dutch.json()["items"][1]["title"] == "Firmware-update mislukt"

    # The installer sees its station's ticket once it is theirs: while the platform tries its
    # remedies it is the platform's; the operator may take it up meanwhile, and it goes on.
    key = await platform.accounts.create_api_key(fixit.manager.username)
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {key}"}
    ) as installer:
        assert (await installer.get("/api/v1/tickets")).json()["total"] == 0
        assert (await installer.get(f"/api/v1/tickets/{first['id']}")).status_code == 404
        taken = await api.post(
            f"/api/v1/tickets/{first['id']}/acknowledge", json={"note": "on my way"}
        )
        assert taken.status_code == 200, taken.text
        assert (taken.json()["state"], taken.json()["acknowledge_note"]) == (
            "acknowledged",
            "on my way",
        )
        mine = (await installer.get("/api/v1/tickets")).json()
        assert [t["id"] for t in mine["items"]] == [first["id"]]
        assert (await installer.get(f"/api/v1/tickets/{second['id']}")).status_code == 404
        again = await installer.post(f"/api/v1/tickets/{first['id']}/acknowledge")
        assert again.status_code == 422
        assert again.json()["field"] == "state"
        assert again.json()["detail"] == "the ticket is acknowledged already"
        no_note = await installer.post(f"/api/v1/tickets/{first['id']}/close", json={})
        assert no_note.status_code == 422 and no_note.json()["field"] == "note"
        done = await installer.post(
            f"/api/v1/tickets/{first['id']}/close", json={"note": "contactor replaced"}
        )
        assert done.status_code == 200, done.text
        assert (done.json()["state"], done.json()["close_reason"]) == ("closed", "resolved")
        refused = await installer.put(
            "/api/v1/stations/CP-1/installer", json={"organisation_id": None}
        )
        assert refused.status_code == 403

    detail = (await api.get(f"/api/v1/tickets/{first['id']}")).json()
    assert detail["closed_by"] == fixit.manager.username
    assert detail["close_note"] == "contactor replaced"
    assert [o["vendor_error_code"] for o in detail["occurrence_list"]] == ["E-42"]
    assert detail["remedies"] == []
    assert (await api.get("/api/v1/tickets/987654")).status_code == 404


async def test_bad_input_names_the_field(api: httpx.AsyncClient, platform: Platform) -> None:
    op_user = await platform.accounts.find("op")
    assert op_user is not None
    op = await platform.accounts.actor(op_user.id)
    assert op is not None
    acme = await factories.company(platform, op, "Acme", drivers=0)
    await platform.stations.add("CP-1", KEY)
    for body, field in (
        ({"organisation_id": acme.id}, "organisation_id"),
        ({"organisation_id": 0}, "organisation_id"),
        ({}, "organisation_id"),
    ):
        answer = await api.put("/api/v1/stations/CP-1/installer", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == field
    missing = await api.put("/api/v1/stations/CP-NONE/installer", json={"organisation_id": None})
    assert missing.status_code == 404
    for query, field in (
        ({"state": "lost"}, "state"),
        ({"rule": "bored"}, "rule"),
        ({"installer_id": 0}, "installer_id"),
    ):
        answer = await api.get("/api/v1/tickets", params=query)
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == field
    long_note = await api.post("/api/v1/tickets/1/close", json={"note": "x" * 2001})
    assert long_note.status_code == 422 and long_note.json()["field"] == "note"
