"""The ``voltflow`` command: one-shot commands in-process, ``serve`` and ``command`` as real
processes talking over real sockets."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from click.testing import CliRunner

from voltflow.cli.main import main
from voltflow.i18n import _


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database", db, *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_station_token_and_sessions(db: str) -> None:
    code, out = invoke(db, "station", "add", "CP-1", "--password", "station-pass-0001")
    assert code == 0, out
    assert "ws://" in out and "station-pass-0001" in out
    code, out = invoke(db, "token", "add", "04:aa:bb")
    assert (code, out.strip()) == (0, "token 04AABB added, active")
    code, out = invoke(db, "sessions", "list", "--json")
    assert code == 0 and json.loads(out) == []
    code, out = invoke(db, "station", "list", "--json")
    assert [s["id"] for s in json.loads(out)] == ["CP-1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["station", "add", "bad id"], "station id"),
        (
            ["station", "add", "CP-1", "--password", "short"],
            "password: 5 characters; a station key has 16–40 characters",
        ),
        (["token", "add", "!!!"], "up to 20 letters or digits"),
        (["station", "claim", "NOPE"], "no station NOPE"),
        (["command", "CP-1", "Explode"], "unknown remote action"),
        (["command", "CP-1", "Reset", "--payload", "{nope"], "not valid JSON"),
        (["command", "CP-1", "Reset"], "an API key is needed"),
        (["station", "rotate-key", "CP-1"], "an API key is needed"),
        (
            ["station", "rotate-key", "CP-1", "--api-key", "k", "--api-url", "http://127.0.0.1:9"],
            "cannot reach the server",
        ),
        (["apikey", "create", "nobody"], "no user nobody"),
    ],
)
def test_errors_are_messages_not_tracebacks(db: str, args: list[str], message: str) -> None:
    code, out = invoke(db, *args)
    assert code != 0
    assert message in out
    assert "Traceback" not in out


def test_a_generated_key_is_printed_once_and_fits_ocpp(db: str) -> None:
    code, out = invoke(db, "station", "add", "CP-1", "--generate-password")
    assert code == 0, out
    [key] = [line.split()[1] for line in out.splitlines() if line.strip().startswith("password")]
    assert len(key) == 40 and int(key, 16) >= 0
    code, out = invoke(db, "station", "list")
    assert "no key" not in out


def test_claiming_a_keyless_station_gives_it_a_key(db: str) -> None:
    assert invoke(db, "station", "add", "CP-OPEN")[0] == 0
    code, out = invoke(db, "station", "list")
    assert "CP-OPEN" in out and "no key: anyone may connect as it" in out
    code, out = invoke(db, "station", "claim", "CP-OPEN")
    assert code == 0, out
    [key] = [line.split()[2] for line in out.splitlines() if "new key" in line]
    assert len(key) == 40
    assert "not sent" in out  # no server here: the installer sets it on the station
    # Still keyless until the station connects with it: the list keeps saying so.
    assert "no key" in invoke(db, "station", "list")[1]


def test_duplicate_station_keeps_the_first(db: str) -> None:
    assert invoke(db, "station", "add", "CP-1", "--password", "first-pass-000001")[0] == 0
    code, out = invoke(db, "station", "add", "CP-1", "--password", "other-pass-000001")
    assert code == 1 and "already exists" in out


def test_unreachable_database_is_a_message(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    code, out = invoke(f"sqlite:///{tmp_path}/a-file/x.db", "station", "list")
    assert "a-file" in out
    assert code != 0
    assert "Traceback" not in out


def test_command_to_unreachable_server(db: str) -> None:
    code, out = invoke(
        db, "command", "CP-1", "Reset", "--api-key", "k", "--api-url", "http://127.0.0.1:9"
    )
    assert code == 1 and "cannot reach the server" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(db: str, tmp_path: Path) -> Iterator[tuple[int, int, str]]:
    assert invoke(db, "user", "add", "op", "--password", "op-password")[0] == 0
    code, key = invoke(db, "apikey", "create", "op")
    assert code == 0
    assert invoke(db, "station", "add", "CP-1", "--password", "station-pass-0001")[0] == 0
    http_port, ocpp_port = _free_port(), _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voltflow",
            "--database",
            db,
            "serve",
            "--port",
            str(http_port),
            "--ocpp-port",
            str(ocpp_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    deadline = time.monotonic() + 20
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "Operator console" in line:
            break
    else:
        proc.kill()
        pytest.fail("server did not start")
    time.sleep(0.3)
    try:
        yield http_port, ocpp_port, key.strip()
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_serve_and_command_end_to_end(server: tuple[int, int, str], db: str) -> None:
    http_port, ocpp_port, key = server
    auth = base64.b64encode(b"CP-1:station-pass-0001").decode()
    result: dict[str, object] = {}

    async def station() -> None:
        async with websockets.connect(
            f"ws://127.0.0.1:{ocpp_port}/ocpp/CP-1",
            subprotocols=["ocpp1.6"],
            additional_headers={"Authorization": f"Basic {auth}"},
        ) as ws:
            await ws.send(
                json.dumps(
                    [
                        2,
                        "b1",
                        "BootNotification",
                        {"chargePointVendor": "V", "chargePointModel": "M"},
                    ]
                )
            )
            assert json.loads(await ws.recv())[2]["status"] == "Accepted"
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "voltflow",
                "command",
                "CP-1",
                "reset",
                "--payload",
                '{"type": "Hard"}',
                "--api-url",
                f"http://127.0.0.1:{http_port}",
                "--api-key",
                key,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            call = json.loads(await ws.recv())
            assert call[2:] == ["Reset", {"type": "Hard"}]
            await ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))
            out, _ = await proc.communicate()
            result["code"], result["out"] = proc.returncode, out.decode()

    asyncio.run(station())
    assert result["code"] == 0, result["out"]
    assert json.loads(str(result["out"])) == {"status": "Accepted"}


def test_card_import_show_block_unblock(db: str, tmp_path: Path) -> None:
    good = tmp_path / "cards.csv"
    good.write_text("uid,printed_number\n04A1B2C3,VF-0001\n04A1B2C4,VF-0002\n")
    code, out = invoke(db, "card", "import", str(good))
    assert (code, out.strip()) == (0, "2 cards imported into stock")
    code, out = invoke(db, "card", "show", "04:a1:b2:c3", "--json")
    card = json.loads(out)
    assert (card["state"], card["history"][0]["action"]) == ("in_stock", "import")
    code, out = invoke(db, "card", "show", "04A1B2C3")
    assert "BE-VFL-C00000001-Y" in out
    code, out = invoke(db, "card", "block", "04A1B2C3")
    assert code == 1
    assert "cannot block a card that is in stock" in out
    assert invoke(db, "token", "add", "DEADBEEF")[0] == 0
    assert invoke(db, "card", "block", "DEADBEEF")[0] == 0
    assert json.loads(invoke(db, "card", "show", "DEADBEEF", "--json")[1])["state"] == "blocked"
    assert invoke(db, "card", "unblock", "DEADBEEF")[0] == 0


def test_card_import_with_bad_rows_names_them_and_imports_nothing(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("uid,printed_number\n04A1B2C5,VF-0003\nnothex,VF-0004\n04A1B2C5,VF-0005\n")
    code, out = invoke(db, "card", "import", str(bad))
    assert code == 1
    assert "row 3, column uid" in out
    assert "row 4, column uid: 04A1B2C5 repeats row 2" in out
    assert "Traceback" not in out
    assert invoke(db, "card", "show", "04A1B2C5")[0] == 1


def test_rotate_key_end_to_end(server: tuple[int, int, str]) -> None:
    """``station rotate-key`` through the running server: the station takes the new key, which
    the command prints once; the station's reconnection with it retires the old one."""
    http_port, ocpp_port, key = server
    url = f"ws://127.0.0.1:{ocpp_port}/ocpp/CP-1"

    def auth(password: str) -> dict[str, str]:
        token = base64.b64encode(f"CP-1:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    result: dict[str, str] = {}

    async def station() -> None:
        async with websockets.connect(
            url, subprotocols=["ocpp1.6"], additional_headers=auth("station-pass-0001")
        ) as ws:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "voltflow",
                "station",
                "rotate-key",
                "CP-1",
                "--api-url",
                f"http://127.0.0.1:{http_port}",
                "--api-key",
                key,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            call = json.loads(await ws.recv())
            assert call[2] == "ChangeConfiguration" and call[3]["key"] == "AuthorizationKey"
            result["sent"] = call[3]["value"]
            await ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))
            out, _ = await proc.communicate()
            result["code"], result["out"] = str(proc.returncode), out.decode()
        async with websockets.connect(
            url, subprotocols=["ocpp1.6"], additional_headers=auth(result["sent"])
        ) as ws:
            await ws.send(json.dumps([2, "h1", "Heartbeat", {}]))
            assert json.loads(await ws.recv())[0] == 3
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(
                url, subprotocols=["ocpp1.6"], additional_headers=auth("station-pass-0001")
            ):
                pass
        assert refused.value.response.status_code == 401

    asyncio.run(station())
    assert result["code"] == "0", result["out"]
    assert "Accepted" in result["out"]
    assert result["sent"] in result["out"]


