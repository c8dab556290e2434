"""Running the platform: ``serve``, ``migrate``, and the server loop the demo shares."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import click

from voltflow.bootstrap import Platform, build
from voltflow.cli._common import raise_file_limit, run_async, settings_of
from voltflow.config import Settings
from voltflow.i18n import _

OnReady = Callable[[], Coroutine[Any, Any, None]]


async def serve_platform(platform: Platform, on_ready: OnReady | None = None) -> None:
    import uvicorn

    from voltflow.bootstrap import upgrade
    from voltflow.logs import collapse_repeats
    from voltflow.ocpp.server import tune_gc
    from voltflow.web import create_app

    settings = platform.settings
    # A database outage fails every station message alike: one line and a count, not a
    # traceback each (see voltflow.logs).
    collapse_repeats()
    await upgrade(platform.db)
    await platform.start()
    tune_gc()  # thousands of station sockets: see its docstring
    config = uvicorn.Config(
        create_app(platform),
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="off",
        # Forwarded headers are the application's to believe, from VOLTFLOW_TRUSTED_PROXIES only
        # (web/proxy.py), not uvicorn's from its own list as well.
        proxy_headers=False,
    )
    # Uvicorn's config gives its loggers handlers of their own: those repeat themselves too.
    collapse_repeats(("uvicorn", "uvicorn.access"))
    server = uvicorn.Server(config)
    endpoint, console = _("OCPP 1.6J endpoint"), _("Operator console")
    width = max(18, len(endpoint), len(console)) + 2
    ocpp_host, http_host = _display_host(settings.ocpp_host), _display_host(settings.http_host)
    click.echo(f"{endpoint:<{width}}ws://{ocpp_host}:{platform.ocpp.port}/ocpp/{{station_id}}")
    click.echo(f"{console:<{width}}http://{http_host}:{settings.http_port}/")
    extra: asyncio.Task[None] | None = None
    try:
        if on_ready is not None:
            extra = asyncio.create_task(on_ready())
            extra.add_done_callback(_report_failure)
        await server.serve()
    finally:
        if extra is not None:
            extra.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await extra
        await platform.stop()


def _report_failure(task: asyncio.Task[None]) -> None:
    """What runs beside the server (the demo's data and stations) says why it stopped, rather
    than leaving a server that seems fine but shows nothing."""
    if task.cancelled() or task.exception() is None:
        return
    click.echo(_("Error: %(message)s") % {"message": task.exception()}, err=True)


def _display_host(host: str) -> str:
    return "localhost" if host in ("0.0.0.0", "::", "") else host


def server_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--host", default=None, help="HTTP listen address (default 127.0.0.1).")(fn)
    fn = click.option(
        "--port", "http_port", type=int, default=None, help="HTTP port (default 8000)."
    )(fn)
    fn = click.option(
        "--ocpp-port", type=int, default=None, help="OCPP WebSocket port (default 9000)."
    )(fn)
    return fn


def apply_server_options(
    settings: Settings, host: str | None, http_port: int | None, ocpp_port: int | None
) -> None:
    if host:
        settings.http_host = host
    if http_port is not None:
        settings.http_port = http_port
    if ocpp_port is not None:
        settings.ocpp_port = ocpp_port


@click.command()
@server_options
@click.option(
    "--auto-register", is_flag=True, default=None, help="Accept unknown stations as Pending."
)
@click.pass_context
@run_async
async def serve(
    ctx: click.Context,
    host: str | None,
    http_port: int | None,
    ocpp_port: int | None,
    auto_register: bool | None,
) -> None:
    """Run the platform: OCPP endpoint, REST API and operator console."""
    settings = settings_of(ctx)
    apply_server_options(settings, host, http_port, ocpp_port)
    if auto_register is not None:
        settings.auto_register = auto_register
    raise_file_limit()
    await serve_platform(build(settings))


@click.command()
@click.pass_context
@run_async
async def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema."""
    from voltflow.bootstrap import create_database, upgrade

    db = create_database(settings_of(ctx).database_url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    click.echo(_("database is up to date"))
