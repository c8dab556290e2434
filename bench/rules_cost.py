"""CPU per status message of the first-line service rules: a fleet's status traffic with the
rules on, next to the same traffic with no rules, in the same run.

10,000 stations (``--stations``) each send StatusNotifications on their own schedule, together
``--rate`` a second: their connectors go Preparing, Charging, Finishing, Available … and now and
then (``--fault-share`` of the messages, 0.1 % by default: a fault every couple of hours at each
station, far more than a fleet sees) one reports Faulted with its codes, and Available again at
its next message. Heartbeats are mixed in as stations send them. Every frame is handed
straight to the OCPP server as its WebSocket layer hands it over (as ``handler_cost.py`` does:
no sockets), stored durably, and its events published after commit by the outbox relay to the
consumers of the process, as ``voltflow serve`` runs them. The runs differ in one thing:

* **no rules**: the consumers as they are without the service tickets consumer;
* **rules**: with it (the rules over each batch of events, tickets opened, occurrences added,
  tickets cleared), and the sweep for what no message tells, every ``--sweep-every`` seconds.

The remedies the platform sends a station for a ticket are commands to that station, not work
per message: they are left out (a ticket stays ``remedying``). A third run, the stations'
pacing alone (each frame answered at once, no server), is the floor both stand on: "own work" is
a run's CPU (its process's, and on PostgreSQL its database backends') less the pacing's. Each
run is a process of its own; the rounds interleave them:

    .venv/bin/python bench/rules_cost.py [--stations 10000] [--rate 1000] [--rounds 3]
        [--only sqlite,postgres]

Target: the rules' own work per message at most 1.2 × the same without them.
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

# A connector's day, one status a message (a fault comes in between, now and then).
CYCLE = ("Preparing", "Charging", "SuspendedEV", "Charging", "Finishing", "Available")
HEARTBEAT_EVERY = 8  # a station's every 8th message is a Heartbeat


def status_frame(uid: str, status: str, second: int, connector: int = 1) -> bytes:
    error = "GroundFailure" if status == "Faulted" else "NoError"
    vendor = ',"vendorErrorCode":"E-42"' if status == "Faulted" else ""
    return (
        f'[2,"{uid}","StatusNotification",{{"connectorId":{connector},"errorCode":"{error}",'
        f'"status":"{status}","timestamp":"{ocppframes._ts(second)}"{vendor}}}]'
    ).encode()


class Script:
    """One station's status traffic. Which messages are faults is drawn from the station's
    number and the message's, the same in every run."""

    __slots__ = ("fault_every", "faulted", "number", "seq", "step")

    def __init__(self, number: int, fault_share: float) -> None:
        self.number = number
        self.seq = 0
        self.step = number % len(CYCLE)
        self.faulted = False
        self.fault_every = round(1 / fault_share) if fault_share > 0 else 0

    def next(self) -> bytes:
        self.seq += 1
        seq, uid = self.seq, str(self.seq)
        if seq % HEARTBEAT_EVERY == 0:
            return ocppframes.heartbeat(uid)
        if self.faulted:  # recovered: Available again
            self.faulted = False
            return status_frame(uid, "Available", seq)
        if self.fault_every and (seq * 7919 + self.number * 104729) % self.fault_every == 0:
            self.faulted = True
            return status_frame(uid, "Faulted", seq)
        status = CYCLE[self.step]
        self.step = (self.step + 1) % len(CYCLE)
        return status_frame(uid, status, seq)

    def answer(self, raw: bytes) -> None:
        pass


class Socket:
    """Stands in for the station's WebSocket: takes the answer and wakes the station."""

    __slots__ = ("answered", "attachment", "waiter")

    def __init__(self, answered: list[int]) -> None:
        self.answered = answered
        self.attachment: Any = None
        self.waiter: asyncio.Future[None] | None = None

    def send(self, raw: str | bytes) -> bool:
        self.answered[0] += 1
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)
        return True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self, code: int = 1000, reason: str = "") -> None:
        pass