def test_claim_through_the_running_server_sends_the_key(
    server: tuple[int, int, str], db: str
) -> None:
    """``station claim --api-key``: the server holding the station's socket hands it its key."""
    http_port, ocpp_port, key = server
    assert invoke(db, "station", "add", "CP-OPEN")[0] == 0  # no key: security profile 0
    result: dict[str, str] = {}

    async def station() -> None:
        async with websockets.connect(
            f"ws://127.0.0.1:{ocpp_port}/ocpp/CP-OPEN", subprotocols=["ocpp1.6"]
        ) as ws:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "voltflow",
                "--database",
                db,
                "station",
                "claim",
                "CP-OPEN",
                "--api-url",
                f"http://127.0.0.1:{http_port}",
                "--api-key",
                key,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            call = json.loads(await ws.recv())
            assert call[2] == "ChangeConfiguration" and call[3]["key"] == "AuthorizationKey"
            result["sent"] = call[3]["value"]
            await ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))
            out, _ = await proc.communicate()
            result["code"], result["out"] = str(proc.returncode), out.decode()

    asyncio.run(station())
    assert result["code"] == "0", result["out"]
    assert result["sent"] in result["out"] and "answered Accepted" in result["out"]


def test_messages_follow_the_locale(db: str) -> None:
    """LANG picks the language of the messages (LC_ALL and LC_MESSAGES first, as gettext
    does); a language Voltflow does not speak, or none, is English."""

    def run(lang: str | None) -> str:
        env = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": lang}
        result = CliRunner(env=env).invoke(main, ["--database", db, "user", "enable", "nobody"])
        assert result.exit_code == 1 and "Traceback" not in result.output
        return result.output

    assert "Erreur : aucun utilisateur nobody" in run("fr_BE.UTF-8")
    assert "geen gebruiker nobody" in run("nl_BE.UTF-8")
    assert "Error: no user nobody" in run("de_DE.UTF-8")
    assert "no user nobody" in run(None)
    # The language was this command's only: what runs next in the process speaks English again.
    assert _("no user %(name)s") % {"name": "nobody"} == "no user nobody"


def test_a_service_refusal_follows_the_locale(db: str, tmp_path: Path) -> None:
    """A service's error, and the domain rule behind it, in the language of the locale."""
    stock = tmp_path / "cards.csv"
    stock.write_text("uid,printed_number\n04A1B2C3,VF-0001\n")
    assert invoke(db, "card", "import", str(stock)) == (0, "1 card imported into stock\n")

    def block(lang: str) -> str:
        env = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": lang}
        result = CliRunner(env=env).invoke(main, ["--database", db, "card", "block", "04A1B2C3"])
        assert result.exit_code == 1 and "Traceback" not in result.output
        return result.output

    assert block("fr_BE.UTF-8") == (
        "Erreur : 04A1B2C3 : impossible de bloquer une carte qui est en stock "
        "(seulement depuis : active)\n"
    )
    assert "04A1B2C3: kan een kaart die in voorraad is niet blokkeren" in block("nl_BE.UTF-8")
    assert block("C.UTF-8") == (
        "Error: 04A1B2C3: cannot block a card that is in stock (only from: active)\n"
    )
