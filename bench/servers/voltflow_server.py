"""The voltflow platform's OCPP endpoint, standalone, for benchmarks.

Builds the platform with :func:`voltflow.bootstrap.build`, migrates the database, registers
``--stations`` stations ``BENCH-00001``… (all with ``--password``, or none when it is empty) and
the token ``--token``, starts the OCPP server, applies :func:`voltflow.ocpp.server.tune_gc` (as
``voltflow serve`` should; ``--no-tune-gc`` to see the difference), prints ``READY port=P`` and
serves until SIGTERM.

    .venv/bin/python bench/servers/voltflow_server.py --database sqlite:////tmp/b.db --port 9102

A PostgreSQL database is emptied first (every table dropped, then migrated again): point it at a
database that holds nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
import time
from datetime import UTC, datetime

from _runtime import raise_nofile_limit, ready, server_arguments, until_stopped
from sqlalchemy import insert, text

from voltflow.bootstrap import Platform, build
from voltflow.config import Settings
from voltflow.domain.station_keys import hash_station_password
from voltflow.ocpp.server import tune_gc
from voltflow.store.database import upgrade
from voltflow.store.tables import metadata
from voltflow.store.tables import stations as stations_table
from voltflow.store.writer import DurableWriter


def station_id(n: int) -> str:
    return f"BENCH-{n:05d}"


def log_gc_pauses(threshold: float = 0.05) -> None:
    """Report every garbage collection that holds the event loop for ``threshold`` s or more."""
    started: list[float] = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = time.perf_counter() - started[0]
        if took >= threshold:
            print(
                f"gc: generation {info['generation']} took {took * 1000:.0f} ms "
                f"({info['collected']} collected, {len(gc.get_objects())} objects tracked)",
                file=sys.stderr,
                flush=True,
            )

    gc.callbacks.append(callback)


async def prepare(platform: Platform, stations: int, password: str, token: str | None) -> None:
    """An empty database (a PostgreSQL one emptied: every table dropped), migrated, with
    ``stations`` stations ``BENCH-00001``… (all with ``password``, or none when it is empty)
    and the token ``token``."""
    db = platform.db
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await upgrade(db)
    # One transaction for all stations: registering 15,000 one commit at a time takes minutes
    # on SQLite with synchronous=FULL, and is not what is measured. One hash for all: they share
    # the password.
    now = datetime.now(UTC)
    password_hash = hash_station_password(password) if password else None
    rows = [
        {
            "id": station_id(n),
            "password_hash": password_hash,
            "registration": "Accepted",
            "lenient": False,
            "created_at": now,
        }
        for n in range(1, stations + 1)
    ]
    async with db.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            await conn.execute(insert(stations_table), rows[i : i + 5000])
    if token:
        await platform.tokens.add(token)


async def main(args: argparse.Namespace) -> None:
    raise_nofile_limit()
    if args.gc_log:
        log_gc_pauses()
    settings = Settings(
        database_url=args.database,
        ocpp_host=args.host,
        ocpp_port=args.port,
        heartbeat_interval=args.heartbeat_interval,
    )
    if args.sqlite_synchronous:
        settings.sqlite_synchronous = args.sqlite_synchronous
    if args.commit_interval_ms is not None:
        settings.commit_interval_ms = args.commit_interval_ms
    # Events then wait in the outbox for a ``voltflow worker`` elsewhere.
    settings.consumers = not args.no_consumers
    platform = build(settings)
    await prepare(platform, args.stations, args.password, args.token)
    await platform.start()
    if not args.no_tune_gc:
        tune_gc()
    ready(platform.ocpp.port, stations=args.stations, dialect=platform.db.dialect)
    report = asyncio.create_task(report_batches(platform.writer)) if args.batch_log else None
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        await until_stopped(args.watch_stdin)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        if report is not None:
            report.cancel()
        await platform.stop()


async def report_batches(writer: DurableWriter, every: float = 5) -> None:
    """Commits per second and messages per commit, on stderr (the server's log)."""
    batches, items, cpu, wall = writer.batches, writer.items, writer.thread_cpu, 0.0
    main = time.thread_time()
    while True:
        await asyncio.sleep(every)
        b, i = writer.batches - batches, writer.items - items
        c, m = writer.thread_cpu - cpu, time.thread_time() - main
        w = writer.commit_seconds - wall
        batches, items, cpu, main = writer.batches, writer.items, writer.thread_cpu, m + main
        wall = writer.commit_seconds
        print(
            f"writer: {b / every:.0f} commits/s, {i / b if b else 0:.1f} items per commit, "
            f"{w / b * 1e3 if b else 0:.1f} ms per commit, "
            f"{c / b * 1e6 if b else 0:.0f} µs CPU per commit on the writer's thread; "
            f"event loop thread {m / every:.0%} CPU",
            file=sys.stderr,
            flush=True,
        )


if __name__ == "__main__":
    parser = server_arguments(__doc__)
    parser.add_argument("--database", required=True, help="sqlite:///PATH or postgresql://…")
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--password", default="bench-password-0001", help="'' for none")
    parser.add_argument("--token", default="BENCHTAG")
    parser.add_argument("--heartbeat-interval", type=int, default=300)
    parser.add_argument("--sqlite-synchronous", default=None, help="default: the platform's")
    parser.add_argument(
        "--commit-interval-ms", type=float, default=None, help="default: the platform's"
    )
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--gc-log", action="store_true", help="report long garbage collections")
    parser.add_argument(
        "--batch-log", action="store_true", help="report commits/s and items per commit"
    )
    parser.add_argument(
        "--no-tune-gc", action="store_true", help="keep Python's default garbage collection"
    )
    parser.add_argument(
        "--no-consumers",
        action="store_true",
        help="leave events in the outbox for a worker elsewhere (VOLTFLOW_CONSUMERS=off)",
    )
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats on stop")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level)
    asyncio.run(main(args))
