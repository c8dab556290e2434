"""Idle stations held by one server process: memory per station and the connect storm.

``--stations`` stations (15,000 by default) connect as fast as they can, spread over
``--clients`` load-generator processes (each below the 20,000 open-files limit), each with at
most ``--inflight`` handshakes at a time. Every handshake carries HTTP Basic credentials. Then
every station sends one BootNotification and goes quiet. Measured on the server process:

* connect storm: connections accepted per second, from the first connect to the last 101
  answer, and the server CPU time per accepted connection;
* boot storm: BootNotifications answered per second, and the server CPU time per boot, read
  ``--settle`` seconds after the last answer so that it includes what each accepted boot sets off
  (voltflow checks the station's local list a second after answering);
* memory: resident set size (RSS) growth from before the storm to after the boot, divided by the
  number of stations.

The bare ``websockets`` echo server goes through the same steps beside voltflow, as the
reference: what any server built on websockets pays per connection.

    .venv/bin/python bench/connections.py [--stations 15000] [--clients 3] [--postgres]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import harness

TARGET_KIB = 40


def measure(spec: harness.ServerSpec, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    with harness.running(spec, logs) as server:
        per_client = -(-args.stations // args.clients)
        clients = []
        for i in range(args.clients):
            first = 1 + i * per_client
            count = min(per_client, args.stations - i * per_client)
            if count <= 0:
                break
            clients.append(
                harness.loadgen(
                    "idle",
                    server,
                    logs,
                    f"idle-{server.child.name}-{i}",
                    "--first",
                    str(first),
                    "--count",
                    str(count),
                    "--inflight",
                    str(args.inflight),
                )
            )
        try:
            for c in clients:
                c.event("ready", timeout=30)
            time.sleep(args.settle)
            rss_before = server.rss()
            cpu_before = server.cpu()
            for c in clients:
                c.send("go")
            connected = [c.event("connected", timeout=args.timeout) for c in clients]
            cpu_storm = server.cpu() - cpu_before
            time.sleep(args.settle)
            rss_connected = server.rss()
            cpu_before_boot = server.cpu()
            for c in clients:
                c.send("boot")
            booted = [c.event("booted", timeout=args.boot_timeout) for c in clients]
            # Read after the settle time: an accepted boot sets off work of its own a moment
            # later (voltflow checks the station's local list a second after its answer).
            time.sleep(args.settle)
            cpu_boot = server.cpu() - cpu_before_boot
            rss_booted = server.rss()
            for c in clients:
                c.send("status")
            alive = sum(c.event("status", timeout=60)["alive"] for c in clients)
        finally:
            for c in clients:
                c.send("quit")
            for c in clients:
                c.stop()
    n = sum(c["connected"] for c in connected)
    storm_s = max(c["finished"] for c in connected) - min(c["started"] for c in connected)
    failures: dict[str, int] = {}
    for c in connected:
        for k, v in c["failures"].items():
            failures[k] = failures.get(k, 0) + v
    answered = sum(b["answered"] for b in booted)
    return {
        "stations": n,
        "alive": alive,
        "storm_seconds": storm_s,
        "connects_per_s": n / storm_s if storm_s > 0 else None,
        "cpu_us_per_connect": cpu_storm / max(n, 1) * 1e6,
        "handshake_p50_ms": max(c["handshake_p50_ms"] or 0 for c in connected),
        "failed_attempts": failures,
        "boots_answered": answered,
        "boot_seconds": max(b["seconds"] for b in booted),
        "cpu_us_per_boot": cpu_boot / max(answered, 1) * 1e6,
        "rss_before": rss_before,
        "rss_connected": rss_connected,
        "rss_booted": rss_booted,
        "kib_per_station_connected": (rss_connected - rss_before) / max(n, 1) / 1024,
        "kib_per_station": (rss_booted - rss_before) / max(n, 1) / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=15000)
    parser.add_argument("--clients", type=int, default=3, help="load-generator processes")
    parser.add_argument("--inflight", type=int, default=50, help="handshakes at a time, each")
    parser.add_argument("--settle", type=float, default=3, help="seconds before reading RSS")
    parser.add_argument("--timeout", type=float, default=180, help="for the connects")
    parser.add_argument("--boot-timeout", type=float, default=300, help="for the boots")
    parser.add_argument("--postgres", action="store_true", help="voltflow on PostgreSQL too")
    parser.add_argument("--no-echo", action="store_true", help="skip the reference server")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument(
        "--no-tune-gc", action="store_true", help="voltflow without tune_gc(), for comparison"
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.stations / args.clients > 18000:
        parser.error("more than 18,000 stations per client process: raise --clients")

    print(
        f"Idle stations: {args.stations} stations over {args.clients} client processes, "
        f"{args.inflight} handshakes in flight each, HTTP Basic auth"
    )
    print(f"machine: {harness.machine()}\n", flush=True)
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    loads: list[float] = []
    with harness.workdir(args.keep) as work:
        extra = ["--no-tune-gc"] if args.no_tune_gc else []
        specs = [harness.voltflow_sqlite_spec(work, args.stations, *extra)]
        if not args.no_echo:
            specs.insert(0, harness.echo_spec())
        if args.postgres:
            specs.append(harness.voltflow_postgres_spec(args.stations, args.postgres_url, *extra))
        harness.measure_each(
            specs,
            lambda spec: measure(spec, args, work),
            lambda r: (
                f"{r['stations']} connected in {r['storm_seconds']:.1f} s, "
                f"{r['kib_per_station']:.1f} KiB/station"
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
        ratio_mem = r["kib_per_station"] / reference["kib_per_station"] if reference else None
        ratio_rate = r["connects_per_s"] / reference["connects_per_s"] if reference else None
        rows.append(
            [
                label,
                f"{r['stations']:,}",
                harness.fmt(r["kib_per_station_connected"], 1),
                harness.fmt(r["kib_per_station"], 1),
                harness.fmt(ratio_mem, 2) + "×" if ratio_mem else "–",
                harness.fmt(r["connects_per_s"]),
                harness.fmt(ratio_rate, 2) + "×" if ratio_rate else "–",
                harness.fmt(r["cpu_us_per_connect"]),
                harness.fmt(r["handshake_p50_ms"], 1),
                harness.fmt(r["boots_answered"] / r["boot_seconds"]),
                harness.fmt(r["cpu_us_per_boot"]),
                harness.fmt(r["rss_booted"] / 2**20),
                f"{r['alive']:,}",
            ]
        )
    print()
    print(
        harness.table(
            [
                "server",
                "stations",
                "KiB/station connected",
                "KiB/station after boot",
                "memory vs echo",
                "connects/s",
                "rate vs echo",
                "CPU µs/connect",
                "handshake p50 ms",
                "boots/s",
                "CPU µs/boot",
                "RSS MiB",
                "still open",
            ],
            rows,
        )
    )
    verdict = 0
    for label, r in results.items():
        if r["failed_attempts"]:
            print(f"{label}: failed connection attempts (retried): {r['failed_attempts']}")
        if r["boots_answered"] < r["stations"]:
            print(f"{label}: {r['stations'] - r['boots_answered']} BootNotifications unanswered")
        if r["alive"] < r["stations"]:
            print(f"{label}: only {r['alive']} of {r['stations']} connections still open")
        if label.startswith("voltflow"):
            ok = r["kib_per_station"] <= TARGET_KIB
            verdict |= 0 if ok else 1
            print(
                f"{label}: {r['kib_per_station']:.1f} KiB per idle station, target ≤ "
                f"{TARGET_KIB} KiB — {'met' if ok else 'MISSED'}"
            )
    for label, why in skipped.items():
        print(f"{label}: skipped, {why}")
    print(harness.load_note(loads))
    print(f"\n({time.monotonic() - started:.0f} s)")
    harness.write_json(args.json, {"results": results, "skipped": skipped})
    return verdict


if __name__ == "__main__":
    sys.exit(main())
