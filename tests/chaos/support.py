"""What the fault tests share: the platform as a real ``voltflow serve`` process, a PostgreSQL
cluster of the test's own that it may stop, and a fleet of stations speaking literal OCPP 1.6
frames that keeps a ledger of every acknowledgement it got.

A CALLRESULT is the platform's promise that what the CALL said is stored. Each station sends its
messages one at a time and repeats one (same payload, so the same effect) until it is
acknowledged: after a CALLERROR, after a lost answer, on a new connection after the old one died.
That is what a charging station does with transaction messages, and it means that once the fleet
stops, everything it sent was acknowledged in the end, so the database must hold exactly the
ledger: nothing missing, nothing twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from tests.conftest import make_settings
from voltflow.bootstrap import build
from voltflow.store.database import blocking_url, upgrade
from voltflow.store.tables import charging_sessions, meter_values

PASSWORD = "chaos-station-key-0123456789abcdef"
ID_TAG = "CHAOS001"
ENERGY = "Energy.Active.Import.Register"
# The stations' clocks start here and move one second a message: no two readings or starts of
# a station share a timestamp, whatever happens to the connection.
T0 = datetime(2026, 11, 1, tzinfo=UTC)
# Generous: reached only when something is broken, never waited out by a passing test.
ANSWER_TIMEOUT = 15.0
PROGRESS_TIMEOUT = 120.0
METER_VALUES_PER_SESSION = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def station_ids(count: int) -> list[str]:
    return [f"CHAOS-{n:04d}" for n in range(1, count + 1)]


async def register(database_url: str, ids: Iterable[str]) -> None:
    """The schema, the stations (all with ``PASSWORD``) and the token the fleet charges with."""
    platform = build(make_settings(database_url))
    await upgrade(platform.db)
    await platform.start(ocpp=False)
    try:
        for station_id in ids:
            await platform.stations.add(station_id, PASSWORD)
        await platform.tokens.add(ID_TAG)
    finally:
        await platform.stop()


# -- the platform, as a process -------------------------------------------------------------------
class ServerProcess:
    """``voltflow serve`` on ports of its own, its output in ``log_path``; restarted on the same
    ports, so that stations find it where they left it."""

    def __init__(self, database_url: str, workdir: Path, name: str = "server") -> None:
        self.database_url = database_url
        self.http_port = free_port()
        self.ocpp_port = free_port()
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        # The process's own environment, beside the test's (VOLTFLOW_FAILPOINTS, NATS …).
        self.env: dict[str, str] = {}

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.ocpp_port}/ocpp"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def start(self, timeout: float = 60, *, worker: bool = False) -> None:
        """``worker``: ``voltflow worker`` instead of ``serve``."""
        argv = [sys.executable, "-m", "voltflow", "--database", self.database_url]
        if worker:
            argv.append("worker")
            ready = b"Event worker"
        else:
            argv += ["serve", "--port", str(self.http_port), "--ocpp-port", str(self.ocpp_port)]
            ready = b"Operator console"
        marker = self.log_size()
        self.proc = self._spawn(argv)
        self.starts += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while ready not in self.log_bytes()[marker:]:
            if self.proc.poll() is not None:
                raise AssertionError(f"voltflow serve exited:\n{self.log_tail()}")
            if loop.time() > deadline:
                raise AssertionError(f"voltflow serve did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PYTHONWARNINGS": "ignore",
            "VOLTFLOW_SECRET_KEY": "chaos-secret",
            **self.env,
        }
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed; what is committed is all there is."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.to_thread(self.proc.wait, 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    async def wait_for_log(self, text: bytes, after: int, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while text not in self.log_bytes()[after:]:
            assert loop.time() < deadline, f"{text!r} never logged:\n{self.log_tail()}"
            await asyncio.sleep(0.1)

    def log_bytes(self) -> bytes:
        try:
            return self.log_path.read_bytes()
        except FileNotFoundError:
            return b""

    def log_size(self) -> int:
        return len(self.log_bytes())

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_bytes().decode(errors="replace").splitlines()[-lines:])


# -- a PostgreSQL cluster of the test's own ----------------------------------------------------
class ThrowawayPostgres:
    """``initdb`` in a temporary directory, served on a port of its own on 127.0.0.1: the test
    may stop it as hard as it likes. PostgreSQL refuses to run as root, so as root (CI) every
    PostgreSQL program runs as the ``postgres`` system user."""

    def __init__(self) -> None:
        initdb = shutil.which("initdb")
        if initdb is None:
            raise RuntimeError("initdb is not on PATH")
        self.bin = Path(initdb).resolve().parent
        self.root = Path(tempfile.mkdtemp(prefix="voltflow-chaos-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def _run(self, program: str, *args: str, timeout: float = 120) -> None:
        argv = [str(self.bin / program), *args]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stderr.strip() or done.stdout}"
            )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip

    def crash(self) -> None:
        """Immediate shutdown: every backend killed, no checkpoint; the next start recovers
        from the WAL, as after a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


