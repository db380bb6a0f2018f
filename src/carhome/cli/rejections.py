"""``carhome rejections``: bad input the hub turned away, counted by reason."""

from __future__ import annotations

import click

from carhome.cli.client import HubClient
from carhome.cli.options import hub_options, with_hub
from carhome.cli.output import echo_json, table


@click.command()
@hub_options
def rejections(*, hub: str | None, as_json: bool) -> None:
    """Show how many reported values the hub rejected, by reason, and the latest ones.

    \b
    Example:
      carhome rejections
    """

    found = with_hub(hub, HubClient.rejections)
    if as_json:
        echo_json(found)
        return
    if not found.total:
        click.echo("no rejected input")
        return
    click.echo(f"{found.total} rejected in all\n")
    click.echo(table(["REASON", "COUNT"], [[k, str(v)] for k, v in found.counts.items()]))
    click.echo("\nlatest:")
    for r in found.last:
        click.echo(f"  {r.code}: {r.message}")
