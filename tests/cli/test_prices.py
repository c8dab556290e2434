"""Prices from the command line: a tariff added from its OCPI file, a station's prices set, and
``sessions list`` showing each session's type and price lines."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import make_settings
from tests.ocpp.support import PASSWORD, eventually, ocpp_station, transaction
from voltflow.bootstrap import build
from voltflow.cli.main import main

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
TARIFF = {
    "country_code": "BE",
    "party_id": "VFL",
    "id": "PUBLIC",
    "currency": "EUR",
    "start_date_time": "2026-01-01T00:00:00Z",
    "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.4, "vat": 21, "step_size": 1}]}
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database", db, *args], catch_exceptions=False)
    return result.exit_code, result.output


async def charge(db: str, wh: int) -> None:
    platform = build(make_settings(db))
    await platform.start()
    try:
        url = f"ws://127.0.0.1:{platform.ocpp.port}/ocpp"
        async with ocpp_station(url, "CP-1") as cp:
            session_id = await transaction(cp, "04A2B3C4", T0, 30, wh)

        async def priced() -> bool:
            return bool(await platform.pricing.repo.current([session_id]))

        await eventually(priced, timeout=10)
    finally:
        await platform.stop()


def charged_at_a_priced_station(tmp_path: Path) -> str:
    """A database where CP-1 has the public tariff, set up through the commands, and one
    session of 10 kWh there, priced: its URL."""
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    tariff = tmp_path / "public.json"
    tariff.write_text(json.dumps(TARIFF))
    assert invoke(db, "migrate")[0] == 0
    assert invoke(db, "station", "add", "CP-1", "--password", PASSWORD)[0] == 0
    assert invoke(db, "token", "add", "04A2B3C4")[0] == 0
    code, out = invoke(db, "tariff", "add", str(tariff))
    assert code == 0, out
    code, out = invoke(db, "station", "prices", "CP-1", "--tariff", "PUBLIC")
    assert code == 0 and "PUBLIC" in out, out
    asyncio.run(charge(db, 10_000))
    return db


def test_a_tariff_priced_session_shows_in_the_session_list(tmp_path: Path) -> None:
    db = charged_at_a_priced_station(tmp_path)

    code, out = invoke(db, "sessions", "list", "--json")
    assert code == 0, out
    (session,) = json.loads(out)
    assert session["session_type"] == "normal"
    driver = session["price_lines"][0]
    assert (driver["party"], driver["incl_vat"], driver["tariff_id"]) == (
        "driver",
        "4.84",
        "PUBLIC",
    )
    code, out = invoke(db, "sessions", "list")
    assert "Normal" in out and "€4.84" in out


def test_prices_refuse_an_unknown_tariff_with_a_message(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert invoke(db, "migrate")[0] == 0
    assert invoke(db, "station", "add", "CP-1", "--password", PASSWORD)[0] == 0
    code, out = invoke(db, "station", "prices", "CP-1", "--tariff", "NOPE")
    assert code != 0 and "no tariff NOPE" in out and "Traceback" not in out


def test_an_operator_corrects_a_session_from_the_command_line(tmp_path: Path) -> None:
    db = charged_at_a_priced_station(tmp_path)
    code, out = invoke(
        db, "sessions", "correct", "1", "--reason", "too short", "--stop", "2026-03-10T09:00:30Z"
    )
    assert code == 0 and "Invalid" in out, out
    code, out = invoke(db, "sessions", "correct", "1", "--reason", " ")
    assert code != 0 and "reason" in out and "Traceback" not in out


def test_the_mobility_view_exports_from_the_command_line(tmp_path: Path) -> None:
    db = charged_at_a_priced_station(tmp_path)
    out = tmp_path / "activity.csv"
    code, said = invoke(db, "export", "activity", "--type", "normal", "-o", str(out))
    assert code == 0, said
    lines = out.read_text().splitlines()
    assert lines[0].startswith("Time,User,Operator,kWh") and len(lines) == 2
    assert "10.000" in lines[1] and "4.84" in lines[1]
