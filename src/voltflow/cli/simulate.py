"""``voltflow simulate``: simulated OCPP 1.6J stations against a platform."""

from __future__ import annotations

import asyncio

import click

from voltflow.cli._common import fail, raise_file_limit
from voltflow.cli.demo import DEMO_TOKEN
from voltflow.i18n import _, ngettext

# What ends a simulated fault (``voltflow.simulator.Heals``), named here so that the CLI starts
# without loading the simulator.
HEALS = ("reset", "hard-reset", "unlock", "never")


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
@click.option(
    "--faulted-connector",
    "faulted",
    type=click.IntRange(1, 8),
    multiple=True,
    help="This connector reports Faulted from power-on (repeatable).",
)
@click.option(
    "--fault-code",
    default="GroundFailure",
    show_default=True,
    help="The faulted connectors' errorCode (an OCPP 1.6 ChargePointErrorCode).",
)
@click.option("--fault-vendor-code", default="SIM-E42", show_default=True)
@click.option(
    "--fault-heals-on",
    type=click.Choice(HEALS),
    default="never",
    show_default=True,
    help="What ends the fault: any reset, a hard reset, an UnlockConnector, or nothing.",
)
@click.option(
    "--failing-firmware",
    type=click.Choice(["download", "install"]),
    default=None,
    help="Firmware updates fail, in their download or their install.",
)
@click.option(
    "--offline-after",
    type=click.FloatRange(0),
    default=None,
    help="Online this many seconds, then offline for good.",
)
@click.option("--serial-number", default=None, help="The serial number the stations boot with.")
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
    faulted: tuple[int, ...],
    fault_code: str,
    fault_vendor_code: str,
    fault_heals_on: str,
    failing_firmware: str | None,
    offline_after: float | None,
    serial_number: str | None,
) -> None:
    """Run simulated OCPP 1.6J stations against a platform; they may misbehave on request (a
    faulted connector, failing firmware updates, going offline, a wrong serial number)."""
    from voltflow.simulator import Fault, Heals
    from voltflow.simulator import simulate as run

    try:
        fault = Fault(fault_code, fault_vendor_code or None, heals=Heals(fault_heals_on))
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if any(c > connectors for c in faulted):
        raise fail(
            _("--faulted-connector: the stations have connectors 1–%(n)s") % {"n": connectors}
        )
    if serial_number is not None and not 1 <= len(serial_number) <= 25:
        raise fail(_("--serial-number: 1–25 characters"))

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
                faulted_connectors=faulted,
                fault=fault,
                firmware_fails=failing_firmware,
                offline_after=offline_after,
                serial_number=serial_number,
            )
        )
    except KeyboardInterrupt:
        click.echo(_("stopped"))
    except OSError as exc:
        raise fail(_("cannot reach %(url)s: %(error)s") % {"url": url, "error": exc}) from exc
