"""The API answers in the language of Accept-Language, English when it names none we speak."""

from __future__ import annotations

import httpx


async def test_a_validation_error_in_french(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/stations", json={"id": "x" * 65}, headers={"Accept-Language": "fr-BE"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["title"] == "Requête non valable"
    assert body["field"] == "id"
    assert body["errors"][0]["message"] == "au plus 64 caractères"
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_validation_error_in_dutch(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/stations", json={"id": 42}, headers={"Accept-Language": "nl-BE,nl;q=0.9"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["title"] == "Ongeldige aanvraag"
    assert body["errors"][0]["message"] == "tekst"


async def test_an_unknown_language_gets_english(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/stations", json={"id": 42}, headers={"Accept-Language": "xx-YY"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["title"] == "Invalid request"
    assert body["errors"][0]["message"] == "text"


async def test_not_found_in_french(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/stations/CP-NONE", headers={"Accept-Language": "fr"})
    assert response.status_code == 404
    assert response.json()["title"] == "Borne introuvable"
    assert response.json()["detail"] == "aucune borne CP-NONE"
