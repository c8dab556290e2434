"""What exporting the sessions list costs: a million sessions to a CSV file through the exporter
(``voltflow.exports.sessions``' ``ExportFile.stream``, as the console, the API and the CLI write
it, from platform start to file closed: its CSV lines have their text made by the database,
``SessionRepository.csv_lines``) next to the database's own fastest way out, in the same run:

* PostgreSQL: ``COPY (SELECT …) TO STDOUT WITH CSV`` through psycopg's copy, the same columns
  computed in SQL (duration in seconds, kWh), in the list's order;
* SQLite: a raw ``sqlite3`` cursor over the same query, written with Python's ``csv`` module.

The XLSX export (rows read as records, cells written by XlsxWriter in constant-memory mode) is
measured too (``--formats csv,xlsx``), for its time and peak memory. Each side runs in
a process of its own, so that its peak resident memory (``ru_maxrss``) is its own; a process's
baseline (the interpreter and its imports, before any row) is shown beside it. The rows are
seeded once per database with a bulk insert (``generate_series`` on PostgreSQL, ``executemany``
on SQLite), spread over 50 stations and a year. Targets: the exporter within 2× the raw COPY,
and under 200 MiB peak.

    .venv/bin/python bench/export_cost.py [--rows 1000000] [--only sqlite,postgres]
        [--formats csv,xlsx] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATIONS = 50
# A database of its own: the other benchmarks empty theirs (``voltflow_bench``) at every start.
BENCH_DATABASE = "voltflow_bench_exports"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
FIRST = datetime(2025, 12, 1, tzinfo=UTC)
TARGET_RATIO = 2.0
TARGET_PEAK_MIB = 200

# The list's columns as SQL, in the list's order (``voltflow.exports.sessions``).
PG_QUERY = """
SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_char(stopped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       station_id, evse_id, id_tag,
       extract(epoch FROM stopped_at - started_at)::bigint,
       to_char(energy_wh / 1000.0, 'FM999999990.000'),
       stop_reason, session_type
FROM charging_sessions ORDER BY started_at DESC, id DESC
"""
SQLITE_QUERY = """
SELECT started_at, stopped_at, station_id, evse_id, id_tag,
       CAST(strftime('%s', stopped_at) - strftime('%s', started_at) AS INTEGER),
       printf('%.3f', energy_wh / 1000.0), stop_reason, session_type
FROM charging_sessions ORDER BY started_at DESC, id DESC
"""


# -- seeding ---------------------------------------------------------------------------------------
def _schema(url: str) -> None:
    from voltflow.store.database import Database, create_database, upgrade

    async def run() -> None:
        db: Database = create_database(url)
        try:
            await upgrade(db)
        finally:
            await db.engine.dispose()

    asyncio.run(run())


def seed_sqlite(path: Path, rows: int) -> None:
    _schema(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    created = FIRST.strftime("%Y-%m-%d %H:%M:%S.000000")
    conn.executemany(
        "INSERT INTO stations (id, created_at) VALUES (?, ?)",
        [(f"CP-{n:04d}", created) for n in range(STATIONS)],
    )
    step = 365 * 86400 / rows

    def batch(start: int, end: int) -> list[tuple[Any, ...]]:
        out = []
        for i in range(start, end):
            began = FIRST + timedelta(seconds=int(i * step))
            stopped = began + timedelta(seconds=600 + i % 7200)
            wh = 1000 + (i * 37) % 60000
            out.append(
                (
                    f"CP-{i % STATIONS:04d}", 1 + i % 2, 1 + i % 2, f"{0xA0000000 + i % 5000:08X}",
                    "Accepted", began.strftime("%Y-%m-%d %H:%M:%S.000000"), 0,
                    stopped.strftime("%Y-%m-%d %H:%M:%S.000000"), wh, wh, "EVDisconnected",
                    ("normal", "split_billing", "whitelist")[i % 3],
                    began.strftime("%Y-%m-%d %H:%M:%S.000000"),
                )
            )  # fmt: skip
        return out

    for start in range(0, rows, 50_000):
        conn.executemany(
            "INSERT INTO charging_sessions (station_id, evse_id, connector_id, id_tag,"
            " auth_status, started_at, meter_start_wh, stopped_at, meter_stop_wh, energy_wh,"
            " stop_reason, session_type, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            batch(start, min(rows, start + 50_000)),
        )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def postgres_database(base: str) -> str:
    import psycopg

    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}"')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    head, _, _ = dsn.rpartition("/")
    return f"{head}/{BENCH_DATABASE}"


def seed_postgres(url: str, rows: int) -> None:
    import psycopg

    _schema(url)
    seconds = 365 * 86400 / rows
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO stations (id, created_at)"
            " SELECT 'CP-' || lpad(n::text, 4, '0'), %s FROM generate_series(0, %s) n",
            (FIRST, STATIONS - 1),
        )
        conn.execute(
            """
            INSERT INTO charging_sessions (station_id, evse_id, connector_id, id_tag,
                auth_status, started_at, meter_start_wh, stopped_at, meter_stop_wh, energy_wh,
                stop_reason, session_type, created_at)
            SELECT 'CP-' || lpad((i %% %(stations)s)::text, 4, '0'), 1 + i %% 2, 1 + i %% 2,
                upper(to_hex(2684354560 + i %% 5000)), 'Accepted',
                %(first)s + make_interval(secs => floor(i * %(step)s)), 0,
                %(first)s + make_interval(secs => floor(i * %(step)s) + 600 + i %% 7200),
                1000 + (i * 37) %% 60000, 1000 + (i * 37) %% 60000, 'EVDisconnected',
                (ARRAY['normal', 'split_billing', 'whitelist'])[1 + i %% 3],
                %(first)s + make_interval(secs => floor(i * %(step)s))
            FROM generate_series(0, %(last)s) i
            """,
            {"stations": STATIONS, "first": FIRST, "step": seconds, "last": rows - 1},
        )
        conn.execute("VACUUM ANALYZE charging_sessions")


# -- the measured sides, each in its own process -----------------------------------------------
def peak_mib() -> float:
    """The process's resident high-water mark. ``VmHWM`` belongs to the process image (reset by
    exec); ``ru_maxrss`` would carry the parent's peak over into the child."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def side_copy(url: str, out: Path) -> None:
    import psycopg

    with (
        psycopg.connect(url) as conn,
        out.open("wb") as f,
        conn.cursor() as cur,
        cur.copy(f"COPY ({PG_QUERY}) TO STDOUT WITH CSV") as copy,
    ):
        for block in copy:
            f.write(block)


