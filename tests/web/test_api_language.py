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


STOCK = "uid,printed_number\n04A1B2C3,VF-0001\n"


async def test_a_service_refusal_in_french_and_in_english(api: httpx.AsyncClient) -> None:
    """A card in stock cannot be blocked: the service's refusal, and the domain rule behind it,
    in the language asked for; the field keeps its machine name."""
    imported = await api.post(
        "/api/v1/cards/import", content=STOCK, headers={"content-type": "text/csv"}
    )
    assert imported.status_code == 201, imported.text
    block = {"action": "block", "uids": ["04A1B2C3"]}

    french = await api.post(
        "/api/v1/cards/actions", json=block, headers={"Accept-Language": "fr-BE"}
    )
    assert french.status_code == 422
    body = french.json()
    assert body["title"] == "Demande de carte non valable"
    assert body["detail"] == (
        "04A1B2C3 : impossible de bloquer une carte qui est en stock (seulement depuis : active)"
    )
    assert body["field"] == "uids"

    english = await api.post("/api/v1/cards/actions", json=block)
    assert english.status_code == 422
    assert english.json()["title"] == "Invalid card request"
    assert english.json()["detail"] == (
        "04A1B2C3: cannot block a card that is in stock (only from: active)"
    )


async def test_a_rejected_import_in_french_and_in_english(api: httpx.AsyncClient) -> None:
    csv = "uid,printed_number,contract_id\n04A1B2C4,VF-0002,BE-VFL-C00000123-X\nxyz,VF-0003,\n"
    french = await api.post(
        "/api/v1/cards/import",
        content=csv,
        headers={"content-type": "text/csv", "Accept-Language": "fr-BE,fr;q=0.9"},
    )
    assert french.status_code == 422
    body = french.json()
    assert body["title"] == "Importation refusée"
    assert body["detail"] == (
        "rien importé : ligne 2, colonne contract_id : 'BE-VFL-C00000123-X' : le caractère de "
        "contrôle devrait être U, pas X; ligne 3, colonne uid : 'xyz' n'est pas un uid RFID "
        "(4 à 20 chiffres hexadécimaux)"
    )
    assert [(p["row"], p["column"]) for p in body["problems"]] == [
        (2, "contract_id"),
        (3, "uid"),
    ]

    english = await api.post(
        "/api/v1/cards/import", content=csv, headers={"content-type": "text/csv"}
    )
    assert english.json()["detail"] == (
        "nothing imported: row 2, column contract_id: 'BE-VFL-C00000123-X': check character "
        "should be U, not X; row 3, column uid: 'xyz' is not an RFID uid (4–20 hex digits)"
    )
