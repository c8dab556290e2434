"""Server CPU per OCPP message, for a realistic mix, against a bare websockets echo server.

200 stations (by default) each run a charging session in a loop, request/response, one CALL at a
time: Heartbeat, StatusNotification, Authorize, StartTransaction, MeterValues ×12 (three sampled
values each), StopTransaction; 60 % of the messages are MeterValues. Every server is paced at the
same rate, 1,000 messages/s by default: a busy fleet for one process (10,000 stations sending
meter values every 15 s and a heartbeat every minute send 834/s), each station on a schedule of
its own spread over the fleet, so that the load stays even. After a warm-up, the server
process's CPU time (user + system, all its threads) over a fixed window is divided by the number
of messages answered in it. A WebSocket server's cost per message depends on its pace (at full
speed many messages share each turn of the event loop), so only costs at the same pace compare.
Servers, in their own processes:

  (a) a bare ``websockets`` echo server: the reference of the target, the cost of websockets'
      asyncio server alone;
  (b) a server written like the ``ocpp`` package's examples (ChargePoint, ``@on``): validates,
      stores nothing;
  (c) the same echo on the WebSocket layer voltflow uses (websockets' Sans-I/O protocol under an
      ``asyncio.Protocol``, ``voltflow.ocpp.websocket``): the floor of voltflow's own layer;
  (d) voltflow on SQLite (a file, ``synchronous=FULL``, the default): validates, stores every
      frame and its effects, answers only after the commit;
  (e) voltflow on PostgreSQL, skipped with the reason when the server is unreachable. The
      PostgreSQL backends' own CPU is shown beside it, not added to it.

(b) and (c) are measured in the first round only. Echo and each voltflow are measured in turn,
in ``--rounds`` rounds (the machine's speed drifts); the verdict takes each voltflow's median
ratio to the echo server (a) of its round. ``--closed-loop`` also measures each voltflow as fast
as it answers, beside echo paced at the rate it reached.

    .venv/bin/python bench/ocpp_message_cost.py [--rate 1000] [--rounds 3] [--closed-loop]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from typing import Any

import harness

TARGET_RATIO = 2.0


def measure(
    spec: harness.ServerSpec, args: argparse.Namespace, logs: Any, rate: float = 0
) -> dict[str, Any]:
    with harness.running(spec, logs) as server:
        extra = ["--extra-match", spec.db_processes] if spec.db_processes else []
        if rate:
            extra += ["--rate", f"{rate:.0f}"]
        client = harness.loadgen(
            "cost",
            server,
            logs,
            f"loadgen-{server.child.name}",
            "--stations",
            str(args.stations),
            "--server-pid",
            str(server.ps.pid),
            "--warmup",
            str(args.warmup),
            "--window",
            str(args.window),
            *extra,
        )
        try:
            result = client.event("result", timeout=120 + args.warmup + args.window)
        finally:
            client.stop()
        result["rss"] = server.rss()
    answers = result["answers"] or 1
    result["us_per_msg"] = result["server_cpu"] / answers * 1e6
    result["msgs_per_s"] = result["answers"] / result["seconds"]
    result["server_load"] = result["server_cpu"] / result["seconds"]
    result["client_load"] = result["client_cpu"] / result["seconds"]
    if result.get("extra_cpu") is not None:
        result["db_us_per_msg"] = result["extra_cpu"] / answers * 1e6
    return result


def rate_of(result: dict[str, Any]) -> float:
    return float(round(result["msgs_per_s"], -1))


def row(label: str, r: dict[str, Any], echo: dict[str, Any] | None) -> list[Any]:
    ratio = r["us_per_msg"] / echo["us_per_msg"] if echo else None
    return [
        label,
        harness.fmt(r["us_per_msg"]),
        harness.fmt(r["msgs_per_s"]),
        harness.fmt(ratio, 2) + "×" if ratio is not None else "–",
        f"{r['server_load']:.0%}",
        f"{r['client_load']:.0%}",
        harness.fmt(r.get("db_us_per_msg")),
        harness.fmt(r["rss"] / 2**20, 1),
        r["errors"],
    ]


HEADERS = [
    "server",
    "server CPU µs/msg",
    "msgs/s",
    "vs echo",
    "server CPU",
    "client CPU",
    "DB server µs/msg",
    "RSS MiB",
    "CALLERRORs",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--window", type=float, default=12)
    parser.add_argument(
        "--rate", type=float, default=1000, help="messages/s every server is paced at"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of echo, then voltflow")
    parser.add_argument(
        "--closed-loop",
        action="store_true",
        help="also measure each voltflow as fast as it answers, beside echo at that rate",
    )
    parser.add_argument("--postgres-url", help="default: $VOLTFLOW_BENCH_POSTGRES_URL")
    parser.add_argument(
        "--only",
        default="echo,ocpp,sansio,sqlite,postgres",
        help="comma-separated subset (sansio: reference (c))",
    )
    harness.add_voltflow_args(parser)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    only = set(args.only.split(","))

    print(
        f"OCPP message cost: {args.stations} stations, charging-session mix, "
        f"{args.rate:,.0f} msgs/s, {args.rounds} rounds"
    )
    print(f"machine: {harness.machine()}")
    print(f"warm-up {args.warmup:g} s, window {args.window:g} s\n", flush=True)
    rounds: list[dict[str, dict[str, Any]]] = []
    closed: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    loads: list[float] = []
    started = time.monotonic()
    extra = args.voltflow_args.split()
    with harness.workdir(args.keep) as work:

        def voltflows() -> list[harness.ServerSpec]:
            specs = []
            if "sqlite" in only:  # a new database file each time
                specs.append(harness.voltflow_sqlite_spec(work, args.stations, *extra))
            if "postgres" in only:
                specs.append(
                    harness.voltflow_postgres_spec(args.stations, args.postgres_url, *extra)
                )
            return specs

        # Each round measures echo, then each voltflow right after it, at the same pace: the
        # machine's speed drifts over minutes (it is shared and virtualised), and a ratio is only
        # fair between measurements taken close together. The verdict takes the median round.
        for n in range(1, args.rounds + 1):
            print(f"round {n}", flush=True)
            specs = [harness.echo_spec()] if "echo" in only else []
            if n == 1 and "ocpp" in only:
                specs.append(harness.ocpp_example_spec())
            if n == 1 and "sansio" in only:
                specs.append(harness.echo_sansio_spec())
            specs += voltflows()
            this: dict[str, dict[str, Any]] = {}
            harness.measure_each(
                specs,
                lambda spec: measure(spec, args, work, args.rate),
                lambda r: f"{r['us_per_msg']:.0f} µs/msg, {r['msgs_per_s']:.0f} msgs/s",
                this,
                skipped,
                loads,
            )
            rounds.append(this)
        if args.closed_loop:
            print("closed loop", flush=True)
            for spec in voltflows():
                found: dict[str, dict[str, Any]] = {}
                harness.measure_each(
                    [spec],
                    lambda spec: measure(spec, args, work),
                    lambda r: f"{r['us_per_msg']:.0f} µs/msg, {r['msgs_per_s']:.0f} msgs/s",
                    found,
                    skipped,
                    loads,
                )
                if spec.label not in found:
                    continue
                r = closed[f"{spec.label}, closed loop"] = found[spec.label]
                if "echo" in only:
                    echo = harness.echo_spec()
                    label = f"websockets echo @ {rate_of(r):,.0f} msgs/s"
                    print(f"measuring {label} …", flush=True)
                    closed[label] = e = measure(echo, args, work, rate_of(r))
                    r["echo"] = label
                    print(f"  {e['us_per_msg']:.0f} µs/msg", flush=True)
        if args.keep:
            print(f"logs in {work}")

    print()
    rows = []
    ratios: dict[str, list[float]] = {}
    for n, this in enumerate(rounds, 1):
        echo = this.get("websockets echo")
        for label, r in this.items():
            rows.append(row(f"{label} (round {n})", r, echo))
            if echo and label.startswith("voltflow"):
                # A server that cannot keep the pace spends less per message than one that
                # does: such a round counts as missed.
                kept_pace = r["msgs_per_s"] >= 0.95 * args.rate
                ratio = r["us_per_msg"] / echo["us_per_msg"] if kept_pace else math.inf
                ratios.setdefault(label, []).append(ratio)
    print(harness.table(HEADERS, rows))
    if closed:
        print()
        print(
            harness.table(
                HEADERS,
                [row(label, r, closed.get(r.get("echo", ""))) for label, r in closed.items()],
            )
        )
    print()
    verdict = 0
    for label, found in ratios.items():
        middle = statistics.median(found)
        ok = middle <= TARGET_RATIO
        verdict |= 0 if ok else 1
        spread = ", ".join(f"{x:.2f}" if x < math.inf else "pace not kept" for x in found)
        print(
            f"{label}: {middle:.2f}× echo at {args.rate:,.0f} msgs/s (median of rounds: {spread}),"
            f" target ≤ {TARGET_RATIO:g}× — {'met' if ok else 'MISSED'}"
        )
    for this in rounds:
        for label, r in this.items():
            if r["errors"]:
                print(f"{label}: {r['errors']} messages answered with CALLERROR")
    for label, why in skipped.items():
        print(f"{label}: skipped, {why}")
    print(harness.load_note(loads))
    print(f"\n({time.monotonic() - started:.0f} s)")
    harness.write_json(
        args.json, {"rounds": rounds, "closed_loop": closed, "ratios": ratios, "skipped": skipped}
    )
    return verdict


if __name__ == "__main__":
    sys.exit(main())