def side_scan(url: str, out: Path) -> None:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    cursor = conn.execute(SQLITE_QUERY)
    with out.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        while rows := cursor.fetchmany(2000):
            writer.writerows(rows)
    conn.close()


def side_export(url: str, out: Path, fmt: str) -> None:
    from voltflow.bootstrap import build
    from voltflow.config import Settings
    from voltflow.domain.queries import SessionFilter
    from voltflow.exports.sessions import sessions_file

    async def run() -> None:
        settings = Settings.from_env()
        settings.database_url = url
        platform = build(settings)
        await platform.start(ocpp=False)
        try:
            file = sessions_file(fmt, now=datetime.now(UTC), timezone="Europe/Brussels")
            with out.open("wb") as f:
                async for chunk in file.stream(platform.sessions, SessionFilter()):
                    f.write(chunk)
        finally:
            await platform.stop()

    asyncio.run(run())


def child(kind: str, url: str, out: Path) -> None:
    if kind == "export-csv":
        # The imports are the baseline: what any voltflow process holds before its first row.
        import voltflow.bootstrap
        import voltflow.exports.sessions
    elif kind == "export-xlsx":
        import voltflow.bootstrap
        import voltflow.exports.sessions  # noqa: F401
    elif kind == "copy":
        import psycopg  # noqa: F401
    baseline = peak_mib()
    began = time.perf_counter()
    if kind == "copy":
        side_copy(url, out)
    elif kind == "scan":
        side_scan(url, out)
    else:
        side_export(url, out, kind.split("-", 1)[1])
    seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "seconds": seconds,
                "baseline_mib": baseline,
                "peak_mib": peak_mib(),
                "bytes": out.stat().st_size,
            }
        )
    )


