"""Soak: a fleet charging for an hour while the platform is broken on a schedule.

``--stations`` stations (5,000) charge without end (StartTransaction, ``--readings`` MeterValues,
StopTransaction; one message every ``--interval`` s, 15 by default: 333 messages a second for
5,000), against ``voltflow serve`` itself, the real runtime. At even points of the run a fault
is injected, in turn:

* **server kill**: SIGKILL, then ``voltflow serve`` started again on the same ports;
* **station drop**: a tenth of the stations lose their connection at once;
* **database restart**: PostgreSQL (``--postgres``: a cluster of the benchmark's own, made with
  ``initdb``) stopped with ``-m immediate`` for ``--db-down`` s and started again; on SQLite,
  where the database is the server's own file, a server kill again.

(``--faults database,database,kill`` injects those instead, evenly spaced.)

Stations reconnect by themselves (backoff with jitter, as stations do), send a message again until
it is acknowledged, and every load generator keeps a ledger of each acknowledgement. Reported per
phase (between two faults): messages acknowledged, CALLERRORs, answers lost, handshakes refused,
reconnects, round trip p50/p99, the server's resident memory; and at the end, acknowledged
against stored: each acknowledged start, stop and energy reading must be in the database.

    .venv/bin/python bench/soak.py [--stations 5000] [--minutes 60 | --quick] [--postgres]

``--quick`` is 10 minutes. Exits 1 if anything acknowledged is missing or the server died.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

import harness

FAULTS = {"kill": "server kill", "drop": "station drop", "database": "database restart"}
RSS_EVERY = 5.0  # seconds between two samples of the server's memory


# -- the platform, as ``voltflow serve`` --------------------------------------------------------
class Serve:
    """``voltflow serve`` on fixed ports, its output appended to ``server.log``."""

    def __init__(self, database_url: str, work: Path) -> None:
        self.database_url = database_url
        self.http_port = harness.free_port()
        self.ocpp_port = harness.free_port()
        self.log_path = work / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ps: psutil.Process | None = None

    def start(self, timeout: float = 180) -> float:
        """Seconds until it serves."""
        started = time.monotonic()
        marker = self.log_size()
        argv = [harness.PYTHON, "-m", "voltflow", "--database", self.database_url, "serve"]
        argv += ["--port", str(self.http_port), "--ocpp-port", str(self.ocpp_port)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=harness.BENCH.parent
            )
        self.ps = psutil.Process(self.proc.pid)
        while b"Operator console" not in self.log_path.read_bytes()[marker:]:
            if self.proc.poll() is not None or time.monotonic() - started > timeout:
                raise harness.BenchError(f"voltflow serve did not start; see {self.log_path}")
            time.sleep(0.05)
        return time.monotonic() - started

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss(self) -> int | None:
        try:
            return int(self.ps.memory_info().rss) if self.ps is not None else None
        except psutil.Error:
            return None

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0


# -- a PostgreSQL cluster of our own --------------------------------------------------------------
class Cluster:
    """``initdb`` in a temporary directory, on a port of its own; as root, run as ``postgres``
    (PostgreSQL refuses root)."""

    def __init__(self) -> None:
        initdb = shutil.which("initdb")
        if initdb is None:
            raise harness.BenchError("--postgres needs initdb on PATH")
        self.bin = Path(initdb).resolve().parent
        self.root = Path(tempfile.mkdtemp(prefix="voltflow-soak-pg-"))
        self.data = self.root / "data"
        self.port = harness.free_port()
        if os.geteuid() == 0:  # PostgreSQL refuses root: its programs run as postgres
            try:
                shutil.chown(self.root, "postgres", "postgres")
            except LookupError as exc:
                problem = f"as root, --postgres needs a postgres user: {exc}"
                raise harness.BenchError(problem) from exc
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        argv = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
        if done.returncode:
            raise harness.BenchError(f"{program} failed: {done.stderr.strip() or done.stdout}")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1"
        options += f" -c unix_socket_directories={self.root}"
        log = str(self.root / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def crash(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.crash()
        shutil.rmtree(self.root, ignore_errors=True)


def prepare(database_url: str, stations: int) -> None:
    """Schema, stations ``BENCH-00001``… with the benchmarks' password, token ``BENCHTAG``: what
    the benchmark server prepares (``servers/voltflow_server.py``)."""
    sys.path.insert(0, str(harness.SERVERS))
    from voltflow_server import prepare as prepare_platform

    from voltflow.bootstrap import build
    from voltflow.config import Settings

    async def run() -> None:
        platform = build(Settings(database_url=database_url))
        await platform.writer.start()
        try:
            await prepare_platform(platform, stations, harness.PASSWORD, "BENCHTAG")
        finally:
            await platform.writer.stop()
            await platform.db.dispose()

    asyncio.run(run())


# -- the run -----------------------------------------------------------------------------------
@dataclass
class Phase:
    began_with: str
    start: float
    end: float = 0.0
    stats: list[dict[str, Any]] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    fault_seconds: float | None = None  # how long the fault took to inject (restart time)
    log_bytes: int = 0

    def total(self, key: str) -> int:
        return sum(int(s[key]) for s in self.stats)

    def refused(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.stats:
            for k, v in s["refused"].items():
                out[k] = out.get(k, 0) + v
        return out

    def latencies(self) -> list[float]:
        return sorted(x for s in self.stats for x in s["latencies"])


Sessions = dict[int, tuple[str, int, int | None]]


def stored(database_url: str) -> tuple[Sessions, set[tuple[str, int]]]:
    """Sessions (id: station, meter start, meter stop) and energy readings (station, Wh)."""
    from sqlalchemy import create_engine, select

    from voltflow.store.database import blocking_url
    from voltflow.store.tables import charging_sessions, meter_values

    engine = create_engine(blocking_url(database_url))
    try:
        with engine.connect() as conn:
            s = charging_sessions.c
            sessions = {
                int(r.id): (r.station_id, int(r.meter_start_wh), r.meter_stop_wh)
                for r in conn.execute(select(s.id, s.station_id, s.meter_start_wh, s.meter_stop_wh))
            }
            m = meter_values.c
            readings = {
                (r.station_id, int(r.value))
                for r in conn.execute(
                    select(m.station_id, m.value).where(
                        m.measurand == "Energy.Active.Import.Register"
                    )
                )
            }
    finally:
        engine.dispose()
    return sessions, readings


def compare(ledgers: list[dict[str, Any]], database_url: str) -> list[list[Any]]:
    import ocppframes

    sessions, readings = stored(database_url)
    name = ocppframes.station_id
    starts = [(tx, name(n), meter) for lg in ledgers for tx, n, meter in lg["starts"]]
    stops = [(tx, meter) for lg in ledgers for tx, meter in lg["stops"]]
    acked_readings = {
        (name(int(n)), v) for lg in ledgers for n, values in lg["readings"].items() for v in values
    }
    missing_starts = sum(
        1 for tx, station, meter in starts if sessions.get(tx, (None, None))[:2] != (station, meter)
    )
    missing_stops = sum(1 for tx, meter in stops if tx not in sessions or sessions[tx][2] != meter)
    missing_readings = len(acked_readings - readings)
    stopped = sum(1 for s in sessions.values() if s[2] is not None)
    return [
        ["StartTransaction (session)", len(starts), len(sessions), missing_starts],
        ["StopTransaction (session stop)", len(stops), stopped, missing_stops],
        ["MeterValues (energy reading)", len(acked_readings), len(readings), missing_readings],
    ]


def run(args: argparse.Namespace, work: Path) -> int:
    cluster = Cluster() if args.postgres else None
    try:
        database_url = cluster.url if cluster else f"sqlite:///{work / 'soak.db'}"
        print(f"preparing {args.stations} stations on {database_url} …", flush=True)
        prepare(database_url, args.stations)
        server = Serve(database_url, work)
        print(f"voltflow serve started in {server.start():.1f} s", flush=True)
        try:
            return drive(args, work, server, cluster, database_url)
        finally:
            server.stop()
    finally:
        if cluster is not None:
            cluster.destroy()


def drive(
    args: argparse.Namespace, work: Path, server: Serve, cluster: Cluster | None, database_url: str
) -> int:
    per_client = -(-args.stations // args.clients)
    clients: list[harness.Child] = []
    for i in range(args.clients):
        count = min(per_client, args.stations - i * per_client)
        if count <= 0:
            break
        argv = [harness.PYTHON, str(harness.BENCH / "loadgen.py"), "soak"]
        argv += ["--port", str(server.ocpp_port), "--first", str(1 + i * per_client)]
        argv += ["--count", str(count), "--interval", str(args.interval)]
        argv += ["--readings", str(args.readings), "--ledger", str(work / f"ledger-{i}.json")]
        clients.append(harness.Child(argv, f"soak-{i}", work))
    for c in clients:
        c.event("ready", timeout=60)
    seconds = args.minutes * 60
    if args.faults:
        kinds = [FAULTS[k] for k in args.faults.split(",")]
    else:  # each kind in turn, every 20 minutes or so: nine in an hour, three at least
        kinds = [*FAULTS.values()] * max(1, round(args.minutes / 20))
    at = [seconds * (k + 1) / (len(kinds) + 1) for k in range(len(kinds))]
    print(
        f"{args.stations} stations, one message every {args.interval:g} s each, "
        f"{args.minutes:g} min, faults at "
        + ", ".join(f"{t / 60:.1f} min ({kinds[k]})" for k, t in enumerate(at)),
        flush=True,
    )
    for c in clients:
        c.send("go")
    t0 = time.monotonic()
    phases = [Phase("start", 0.0)]
    rss_series: list[tuple[float, int]] = []
    next_rss = 0.0
    log_mark = server.log_size()

    def close_phase(now: float) -> None:
        phase = phases[-1]
        phase.end = now
        for c in clients:
            c.send("stats")
        phase.stats = [c.event("stats", timeout=120) for c in clients]
        phase.log_bytes = server.log_size() - log_mark

    pending = list(enumerate(at))
    while True:
        now = time.monotonic() - t0
        if now >= next_rss:
            rss = server.rss()
            if rss is not None:
                rss_series.append((now, rss))
                phases[-1].rss.append(rss)
            next_rss = now + RSS_EVERY
        if not server.alive:
            print("the server died by itself: see server.log", flush=True)
            break
        if pending and now >= pending[0][1]:
            k, _ = pending.pop(0)
            kind = kinds[k]
            if kind == "database restart" and cluster is None:
                kind = "database restart (SQLite: server kill)"
            close_phase(now)
            log_mark = server.log_size()
            print(f"{now / 60:5.1f} min  {kind}", flush=True)
            phases.append(Phase(kind, now))
            took = time.monotonic()
            if kind == "station drop":
                for c in clients:
                    c.send("drop 0.1")
                for c in clients:
                    c.event("dropped", timeout=60)
            elif kind == "database restart" and cluster is not None:
                cluster.crash()
                time.sleep(args.db_down)
                cluster.start()
            else:  # a server kill, and SQLite's database restart: the database is its file
                server.kill()
                server.start()
            phases[-1].fault_seconds = time.monotonic() - took
            continue
        if now >= seconds:
            break
        time.sleep(0.5)
    close_phase(time.monotonic() - t0)
    for c in clients:
        c.send("quit")
    done = [c.event("done", timeout=180) for c in clients]
    for c in clients:
        c.stop()
    alive = server.alive
    server.stop()
    ledgers = [json.loads((work / f"ledger-{i}.json").read_text()) for i in range(len(clients))]
    comparison = compare(ledgers, database_url)
    report(args, phases, rss_series, comparison, done, alive, server)
    harness.write_json(
        args.json,
        {
            "phases": [
                {
                    "began_with": p.began_with,
                    "start": p.start,
                    "end": p.end,
                    "fault_seconds": p.fault_seconds,
                    "rss": p.rss,
                    "log_bytes": p.log_bytes,
                    "stats": [{k: v for k, v in s.items() if k != "latencies"} for s in p.stats],
                    "p99_ms": harness.percentile(p.latencies(), 99),
                }
                for p in phases
            ],
            "rss": rss_series,
            "acknowledged_vs_stored": comparison,
        },
    )
    lost = sum(row[3] for row in comparison)
    return 0 if lost == 0 and alive else 1


def report(
    args: argparse.Namespace,
    phases: list[Phase],
    rss_series: list[tuple[float, int]],
    comparison: list[list[Any]],
    done: list[dict[str, Any]],
    alive: bool,
    server: Serve,
) -> None:
    rows = []
    for p in phases:
        lat = p.latencies()
        span = max(p.end - p.start, 1e-9)
        refused = p.refused()
        rows.append(
            [
                f"{p.start / 60:.1f}–{p.end / 60:.1f} min",
                p.began_with
                + (f" ({p.fault_seconds:.1f} s)" if p.fault_seconds is not None else ""),
                f"{p.total('answered'):,}",
                harness.fmt(p.total("answered") / span),
                p.total("call_errors"),
                p.total("lost"),
                sum(refused.values()),
                p.total("reconnects"),
                harness.fmt(harness.percentile(lat, 50), 1),
                harness.fmt(harness.percentile(lat, 99), 1),
                harness.fmt(max(p.rss) / 2**20 if p.rss else None),
                harness.fmt(p.log_bytes / 1024, 1),
            ]
        )
    print()
    print(
        harness.table(
            [
                "phase",
                "began with",
                "acknowledged",
                "msgs/s",
                "CALLERRORs",
                "answers lost",
                "connects failed",
                "reconnects",
                "p50 ms",
                "p99 ms",
                "RSS max MiB",
                "log KiB",
            ],
            rows,
        )
    )
    print()
    print(
        harness.table(
            ["acknowledged …", "acknowledged", "stored", "acknowledged, not stored"],
            [[r[0], f"{r[1]:,}", f"{r[2]:,}", r[3]] for r in comparison],
        )
    )
    in_hand = sum(d["in_hand"] for d in done)
    print(f"\nmessages in hand at the end (sent, not acknowledged): {in_hand}")
    if rss_series:
        step = max(1, len(rss_series) // 12)
        points = rss_series[::step] + ([rss_series[-1]] if (len(rss_series) - 1) % step else [])
        print(
            "server RSS over time: "
            + ", ".join(f"{t / 60:.1f} min {r / 2**20:.0f} MiB" for t, r in points)
        )
    print(f"server log: {server.log_size() / 1024:.0f} KiB in all")
    lost = sum(r[3] for r in comparison)
    print(
        f"verdict: {'nothing acknowledged was lost' if lost == 0 else f'{lost} ACKNOWLEDGED LOST'}"
        f"; server {'running' if alive else 'DIED'} at the end"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=5000)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--quick", action="store_true", help="10 minutes")
    parser.add_argument("--interval", type=float, default=15, help="s between a station's messages")
    parser.add_argument("--readings", type=int, default=10, help="MeterValues a session")
    parser.add_argument("--clients", type=int, default=None, help="load generators (1 per 2,500)")
    parser.add_argument("--postgres", action="store_true", help="a PostgreSQL cluster of its own")
    parser.add_argument(
        "--faults",
        default=None,
        help="the faults in order, evenly spaced, e.g. database,database (kinds: "
        + ", ".join(FAULTS)
        + "); default: each in turn, nine an hour",
    )
    parser.add_argument("--db-down", type=float, default=10, help="s PostgreSQL stays down")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    if args.faults and not set(args.faults.split(",")) <= set(FAULTS):
        parser.error(f"--faults: kinds are {', '.join(FAULTS)}")
    if args.quick:
        args.minutes = 10
    if args.clients is None:
        args.clients = max(1, -(-args.stations // 2500))
    print(f"Soak: {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"machine: {harness.machine()}", flush=True)
    started = time.monotonic()
    load_before = harness.load_average()
    with harness.workdir(args.keep) as work:
        try:
            code = run(args, work)
        finally:
            if args.keep:
                print(f"logs in {work}")
    print(harness.load_note([load_before, harness.load_average()]))
    print(f"\n({time.monotonic() - started:.0f} s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
