"""``voltflow tariff price``: an OCPI CDR priced with an OCPI tariff, from real files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.domain.tariffs.sessions import DATA
from voltflow.cli.main import main
from voltflow.domain.tariffs import dumps, loads

CDR: dict[str, Any] = {
    "country_code": "BE",
    "party_id": "VFL",
    "id": "cdr-1",
    "start_date_time": "2019-06-03T07:30:00Z",  # 09:30 in Brussels, a Monday
    "end_date_time": "2019-06-03T10:57:00Z",
    "currency": "EUR",
    "charging_periods": [
        {
            "start_date_time": "2019-06-03T07:30:00Z",
            "dimensions": [
                {"type": "ENERGY", "volume": Decimal("30.125")},
                {"type": "TIME", "volume": Decimal("2.75")},
                {"type": "MAX_CURRENT", "volume": Decimal(16)},
            ],
        },
        {
            "start_date_time": "2019-06-03T10:15:00Z",
            "dimensions": [{"type": "PARKING_TIME", "volume": Decimal("0.7")}],
        },
    ],
    "total_cost": {"excl_vat": Decimal(0)},
    "total_energy": Decimal(0),
    "total_time": Decimal(0),
    "last_updated": "2019-06-03T11:00:00Z",
}


def price(tmp_path: Path, tariff: str | dict[str, Any], cdr: Any, *options: str) -> tuple[int, str]:
    tariff_file = tmp_path / "tariff.json"
    if isinstance(tariff, str):
        tariff_file.write_text((DATA / tariff).read_text())
    else:
        tariff_file.write_text(dumps(tariff))
    cdr_file = tmp_path / "cdr.json"
    cdr_file.write_text(cdr if isinstance(cdr, str) else dumps(cdr))
    result = CliRunner().invoke(
        main, ["tariff", "price", str(tariff_file), str(cdr_file), *options]
    )
    return result.exit_code, result.output


def test_prints_the_cdr_with_the_totals_it_computed(tmp_path: Path) -> None:
    code, out = price(tmp_path, "tariff_4_complex.json", CDR)
    assert code == 0, out
    priced = loads(out)
    # The module's complex example on a Monday: start fee, 165 min at 1.00/h, 45 min parking.
    assert priced["total_cost"] == {"excl_vat": Decimal("9.00"), "incl_vat": Decimal("10.31")}
    assert priced["total_fixed_cost"] == {"excl_vat": Decimal("2.50"), "incl_vat": Decimal("2.88")}
    assert priced["total_time_cost"] == {"excl_vat": Decimal("2.75"), "incl_vat": Decimal("3.30")}
    assert priced["total_parking_cost"] == {
        "excl_vat": Decimal("3.75"),
        "incl_vat": Decimal("4.13"),
    }
    assert priced["total_energy_cost"] == {"excl_vat": Decimal("0.00"), "incl_vat": Decimal("0.00")}
    assert (priced["total_energy"], priced["total_time"], priced["total_parking_time"]) == (
        Decimal("30.125"),
        Decimal("3.45"),
        Decimal("0.7"),
    )
    # Everything else as it was, numbers written as given (no float on the way).
    assert priced["charging_periods"] == CDR["charging_periods"]
    assert '"volume": 30.125' in out and '"excl_vat": 9.00' in out
    assert json.loads(out)["id"] == "cdr-1"


def test_the_time_zone_can_be_another(tmp_path: Path) -> None:
    night = {
        **loads((DATA / "tariff_8_simple_025kwh.json").read_text()),
        "elements": [
            {
                "price_components": [{"type": "ENERGY", "price": Decimal("0.10"), "step_size": 1}],
                "restrictions": {"start_time": "09:00", "end_time": "13:00"},
            },
            {"price_components": [{"type": "ENERGY", "price": Decimal("0.30"), "step_size": 1}]},
        ],
    }
    # Charging 07:30–10:15 UTC: in Brussels (UTC+2) 09:30–12:15, all in the window; in UTC
    # the first 90 minutes are not.
    code, out = price(tmp_path, night, CDR)
    assert loads(out)["total_energy_cost"]["excl_vat"] == Decimal("3.01")  # 30.125 × 0.10
    code, out = price(tmp_path, night, CDR, "--time-zone", "UTC")
    assert code == 0
    assert loads(out)["total_energy_cost"]["excl_vat"] > Decimal("3.01")


def _with_step_size_zero() -> dict[str, Any]:
    tariff: dict[str, Any] = loads((DATA / "tariff_4_complex.json").read_text())
    tariff["elements"][1]["price_components"][0]["step_size"] = 0
    return tariff


@pytest.mark.parametrize(
    ("tariff", "cdr", "options", "message"),
    [
        (
            _with_step_size_zero(),
            CDR,
            (),
            "Error: tariff.json: elements[1].price_components[0].step_size: must be at least 1",
        ),
        ("tariff_4_complex.json", "{not json", (), "Error: "),
        ("tariff_4_complex.json", [], (), "Error: cdr.json: must be an object"),
        (
            "tariff_4_complex.json",
            {**CDR, "currency": "GBP"},
            (),
            "Error: cdr.json: currency: the tariff is in EUR, what it prices in GBP",
        ),
        (
            "tariff_4_complex.json",
            {**CDR, "charging_periods": [{"start_date_time": "2019-06-03T07:30:00Z"}]},
            (),
            "Error: cdr.json: charging_periods[0].dimensions: is required",
        ),
        (
            "tariff_4_complex.json",
            CDR,
            ("--time-zone", "Europe/Gent"),
            "Error: time_zone: 'Europe/Gent' is not a time zone",
        ),
    ],
)
def test_a_bad_file_is_a_message_naming_the_field(
    tmp_path: Path, tariff: Any, cdr: Any, options: tuple[str, ...], message: str
) -> None:
    code, out = price(tmp_path, tariff, cdr, *options)
    assert code == 1
    assert out.startswith(message), out
    assert "Traceback" not in out
    assert len(out.strip().splitlines()) == 1


def test_not_json_names_the_file(tmp_path: Path) -> None:
    code, out = price(tmp_path, "tariff_4_complex.json", "{not json")
    assert code == 1
    assert out.startswith(f"Error: {tmp_path / 'cdr.json'}: not JSON (")


def test_a_missing_file_is_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["tariff", "price", str(tmp_path / "none.json"), str(tmp_path / "cdr.json")]
    )
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot read {tmp_path / 'none.json'}: ")


def test_the_message_in_the_persons_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "fr_BE.UTF-8")
    code, out = price(tmp_path, _with_step_size_zero(), CDR)
    assert code == 1
    assert out.strip() == (
        "Erreur : tariff.json : elements[1].price_components[0].step_size : doit valoir au moins 1"
    )


def test_add_show_and_list_tariff_versions(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["--database", db, "tariff", *args])
        return result.exit_code, result.output

    assert run("list") == (0, "no tariffs yet: add one with `voltflow tariff add FILE`\n")
    first = tmp_path / "first.json"
    first.write_text((DATA / "tariff_8_simple_025kwh.json").read_text())
    code, out = run("add", str(first))
    assert code == 0, out
    assert out.startswith("tariff 16 version 1 added, in force from ")  # now
    later = loads((DATA / "tariff_8_simple_025kwh.json").read_text())
    later["start_date_time"] = "2019-07-01T00:00:00Z"
    second = tmp_path / "second.json"
    second.write_text(dumps(later))
    code, out = run("add", str(second))
    assert code == 0, out
    assert out.strip() == "tariff 16 version 2 added, in force from 2019-07-01 02:00:00"

    code, out = run("list")
    assert (code, out.strip()) == (0, "16  version 2  EUR  from 2019-07-01 02:00:00")
    code, out = run("show", "16")
    assert code == 0 and loads(out) == later
    code, out = run("show", "16", "--version", "1")
    assert loads(out) == loads(first.read_text())

    code, out = run("show", "17")
    assert (code, out.strip()) == (1, "Error: no tariff 17")
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "x"}')
    code, out = run("add", str(bad))
    assert (code, out.strip()) == (1, "Error: bad.json: country_code: is required")
    ended = tmp_path / "ended.json"
    ended.write_text((DATA / "tariff_6_025kwh_start_max_price.json").read_text())
    code, out = run("add", str(ended))
    assert (code, out.strip()) == (1, "Error: tariff 16 ends before it would come into force")
