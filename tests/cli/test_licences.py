"""``voltflow org add`` and ``voltflow licence``: add, list, change the rate, import sessions;
refusals are messages, never tracebacks."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import make_settings
from tests.factories import stock_csv
from voltflow.bootstrap import build, upgrade
from voltflow.cli.main import main
from voltflow.domain.access import Role
from voltflow.domain.contracts import ContractKind


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database", db, *args], catch_exceptions=False)
    return result.exit_code, result.output


def _cards_of(db: str, org_id: int) -> list[str]:
    """Two cards of the organisation, with a driver each, active."""

    async def make() -> list[str]:
        platform = build(make_settings(db))
        await upgrade(platform.db)
        await platform.start(ocpp=False)
        try:
            person = await platform.organisations.add_operator("op", "op-password")
            op = await platform.accounts.actor(person.user_id)
            assert op is not None
            await platform.contracts.create(
                op, org_id, ContractKind.EMSP, starts_on=date(2026, 1, 1)
            )
            uids = await platform.cards.import_csv(op, stock_csv(2))
            await platform.cards.distribute(op, uids, org_id)
            for i, uid in enumerate(uids):
                d = await platform.organisations.add_person(
                    op, org_id, f"driver{i}", Role.DRIVER, password="driver-pass"
                )
                await platform.cards.assign(op, uid, d.user_id)
            await platform.cards.activate(op, uids)
            return uids
        finally:
            await platform.stop()

    return asyncio.run(make())


def test_org_add_checks_the_belgian_vat_number(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out = invoke(db, "org", "add", "Acme", "--vat", "BE0123456789")
    assert code == 1 and "check digits" in out and "Traceback" not in out
    code, out = invoke(db, "org", "add", "Acme", "--vat", "BE12")
    assert code == 1 and "not a Belgian VAT number" in out
    code, out = invoke(db, "org", "add", "Acme", "--vat", "BE 0123.456.749")
    # A Belgian company with a VAT number receives its e-invoices under its enterprise number.
    assert (code, out.strip()) == (0, "organisation 1 added: Acme\nPeppol id: 0208:0123456749")
    code, out = invoke(db, "org", "add", "Home", "--kind", "household")
    assert code == 0


def test_licence_add_list_rate_and_import(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert invoke(db, "org", "add", "Acme")[0] == 0
    uids = _cards_of(db, 1)
    assert invoke(db, "station", "add", "HOME-1", "--password", "station-pass-0001")[0] == 0

    code, out = invoke(db, "licence", "list")
    assert code == 0 and "no licences yet" in out

    code, out = invoke(
        db,
        "licence",
        "add",
        "HOME-1",
        "--card",
        uids[0],
        "--rate",
        "0.6654",
        "--from",
        "2026-01-01",
        "--employer",
        "Acme",
    )
    assert code == 0, out
    assert "licence 1 added: HOME-1 for Acme" in out
    code, out = invoke(
        db,
        "licence",
        "add",
        "NRG-1",
        "--card",
        uids[1],
        "--creg-region",
        "flanders",
        "--employer",
        "1",
    )
    assert code == 1 and "give the kind of an external device" in out
    code, out = invoke(
        db,
        "licence",
        "add",
        "NRG-1",
        "--card",
        uids[1],
        "--creg-region",
        "flanders",
        "--device-kind",
        "cable",
        "--from",
        "2025-01-01",
    )
    assert code == 0, out

    code, out = invoke(db, "licence", "list", "--json")
    listed = json.loads(out)
    assert [(x["device"], x["cards"], x["rates"][0]["source"]) for x in listed] == [
        ({"kind": "station", "id": "HOME-1"}, [uids[0]], "fixed"),
        ({"kind": "cable", "id": "NRG-1"}, [uids[1]], "creg"),
    ]
    assert listed[0]["employee"] == "driver0"

    # A rate change never reaches back.
    code, out = invoke(db, "licence", "rate", "1", "--rate", "0.30", "--from", "2026-01-01")
    assert code == 1 and "now or later" in out
    code, out = invoke(db, "licence", "rate", "1", "--rate", "0.30", "--from", "2099-01-01")
    assert code == 0 and "2098-12-31 23:00Z" in out
    code, out = invoke(db, "licence", "rate", "99", "--rate", "0.30", "--from", "2099-01-01")
    assert code == 1 and "no licence 99" in out
    code, out = invoke(db, "licence", "rate", "1", "--from", "2099-02-01")
    assert code == 1 and "--rate" in out

    sessions = tmp_path / "nrg.csv"
    sessions.write_text(
        "started_at,stopped_at,kwh,card_uid\n"
        f"2025-05-10T15:50:00+02:00,2025-05-10T16:05:02+02:00,3.667,{uids[1]}\n"
        f"2025-05-11T08:30:00+02:00,2025-05-11T08:50:02+02:00,7.334,{uids[1]}\n"
    )
    code, out = invoke(db, "licence", "import", "NRG-1", str(sessions))
    # Flanders' CREG rate for 2025-Q2, €0.3194/kWh: €1.17 and €2.34.
    assert (code, out.strip()) == (
        0,
        "2 sessions imported\nreimbursement: €3.51 for 2 split-billing sessions",
    )
    code, out = invoke(db, "licence", "import", "NRG-1", str(sessions))
    assert (code, out.strip()) == (0, "0 sessions imported (2 already stored)")
    unrated = tmp_path / "later.csv"
    unrated.write_text(
        "started_at,stopped_at,kwh,card_uid\n"
        f"2027-02-10T15:50:00+01:00,2027-02-10T16:05:02+01:00,3.667,{uids[1]}\n"
    )
    code, out = invoke(db, "licence", "import", "NRG-1", str(unrated))
    assert (code, out.strip()) == (
        0,
        "1 session imported\n1 split-billing session has no rate: the CREG table lacks its quarter",
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"started_at": "x", "stopped_at": "y", "kwh": 1, "card_uid": "Z"}]))
    code, out = invoke(db, "licence", "import", "NRG-1", str(bad))
    assert code == 1 and "row 1, column started_at" in out and "Traceback" not in out
    code, out = invoke(db, "licence", "import", "NOPE", str(sessions))
    assert code == 1 and "no external device NOPE" in out
