"""The jobs API in process, on both databases: a commissioning from the customer's request to its
end with photos and measurements, a technician's day, problem details naming the field, uploads
refused by type and size, and files and jobs that outsiders cannot reach."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import jobs_support as js
from tests.conftest import make_settings
from voltflow.bootstrap import Platform, build
from voltflow.domain.access import Actor, Permission
from voltflow.web import create_app

KiB = 1024


@dataclass
class Clients:
    platform: Platform
    site: js.Site
    operator: httpx.AsyncClient
    customer: httpx.AsyncClient
    technician: httpx.AsyncClient
    other_installer: httpx.AsyncClient
    stranger: httpx.AsyncClient


async def _clients(platform: Platform) -> AsyncIterator[Clients]:
    s = await js.site(platform)
    transport = httpx.ASGITransport(app=create_app(platform))
    opened: list[httpx.AsyncClient] = []

    async def client(actor: Actor) -> httpx.AsyncClient:
        key = await platform.accounts.create_api_key(actor.username)
        c = httpx.AsyncClient(
            transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {key}"}
        )
        opened.append(c)
        return c

    try:
        yield Clients(
            platform,
            s,
            await client(s.op),
            await client(s.manager),
            await client(s.technician),
            await client(s.other_technician),
            await client(s.stranger),
        )
    finally:
        for c in opened:
            await c.aclose()


@pytest.fixture
async def clients(platform: Platform) -> AsyncIterator[Clients]:
    async for c in _clients(platform):
        yield c


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem.get("field") == field, problem
    return problem


async def _scheduled(c: Clients, kind: str = "commissioning") -> dict[str, Any]:
    s = c.site
    job = ok(
        await c.customer.post("/api/v1/jobs", json={"kind": kind, "station_id": js.STATION}), 201
    )
    ok(
        await c.operator.put(
            f"/api/v1/jobs/{job['id']}/assignment",
            json={
                "installer_organisation_id": s.installer_id,
                "technician_id": s.technician.user_id,
            },
        )
    )
    when = (c.platform.clock.now() + timedelta(days=1)).isoformat()
    scheduled: dict[str, Any] = ok(
        await c.technician.post(
            f"/api/v1/jobs/{job['id']}/steps", json={"step": "schedule", "planned_at": when}
        )
    )
    return scheduled


async def _upload(
    client: httpx.AsyncClient, job_id: int, kind: str, data: bytes, name: str, media: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/jobs/{job_id}/attachments",
        data={"kind": kind},
        files={"file": (name, data, media)},
    )


async def test_a_commissioning_from_request_to_done_through_the_api(clients: Clients) -> None:
    c = clients
    job = await _scheduled(c)
    job_id = job["id"]
    assert job["state"] == "scheduled"
    assert job["organisation_name"] == "Acme"
    assert job["installer_organisation_name"] == "Sparks"
    assert job["technician_name"] == c.site.technician.username
    assert job["steps"] == ["schedule", "start", "cancel"]
    checklist = job["checklist"]
    assert checklist["template_key"] == "commissioning" and not checklist["bound"]

    # The technician's day: tomorrow's jobs, theirs.
    day = (c.platform.jobs.today() + timedelta(days=1)).isoformat()
    mine = ok(await c.technician.get("/api/v1/jobs", params={"mine": "true", "day": day}))
    assert [j["id"] for j in mine["items"]] == [job_id]
    assert (
        ok(await c.technician.get("/api/v1/jobs", params={"mine": "true", "today": "true"}))[
            "total"
        ]
        == 0
    )

    started = ok(await c.technician.post(f"/api/v1/jobs/{job_id}/steps", json={"step": "start"}))
    assert started["state"] == "in_progress" and started["checklist"]["bound"]
    items = {i["key"]: i for i in started["checklist"]["items"]}
    earth = items["earth_resistance"]
    assert (earth["unit"], earth["allowed_min"], earth["allowed_max"]) == ("Ω", "0", "30")
    assert earth["section"] == "electrical" and earth["status"] == "unanswered"

    # A photo from the phone's camera, and a drawn signature.
    photo = ok(
        await _upload(c.technician, job_id, "photo", js.JPEG, "IMG_4711.JPG", "image/jpeg"), 201
    )
    assert photo["media_type"] == "image/jpeg" and photo["file_name"] == "IMG_4711.jpg"
    answered = ok(
        await c.technician.post(
            f"/api/v1/jobs/{job_id}/items/photo_station/answers",
            json={"attachment_id": photo["id"]},
        )
    )
    assert {i["key"]: i for i in answered["checklist"]["items"]}["photo_station"]["status"] == (
        "passed"
    )
    measured = ok(
        await c.technician.post(
            f"/api/v1/jobs/{job_id}/items/insulation_resistance/answers",
            json={"value": "0.85", "unit": "MΩ"},
        )
    )
    insulation = {i["key"]: i for i in measured["checklist"]["items"]}["insulation_resistance"]
    assert insulation["status"] == "failed"
    assert insulation["answer"]["value"] == "0.85"
    corrected = ok(
        await c.technician.post(
            f"/api/v1/jobs/{job_id}/items/insulation_resistance/answers",
            json={"value": 520, "unit": "MΩ", "correction_reason": "station was still connected"},
        )
    )
    insulation = {i["key"]: i for i in corrected["checklist"]["items"]}["insulation_resistance"]
    assert insulation["status"] == "passed"
    assert [a["value"] for a in insulation["earlier"]] == ["0.85"]

    view = await c.platform.jobs.get(c.site.technician, job_id)
    await js.answer_all(c.platform, c.site.technician, view, skip=set())
    done = ok(await c.technician.post(f"/api/v1/jobs/{job_id}/steps", json={"step": "finish"}))
    assert done["state"] == "done"
    assert [h["event"] for h in done["history"]] == [
        "request",
        "assign",
        "schedule",
        "start",
        "finish",
    ]
    assert done["history"][0]["by"] == c.site.manager.username

    # The customer follows it and downloads its photo, as it was uploaded.
    seen = ok(await c.customer.get(f"/api/v1/jobs/{job_id}"))
    assert seen["state"] == "done" and seen["steps"] == []
    got = await c.customer.get(f"/api/v1/jobs/{job_id}/attachments/{photo['id']}")
    assert got.status_code == 200
    assert got.content == js.JPEG
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith('attachment; filename="IMG_4711.jpg"')
    listed = ok(await c.customer.get("/api/v1/jobs", params={"state": ["done", "failed"]}))
    assert [j["id"] for j in listed["items"]] == [job_id]


async def test_problems_name_the_field(clients: Clients) -> None:
    c = clients
    job_id = (await _scheduled(c, "inspection"))["id"]
    url = f"/api/v1/jobs/{job_id}"
    refused(await c.technician.post(f"{url}/steps", json={"step": "finish"}), 422, "step")
    refused(await c.technician.post(f"{url}/steps", json={"step": "leap"}), 422, "step")
    ok(await c.technician.post(f"{url}/steps", json={"step": "start"}))
    answers = f"{url}/items/earth_resistance/answers"
    problem = refused(await c.technician.post(answers, json={"value": 12}), 422, "unit")
    assert "Ω" in problem["detail"]
    refused(await c.technician.post(answers, json={"value": -4, "unit": "Ω"}), 422, "value")
    refused(await c.technician.post(answers, json={"value": 4, "unit": "V"}), 422, "unit")
    refused(await c.technician.post(answers, json={"value": "x", "unit": "Ω"}), 422, "value")
    refused(await c.technician.post(answers, json={"value": 4, "colour": "red"}), 422, "colour")
    ok(await c.technician.post(answers, json={"value": "4.2", "unit": "Ω"}))
    refused(
        await c.technician.post(answers, json={"value": "4.3", "unit": "Ω"}),
        422,
        "correction_reason",
    )
    missing = await c.technician.post(f"{url}/items/no_such_item/answers", json={"passed": True})
    assert missing.status_code == 404
    refused(await c.technician.post(f"{url}/steps", json={"step": "fail"}), 422, "reason")
    refused(await c.customer.post("/api/v1/jobs", json={"kind": "inspection"}), 422, "station_id")
    refused(
        await c.customer.post(
            "/api/v1/jobs",
            json={
                "kind": "installation",
                "site": {"street": "Kerkstraat 1", "postcode": "9000", "city": "Gent"},
            },
        ),
        422,
        "site.model",
    )
    refused(
        await c.operator.put(
            f"{url}/assignment",
            json={"installer_organisation_id": c.site.customer_id, "technician_id": None},
        ),
        422,
        "installer_organisation_id",
    )


async def test_uploads_are_refused_by_what_they_hold(clients: Clients) -> None:
    c = clients
    job_id = (await _scheduled(c))["id"]
    refused(
        await _upload(c.technician, job_id, "photo", js.PDF, "photo.jpg", "image/jpeg"), 422, "file"
    )
    refused(
        await _upload(c.technician, job_id, "document", js.JPEG, "cert.pdf", "application/pdf"),
        422,
        "file",
    )
    refused(
        await _upload(c.technician, job_id, "video", js.JPEG, "a.jpg", "image/jpeg"), 422, "kind"
    )
    heic = ok(await _upload(c.technician, job_id, "photo", js.HEIC, "IMG.HEIC", "image/heic"), 201)
    assert heic["media_type"] == "image/heic"
    pdf = ok(
        await _upload(c.technician, job_id, "document", js.PDF, "keuring.pdf", "application/pdf"),
        201,
    )
    assert pdf["media_type"] == "application/pdf"
    # The customer and other installers add nothing.
    response = await _upload(c.customer, job_id, "photo", js.JPEG, "a.jpg", "image/jpeg")
    assert response.status_code == 403
    response = await _upload(c.other_installer, job_id, "photo", js.JPEG, "a.jpg", "image/jpeg")
    assert response.status_code == 404


@pytest.fixture
async def small_files(database_url: str, tmp_path: Path) -> AsyncIterator[Clients]:
    """A platform that takes files of 64 KiB at most."""
    platform = build(
        make_settings(database_url, files=str(tmp_path / "files"), attachment_max_bytes=64 * KiB)
    )
    await platform.start()
    try:
        async for c in _clients(platform):
            yield c
    finally:
        await platform.stop()


async def test_a_file_over_the_size_limit_is_refused_and_nothing_kept(
    small_files: Clients, tmp_path: Path
) -> None:
    c = small_files
    job_id = (await _scheduled(c))["id"]
    fits = js.JPEG + bytes(64 * KiB - len(js.JPEG))
    ok(await _upload(c.technician, job_id, "photo", fits, "fits.jpg", "image/jpeg"), 201)
    # One byte over: read, and refused naming the file.
    problem = refused(
        await _upload(c.technician, job_id, "photo", fits + b"\0", "big.jpg", "image/jpeg"),
        413,
        "file",
    )
    assert "64 KiB" in problem["detail"]
    # Far over: refused from its length, before anything reads it.
    huge = await _upload(c.technician, job_id, "photo", fits * 4, "huge.jpg", "image/jpeg")
    assert huge.status_code == 413
    assert huge.headers["content-type"] == "application/problem+json"
    job = ok(await c.technician.get(f"/api/v1/jobs/{job_id}"))
    assert [a["file_name"] for a in job["attachments"]] == ["fits.jpg"]
    kept = [p for p in (tmp_path / "files").rglob("*") if p.is_file()]
    assert len(kept) == 1 and kept[0].read_bytes() == fits


async def test_outsiders_find_no_job_and_no_file(clients: Clients) -> None:
    c = clients
    job_id = (await _scheduled(c))["id"]
    ok(await c.technician.post(f"/api/v1/jobs/{job_id}/steps", json={"step": "start"}))
    photo = ok(await _upload(c.technician, job_id, "photo", js.png(), "a.png", "image/png"), 201)
    file_url = f"/api/v1/jobs/{job_id}/attachments/{photo['id']}"
    for outsider in (c.other_installer, c.stranger):
        theirs = await outsider.get(f"/api/v1/jobs/{job_id}")
        nobodys = await outsider.get("/api/v1/jobs/987654321")
        assert theirs.status_code == nobodys.status_code == 404
        assert theirs.json()["title"] == nobodys.json()["title"] == "Job not found"
        assert (await outsider.get(file_url)).status_code == 404
        assert ok(await outsider.get("/api/v1/jobs"))["total"] == 0
        assert (await outsider.get("/api/v1/jobs", params={"station_id": js.STATION})).json()[
            "total"
        ] == 0
    assert (await c.technician.get(f"{file_url[: -len(str(photo['id']))]}987654")).status_code == (
        404
    )
    # The customer reads, and may not work on it.
    assert (await c.customer.get(file_url)).content == js.png()
    start = await c.customer.post(
        f"/api/v1/jobs/{job_id}/items/housing/answers", json={"passed": True}
    )
    assert start.status_code == 403
    waive = await c.technician.post(
        f"/api/v1/jobs/{job_id}/items/housing/waiver", json={"reason": "mine"}
    )
    assert waive.status_code == 403
    # A key without the jobs scope reads none.
    key = await c.platform.accounts.create_api_key(
        c.site.manager.username, scopes=frozenset({Permission.STATIONS_READ})
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(c.platform)),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    ) as narrow:
        assert (await narrow.get(f"/api/v1/jobs/{job_id}")).status_code == 403
        assert ok(await narrow.get("/api/v1/jobs"))["total"] == 0


async def test_the_operator_edits_a_checklist_template(clients: Clients) -> None:
    c = clients
    listed = ok(await c.operator.get("/api/v1/checklist-templates"))
    assert [t["key"] for t in listed] == ["commissioning", "inspection"]
    inspection = ok(
        await c.operator.get(
            "/api/v1/checklist-templates/inspection", headers={"Accept-Language": "nl"}
        )
    )
    assert inspection["title"] == "Periodieke technische keuring"
    document = inspection["document"]
    document.pop("key")
    document["sections"][1]["items"][1]["allowed"] = {"max": "100"}
    edited = ok(await c.operator.put("/api/v1/checklist-templates/inspection", json=document))
    assert edited["version"] == 2
    again = ok(
        await c.operator.get("/api/v1/checklist-templates/inspection", params={"version": 1})
    )
    assert again["document"]["sections"][1]["items"][1]["allowed"] == {"min": "0", "max": "30"}
    document["sections"][1]["items"][1]["unit"] = "parsec"
    refused(
        await c.operator.put("/api/v1/checklist-templates/inspection", json=document),
        422,
        "sections[1].items[1].unit",
    )
    for outsider in (c.technician, c.customer):
        assert (await outsider.get("/api/v1/checklist-templates")).status_code == 403
        assert (
            await outsider.put("/api/v1/checklist-templates/inspection", json=document)
        ).status_code == 403
    missing = await c.operator.get("/api/v1/checklist-templates/nothing")
    assert missing.status_code == 404
