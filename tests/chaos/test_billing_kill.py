"""``voltflow billing run --finalise`` killed (SIGKILL) in the middle of a run, a real process on
both databases: it leaves nothing of the run (no document, no number taken, no billed item, no
ledger entry, no mail), and the next run issues the whole of it, numbered from the first.

The process is held at the moment a first document is written and the others are not, with the
``billing.document_issued`` failpoint (``voltflow.failpoints``) set in its environment, and
killed there."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.ocpp.support import fresh_rows
from tests.services.billing_world import Month, month
from voltflow.store.tables import (
    billed_items,
    billing_documents,
    billing_runs,
    billing_sequences,
    ledger_entries,
    mail_outbox,
)

pytestmark = pytest.mark.chaos
__all__ = ["month"]  # the fixture

SRC = Path(__file__).resolve().parents[2] / "src"
HELD = b"failpoint billing.document_issued: pause"


def _command(m: Month, log: Path, failpoint: bool) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
        "LANG": "C",
    }
    env.pop("VOLTFLOW_FAILPOINTS", None)
    if failpoint:
        env["VOLTFLOW_FAILPOINTS"] = "billing.document_issued=pause"
    argv = [
        sys.executable,
        "-m",
        "voltflow",
        "--database",
        m.platform.settings.database_url,
        "billing",
        "run",
        "--period",
        "2026-11",
        "--finalise",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)


async def _counts(m: Month) -> dict[str, int]:
    out = {}
    for table in (billing_runs, billing_documents, billed_items, ledger_entries):
        rows = await fresh_rows(m.platform, select(func.count()).select_from(table))
        out[table.name] = int(next(iter(rows[0].values())))
    mails = await fresh_rows(
        m.platform,
        select(func.count()).select_from(mail_outbox).where(mail_outbox.c.document_id.is_not(None)),
    )
    out["mails"] = int(next(iter(mails[0].values())))
    return out


async def test_a_run_killed_midway_leaves_nothing_and_the_next_completes_it(
    month: Month, tmp_path: Path
) -> None:
    m = month
    nothing = {
        "billing_runs": 0,
        "billing_documents": 0,
        "billed_items": 0,
        "ledger_entries": 0,
        "mails": 0,
    }
    assert await _counts(m) == nothing
    log = tmp_path / "killed.log"
    proc = _command(m, log, failpoint=True)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while HELD not in log.read_bytes():
            assert proc.poll() is None, log.read_text()
            assert loop.time() < deadline, log.read_text()
            await asyncio.sleep(0.05)
        # Held after its first document: written in the run's transaction, not committed.
        proc.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(proc.wait, 30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert await _counts(m) == nothing
    numbers: list[dict[str, Any]] = await fresh_rows(m.platform, select(billing_sequences))
    assert [r for r in numbers if r["series"] != "RUN"] == []

    done = tmp_path / "done.log"
    again = _command(m, done, failpoint=False)
    assert await asyncio.to_thread(again.wait, 120) == 0, done.read_text()
    assert await _counts(m) == {
        "billing_runs": 1,
        "billing_documents": 5,
        # Two split-billing sessions, the public one (charging and its host), Globex's, a fee.
        "billed_items": 6,
        # Postings: Acme's invoice 4 (receivable, two revenues, VAT), Globex's 3, 2 a statement.
        "ledger_entries": 4 + 3 + 2 + 2 + 2,
        "mails": 3,
    }
    rows = await fresh_rows(
        m.platform, select(billing_documents.c.number).order_by(billing_documents.c.id)
    )
    assert [r["number"] for r in rows] == [
        "INV-2026-000001",
        "INV-2026-000002",
        "PR-2026-000001",
        "RS-2026-000001",
        "SB-2026-000001",
    ]
    assert (await m.platform.billing.reconcile(m.op, m.last_period)).ok
