"""Every text a request carries has a longest length, refused with the field named, and a search
matches what was typed, LIKE's wildcards included, on both databases."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests import factories
from voltflow.bootstrap import Platform
from voltflow.web import create_app

LONG = "x" * 60_000
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Clients:
    platform: Platform
    api: httpx.AsyncClient  # the operator's key
    console: httpx.AsyncClient  # the operator, logged in
    csrf: str


@pytest.fixture
async def clients(platform: Platform) -> AsyncIterator[Clients]:
    op = await factories.operator(platform)
    key = await platform.accounts.create_api_key(op.username)
    transport = httpx.ASGITransport(app=create_app(platform))
    async with (
        httpx.AsyncClient(
            transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {key}"}
        ) as api,
        httpx.AsyncClient(transport=transport, base_url="http://test") as console,
    ):
        page = await console.get("/login")
        found = CSRF_INPUT.search(page.text)
        assert found, page.text
        login = {"username": op.username, "password": "op-password", "csrf_token": found.group(1)}
        assert (await console.post("/login", data=login)).status_code == 303
        page = await console.get("/customers")
        token = CSRF_INPUT.search(page.text)
        assert token, page.text
        yield Clients(platform, api, console, token.group(1))


# -- the OpenAPI document: no text without a longest length ----------------------------------------


def _strings(schema: Any, components: dict[str, Any], path: str, seen: set[str]) -> Iterator[str]:
    """Where ``schema`` takes a string without ``maxLength`` (nor an enum, a format that bounds it,
    or a pattern anchored to a bounded length)."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            yield from _strings(components[name], components, f"{path}→{name}", seen | {name})
        return
    if schema.get("type") == "string" and not (
        "maxLength" in schema
        or "enum" in schema
        or "const" in schema
        or schema.get("format") in ("date", "date-time", "binary", "decimal", "uuid")
        or _bounded_pattern(schema.get("pattern"))
    ):
        yield path
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, []):
            yield from _strings(sub, components, path, seen)
    if "items" in schema:
        yield from _strings(schema["items"], components, f"{path}[]", seen)
    for name, sub in (schema.get("properties") or {}).items():
        yield from _strings(sub, components, f"{path}.{name}", seen)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _strings(extra, components, f"{path}.*", seen)


def _bounded_pattern(pattern: object) -> bool:
    """A whole-value pattern without repetition, such as ``^(Accepted|Pending)$``."""
    return (
        isinstance(pattern, str)
        and pattern.startswith("^")
        and pattern.endswith("$")
        and not any(c in pattern for c in "*+{")
    )


def unbounded_inputs(document: dict[str, Any]) -> list[str]:
    components = document.get("components", {}).get("schemas", {})
    found: list[str] = []
    for route, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {route}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header":
                    continue  # bounded by the HTTP server's limit on a request's header block
                found += _strings(
                    parameter.get("schema"),
                    components,
                    f"{where} {parameter['in']} {parameter['name']}",
                    set(),
                )
            content = (operation.get("requestBody") or {}).get("content", {})
            for media, body in content.items():
                found += _strings(body.get("schema"), components, f"{where} body ({media})", set())
    return found


def test_every_text_input_of_the_api_has_a_longest_length(platform: Platform) -> None:
    """Walks the OpenAPI document: every string a route takes, in its path, query or body, has a
    maxLength, so that a route added later cannot forget it."""
    document = create_app(platform).openapi()
    assert len(document["paths"]) > 20
    missing = unbounded_inputs(document)
    assert not missing, "strings without maxLength (see web/schemas.py):\n" + "\n".join(missing)


def test_the_walk_finds_an_unbounded_string() -> None:
    """The check above is no check if the walk finds nothing: a body and a query parameter without
    a maxLength are reported, through references and lists."""
    document = {
        "paths": {
            "/x": {
                "get": {
                    "parameters": [
                        {"in": "query", "name": "q", "schema": {"type": "string"}},
                        {
                            "in": "query",
                            "name": "p",
                            "schema": {"type": "string", "pattern": "^a+$"},
                        },
                        {
                            "in": "query",
                            "name": "r",
                            "schema": {"type": "string", "pattern": "^(a|b)$"},
                        },
                    ]
                },
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/c/Body"}}}
                    }
                },
            }
        },
        "components": {
            "schemas": {
                "Body": {
                    "properties": {
                        "ok": {"type": "string", "maxLength": 5},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    }
                }
            }
        },
    }
    assert unbounded_inputs(document) == [
        "GET /x query q",
        "GET /x query p",
        "POST /x body (application/json)→Body.tags[]",
    ]


