"""``carhome api``: run this process as a fleet API node, as the ``fleet:`` and ``api:`` sections say.

The command reads and checks the config file (a mistake is reported by file and line before
anything starts), then hands over to the composition (``carhome.compose.apirole.serve``):
the REST/WebSocket API and the web app for every home of the fleet, commands handed to each
home's owner over NATS, until SIGTERM.

The ``fleet:`` section names the fleet's PostgreSQL database, its partition count and its
NATS cluster, and the NATS user the node connects as: the API nodes' (``fleet-api``), with
its password; ``worker`` names the node. ``api:`` says where it listens.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from carhome.cli.options import config_option
from carhome.errors import CarhomeError, ConfigError

API_USER = "fleet-api"
"""The API nodes' NATS user (``carhome.fleet.cluster.API_USER``; NATS loads only when run)."""


@click.command()
@config_option(", with fleet: and api: sections")
def api(*, config_file: Path) -> None:
    """Run a fleet API node: the API and the web app for every home, commands to their owners.

    \b
    Examples:
      carhome api --config api.yaml
    """
    from carhome.compose.config import load_config  # noqa: PLC0415 - loads only when asked

    try:
        config = load_config(config_file)
        fleet = config.fleet
        if fleet is None:
            raise ConfigError(
                "no fleet: section; an API node needs one (database, worker: the node's name,"
                f" partitions, nats, nats_user: {API_USER}, nats_password): see carhome.fleet.config",
                file=str(config_file),
            )
        if not fleet.nats:
            raise ConfigError(
                "the fleet: section names no NATS cluster (nats: [nats://host:4222, …]); an API node"
                " reaches the homes' owners over it",
                file=str(config_file),
            )
        if fleet.nats_user != API_USER:
            raise ConfigError(
                f"fleet.nats_user is {fleet.nats_user!r}: an API node connects as the API nodes' user,"
                f" {API_USER!r} (give nats_user: {API_USER} and its password)",
                file=str(config_file),
            )
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from exc
    from carhome.compose.apirole import ApiNode, serve  # noqa: PLC0415 - the composition loads only when run

    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    def announce(node: ApiNode) -> None:
        click.echo(f"API node {fleet.worker} serving {len(node.hub.homes())} homes at {node.url}")

    try:
        asyncio.run(serve(config, fleet, announce))
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"API node {fleet.worker} stopped")
