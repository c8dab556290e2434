"""Server CPU per OCPP message, for a realistic mix, against a bare websockets echo server.

200 stations (by default) each run a charging session in a loop, request/response, one CALL at a
time: Heartbeat, StatusNotification, Authorize, StartTransaction, MeterValues ×12 (three sampled
values each), StopTransaction; 60 % of the messages are MeterValues. After a warm-up, the server
process's CPU time (user + system, all its threads) over a fixed window is divided by the number
of messages answered in it. Servers, in their own processes:

  (a) a bare ``websockets`` echo server: the floor, the cost of the WebSocket layer alone;
  (b) a server written like the ``ocpp`` package's examples (ChargePoint, ``@on``): validates,
      stores nothing;
  (c) voltflow on SQLite (a file, ``synchronous=FULL``, the default): validates, stores every
      frame and its effects, answers only after the commit;
  (d) voltflow on PostgreSQL, skipped with the reason when the server is unreachable. The
      PostgreSQL backends' own CPU is shown beside it, not added to it.

    .venv/bin/python bench/ocpp_message_cost.py [--stations 200] [--window 20]
"""

from __future__ import annotations

import argparse
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--window", type=float, default=20)
    parser.add_argument("--postgres-url", help="default: $VOLTFLOW_BENCH_POSTGRES_URL")
    parser.add_argument(
        "--only", default="echo,ocpp,sqlite,postgres", help="comma-separated subset"
    )
    parser.add_argument(
        "--no-paced", action="store_true", help="skip echo measured at voltflow's rate"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="pace every server at this many messages/s instead of as fast as each answers",
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    only = set(args.only.split(","))

    print(f"OCPP message cost: {args.stations} stations, closed loop, charging-session mix")
    print(f"machine: {harness.machine()}")
    print(f"warm-up {args.warmup:g} s, window {args.window:g} s\n", flush=True)
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    loads: list[float] = []
    started = time.monotonic()
    with harness.workdir(args.keep) as work:
        specs = {
            "echo": harness.echo_spec(),
            "ocpp": harness.ocpp_example_spec(),
            "sqlite": harness.voltflow_sqlite_spec(work, args.stations),
            "postgres": harness.voltflow_postgres_spec(args.stations, args.postgres_url)
            if "postgres" in only
            else None,
        }
        harness.measure_each(
            [spec for key, spec in specs.items() if key in only and spec is not None],
            lambda spec: measure(spec, args, work, args.rate),
            lambda r: (
                f"{r['us_per_msg']:.0f} µs/msg, {r['msgs_per_s']:.0f} msgs/s, errors {r['errors']}"
            ),
            results,
            skipped,
            loads,
        )
        # The echo server's cost per message falls as its rate rises (more messages per turn of
        # the event loop): it is measured again at each voltflow's rate, for a like-for-like ratio.
        paced: dict[str, str] = {}
        if "echo" in only and not args.no_paced and not args.rate:
            for label, r in list(results.items()):
                if not label.startswith("voltflow"):
                    continue
                rate = round(r["msgs_per_s"], -1)
                echo_label = f"websockets echo @ {rate:,.0f} msgs/s"
                if echo_label not in results:
                    print(f"measuring {echo_label} …", flush=True)
                    results[echo_label] = e = measure(specs["echo"], args, work, rate)
                    loads.append(harness.load_average())
                    print(f"  {e['us_per_msg']:.0f} µs/msg", flush=True)
                paced[label] = echo_label
        if args.keep:
            print(f"logs in {work}")

    reference = results.get("websockets echo")
    rows = []
    for label, r in results.items():
        ratio = r["us_per_msg"] / reference["us_per_msg"] if reference else None
        same = results.get(paced.get(label, ""))
        ratio_same = r["us_per_msg"] / same["us_per_msg"] if same else None
        rows.append(
            [
                label,
                harness.fmt(r["us_per_msg"]),
                harness.fmt(r["msgs_per_s"]),
                harness.fmt(ratio, 2) + "×" if ratio is not None else "–",
                harness.fmt(ratio_same, 2) + "×" if ratio_same is not None else "–",
                f"{r['server_load']:.0%}",
                f"{r['client_load']:.0%}",
                harness.fmt(r.get("db_us_per_msg")),
                harness.fmt(r["rss"] / 2**20, 1),
                r["errors"],
            ]
        )
    print()
    print(
        harness.table(
            [
                "server",
                "server CPU µs/msg",
                "msgs/s",
                "vs echo",
                "vs echo, same msgs/s",
                "server CPU",
                "client CPU",
                "DB server µs/msg",
                "RSS MiB",
                "CALLERRORs",
            ],
            rows,
        )
    )
    verdict = 0
    for label, r in results.items():
        if label.startswith("voltflow") and reference:
            ratio = r["us_per_msg"] / reference["us_per_msg"]
            ok = ratio <= TARGET_RATIO
            verdict |= 0 if ok else 1
            same = results.get(paced.get(label, ""))
            also = (
                f" ({r['us_per_msg'] / same['us_per_msg']:.2f}× echo at the same rate)"
                if same
                else ""
            )
            print(
                f"{label}: {ratio:.2f}× echo{also}, target ≤ {TARGET_RATIO:g}× — "
                f"{'met' if ok else 'MISSED'}"
            )
        if r["errors"]:
            print(f"{label}: {r['errors']} messages answered with CALLERROR")
    for label, why in skipped.items():
        print(f"{label}: skipped, {why}")
    print(harness.load_note(loads))
    print(f"\n({time.monotonic() - started:.0f} s)")
    harness.write_json(args.json, {"results": results, "skipped": skipped, "paced": paced})
    return verdict


if __name__ == "__main__":
    sys.exit(main())
