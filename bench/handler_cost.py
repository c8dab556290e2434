"""CPU per OCPP message of voltflow's own work, without sockets: a steadier reading than the
socket benchmark for changes to what the platform does with a message.

The same 200 stations and message mix as ``ocpp_message_cost.py``, paced the same way (1,000
messages a second, each station on its own schedule), but each frame is handed straight to the
OCPP server as its WebSocket layer hands it over (``OcppServer.received``) and the answer taken
from a stand-in for the WebSocket: no socket, no WebSocket layer, no load-generator process.
What remains is parsing, validation, the services, the group commit and the database, plus
the stations' pacing. The reference, measured in the same run, is that pacing alone (each frame
answered at once, by the stand-in): voltflow's own work is the difference. Every measurement
runs in a process of its own; figures are per message answered, by thread:

    .venv/bin/python bench/handler_cost.py [--rounds 3] [--only sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import harness
import ocppframes

sys.path.insert(0, str(harness.SERVERS))  # the benchmark server's set-up, shared


class Socket:
    """Stands in for the station's WebSocket (``voltflow.ocpp.websocket.Socket``): takes the
    answer and wakes the station waiting for it."""

    __slots__ = ("answered", "attachment", "script", "waiter")

    def __init__(self, script: ocppframes.Script, answered: list[int]) -> None:
        self.script = script
        self.answered = answered
        self.attachment: Any = None
        self.waiter: asyncio.Future[None] | None = None

    def send(self, raw: str | bytes) -> bool:
        self.answered[0] += 1
        self.script.answer(raw.encode() if isinstance(raw, str) else raw)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)
        return True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self, code: int = 1000, reason: str = "") -> None:
        pass


async def measure(database: str | None, args: argparse.Namespace) -> dict[str, float]:
    """One measurement: voltflow on ``database``, or the pacing alone when None."""
    from voltflow_server import prepare

    from voltflow.bootstrap import build
    from voltflow.config import Settings
    from voltflow.domain.stations import Registration
    from voltflow.ocpp.protocol import StationContext
    from voltflow.ocpp.server import StationConnection, tune_gc

    platform = build(Settings(database_url=database or "sqlite:///:memory:"))
    if database is not None:
        await prepare(platform, args.stations, "", ocppframes.ID_TAG)
        await platform.writer.start()
    tune_gc()
    server = platform.ocpp
    loop = asyncio.get_running_loop()
    interval = args.stations / args.rate
    answered = [0]
    running = True

    async def station(n: int) -> None:
        sid = ocppframes.station_id(n)
        script = ocppframes.Script()
        socket = Socket(script, answered)
        conn = StationConnection(socket, StationContext(sid, Registration.ACCEPTED, False))  # type: ignore[arg-type]
        socket.attachment = server.connections[sid] = conn
        due = loop.time() + interval * n / args.stations
        while running:
            await asyncio.sleep(max(0.0, due - loop.time()))
            due += interval
            if database is None:
                socket.send(script.next())
            else:
                socket.waiter = loop.create_future()
                server.received(socket, script.next())  # type: ignore[arg-type]
                await socket.waiter

    tasks = [asyncio.create_task(station(n)) for n in range(1, args.stations + 1)]
    await asyncio.sleep(args.warmup)
    writer0, loop0, count0 = platform.writer.thread_cpu, time.thread_time(), answered[0]
    times0, wall0 = os.times(), time.perf_counter()
    await asyncio.sleep(args.window)
    writer1, loop1, count1 = platform.writer.thread_cpu, time.thread_time(), answered[0]
    times1, wall1 = os.times(), time.perf_counter()
    running = False
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if database is not None:
        await platform.writer.stop()
    count = max(1, count1 - count0)
    process = (times1.user + times1.system) - (times0.user + times0.system)
    return {
        "msgs_per_s": count / (wall1 - wall0),
        "loop": (loop1 - loop0) / count * 1e6,
        "writer": (writer1 - writer0) / count * 1e6,
        "process": process / count * 1e6,
        "system": (times1.system - times0.system) / count * 1e6,
    }


def child(args: argparse.Namespace) -> None:
    database = None if args.child == "pacing" else args.child
    result = asyncio.run(measure(database, args))
    print(" ".join(f"{k}={v:.3f}" for k, v in result.items()), flush=True)


def run_child(target: str, args: argparse.Namespace) -> dict[str, float]:
    argv = [sys.executable, __file__, "--child", target]
    for name in ("stations", "rate", "warmup", "window"):
        argv += [f"--{name}", str(getattr(args, name))]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise harness.BenchError(f"{target}: {done.stderr.strip()[-2000:]}")
    last = done.stdout.strip().splitlines()[-1]
    return {k: float(v) for k, v in (part.split("=", 1) for part in last.split())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1000, help="messages/s")
    parser.add_argument("--warmup", type=float, default=4)
    parser.add_argument("--window", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="sqlite,postgres", help="comma-separated subset")
    parser.add_argument("--postgres-url", help="default: $VOLTFLOW_BENCH_POSTGRES_URL")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    only = set(args.only.split(","))
    with harness.workdir() as work:
        targets: list[tuple[str, str]] = []
        if "sqlite" in only:
            path = Path(work) / "handler-cost.db"
            targets.append(("voltflow SQLite", f"sqlite:///{path}"))
        if "postgres" in only:
            url, problem = harness.postgres_database(args.postgres_url)
            if url is None:
                print(f"voltflow PostgreSQL skipped: {problem}")
            else:
                targets.append(("voltflow PostgreSQL", url))
        print(
            f"Handler cost: {args.stations} stations, {args.rate:,.0f} msgs/s, "
            f"{args.rounds} rounds, no sockets\nmachine: {harness.machine()}\n"
        )
        results: dict[str, list[dict[str, float]]] = {"pacing alone": []}
        for label, _ in targets:
            results[label] = []
        for n in range(1, args.rounds + 1):
            print(f"round {n}", flush=True)
            results["pacing alone"].append(run_child("pacing", args))
            for label, url in targets:
                if url.startswith("sqlite:///"):
                    for suffix in ("", "-wal", "-shm"):
                        Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
                results[label].append(run_child(url, args))
        rows: list[list[Any]] = []
        pacing = statistics.median(r["process"] for r in results["pacing alone"])
        for label, runs in results.items():

            def med(key: str, runs: list[dict[str, float]] = runs) -> float:
                return statistics.median(r[key] for r in runs)

            own = med("process") - pacing if label != "pacing alone" else 0.0
            rows.append(
                [
                    label,
                    harness.fmt(med("msgs_per_s")),
                    harness.fmt(med("process"), 1),
                    harness.fmt(own, 1) if own else "–",
                    harness.fmt(med("loop"), 1),
                    harness.fmt(med("writer"), 1) if own else "–",
                    harness.fmt(med("system"), 1),
                    ", ".join(harness.fmt(r["process"]) for r in runs),
                ]
            )
        print()
        print(
            harness.table(
                [
                    "run",
                    "msgs/s",
                    "process µs/msg",
                    "own work µs/msg",
                    "event loop µs/msg",
                    "writer µs/msg",
                    "system µs/msg",
                    "rounds",
                ],
                rows,
            )
        )
        print("medians of the rounds; own work = process − pacing alone")


if __name__ == "__main__":
    main()