async def measure(database: str | None, rules: bool, args: argparse.Namespace) -> dict[str, float]:
    """One run: voltflow on ``database`` with or without the rules, or the pacing alone."""
    from sqlalchemy import func, select
    from voltflow_server import prepare

    from voltflow.bootstrap import build
    from voltflow.config import Settings
    from voltflow.domain.stations import Registration
    from voltflow.ocpp.protocol import StationContext
    from voltflow.ocpp.server import StationConnection, tune_gc
    from voltflow.services.tickets import ServiceTickets
    from voltflow.store.tables import service_tickets

    platform = build(Settings(database_url=database or "sqlite:///:memory:"))
    if database is not None:
        await prepare(platform, args.stations, "", None)
        if not rules:
            platform.delivery.subscribers = [
                s for s in platform.delivery.subscribers if not isinstance(s, ServiceTickets)
            ]
        await platform.writer.start()
        await platform.relay.start()
    tune_gc()
    server = platform.ocpp
    loop = asyncio.get_running_loop()
    interval = args.stations / args.rate
    answered = [0]
    running = True

    async def station(n: int) -> None:
        sid = ocppframes.station_id(n)
        script = Script(n, args.fault_share)
        socket = Socket(answered)
        conn = StationConnection(socket, StationContext(sid, Registration.ACCEPTED, False))  # type: ignore[arg-type]
        socket.attachment = server.connections[sid] = conn
        due = loop.time() + interval * n / args.stations
        while running:
            await asyncio.sleep(max(0.0, due - loop.time()))
            due += interval
            if database is None:
                script.next()
                socket.send(b"")
            else:
                socket.waiter = loop.create_future()
                server.received(socket, script.next())  # type: ignore[arg-type]
                await socket.waiter

    async def sweeps() -> None:
        while running:
            await asyncio.sleep(args.sweep_every)
            await platform.monitoring.sweep()

    tasks = [asyncio.create_task(station(n)) for n in range(1, args.stations + 1)]
    if database is not None and rules:
        tasks.append(asyncio.create_task(sweeps()))
    await asyncio.sleep(args.warmup)
    # On PostgreSQL the database's own work counts too: its backends serving this run.
    backends = (
        harness.db_processes(f"postgres {harness.BENCH_DATABASE}")
        if database is not None and database.startswith("postgresql")
        else []
    )
    db0 = harness.cpu_of(backends)
    count0, times0, wall0 = answered[0], os.times(), time.perf_counter()
    await asyncio.sleep(args.window)
    # What the window's messages set in motion is part of their cost: the relay publishes
    # (and the consumers apply) what they committed before the window closes.
    count1 = answered[0]
    running = False
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    backlog = 0
    if database is not None:
        for _ in range(400):
            backlog = len(await platform.outbox.unpublished(10_000))
            if backlog == 0:
                break
            await asyncio.sleep(0.05)
    times1, wall1 = os.times(), time.perf_counter()
    db1 = harness.cpu_of(backends)
    tickets = 0.0
    if database is not None:
        async with platform.db.engine.connect() as conn:
            tickets = float(
                (await conn.execute(select(func.count()).select_from(service_tickets))).scalar_one()
            )
        await platform.relay.stop()
        await platform.writer.stop()
        await platform.db.dispose()
    count = max(1, count1 - count0)
    process = (times1.user + times1.system) - (times0.user + times0.system)
    return {
        "msgs_per_s": count / (wall1 - wall0),
        "process": process / count * 1e6,
        "database": (db1 - db0) / count * 1e6,
        "tickets": tickets,
        "backlog": float(backlog),
    }


def child(args: argparse.Namespace) -> None:
    target, _, mode = args.child.rpartition("|")
    database = None if target == "pacing" else target
    result = asyncio.run(measure(database, mode == "rules", args))
    print(" ".join(f"{k}={v:.3f}" for k, v in result.items()), flush=True)