def measure(kind: str, url: str, work: Path) -> dict[str, Any]:
    out = work / f"{kind}.out"
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--url", url, "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    with out.open("rb") as f:
        result["lines"] = sum(1 for _ in f) if kind != "export-xlsx" else None
    out.unlink()
    return result


def report(rows: int, results: list[tuple[str, str, dict[str, Any]]]) -> None:
    print(f"\n{rows:,} sessions · {os.cpu_count()} cores · Python {sys.version.split()[0]}\n")
    print("| database | path | seconds | rows/s | peak RSS MiB | baseline MiB | file MiB | × raw |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    raw: dict[str, float] = {}
    for database, kind, r in results:
        if kind in ("copy", "scan"):
            raw[database] = r["seconds"]
    for database, kind, r in results:
        ratio = r["seconds"] / raw[database] if database in raw else float("nan")
        print(
            f"| {database} | {kind} | {r['seconds']:.2f} | {rows / r['seconds']:,.0f} |"
            f" {r['peak_mib']:.0f} | {r['baseline_mib']:.0f} | {r['bytes'] / 2**20:.1f} |"
            f" {ratio:.2f} |"
        )
    print()
    for database, kind, r in results:
        if kind == "export-csv" and database in raw:
            ratio = r["seconds"] / raw[database]
            verdict = "met" if ratio <= TARGET_RATIO else "missed"
            target = f"target ≤ {TARGET_RATIO}×: {verdict}"
            print(f"{database}: exporter {ratio:.2f}× the raw path ({target})")
        if kind.startswith("export"):
            verdict = "met" if r["peak_mib"] < TARGET_PEAK_MIB else "missed"
            print(
                f"{database}: {kind} peak {r['peak_mib']:.0f} MiB"
                f" (target < {TARGET_PEAK_MIB} MiB: {verdict})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", default="sqlite,postgres", help="comma-separated subset")
    parser.add_argument("--formats", default="csv,xlsx", help="exporter formats to measure")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, Path(args.out))
        return
    only = set(args.only.split(","))
    kinds = [f"export-{f}" for f in args.formats.split(",") if f]
    results: list[tuple[str, str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="voltflow-export-bench-") as tmp:
        work = Path(tmp)
        if "sqlite" in only:
            path = work / "sessions.db"
            began = time.perf_counter()
            seed_sqlite(path, args.rows)
            print(f"sqlite: seeded {args.rows:,} sessions in {time.perf_counter() - began:.1f} s")
            url = f"sqlite:///{path}"
            for kind in ("scan", *kinds):
                results.append(("sqlite", kind, measure(kind, url, work)))
                print(f"sqlite {kind}: {results[-1][2]['seconds']:.2f} s", flush=True)
        if "postgres" in only:
            base = args.postgres_url or os.environ.get("VOLTFLOW_BENCH_POSTGRES_URL")
            try:
                url = postgres_database(base or DEFAULT_POSTGRES)
            except Exception as exc:
                print(f"postgres skipped: {type(exc).__name__}: {exc}")
            else:
                began = time.perf_counter()
                seed_postgres(url, args.rows)
                took = time.perf_counter() - began
                print(f"postgres: seeded {args.rows:,} sessions in {took:.1f} s")
                for kind in ("copy", *kinds):
                    results.append(("postgres", kind, measure(kind, url, work)))
                    print(f"postgres {kind}: {results[-1][2]['seconds']:.2f} s", flush=True)
    for database, kind, r in results:
        lines = r.get("lines")
        if lines is not None and lines not in (args.rows, args.rows + 1):
            raise SystemExit(f"{database} {kind}: {lines} lines for {args.rows} rows")
    report(args.rows, results)


if __name__ == "__main__":
    main()
