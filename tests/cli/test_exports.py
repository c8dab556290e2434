"""``voltflow export sessions``: the file the API would give, written to disk, with progress on
stderr for a large export."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from tests.conftest import make_settings
from voltflow.bootstrap import build, upgrade
from voltflow.cli import exports as cli_exports
from voltflow.cli.main import main
from voltflow.store.tables import charging_sessions


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for station in ("CP-1", "CP-2"):
        assert invoke(url, "station", "add", station, "--password", "station-pass-0001")[0] == 0

    async def seed() -> None:
        platform = build(make_settings(url))
        await upgrade(platform.db)
        start = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)  # 23:30 in Brussels
        rows = [
            {
                "station_id": "CP-1" if i % 2 else "CP-2",
                "evse_id": 1,
                "connector_id": 1,
                "id_tag": f"TAG{i}",
                "auth_status": "Accepted",
                "started_at": start + timedelta(hours=i),
                "meter_start_wh": 0,
                "stopped_at": start + timedelta(hours=i, minutes=20),
                "meter_stop_wh": 2500,
                "energy_wh": 2500,
                "created_at": start,
            }
            for i in range(5)
        ]
        async with platform.db.writes.begin() as conn:
            await conn.execute(insert(charging_sessions), rows)
        await platform.db.engine.dispose()

    asyncio.run(seed())
    return url


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database", db, *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_export_sessions_to_csv_and_xlsx(db: str, tmp_path: Path) -> None:
    out = tmp_path / "sessions.csv"
    code, said = invoke(db, "export", "sessions", "--format", "csv", "-o", str(out))
    assert code == 0, said
    assert "5 sessions written to" in said
    lines = list(csv.reader(io.StringIO(out.read_text(), newline="")))
    assert [r[4] for r in lines[1:]] == ["TAG4", "TAG3", "TAG2", "TAG1", "TAG0"]
    assert not (tmp_path / "sessions.csv.part").exists()

    # Days are the platform's (Brussels): TAG0 started on the 29th at 23:30 there.
    xlsx = tmp_path / "cp1.xlsx"
    code, said = invoke(
        db, "export", "sessions", "--format", "xlsx", "--station", "CP-1",
        "--from", "2026-11-30", "--to", "2026-11-30", "-o", str(xlsx),
    )  # fmt: skip
    assert code == 0, said
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet is not None
    assert [r[4] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["TAG3", "TAG1"]
    assert sheet["A2"].value == datetime(2026, 11, 30, 2, 30)


def test_progress_on_stderr_for_large_exports(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_exports, "PROGRESS_FROM", 1)
    monkeypatch.setattr(cli_exports, "PROGRESS_EVERY", 2)
    result = CliRunner().invoke(
        main, ["--database", db, "export", "sessions", "-o", str(tmp_path / "s.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "2 of 5 sessions…" in result.stderr and "4 of 5 sessions…" in result.stderr
    assert result.stdout == ""


def test_errors_are_messages(db: str, tmp_path: Path) -> None:
    code, said = invoke(db, "export", "sessions", "--format", "pdf", "-o", "x")
    assert code == 2 and "pdf" in said
    code, said = invoke(db, "export", "sessions", "-o", str(tmp_path / "missing" / "dir" / "s.csv"))
    assert code == 1 and said.startswith("Error:") and "Traceback" not in said
