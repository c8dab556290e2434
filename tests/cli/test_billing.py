"""``voltflow billing``: a preview, a finalised run with its documents and totals, the documents
as lines and as JSON, a credit note, the reconciliation; refusals are messages."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from tests.services.billing_world import Month, month
from voltflow.cli.main import main

__all__ = ["month"]  # the fixture


async def invoke(m: Month, *args: str) -> tuple[int, str, str]:
    """The command, run as a person runs it (its own event loop: in a thread of its own)."""

    def run() -> tuple[int, str, str]:
        result = CliRunner().invoke(
            main, ["--database", m.platform.settings.database_url, *args], catch_exceptions=False
        )
        return result.exit_code, result.stdout, result.stderr

    return await asyncio.to_thread(run)


async def test_a_run_previewed_then_finalised(month: Month) -> None:
    code, out, _ = await invoke(month, "billing", "run", "--period", "2026-11")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "2026-11: 5 documents in preview (nothing stored)"
    rows = [line.split() for line in lines[2:7]]
    assert rows[0] == ["(preview)", "invoice", "Acme", "€16.00", "€3.36", "€19.36"]
    assert rows[2] == ["(preview)", "payment", "request", "Acme", "€7.32", "€0.00", "€7.32"]
    assert lines[-1] == "not billed: invalid 1, whitelist 1"

    code, out, err = await invoke(month, "billing", "run", "--period", "2026-11", "--finalise")
    assert code == 0, out + err
    assert out.splitlines()[0] == "2026-11: 5 documents issued"
    for number in ("INV-2026-000001", "PR-2026-000001", "RS-2026-000001", "SB-2026-000001"):
        assert number in out
    assert "issued 5 of 5 documents" in err

    code, out, _ = await invoke(month, "billing", "run", "--period", "2026-11", "--finalise")
    assert (code, out.splitlines()[0]) == (0, "2026-11: 0 documents issued")

    code, out, _ = await invoke(month, "billing", "documents", "--period", "2026-11")
    assert code == 0
    assert out.splitlines()[1].split() == [
        "INV-2026-000001",
        "invoice",
        "Acme",
        "2026-11",
        "€19.36",
        "+++126/0000/00171+++",
    ]
    code, out, _ = await invoke(month, "billing", "documents", "--json")
    found = [json.loads(line) for line in out.splitlines()]
    assert [(d["number"], d["total_incl_vat"]) for d in found] == [
        ("INV-2026-000001", "19.36"),
        ("INV-2026-000002", "2.42"),
        ("PR-2026-000001", "7.32"),
        ("RS-2026-000001", "7.32"),
        ("SB-2026-000001", "3.03"),
    ]
    assert found[2]["mandate_reference"] == "ACME-2026"

    code, out, _ = await invoke(
        month, "billing", "credit", "INV-2026-000001", "--reason", "card lost", "--line", "1"
    )
    assert (code, out.strip()) == (0, "CN-2026-000001 credits INV-2026-000001: €4.84")
    code, out, _ = await invoke(month, "billing", "reconcile", "--period", "2026-11")
    assert code == 0, out
    assert all(line.startswith("ok") for line in out.splitlines()), out


async def test_one_customer_by_name(month: Month) -> None:
    code, out, _ = await invoke(
        month, "billing", "run", "--period", "2026-11", "--customer", "Globex", "--finalise"
    )
    assert code == 0, out
    assert out.splitlines()[0] == "2026-11: 1 documents issued"
    assert "INV-2026-000001" in out and "Globex" in out and "Acme" not in out


async def test_refusals_are_messages(month: Month) -> None:
    for args, message in (
        (("--period", "2026-13"), "Error: --period: 2026-13 is not a month written YYYY-MM"),
        (("--customer", "Nobody"), "Error: --customer: no single customer organisation is Nobody"),
        (
            ("--period", "2026-12", "--finalise"),
            "Error: period: 2026-12 has not ended yet; preview it, finalise it once it has",
        ),
    ):
        code, out, err = await invoke(month, "billing", "run", *args)
        assert code == 1, out
        assert err.strip() == message and "Traceback" not in out + err
    code, _, err = await invoke(month, "billing", "credit", "INV-2099-000001", "--reason", "x")
    assert (code, err.strip()) == (1, "Error: no document INV-2099-000001")


async def test_org_add_and_set_billing_details(month: Month) -> None:
    code, out, err = await invoke(
        month,
        "org",
        "add",
        "Initech",
        "--vat",
        "BE0123456749",
        "--street",
        "Rue Neuve 5",
        "--postal-code",
        "1000",
        "--city",
        "Bruxelles",
        "--iban",
        "BE71096123456769",
    )
    assert code == 0, out + err
    assert "Peppol id: 0208:0123456749" in out
    code, out, err = await invoke(
        month, "org", "set", "Initech", "--postal-code", "10 00 00 00 00 00 00"
    )
    assert code == 1
    assert err.strip().startswith("Error: --postal-code: 10 00 00 00 00 00 00: at most 16")
    code, out, err = await invoke(
        month, "org", "set", "Initech", "--peppol-id", "9925:BE0123456749"
    )
    assert code == 0, out + err
    code, out, err = await invoke(month, "org", "set", "Initech")
    assert (code, err.strip()) == (1, "Error: nothing to change: give at least one option")
    code, out, err = await invoke(
        month, "org", "iban", "Acme", "acme-driver0", "BE68 5390 0754 7034"
    )
    assert (code, out.strip()) == (0, "acme-driver0 is paid on BE68539007547034"), err
    code, out, err = await invoke(month, "org", "iban", "Acme", "acme-driver0", "BE00")
    assert (code, err.strip()) == (1, "Error: iban: BE00 is not a valid IBAN")
    code, out, err = await invoke(month, "org", "iban", "Acme", "globex-driver0", "")
    assert (code, err.strip()) == (1, "Error: no person globex-driver0 in this organisation")