# -- long searches: refused, naming the field ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cards?q={}",
        "/api/v1/organisations?q={}",
        "/api/v1/stations?q={}",
        "/api/v1/lists?station_id={}",
        "/api/v1/sessions?id_tag={}",
        "/api/v1/audit?entity={}",
    ],
)
async def test_a_60000_character_search_is_refused_by_the_api(clients: Clients, url: str) -> None:
    response = await clients.api.get(url.format(LONG))
    assert response.status_code == 422, response.text[:300]
    problem = response.json()
    assert problem["field"] == url.split("?")[1].split("=")[0]
    assert "at most" in problem["detail"]


async def test_a_60000_character_search_is_refused_by_the_console(clients: Clients) -> None:
    org = await clients.api.post("/api/v1/organisations", json={"name": "Acme", "kind": "company"})
    for url in ("/cards", "/customers", f"/customers/{org.json()['id']}", "/lists", "/stations"):
        name = "station_id" if url == "/lists" else "q"
        response = await clients.console.get(url, params={name: LONG})
        assert response.status_code == 422, (url, response.text[:300])
        assert re.search(rf"{name}: (String should have )?at most \d+ characters", response.text), (
            response.text[-2000:]
        )
        assert LONG not in response.text


async def test_over_long_fields_are_refused(clients: Clients) -> None:
    org = await clients.api.post("/api/v1/organisations", json={"name": "Acme", "kind": "company"})
    org_id = org.json()["id"]
    api_calls = [
        ("/api/v1/organisations", {"name": LONG, "kind": "company"}, "name"),
        (
            f"/api/v1/organisations/{org_id}/people",
            {"username": LONG, "role": "driver"},
            "username",
        ),
        ("/api/v1/cards/actions", {"action": "block", "uids": [LONG]}, "uids.0"),
        (
            "/api/v1/station-groups",
            {"organisation_id": org_id, "name": "G", "station_ids": [LONG]},
            "station_ids.0",
        ),
    ]
    for url, body, field in api_calls:
        response = await clients.api.post(url, json=body)
        assert response.status_code == 422, (url, response.text[:300])
        assert response.json()["field"] == field
    console_calls = [
        ("/customers", {"name": LONG, "kind": "company"}, "name"),
        (
            f"/customers/{org_id}/people",
            {"username": "ann", "role": "driver", "email": LONG},
            "email",
        ),
        ("/lists", {"kind": "whitelist", "name": LONG, "target": ""}, "name"),
        ("/cards/actions", {"action": "block", "uids": [LONG]}, "uids.0"),
    ]
    for url, form, field in console_calls:
        response = await clients.console.post(url, data={**form, "csrf_token": clients.csrf})
        assert response.status_code == 422, (url, response.text[:300])
        assert f"{field}: " in response.text, response.text[-2000:]
    names = (await clients.api.get("/api/v1/organisations")).json()
    assert sorted(o["name"] for o in names["items"]) == ["Acme", "Operator"]


# -- % and _ are what they are ------------------------------------------------------------------


async def test_percent_and_underscore_are_searched_literally(clients: Clients) -> None:
    op = clients.api
    for name in ("100% Green", "1000 Green", "Blue_Sky", "BlueXSky", "Back\\slash"):
        made = await op.post("/api/v1/organisations", json={"name": name, "kind": "company"})
        assert made.status_code == 201, made.text

    async def found(q: str) -> list[str]:
        page = (await op.get("/api/v1/organisations", params={"q": q})).json()
        return sorted(o["name"] for o in page["items"])

    assert await found("100%") == ["100% Green"]
    assert await found("0%") == ["100% Green"]
    assert await found("e_S") == ["Blue_Sky"]
    assert await found("%") == ["100% Green"]
    assert await found("_") == ["Blue_Sky"]
    assert await found("k\\s") == ["Back\\slash"]
    assert await found("green") == ["100% Green", "1000 Green"]

    acme = (await op.get("/api/v1/organisations", params={"q": "Blue_"})).json()["items"][0]
    for username in ("ann_b", "annxb"):
        added = await op.post(
            f"/api/v1/organisations/{acme['id']}/people",
            json={"username": username, "role": "driver"},
        )
        assert added.status_code == 201, added.text
    people = await op.get(f"/api/v1/organisations/{acme['id']}/people", params={"q": "n_b"})
    assert [p["username"] for p in people.json()["items"]] == ["ann_b"]

    for station_id in ("CP_1", "CPX1"):
        await clients.platform.stations.add(station_id, "station-pass-0001")
    stations = (await op.get("/api/v1/stations", params={"q": "p_1"})).json()
    assert [s["id"] for s in stations["items"]] == ["CP_1"]

    csv = "uid,printed_number\nA1B2C3D4,PN-1\n"
    assert (
        await op.post("/api/v1/cards/import", content=csv, headers={"content-type": "text/csv"})
    ).status_code == 201
    for q, expected in (("a1b2", ["A1B2C3D4"]), ("%", []), ("_", []), ("pn-1", ["A1B2C3D4"])):
        page = (await op.get("/api/v1/cards", params={"q": q})).json()
        assert [c["uid"] for c in page["items"]] == expected, q
