"""``voltflow``: serve the platform, run the demo, manage stations, tokens, users, organisations,
split-billing licences and installation jobs, send commands.

Every command reports problems as a message and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

import click

from voltflow.cli.billing import billing
from voltflow.cli.cards import card
from voltflow.cli.commands import command
from voltflow.cli.demo import demo
from voltflow.cli.exports import export
from voltflow.cli.jobs import job
from voltflow.cli.licences import licence
from voltflow.cli.organisations import org
from voltflow.cli.payments import COMMANDS as payment_commands
from voltflow.cli.runtime import migrate, serve
from voltflow.cli.sessions import sessions
from voltflow.cli.simulate import simulate
from voltflow.cli.stations import station
from voltflow.cli.tariffs import tariff
from voltflow.cli.tokens import token
from voltflow.cli.users import apikey, user
from voltflow.cli.worker import worker
from voltflow.config import Settings
from voltflow.i18n import use


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    envvar="VOLTFLOW_DATABASE_URL",
    default=None,
    help="Database URL (default: SQLite file ./voltflow.db; postgresql://… for PostgreSQL).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def main(ctx: click.Context, database: str | None, verbose: bool) -> None:
    """Voltflow: run electric-vehicle charging."""
    # Messages in the language of the person's locale, as gettext picks it; English otherwise.
    # Only for this command: the language goes back to what it was when the command ends.
    ctx.with_resource(use(locale_language(os.environ)))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("voltflow").setLevel(logging.INFO)
        # Every simulated frame would be a line: only with --verbose.
        logging.getLogger("voltflow.simulator.ocpp").setLevel(logging.WARNING)
    settings = Settings.from_env()
    if database:
        settings.database_url = database
    ctx.obj = settings


def locale_language(environ: Mapping[str, str]) -> str | None:
    """The language the locale asks for (``LC_ALL``, else ``LC_MESSAGES``, else ``LANG``)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(name):
            return environ[name]
    return None


main.add_command(serve)
main.add_command(demo)
main.add_command(migrate)
main.add_command(station)
main.add_command(token)
main.add_command(card)
main.add_command(tariff)
main.add_command(sessions)
main.add_command(export)
main.add_command(user)
main.add_command(apikey)
main.add_command(command)
main.add_command(simulate)
main.add_command(worker)
main.add_command(org)
main.add_command(licence)
main.add_command(job)
main.add_command(billing)
# What follows the documents (SEPA files, payments, statements, payouts, reminders): commands of
# the same group, kept in their own module.
for _command in payment_commands:
    billing.add_command(_command)


def entry() -> None:
    main(prog_name="voltflow")


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["main"]