# -- the stations ---------------------------------------------------------------------------------
def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Ledger:
    """What the platform acknowledged, keyed as the database stores it."""

    starts: dict[int, tuple[str, int, datetime]] = field(default_factory=dict)
    stops: dict[int, tuple[str, int]] = field(default_factory=dict)
    readings: set[tuple[str, datetime, int, int]] = field(default_factory=set)
    acks: int = 0
    call_errors: Counter[str] = field(default_factory=Counter)
    lost_answers: int = 0
    # Opening handshakes refused, by HTTP status.
    refused: Counter[int] = field(default_factory=Counter)


class Station:
    """One station charging again and again: StartTransaction, MeterValues with a rising energy
    register, StopTransaction; a BootNotification on every new connection."""

    _uids = itertools.count(1)

    def __init__(self, station_id: str, number: int, url: str, ledger: Ledger, pace: float):
        self.id = station_id
        self.url = f"{url}/{station_id}"
        self.ledger = ledger
        self.pace = pace
        self.second = 0
        # Distinct from every other station's readings too: a reading found under another
        # station's id would be a mix-up, not a match.
        self.meter_wh = number * 10_000_000
        self.acks = 0
        self.connections = 0
        self.in_flight = False
        self.ws: ClientConnection | None = None
        self.last_problem = ""
        self.problems = 0
        self._auth = base64.b64encode(f"{station_id}:{PASSWORD}".encode()).decode()

    def _tick(self) -> datetime:
        self.second += 1
        return T0 + timedelta(seconds=self.second)

    async def run(self, stopping: asyncio.Event) -> None:
        transaction: int | None = None
        readings = 0
        pending: tuple[str, dict[str, Any]] | None = None
        backoff = 0.1
        while not stopping.is_set():
            try:
                async with connect(
                    self.url,
                    subprotocols=[Subprotocol("ocpp1.6")],
                    additional_headers={"Authorization": f"Basic {self._auth}"},
                    open_timeout=ANSWER_TIMEOUT,
                    close_timeout=1,
                ) as ws:
                    self.ws = ws
                    self.connections += 1
                    backoff = 0.1
                    boot = {"chargePointVendor": "Chaos", "chargePointModel": "Monkey"}
                    for _ in itertools.count():  # an unanswered boot is sent again
                        if await self._call(ws, "BootNotification", boot) is not None:
                            break
                        await asyncio.sleep(self.pace)
                    while not stopping.is_set():
                        if pending is None:
                            if transaction is None:
                                pending = ("StartTransaction", self._start())
                            elif readings < METER_VALUES_PER_SESSION:
                                pending = ("MeterValues", self._reading(transaction))
                            else:
                                pending = ("StopTransaction", self._stop(transaction))
                        action, payload = pending
                        answer = await self._call(ws, action, payload)
                        if answer is not None:
                            pending = None
                            if action == "StartTransaction":
                                transaction, readings = int(answer["transactionId"]), 0
                            elif action == "MeterValues":
                                readings += 1
                            else:
                                transaction = None
                        # Uneven, as a fleet is: not all stations wait for the same commit.
                        await asyncio.sleep(self.pace * random.uniform(0.5, 1.5))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server went, or refused us meanwhile: again
                if isinstance(exc, InvalidStatus):
                    self.ledger.refused[exc.response.status_code] += 1
                self.last_problem = f"{type(exc).__name__}: {exc}"
                self.problems += 1
                await asyncio.sleep(backoff)
                backoff = min(1.0, backoff * 2)

    def _start(self) -> dict[str, Any]:
        self.meter_wh += 1
        return {
            "connectorId": 1,
            "idTag": ID_TAG,
            "meterStart": self.meter_wh,
            "timestamp": _iso(self._tick()),
        }

    def _reading(self, transaction: int) -> dict[str, Any]:
        self.meter_wh += 137
        sampled = {
            "value": str(self.meter_wh),
            "context": "Sample.Periodic",
            "measurand": ENERGY,
            "location": "Outlet",
            "unit": "Wh",
        }
        return {
            "connectorId": 1,
            "transactionId": transaction,
            "meterValue": [{"timestamp": _iso(self._tick()), "sampledValue": [sampled]}],
        }

    def _stop(self, transaction: int) -> dict[str, Any]:
        self.meter_wh += 1
        return {
            "transactionId": transaction,
            "idTag": ID_TAG,
            "meterStop": self.meter_wh,
            "timestamp": _iso(self._tick()),
            "reason": "Local",
        }

    async def _call(
        self, ws: ClientConnection, action: str, payload: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The CALLRESULT's payload (noted in the ledger), or None after a CALLERROR; a lost
        connection or answer raises."""
        uid = f"{self.id}-{next(self._uids)}"
        self.in_flight = True
        try:
            await ws.send(json.dumps([2, uid, action, payload]))
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT)
                except BaseException:
                    self.ledger.lost_answers += 1
                    raise
                frame = json.loads(raw)
                if frame[0] == 2:  # the platform's own call (local lists): not supported here
                    await ws.send(json.dumps([4, frame[1], "NotSupported", "", {}]))
                    continue
                if frame[1] != uid:
                    continue
                if frame[0] == 4:
                    self.ledger.call_errors[frame[2]] += 1
                    self.last_problem = f"CALLERROR {frame[2]}: {frame[3]}"
                    self.problems += 1
                    return None
                answer: dict[str, Any] = frame[2]
                self._note(action, payload, answer)
                return answer
        finally:
            self.in_flight = False

    def _note(self, action: str, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        ledger = self.ledger
        ledger.acks += 1
        self.acks += 1
        if action == "StartTransaction":
            started = datetime.strptime(payload["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
            ledger.starts[int(answer["transactionId"])] = (
                self.id,
                payload["meterStart"],
                started.replace(tzinfo=UTC),
            )
        elif action == "StopTransaction":
            ledger.stops[payload["transactionId"]] = (self.id, payload["meterStop"])
        elif action == "MeterValues":
            value = payload["meterValue"][0]
            sampled = datetime.strptime(value["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
            ledger.readings.add(
                (
                    self.id,
                    sampled.replace(tzinfo=UTC),
                    int(value["sampledValue"][0]["value"]),
                    payload["transactionId"],
                )
            )


class Fleet:
    def __init__(self, url: str, ids: list[str], pace: float = 0.1) -> None:
        self.ledger = Ledger()
        self.stations = [Station(s, n, url, self.ledger, pace) for n, s in enumerate(ids, 1)]
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(s.run(self._stopping)) for s in self.stations]

    def drop(self, every: int) -> list[Station]:
        """Every ``every``-th station loses its connection (as a mobile network drops it)."""
        dropped = self.stations[::every]
        for station in dropped:
            if station.ws is not None and station.ws.transport is not None:
                station.ws.transport.abort()
        return dropped

    def in_flight(self) -> int:
        return sum(s.in_flight for s in self.stations)

    async def mid_stream(self, timeout: float = PROGRESS_TIMEOUT) -> None:
        """Returns at a moment when a tenth of the stations wait for an answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.in_flight() < max(1, len(self.stations) // 10):
            assert loop.time() < deadline, "the stations send nothing"
            await asyncio.sleep(0.001)

    async def progress(self, each: int, timeout: float = PROGRESS_TIMEOUT) -> None:
        """Returns once every station has had ``each`` more messages acknowledged."""
        before = {s.id: s.acks for s in self.stations}
        await self._until(
            lambda: [s for s in self.stations if s.acks - before[s.id] < each], timeout
        )

    async def trouble(self, each: int, timeout: float = PROGRESS_TIMEOUT) -> None:
        """Returns once every station has met ``each`` more CALLERRORs, lost answers or refused
        connections (while the platform or its database is down)."""
        before = {s.id: s.problems for s in self.stations}
        await self._until(
            lambda: [s for s in self.stations if s.problems - before[s.id] < each], timeout
        )

    async def _until(self, lagging: Any, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while behind := lagging():
            if loop.time() > deadline:
                sample = "; ".join(f"{s.id}: {s.last_problem}" for s in behind[:5])
                raise AssertionError(f"{len(behind)} stations stuck ({sample})")
            await asyncio.sleep(0.05)

    async def stop(self, timeout: float = 60) -> None:
        """Each station stops once its message in hand is acknowledged."""
        self._stopping.set()
        done, pending = await asyncio.wait(self._tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        assert not pending, f"{len(pending)} stations could not finish their last message"

    async def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


# -- what the database holds ----------------------------------------------------------------------
def check_stored(database_url: str, ledger: Ledger) -> None:
    """The database holds exactly what was acknowledged: every session started and stopped as
    the stations were told, every reading, nothing missing and nothing twice."""
    engine = create_engine(blocking_url(database_url))
    try:
        with engine.connect() as conn:
            sessions = {
                int(r.id): r
                for r in conn.execute(
                    select(
                        charging_sessions.c.id,
                        charging_sessions.c.station_id,
                        charging_sessions.c.meter_start_wh,
                        charging_sessions.c.started_at,
                        charging_sessions.c.stopped_at,
                        charging_sessions.c.meter_stop_wh,
                        charging_sessions.c.stop_reason,
                    )
                )
            }
            readings = [
                (r.station_id, r.sampled_at, int(r.value), r.session_id)
                for r in conn.execute(
                    select(
                        meter_values.c.station_id,
                        meter_values.c.sampled_at,
                        meter_values.c.value,
                        meter_values.c.session_id,
                    ).where(meter_values.c.measurand == ENERGY)
                )
            ]
    finally:
        engine.dispose()
    missing_starts = {
        tx: started
        for tx, started in ledger.starts.items()
        if tx not in sessions
        or (sessions[tx].station_id, sessions[tx].meter_start_wh, sessions[tx].started_at)
        != started
    }
    assert not missing_starts, f"acknowledged starts not stored: {list(missing_starts.items())[:5]}"
    unknown = set(sessions) - set(ledger.starts)
    assert not unknown, f"sessions no station was told of: {sorted(unknown)[:10]}"
    wrong_stops = {
        tx: stop
        for tx, stop in ledger.stops.items()
        if sessions[tx].stopped_at is None
        or sessions[tx].meter_stop_wh != stop[1]
        or sessions[tx].stop_reason != "Local"
    }
    assert not wrong_stops, f"acknowledged stops not stored: {list(wrong_stops.items())[:5]}"
    open_sessions = {tx for tx, s in sessions.items() if s.stopped_at is None}
    assert open_sessions <= set(ledger.starts) - set(ledger.stops)
    twice = [r for r, n in Counter(readings).items() if n > 1]
    assert not twice, f"readings stored twice: {twice[:5]}"
    missing = ledger.readings - set(readings)
    assert not missing, f"{len(missing)} acknowledged readings not stored: {sorted(missing)[:5]}"
    extra = set(readings) - ledger.readings
    assert not extra, f"{len(extra)} readings no station was told of: {sorted(extra)[:5]}"
