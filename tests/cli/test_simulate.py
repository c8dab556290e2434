"""``voltflow simulate`` with its misbehaviours: a real process against a real platform."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voltflow.bootstrap import Platform
from voltflow.cli.main import main
from voltflow.simulator import Heals

PASSWORD = "cli-sim-password-01"
SRC = Path(__file__).resolve().parents[2] / "src"


def test_what_heals_a_fault_is_named_alike() -> None:
    from voltflow.cli.simulate import HEALS

    assert set(HEALS) == {h.value for h in Heals}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--faulted-connector", "2"], "--faulted-connector: the stations have connectors 1–1"),
        (["--faulted-connector", "1", "--fault-code", "Broken"], "error_code: one of"),
        (["--serial-number", "S" * 26], "--serial-number: 1–25 characters"),
    ],
)
def test_bad_misbehaviour_is_refused_before_anything_runs(args: list[str], problem: str) -> None:
    result = CliRunner().invoke(main, ["simulate", "--url", "ws://127.0.0.1:9/ocpp", *args])
    assert result.exit_code != 0
    assert problem in result.output
    assert "Traceback" not in result.output


async def test_a_misbehaving_fleet_as_the_platform_sees_it(
    platform: Platform, ocpp_url: str
) -> None:
    for n in (1, 2):
        await platform.stations.add(f"CLI-{n:04d}", PASSWORD)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voltflow",
        "simulate",
        "--stations",
        "2",
        "--prefix",
        "CLI-",
        "--url",
        ocpp_url,
        "--password",
        PASSWORD,
        "--connectors",
        "2",
        "--faulted-connector",
        "2",
        "--fault-code",
        "OverVoltage",
        "--fault-vendor-code",
        "V-230",
        "--serial-number",
        "WRONG-0007",
        "--idle-seconds",
        "60",
        "--duration",
        "3",
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, output.decode()
    for n in (1, 2):
        station = await platform.stations.get(f"CLI-{n:04d}")
        assert station.serial_number == "WRONG-0007"
        connectors = {c.evse_id: c for c in await platform.stations.connectors(station.id)}
        assert connectors[2].status == "Faulted"
        assert (connectors[2].error_code, connectors[2].vendor_error_code) == (
            "OverVoltage",
            "V-230",
        )
        assert connectors[1].status != "Faulted"
