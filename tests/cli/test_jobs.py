"""``voltflow job list``: the jobs as lines or JSON, filtered; refusals are messages."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from tests import jobs_support as js
from tests.conftest import make_settings
from voltflow.bootstrap import build, upgrade
from voltflow.cli.main import main
from voltflow.domain.installations.jobs import Address, JobKind, PlannedStation


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database", db, *args], catch_exceptions=False)
    return result.exit_code, result.output


def _jobs(db: str, files: Path) -> list[int]:
    """A commissioning under way at Acme's station, and an installation of a planned one."""

    async def make() -> list[int]:
        platform = build(make_settings(db, files=str(files)))
        await upgrade(platform.db)
        await platform.start(ocpp=False)
        try:
            s = await js.site(platform)
            started = await js.started(platform, s, when=platform.clock.now() + timedelta(hours=2))
            planned = await platform.jobs.request(
                s.manager,
                JobKind.INSTALLATION,
                site=PlannedStation(Address("Kerkstraat 1", "9000", "Gent"), "Pulsar Plus"),
            )
            return [started.job.id, planned.job.id]
        finally:
            await platform.stop()

    return asyncio.run(make())


def test_job_list_shows_the_jobs_as_lines_and_as_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    started, planned = _jobs(db, tmp_path / "files")
    code, out = invoke(db, "job", "list")
    assert code == 0, out
    lines = out.splitlines()
    assert [int(line.split()[0]) for line in lines] == [planned, started]
    assert "Commissioning" in lines[1] and "In progress" in lines[1] and js.STATION in lines[1]
    assert "Gent (Pulsar Plus)" in lines[0] and "Requested" in lines[0]

    code, out = invoke(db, "job", "list", "--json", "--state", "in_progress")
    assert code == 0, out
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [started]
    assert rows[0]["organisation"] == "Acme"
    assert rows[0]["installer_organisation"] == "Sparks"
    assert rows[0]["station_id"] == js.STATION

    code, out = invoke(db, "job", "list", "--state", "done")
    assert (code, out.strip()) == (0, "no jobs")
    code, out = invoke(db, "job", "list", "--state", "finished")
    assert code == 2 and "Traceback" not in out and "in_progress" in out
    code, out = invoke(db, "job", "list", "--installer", "0")
    assert code == 2 and "Traceback" not in out
