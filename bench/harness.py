"""What the benchmarks share: servers and load generators as child processes, PostgreSQL setup,
measurement helpers and the result table.

Every server runs in its own process so that its CPU time (user + system, all threads) and its
resident memory can be read with psutil without counting the load generator.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
SERVERS = BENCH / "servers"
PYTHON = sys.executable
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = "voltflow_bench"
PASSWORD = "bench-password-0001"


class BenchError(RuntimeError):
    pass


# -- child processes --------------------------------------------------------------------------
class Child:
    """A child process we talk to by lines: commands on stdin, JSON (or READY) lines on stdout."""

    def __init__(self, argv: Sequence[str], name: str, log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=BENCH.parent,
        )
        self.ps = psutil.Process(self.proc.pid)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()

    def line(self, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise BenchError(f"{self.name}: no answer within {timeout:g} s") from None
        if line is None:
            raise BenchError(f"{self.name} exited ({self.proc.poll()}); see {self.log_path}")
        return line

    def event(self, name: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            line = self.line(max(0.1, deadline - time.monotonic()))
            if not line.startswith("{"):
                continue
            data: dict[str, Any] = json.loads(line)
            if data.get("event") == name:
                return data

    def stop(self, timeout: float = 20) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        self._log.close()


@dataclass
class Server:
    label: str
    child: Child
    port: int

    @property
    def ps(self) -> psutil.Process:
        return self.child.ps

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)


@dataclass
class ServerSpec:
    """How to start one server under test."""

    label: str
    script: str
    args: list[str] = field(default_factory=list)
    db_processes: str | None = None  # cmdline marker of database processes to measure too
    skip: str | None = None  # why it cannot run here


def echo_spec() -> ServerSpec:
    return ServerSpec("websockets echo", "echo_server.py")


def echo_sansio_spec() -> ServerSpec:
    return ServerSpec("Sans-IO websockets echo", "echo_sansio_server.py")


def ocpp_example_spec() -> ServerSpec:
    return ServerSpec("ocpp package example", "ocpp_example_server.py")


def voltflow_sqlite_spec(workdir: Path, stations: int, *extra: str) -> ServerSpec:
    path = workdir / "voltflow-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return ServerSpec(
        "voltflow SQLite",
        "voltflow_server.py",
        ["--database", f"sqlite:///{path}", "--stations", str(stations), *extra],
    )


def voltflow_postgres_spec(stations: int, url: str | None = None, *extra: str) -> ServerSpec:
    bench_url, problem = postgres_database(url)
    return ServerSpec(
        "voltflow PostgreSQL",
        "voltflow_server.py",
        ["--database", bench_url or "", "--stations", str(stations), *extra],
        db_processes=f"postgres {BENCH_DATABASE}",
        skip=problem,
    )


@contextmanager
def running(spec: ServerSpec, log_dir: Path, timeout: float = 120) -> Iterator[Server]:
    argv = [PYTHON, str(SERVERS / spec.script), "--port", "0", "--watch-stdin", *spec.args]
    child = Child(argv, spec.label.replace(" ", "-"), log_dir)
    try:
        deadline = time.monotonic() + timeout
        while True:
            line = child.line(max(0.1, deadline - time.monotonic()))
            if line.startswith("READY"):
                break
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        yield Server(spec.label, child, int(fields["port"]))
    finally:
        child.stop()


def loadgen(mode: str, server: Server, log_dir: Path, name: str, *args: str) -> Child:
    argv = [PYTHON, str(BENCH / "loadgen.py"), mode, "--port", str(server.port), *args]
    return Child(argv, name, log_dir)


def db_processes(marker: str | None) -> list[psutil.Process]:
    """The database server processes serving the benchmark database (PostgreSQL backends show
    ``postgres: user database host`` as their command line)."""
    if not marker:
        return []
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.info["name"] == "postgres" and marker in cmd:
            found.append(p)
    return found


def cpu_of(processes: Sequence[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


# -- PostgreSQL ---------------------------------------------------------------------------------
def postgres_database(url: str | None = None) -> tuple[str | None, str | None]:
    """A database of its own for the benchmarks, beside the one ``url`` names (created if need
    be, on the same server). Returns (url, None), or (None, why not)."""
    base = url or os.environ.get("VOLTFLOW_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES

    def ensure() -> str:
        import psycopg

        dsn = base.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
        head, _, _ = dsn.rpartition("/")
        return f"{head}/{BENCH_DATABASE}"

    try:
        return ensure(), None
    except Exception as exc:
        return None, f"PostgreSQL at {base} unreachable ({type(exc).__name__}: {exc})"


# -- reporting ----------------------------------------------------------------------------------
def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import websockets

    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, "
        f"websockets {websockets.__version__}"
    )


def load_average() -> float:
    """The 1-minute load average: above the core count, other processes competed for the CPU
    during the measurement and its latencies (less so its CPU times) are not the machine's."""
    return os.getloadavg()[0]


def load_note(loads: Sequence[float]) -> str:
    cores = os.cpu_count() or 1
    worst = max(loads) if loads else 0.0
    note = f"load average (1 min) during the runs: up to {worst:.1f} on {cores} cores"
    if worst > cores:
        note += " — other processes were competing for the CPU; figures are pessimistic"
    return note


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table, columns aligned, so it reads in a terminal and pastes into the docs."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    rank = math.ceil(p / 100 * len(sorted_values))
    k = max(0, min(len(sorted_values) - 1, rank - 1))
    return sorted_values[k]


@contextmanager
def workdir(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="voltflow-bench-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def write_json(path: str | None, data: Any) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    return f"{value:,.{digits}f}"


def add_voltflow_args(parser: Any) -> None:
    """``--voltflow-args``: extra options for the voltflow benchmark server."""
    parser.add_argument(
        "--voltflow-args",
        default="",
        help='extra options for bench/servers/voltflow_server.py, e.g. "--commit-interval-ms 10"',
    )


def measure_each(
    specs: Sequence[ServerSpec],
    measure: Callable[[ServerSpec], dict[str, Any]],
    summary: Callable[[dict[str, Any]], str],
    results: dict[str, dict[str, Any]],
    skipped: dict[str, str],
    loads: list[float],
) -> None:
    """Measure each server in turn (skipping those that cannot run, with the reason), noting the
    load average around each measurement."""
    for spec in specs:
        if spec.skip:
            skipped[spec.label] = spec.skip
            print(f"skipped {spec.label}: {spec.skip}", flush=True)
            continue
        print(f"measuring {spec.label} …", flush=True)
        loads.append(load_average())
        results[spec.label] = r = measure(spec)
        loads.append(load_average())
        r["load_average"] = loads[-1]
        print(f"  {summary(r)}", flush=True)
