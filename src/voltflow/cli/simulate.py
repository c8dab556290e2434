"""``voltflow simulate``: simulated OCPP 1.6J stations against a platform."""

from __future__ import annotations

import asyncio

import click

from voltflow.cli._common import fail, raise_file_limit
from voltflow.cli.demo import DEMO_TOKEN
from voltflow.i18n import _, ngettext


@click.command()
@click.option("--stations", "count", type=click.IntRange(1, 20000), default=1, show_default=True)
@click.option("--url", default="ws://127.0.0.1:9000/ocpp", show_default=True, help="OCPP base URL.")
@click.option("--prefix", default="SIM-", show_default=True, help="Station ids are PREFIX0001, …")
@click.option("--password", default=None, help="HTTP Basic password of the stations.")
@click.option("--id-tag", default=DEMO_TOKEN, show_default=True)
@click.option("--meter-interval", type=float, default=15, show_default=True)
@click.option("--session-seconds", type=float, default=120, show_default=True)
@click.option("--idle-seconds", type=float, default=30, show_default=True)
@click.option("--power-kw", type=float, default=11, show_default=True)
@click.option("--connectors", type=click.IntRange(1, 8), default=1, show_default=True)
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
def simulate(
    count: int,
    url: str,
    prefix: str,
    password: str | None,
    id_tag: str,
    meter_interval: float,
    session_seconds: float,
    idle_seconds: float,
    power_kw: float,
    connectors: int,
    duration: float | None,
    seed: int,
) -> None:
    """Run simulated OCPP 1.6J stations against a platform."""
    from voltflow.simulator import simulate as run

    raise_file_limit()
    ids = [f"{prefix}{i:04d}" for i in range(1, count + 1)]
    click.echo(
        ngettext(
            "simulating %(n)s station against %(url)s: %(first)s…%(last)s",
            "simulating %(n)s stations against %(url)s: %(first)s…%(last)s",
            count,
        )
        % {"n": count, "url": url, "first": ids[0], "last": ids[-1]}
    )
    try:
        asyncio.run(
            run(
                url,
                ids,
                password=password,
                id_tag=id_tag,
                meter_interval=meter_interval,
                session_seconds=session_seconds,
                idle_seconds=idle_seconds,
                power_kw=power_kw,
                connectors=connectors,
                duration=duration,
                seed=seed,
            )
        )
    except KeyboardInterrupt:
        click.echo(_("stopped"))
    except OSError as exc:
        raise fail(_("cannot reach %(url)s: %(error)s") % {"url": url, "error": exc}) from exc
