"""``voltflow worker``: the event consumers in a process of their own."""

from __future__ import annotations

import asyncio
import signal

import click

from voltflow.bootstrap import build, upgrade
from voltflow.cli._common import run_async, settings_of
from voltflow.logs import collapse_repeats


@click.command()
@click.pass_context
@run_async
async def worker(ctx: click.Context) -> None:
    """Run the event consumers (the stations' daily totals, …) apart from the server.

    With VOLTFLOW_NATS_URL they consume the NATS JetStream stream the servers publish to,
    each through a durable consumer, so several workers share the work and a worker that was
    away catches up. Without NATS, the worker publishes the database's outbox to its own
    consumers. Set VOLTFLOW_CONSUMERS=off on the servers to leave the consuming to workers."""
    settings = settings_of(ctx)
    collapse_repeats()
    platform = build(settings)
    await upgrade(platform.db)
    await platform.start_worker()
    source = "NATS JetStream" if settings.nats_url else "the outbox"
    click.echo(f"Event worker        consuming from {source}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await platform.stop()
