"""Typing and pricing stored sessions, next to the database's own raw scan of the same rows.

A database of its own is filled with ``--sessions`` finished sessions (public sessions at ten
stations under one tariff: an energy price, a start fee and a VAT rate), then two runs, each in a
process of its own so that its peak memory is its own:

* raw scan: the sessions' rows read with the database driver alone (``sqlite3``, ``psycopg``),
  in batches, nothing done with them;
* pricing: what re-pricing every session does (``services.pricing.reprice_all``): sessions under
  linear tariffs (like this one) priced by the database a range of ids at a time, the others
  read a page at a time with their station's tariffs and priced by the OCPI engine and
  ``session_prices``; every session's lines written as a new revision. ``--engine`` prices
  every session with the engine instead (each typed with ``classify`` first, as a correction
  would), as all of them were before the database could.

The ratio is pricing's time over the raw scan's; DESIGN §6 asks for at most 5×::

    .venv/bin/python bench/pricing_cost.py [--sessions 1000000] [--only sqlite,postgres] [--engine]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get(
    "VOLTFLOW_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BENCH_DB = "voltflow_bench"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TARIFF = {
    "country_code": "BE",
    "party_id": "VFL",
    "id": "BENCH",
    "currency": "EUR",
    "start_date_time": "2025-01-01T00:00:00Z",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal("0.45"), "vat": Decimal(21), "step_size": 1},
                {"type": "FLAT", "price": Decimal("0.50"), "vat": Decimal(21), "step_size": 1},
            ]
        }
    ],
    "last_updated": "2025-01-01T00:00:00Z",
}
COLUMNS = "id, station_id, id_tag, started_at, stopped_at, energy_wh, session_type"


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- filling ---------------------------------------------------------------------------------------
async def fill(url: str, sessions: int) -> None:
    from voltflow.store.database import create_database, upgrade
    from voltflow.store.tables import stations
    from voltflow.store.tariffs import TariffRepository

    db = create_database(url)
    await upgrade(db)
    async with db.writing() as conn:
        await conn.execute(
            stations.insert(),
            [{"id": f"BENCH-{i:02d}", "created_at": T0, "tariff_id": "BENCH"} for i in range(10)],
        )
    from voltflow.domain.tariffs import parse_tariff

    await TariffRepository(db).add(parse_tariff(TARIFF), T0)
    await db.dispose()
    if url.startswith("sqlite"):
        _fill_sqlite(url.split("///", 1)[1], sessions)
    else:
        _fill_postgres(url, sessions)


def _fill_sqlite(path: str, sessions: int) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    rows = (
        (
            i,
            f"BENCH-{i % 10:02d}",
            f"TAG{i % 5000:05d}",
            # The text the platform's UTCDateTime writes on SQLite.
            (T0 + timedelta(minutes=7 * i)).isoformat(" ", "microseconds")[:26],
            (T0 + timedelta(minutes=7 * i + 45)).isoformat(" ", "microseconds")[:26],
            3_000 + i % 40_000,
        )
        for i in range(1, sessions + 1)
    )
    conn.executemany(
        "INSERT INTO charging_sessions (id, station_id, evse_id, connector_id, id_tag,"
        " auth_status, started_at, meter_start_wh, stopped_at, meter_stop_wh, energy_wh,"
        " stop_reason, session_type, type_reason, created_at)"
        " VALUES (?1, ?2, 1, 1, ?3, 'Accepted', ?4, 0, ?5, ?6, ?6, 'Local', 'normal',"
        " 'public session', ?4)",
        rows,
    )
    conn.commit()
    conn.close()


def _fill_postgres(url: str, sessions: int) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(
            "INSERT INTO charging_sessions (id, station_id, evse_id, connector_id, id_tag,"
            " auth_status, started_at, meter_start_wh, stopped_at, meter_stop_wh, energy_wh,"
            " stop_reason, session_type, type_reason, created_at)"
            " SELECT i, 'BENCH-' || lpad((i %% 10)::text, 2, '0'), 1, 1,"
            " 'TAG' || lpad((i %% 5000)::text, 5, '0'), 'Accepted',"
            " %(t0)s + i * interval '7 minutes', 0,"
            " %(t0)s + i * interval '7 minutes' + interval '45 minutes',"
            " 3000 + i %% 40000, 3000 + i %% 40000, 'Local', 'normal', 'public session',"
            " %(t0)s + i * interval '7 minutes'"
            " FROM generate_series(1, %(n)s) AS i",
            {"t0": T0, "n": sessions},
        )
        c.execute("SELECT setval('charging_sessions_id_seq', %(n)s)", {"n": sessions})
        c.execute("ANALYZE")


# -- the two sides, each in its own process -----------------------------------------------------
def side_raw(url: str) -> dict[str, Any]:
    began = time.perf_counter()
    count = 0
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1])
        cursor = conn.execute(f"SELECT {COLUMNS} FROM charging_sessions ORDER BY id")
        while batch := cursor.fetchmany(2000):
            count += len(batch)
        conn.close()
    else:
        import psycopg

        with (
            psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn,
            conn.cursor(name="scan") as cursor,
        ):
            cursor.execute(f"SELECT {COLUMNS} FROM charging_sessions ORDER BY id")
            while batch := cursor.fetchmany(2000):
                count += len(batch)
    return {"seconds": time.perf_counter() - began, "rows": count, "peak_kib": peak_kib()}


async def side_pricing(url: str, engine: bool) -> dict[str, Any]:
    from voltflow.domain.session_types import SessionFacts, classify
    from voltflow.services.pricing import SessionPricing, reprice_all
    from voltflow.store.database import create_database
    from voltflow.store.session_prices import SessionPriceRepository
    from voltflow.store.tariffs import TariffRepository

    class Clock:
        def now(self) -> datetime:
            return datetime.now(UTC)

    db = create_database(url)
    pricing = SessionPricing(SessionPriceRepository(db), TariffRepository(db), Clock())
    began = time.perf_counter()
    if not engine:
        count = await reprice_all(pricing)
        seconds = time.perf_counter() - began
        await db.dispose()
        return {"seconds": seconds, "rows": count, "peak_kib": peak_kib()}
    after, count = 0, 0
    while sessions := await pricing.repo.to_price_after(after, 2000):
        for s in sessions:  # typed again from what is stored, as a correction would
            classify(
                SessionFacts(
                    token_accepted=True,
                    energy_wh=s.energy_wh,
                    duration=s.stopped_at - s.started_at,
                )
            )
        async with db.unit():
            await pricing.price_each(sessions)
        after = sessions[-1].session_id
        count += len(sessions)
    seconds = time.perf_counter() - began
    await db.dispose()
    return {"seconds": seconds, "rows": count, "peak_kib": peak_kib()}


def run_side(side: str, url: str, engine: bool = False) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--side", side, "--url", url] + (["--engine"] if engine else []),
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def postgres_url() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
    except Exception as exc:  # a benchmark says why it skips
        print(f"PostgreSQL skipped: {exc}")
        return None
    base = POSTGRES.rsplit("/", 1)[0]
    return f"{base}/{BENCH_DB}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--only", default="sqlite,postgres")
    parser.add_argument("--engine", action="store_true", help="every session by the engine")
    parser.add_argument("--side", choices=["raw", "pricing"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side == "raw":
        print(json.dumps(side_raw(args.url)))
        return
    if args.side == "pricing":
        print(json.dumps(asyncio.run(side_pricing(args.url, args.engine))))
        return

    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(
        "| database | sessions | raw scan s | pricing s | ratio | raw peak MiB | pricing peak MiB |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            url = f"sqlite:///{Path(tmp) / 'bench.db'}" if name == "sqlite" else postgres_url()
            if url is None:
                continue
            asyncio.run(fill(url, args.sessions))
            raw = run_side("raw", url)
            priced = run_side("pricing", url, args.engine)
            assert raw["rows"] == priced["rows"] == args.sessions, (raw, priced)
            print(
                f"| {name} | {args.sessions:,} | {raw['seconds']:.1f} | {priced['seconds']:.1f}"
                f" | ×{priced['seconds'] / raw['seconds']:.1f} | {raw['peak_kib'] / 1024:.0f}"
                f" | {priced['peak_kib'] / 1024:.0f} |"
            )


if __name__ == "__main__":
    main()
