"""``carhome worker``: run this process as a fleet worker, as the ``fleet:`` section describes it.

The command reads and checks the config file (a mistake is reported by file and line before
anything starts), then hands over to the composition (``carhome.compose.worker.serve``): the
worker joins the fleet, serves its share of the partitions and hands them back on SIGTERM.

The partitions' logs: the JetStream streams of the NATS cluster ``fleet.nats`` names, read
as ``fleet.nats_user``. Beside each partition's hub run its commands to the devices (over
that cluster), the automations of the ``automations:`` files and the ``charging:``
controllers of its homes (``carhome.compose.partition``). ``--log MODULE:NAME`` names
another factory that, given the ``fleet`` section, opens a ``carhome.fleet.log.PartitionLog``
(an async context manager).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from carhome.cli.options import config_option
from carhome.errors import CarhomeError, ConfigError

if TYPE_CHECKING:
    from carhome.automations.loader import Loaded
    from carhome.compose.config import Config
    from carhome.compose.worker import Beside, WithHub
    from carhome.fleet.config import FleetConfig
    from carhome.fleet.log import PartitionLog
    from carhome.pgdatabase import PgDatabase

    LogFactory = Callable[[FleetConfig], AbstractAsyncContextManager[PartitionLog]]


def _factory(value: str) -> LogFactory:
    module, _, name = value.partition(":")
    if not module or not name:
        raise ConfigError(f"--log {value!r}: give MODULE:NAME, a factory of a partition log")
    try:
        return cast("LogFactory", getattr(importlib.import_module(module), name))
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"--log {value!r}: {exc}; name an importable module and a factory in it") from None


def _jetstream(fleet: FleetConfig) -> AbstractAsyncContextManager[PartitionLog]:
    """The partitions' streams of the cluster ``fleet.nats`` names (the default log)."""
    from carhome.fleet.cluster import Login  # noqa: PLC0415 - NATS loads only for a worker
    from carhome.fleet.jetstream import open_log  # noqa: PLC0415

    return open_log(list(fleet.nats), Login(fleet.nats_user, fleet.nats_password or ""))


def _beside(config: Config, fleet: FleetConfig, automations: Loaded) -> Beside:
    """Beside each partition's hub: its commands over the cluster ``fleet.nats`` names (a
    connection of their own, as ``fleet.nats_user``), its automations and its charging."""
    from carhome.compose.partition import PartitionParts  # noqa: PLC0415 - loads only when run
    from carhome.fleet.cluster import Login  # noqa: PLC0415
    from carhome.fleet.jetstream import connect  # noqa: PLC0415

    @contextlib.asynccontextmanager
    async def beside(database: PgDatabase) -> AsyncIterator[PartitionParts]:
        login = Login(fleet.nats_user, fleet.nats_password or "")
        nats = await connect(list(fleet.nats), login, name=f"carhome-worker-{fleet.worker}-commands")
        try:
            yield PartitionParts(config, database, nats, automations)
        finally:
            await nats.close()

    return beside


def _answering(fleet: FleetConfig) -> AbstractAsyncContextManager[WithHub]:
    """Beside each partition's hub: the API nodes' requests answered, its changes published."""
    from carhome.fleet.cluster import Login  # noqa: PLC0415 - NATS loads only for a worker
    from carhome.fleet.rpc import worker_side  # noqa: PLC0415

    return worker_side(fleet.nats, Login(fleet.nats_user, fleet.nats_password or ""), fleet.partitions)


@click.command()
@config_option(", with a fleet: section")
@click.option(
    "--log",
    "log_factory",
    metavar="MODULE:NAME",
    help="A factory of the partitions' log (given the fleet section, an async context manager).",
)
def worker(*, config_file: Path, log_factory: str | None) -> None:
    """Run a fleet worker: own partitions of the fleet's homes, keep their state from their logs.

    \b
    Examples:
      carhome worker --config worker.yaml
      carhome worker --config worker.yaml --log mylogs:open_log
    """
    from carhome.compose.config import load_config  # noqa: PLC0415 - loads only when asked

    try:
        config = load_config(config_file)
        fleet = config.fleet
        if fleet is None:
            raise ConfigError(
                "no fleet: section; a worker needs one (database, worker, partitions, heartbeat,"
                " idle_timeout, nats): see carhome.fleet.config",
                file=str(config_file),
            )
        if log_factory is not None:
            log_of = _factory(log_factory)
        elif fleet.nats:
            log_of = _jetstream
        else:
            raise ConfigError(
                "the fleet: section names no NATS cluster (nats: [nats://host:4222, …]) to read the"
                " partitions' logs from; give it, or --log MODULE:NAME naming a factory of a partition log",
                file=str(config_file),
            )
        if fleet.nats:
            from carhome.compose.partition import check_fleet_sections, load_automations  # noqa: PLC0415

            check_fleet_sections(config)
            automations = load_automations(config.automations.files)
            beside = _beside(config, fleet, automations)
        elif config.automations.files or config.charging:
            raise ConfigError(
                "automations and charging send commands to devices over the NATS cluster: give the"
                " fleet: section's nats: [nats://host:4222, …] (and nats_password)",
                file=str(config_file),
            )
        else:
            beside = None
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from exc
    from carhome.compose.worker import serve  # noqa: PLC0415 - the composition loads only when run

    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    if fleet.nats:
        for error in automations.errors:
            logging.getLogger("carhome.worker").warning("automation not loaded: %s", error)

    def joined(*_: object) -> None:
        click.echo(f"worker {fleet.worker} joined the fleet of {fleet.partitions} partitions")

    try:
        with_hub_of = _answering if fleet.nats else None
        reason = asyncio.run(serve(fleet, log_of, joined=joined, with_hub_of=with_hub_of, beside=beside))
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"worker {fleet.worker} left the fleet: {reason}")
