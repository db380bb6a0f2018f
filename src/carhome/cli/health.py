"""``carhome health``: whether the hub runs and hears its devices, and if not, why."""

from __future__ import annotations

import click

from carhome.cli.client import HubClient
from carhome.cli.options import hub_options, with_hub
from carhome.cli.output import counted, echo_json


@click.command()
@hub_options
def health(*, hub: str | None, as_json: bool) -> None:
    """Say whether the hub is ok or degraded, and why (exit status 1 when degraded).

    A hub is degraded when it hears no device: its MQTT link is down, or its own
    heartbeat, sent to itself through the broker, did not come back.

    \b
    Example:
      carhome health
    """

    found = with_hub(hub, HubClient.health)
    if as_json:
        echo_json(found)
    elif found.status == "ok":
        click.echo(
            f"ok: {counted(found.homes, 'home')}, {counted(found.devices, 'device')},"
            f" {counted(found.pending_commands, 'pending command')}"
        )
    else:
        click.echo(f"{found.status}:")
        for problem in found.problems:
            click.echo(f"  - {problem}")
    if found.status != "ok":
        raise SystemExit(1)