def run_child(target: str, mode: str, args: argparse.Namespace) -> dict[str, float]:
    if target.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(target.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    argv = [sys.executable, __file__, "--child", f"{target}|{mode}"]
    for name in ("stations", "rate", "warmup", "window", "fault_share", "sweep_every"):
        argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise harness.BenchError(f"{target} {mode}: {done.stderr.strip()[-2000:]}")
    last = done.stdout.strip().splitlines()[-1]
    return {k: float(v) for k, v in (part.split("=", 1) for part in last.split())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000, help="messages/s, all stations")
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--window", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--fault-share",
        type=float,
        default=0.001,
        help="share of messages that are a fault (each recovers at the station's next message)",
    )
    parser.add_argument("--sweep-every", type=float, default=10, help="seconds")
    parser.add_argument("--only", default="sqlite,postgres", help="comma-separated subset")
    parser.add_argument("--postgres-url", help="default: $VOLTFLOW_BENCH_POSTGRES_URL")
    parser.add_argument("--json", help="keep every figure in this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    only = set(args.only.split(","))
    loads: list[float] = []
    with harness.workdir() as work:
        targets: list[tuple[str, str]] = []
        if "sqlite" in only:
            targets.append(("SQLite", f"sqlite:///{Path(work) / 'rules-cost.db'}"))
        if "postgres" in only:
            url, problem = harness.postgres_database(args.postgres_url)
            if url is None:
                print(f"PostgreSQL skipped: {problem}")
            else:
                targets.append(("PostgreSQL", url))
        print(
            f"Rules cost: {args.stations:,} stations' status traffic, {args.rate:,.0f} msgs/s, "
            f"{args.fault_share:.1%} faults, {args.rounds} rounds of {args.window:g} s, "
            f"no sockets\nmachine: {harness.machine()}\n",
            flush=True,
        )
        results: dict[str, list[dict[str, float]]] = {"pacing alone": []}
        for label, _ in targets:
            results[f"{label}, no rules"] = []
            results[f"{label}, rules"] = []
        for n in range(1, args.rounds + 1):
            print(f"round {n}", flush=True)
            loads.append(harness.load_average())
            results["pacing alone"].append(run_child("pacing", "none", args))
            for label, url in targets:
                for mode in ("none", "rules") if n % 2 else ("rules", "none"):
                    key = f"{label}, {'rules' if mode == 'rules' else 'no rules'}"
                    results[key].append(run_child(url, mode, args))
                    r = results[key][-1]
                    print(
                        f"  {key}: {r['process']:.1f} µs/msg, {r['msgs_per_s']:,.0f} msgs/s,"
                        f" {r['tickets']:.0f} tickets",
                        flush=True,
                    )
            loads.append(harness.load_average())
        for runs in results.values():
            for r in runs:
                r["total"] = r["process"] + r.get("database", 0.0)
        pacing = statistics.median(r["process"] for r in results["pacing alone"])

        def med(label: str, key: str) -> float:
            return statistics.median(r[key] for r in results[label])

        rows: list[list[Any]] = []
        for label, _ in targets:
            base = med(f"{label}, no rules", "total") - pacing
            # The two runs of a round are minutes apart at most: their ratio is the steadier
            # reading on a machine whose load comes and goes.
            paired = [
                (r["total"] - p["process"]) / (n["total"] - p["process"])
                for r, n, p in zip(
                    results[f"{label}, rules"],
                    results[f"{label}, no rules"],
                    results["pacing alone"],
                    strict=True,
                )
            ]
            for mode in ("no rules", "rules"):
                key = f"{label}, {mode}"
                own = med(key, "total") - pacing
                rows.append(
                    [
                        key,
                        harness.fmt(med(key, "msgs_per_s")),
                        harness.fmt(med(key, "process"), 1),
                        harness.fmt(med(key, "database"), 1) if label == "PostgreSQL" else "–",
                        harness.fmt(own, 1),
                        f"{own / base:.2f}×" if base > 0 else "–",
                        (
                            f"{statistics.median(paired):.2f}× "
                            f"({', '.join(f'{x:.2f}' for x in paired)})"
                            if mode == "rules"
                            else "–"
                        ),
                        harness.fmt(med(key, "tickets")),
                        ", ".join(harness.fmt(r["process"], 1) for r in results[key]),
                    ]
                )
        rows.append(
            ["pacing alone", harness.fmt(med("pacing alone", "msgs_per_s")), f"{pacing:.1f}"]
            + ["–"] * 6
        )
        print()
        print(
            harness.table(
                [
                    "run",
                    "msgs/s",
                    "process µs/msg",
                    "database µs/msg",
                    "own work µs/msg",
                    "vs no rules",
                    "round by round",
                    "tickets",
                    "rounds (process µs/msg)",
                ],
                rows,
            )
        )
        print(
            "medians of the rounds; own work = process (+ PostgreSQL's backends) − pacing alone;"
            " round by round: the rules' own work over the no-rules run's of the same round;"
            " target ≤ 1.20×"
        )
        print(harness.load_note(loads))
        harness.write_json(args.json, {"args": vars(args), "results": results, "loads": loads})


if __name__ == "__main__":
    main()
