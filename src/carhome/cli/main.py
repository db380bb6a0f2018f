"""The ``carhome`` command: one click group, one module per command group.

Client commands (devices, state, call, set, commands, rejections, health) talk to a running
hub's local API; ``demo`` and ``serve`` start one.
"""

from __future__ import annotations

import errno
from typing import Any

import click

from carhome.cli.access import audit, members
from carhome.cli.api import api
from carhome.cli.automations import automations
from carhome.cli.charging import plan, prices
from carhome.cli.commands import call, commands, set_
from carhome.cli.devices import devices, state
from carhome.cli.fleet import fleet
from carhome.cli.health import health
from carhome.cli.history import charges, trips
from carhome.cli.keys import keys
from carhome.cli.login import login, logout, whoami
from carhome.cli.mqtt import mqtt
from carhome.cli.openapi import openapi
from carhome.cli.rejections import rejections
from carhome.cli.run import demo, serve
from carhome.cli.say import say
from carhome.cli.setup import setup
from carhome.cli.store import store
from carhome.cli.worker import worker
from carhome.errors import CarhomeError


class _Carhome(click.Group):
    """The group that answers every mistake in words: carhome's errors and the system's
    (a file that cannot be read or written) become a one-line error and exit 1, never a
    traceback. A broken pipe stays click's to handle."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CarhomeError as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from exc


@click.group(cls=_Carhome, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="carhome")
def cli() -> None:
    """carhome: the electric car as a first-class member of the smart home.

    \b
    A new hub prints a setup link: open it, or run `carhome setup`, to make its owner.
    Start a demo hub, log in as the owner it prints, then look around:
      carhome demo
      carhome login owner
      carhome devices
      carhome state car
      carhome call car climate_on temperature=21
      carhome set purifier mode sleep

    Client commands find the hub through --hub, CARHOME_HUB, or the address a running
    hub announces; add --json for output scripts can read.
    """


for command in (
    setup,
    login,
    logout,
    whoami,
    devices,
    state,
    call,
    set_,
    commands,
    rejections,
    health,
    automations,
    plan,
    prices,
    trips,
    charges,
    members,
    audit,
    keys,
    mqtt,
    say,
    openapi,
    demo,
    serve,
    store,
    worker,
    api,
    fleet,
):
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``carhome`` script."""
    cli()
