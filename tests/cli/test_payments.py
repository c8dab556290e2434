"""``voltflow billing sepa|pay|import-statement|overdue|remind|payouts|revoke-mandate|check`` on
the month of the release note, as a person runs them: files written whole and again byte for
byte, payments and statements booked, overdue documents listed and reminded; refusals are
messages, never tracebacks."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from tests.banking.statements import Credit, camt053
from tests.services.billing_world import Month, month
from voltflow.banking.sepa import CREDIT_TRANSFER, DIRECT_DEBIT, validate
from voltflow.cli.main import main
from voltflow.domain.billing.runs import BillingPeriod

__all__ = ["month"]  # the fixture

D = Decimal


async def invoke(m: Month, *args: str) -> tuple[int, str, str]:
    def run() -> tuple[int, str, str]:
        result = CliRunner().invoke(
            main, ["--database", m.platform.settings.database_url, *args], catch_exceptions=False
        )
        return result.exit_code, result.stdout, result.stderr

    return await asyncio.to_thread(run)


async def test_the_months_files_payments_and_statement(month: Month, tmp_path: Path) -> None:
    m = month
    await m.platform.billing.finalise(m.op, BillingPeriod.month(2026, 11))
    out_dir = tmp_path / "bank"
    code, out, err = await invoke(
        m, "billing", "sepa", "--period", "2026-11", "--out", str(out_dir)
    )
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == f"{out_dir / 'VFDD202611-1.xml'}: 2 transactions, €26.68 (new)"
    assert lines[1] == f"{out_dir / 'VFCT202611-1.xml'}: 1 transactions, €3.03 (new)"
    assert any(line.startswith("collect INV-2026-000001 from Acme: €19.36") for line in lines)
    assert "pay SB-2026-000001 to hilde: €3.03 to BE62510007547061" in lines
    debit = (out_dir / "VFDD202611-1.xml").read_bytes()
    validate(debit, DIRECT_DEBIT)
    validate((out_dir / "VFCT202611-1.xml").read_bytes(), CREDIT_TRANSFER)
    # Again: nothing new, the same files written again, byte for byte.
    code, out, _ = await invoke(m, "billing", "sepa", "--period", "2026-11", "--out", str(out_dir))
    assert code == 0
    assert "(made before)" in out and "2026-11: nothing new to collect or pay" in out
    assert (out_dir / "VFDD202611-1.xml").read_bytes() == debit

    code, out, _ = await invoke(m, "billing", "pay", "INV-2026-000002", "1.00", "--reference", "T1")
    assert (code, out.strip()) == (0, "INV-2026-000002: partly paid, €1.42 still due")
    code, out, _ = await invoke(m, "billing", "pay", "INV-2026-000002", "1.00", "--reference", "T1")
    assert out.splitlines() == [
        "INV-2026-000002: this payment was registered before; nothing added",
        "INV-2026-000002: partly paid, €1.42 still due",
    ]
    request = await m.platform.payments.repo.by_number("PR-2026-000001")
    assert request is not None and request.payment_reference
    statement = tmp_path / "statement.xml"
    statement.write_bytes(
        camt053(
            [
                Credit("B1", D("7.32"), request.payment_reference),
                Credit("B2", D("5.00"), free_text="charging"),
            ]
        )
    )
    code, out, _ = await invoke(m, "billing", "import-statement", str(statement))
    assert code == 0, out
    rows = [line.split() for line in out.splitlines()]
    assert rows[1][:4] == ["B1", "€7.32", "paid", "PR-2026-000001"]
    assert rows[2][:4] == ["B2", "€5.00", "matches", "nothing"]
    assert out.splitlines()[-1] == "2 entries: 1 booked, 1 to look at"
    code, out, _ = await invoke(m, "billing", "import-statement", str(statement))
    assert out.splitlines()[-1] == "2 entries: 0 booked, 1 to look at"

    # Acme's request is paid: its employee's reimbursement is due, and they have no account.
    code, out, _ = await invoke(m, "billing", "payouts", "--state", "due")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["RS-2026-000001"]
    code, out, _ = await invoke(m, "billing", "sepa", "--period", "2026-11", "--out", str(out_dir))
    assert "not in a file: RS-2026-000001 (acme-driver0, €7.32): acme-driver0 has no bank" in out
    code, out, _ = await invoke(m, "billing", "check")
    assert code == 0, out
    assert all(line.startswith("ok") for line in out.splitlines()), out


async def test_overdue_documents_listed_and_reminded_once(month: Month) -> None:
    m = month
    # Due on receipt: overdue from the day after it was issued, whatever the day today.
    billing = m.platform.billing
    billing.settings = replace(billing.settings, payment_days=0)
    await billing.finalise(m.op, BillingPeriod.month(2026, 11))
    code, out, _ = await invoke(m, "billing", "overdue")
    assert code == 0
    numbers = [line.split()[0] for line in out.splitlines()[1:]]
    assert numbers == ["INV-2026-000001", "INV-2026-000002", "PR-2026-000001"]
    code, out, _ = await invoke(m, "billing", "overdue", "--json")
    days = (datetime.now(ZoneInfo("Europe/Brussels")).date() - date(2026, 12, 2)).days
    assert f'"days": {days}' in out.splitlines()[0]
    code, out, _ = await invoke(m, "billing", "remind")
    assert code == 0
    assert out.splitlines()[-1] == "3 reminders"
    assert "INV-2026-000002: reminder" in out and "(nobody to mail" in out  # Globex: no address
    code, out, _ = await invoke(m, "billing", "remind")
    assert out.strip() == "0 reminders"


async def test_refusals_are_messages(month: Month, tmp_path: Path) -> None:
    m = month
    await m.platform.billing.finalise(m.op, BillingPeriod.month(2026, 11))
    broken = tmp_path / "broken.xml"
    broken.write_text("<Document>")
    for args, message in (
        (("pay", "PR-2026-000001", "abc", "--reference", "x"), "AMOUNT: abc is not an amount"),
        (
            ("pay", "PR-2026-000001", "9.00", "--reference", "x"),
            "amount: more than the 7.32 still due",
        ),
        (("pay", "PR-2099-000001", "1", "--reference", "x"), "no document PR-2099-000001"),
        (("revoke-mandate", "NOPE"), "no mandate NOPE"),
        (("sepa", "--period", "2026-13", "--out", str(tmp_path)), "--period: 2026-13 is not"),
    ):
        code, out, err = await invoke(m, "billing", *args)
        assert code == 1, out
        assert err.startswith("Error: ") and message in err, err
        assert "Traceback" not in out + err
    code, _, err = await invoke(m, "billing", "import-statement", str(broken))
    assert code == 1 and "file: not a CAMT.053 statement we can read" in err
    code, out, _ = await invoke(m, "billing", "revoke-mandate", "ACME-2026", "--on", "2026-12-01")
    assert (code, out.strip()) == (0, "mandate ACME-2026 revoked")
    code, out, _ = await invoke(
        m, "billing", "sepa", "--period", "2026-11", "--out", str(tmp_path / "files")
    )
    assert "INV-2026-000001 (Acme, €19.36): mandate ACME-2026 was revoked on 2026-12-01" in out
