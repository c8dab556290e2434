"""Round-trip latency under a fleet's steady load: p50/p95/p99/max.

``--stations`` stations (10,000 by default) connect, then each sends MeterValues every ``--mv``
seconds (15) and a Heartbeat every ``--hb`` seconds (60), starting at a random offset within
the interval so the load is even, one CALL at a time, for ``--window`` seconds (90). Every
answer's round trip is timed in the load generator (send to answer, on a monotonic clock).
10,000 stations on that profile send about 830 messages a second.

The bare ``websockets`` echo server carries the same profile beside voltflow, as the reference:
the latency the WebSocket layer and the load generator add by themselves.

    .venv/bin/python bench/latency.py [--stations 10000] [--window 90] [--postgres]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import harness

TARGET_P99_MS = 50.0


def measure(spec: harness.ServerSpec, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    with harness.running(spec, logs) as server:
        per_client = -(-args.stations // args.clients)
        clients = []
        for i in range(args.clients):
            count = min(per_client, args.stations - i * per_client)
            if count <= 0:
                break
            clients.append(
                harness.loadgen(
                    "profile",
                    server,
                    logs,
                    f"profile-{server.child.name}-{i}",
                    "--first",
                    str(1 + i * per_client),
                    "--count",
                    str(count),
                    "--inflight",
                    str(args.inflight),
                    "--window",
                    str(args.window),
                    "--mv",
                    str(args.mv),
                    "--hb",
                    str(args.hb),
                )
            )
        db = harness.db_processes(spec.db_processes)
        try:
            for c in clients:
                c.event("ready", timeout=30)
            t0 = time.monotonic()
            for c in clients:
                c.send("go")
            connected = [c.event("connected", timeout=args.timeout) for c in clients]
            connect_s = time.monotonic() - t0
            time.sleep(1)
            db = harness.db_processes(spec.db_processes)
            cpu0, db0, wall0 = server.cpu(), harness.cpu_of(db), time.monotonic()
            for c in clients:
                c.send("start")
            time.sleep(args.window)
            cpu1, db1, wall1 = server.cpu(), harness.cpu_of(db), time.monotonic()
            results = [c.event("result", timeout=60) for c in clients]
            rss = server.rss()
        finally:
            for c in clients:
                c.send("quit")
            for c in clients:
                c.stop()
    mv = sorted(x for r in results for x in r["mv"])
    hb = sorted(x for r in results for x in r["hb"])
    both = sorted(mv + hb)
    sent = sum(r["sent"] for r in results)
    return {
        "stations": sum(c["connected"] for c in connected),
        "connect_seconds": connect_s,
        "sent": sent,
        "answered": len(both),
        "unanswered": sum(r["unanswered"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "alive": sum(r["alive"] for r in results),
        "msgs_per_s": len(both) / args.window,
        "server_load": (cpu1 - cpu0) / (wall1 - wall0),
        "us_per_msg": (cpu1 - cpu0) / max(len(both), 1) * 1e6,
        "db_us_per_msg": (db1 - db0) / max(len(both), 1) * 1e6 if db else None,
        "rss": rss,
        "scheduler_lag_max_ms": max(r["scheduler_lag_max_ms"] for r in results),
        "p50": harness.percentile(both, 50),
        "p95": harness.percentile(both, 95),
        "p99": harness.percentile(both, 99),
        "max": both[-1] if both else float("nan"),
        "mv_p99": harness.percentile(mv, 99),
        "hb_p99": harness.percentile(hb, 99),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--inflight", type=int, default=50, help="handshakes at a time, each")
    parser.add_argument("--window", type=float, default=90)
    parser.add_argument("--mv", type=float, default=15, help="MeterValues interval, s")
    parser.add_argument("--hb", type=float, default=60, help="Heartbeat interval, s")
    parser.add_argument("--timeout", type=float, default=180, help="for the connects")
    parser.add_argument("--no-echo", action="store_true", help="skip the reference server")
    harness.add_voltflow_args(parser)
    parser.add_argument("--postgres", action="store_true", help="voltflow on PostgreSQL too")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument(
        "--no-tune-gc", action="store_true", help="voltflow without tune_gc(), for comparison"
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    print(
        f"Latency: {args.stations} stations, MeterValues every {args.mv:g} s, Heartbeat every "
        f"{args.hb:g} s, window {args.window:g} s, {args.clients} client processes"
    )
    print(f"machine: {harness.machine()}\n", flush=True)
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    loads: list[float] = []
    with harness.workdir(args.keep) as work:
        extra = ["--no-tune-gc"] if args.no_tune_gc else []
        extra += args.voltflow_args.split()
        specs = [harness.voltflow_sqlite_spec(work, args.stations, *extra)]
        if not args.no_echo:
            specs.insert(0, harness.echo_spec())
        if args.postgres:
            specs.append(harness.voltflow_postgres_spec(args.stations, args.postgres_url, *extra))
        harness.measure_each(
            specs,
            lambda spec: measure(spec, args, work),
            lambda r: (
                f"{r['answered']} answers, p99 {r['p99']:.1f} ms "
                f"(connects took {r['connect_seconds']:.0f} s)"
            ),
            results,
            skipped,
            loads,
        )
        if args.keep:
            print(f"logs in {work}")

    reference = results.get("websockets echo")
    rows = []
    for label, r in results.items():
        ratio = r["p99"] / reference["p99"] if reference else None
        rows.append(
            [
                label,
                f"{r['stations']:,}",
                harness.fmt(r["msgs_per_s"]),
                harness.fmt(r["p50"], 1),
                harness.fmt(r["p95"], 1),
                harness.fmt(r["p99"], 1),
                harness.fmt(r["max"], 1),
                harness.fmt(ratio, 2) + "×" if ratio else "–",
                f"{r['server_load']:.0%}",
                harness.fmt(r["us_per_msg"]),
                harness.fmt(r["rss"] / 2**20),
                r["errors"] + r["unanswered"],
            ]
        )
    print()
    print(
        harness.table(
            [
                "server",
                "stations",
                "msgs/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "p99 vs echo",
                "server CPU",
                "CPU µs/msg",
                "RSS MiB",
                "errors + unanswered",
            ],
            rows,
        )
    )
    verdict = 0
    for label, r in results.items():
        if r["alive"] < r["stations"]:
            print(f"{label}: only {r['alive']} of {r['stations']} connections open at the end")
        if r["scheduler_lag_max_ms"] > 20:
            print(
                f"{label}: the load generator fell behind its schedule by up to "
                f"{r['scheduler_lag_max_ms']:.0f} ms"
            )
        if label.startswith("voltflow"):
            ok = r["p99"] <= TARGET_P99_MS
            verdict |= 0 if ok else 1
            print(
                f"{label}: p99 {r['p99']:.1f} ms, target ≤ {TARGET_P99_MS:g} ms — "
                f"{'met' if ok else 'MISSED'}"
            )
    for label, why in skipped.items():
        print(f"{label}: skipped, {why}")
    print(harness.load_note(loads))
    print(f"\n({time.monotonic() - started:.0f} s)")
    harness.write_json(args.json, {"results": results, "skipped": skipped})
    return verdict


if __name__ == "__main__":
    sys.exit(main())
