"""``carhome call``, ``carhome set`` and ``carhome commands``: send commands, see results.

``call`` and ``set`` wait for the command's final status by default and exit with it:
0 acked (or accepted, with ``--no-wait``), 3 failed or expired, 4 still pending when the
CLI stopped waiting; 1 when the hub refused the command or could not be reached, 2 for a
usage mistake. Waiting is a long poll on the hub, so no time is spent sleeping here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final, TypeVar

import click

from carhome.cli import exits
from carhome.cli.client import HubClient
from carhome.cli.keys import signed_call
from carhome.cli.names import resolve_device, resolve_name, short_names
from carhome.cli.options import hub_options, with_hub
from carhome.cli.output import age_text, echo_json, table, value_text
from carhome.cli.values import parse_assignments, parse_value
from carhome.hub import Command, CommandStatus
from carhome.hub.commands import DEFAULT_TTL
from carhome.wire.commands import MAX_WAIT, CommandList

EXIT_FAILED: Final = exits.REFUSED
EXIT_PENDING: Final = exits.PENDING
# Real seconds to keep waiting past a command's ttl: the hub expires it on its own clock,
# which a demo may run slower or faster than real time.
_GRACE: Final = 30.0

_F = TypeVar("_F", bound=Callable[..., Any])
_TTL_HELP = "Seconds (of hub time) the command stays valid; it is never executed later."


def _command_options(fn: _F) -> _F:
    """``--ttl``, ``--no-wait`` and the hub options, shared by ``call`` and ``set``."""
    fn = hub_options(fn)
    fn = click.option("--no-wait", is_flag=True, help="Return once the hub has accepted the command.")(fn)
    return click.option(
        "--ttl",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_TTL,
        show_default=True,
        help=_TTL_HELP,
    )(fn)


async def _send(
    client: HubClient,
    home: str,
    device: str,
    *,
    kind: str,
    target: str,
    args: dict[str, object],
    ttl: float,
    wait: bool,
) -> Command:
    """Submit, then, unless told not to wait, follow the command until it is final."""
    first = min(MAX_WAIT, ttl + _GRACE) if wait else None
    command = await client.submit(
        home, device, kind=kind, target=target, args=dict(args), ttl=ttl, wait=first
    )
    if not wait:
        return command
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ttl + _GRACE
    while not command.status.final:
        left = deadline - loop.time()
        if left <= 0:
            break
        command = await client.command(command.id, wait=min(MAX_WAIT, left))
    return command


def _report(command: Command, label: str, *, as_json: bool, waited: bool) -> None:
    """Print the outcome and exit with the code the module docstring promises."""
    where = f"{command.home}/{command.device}"
    if as_json:
        echo_json(command)
    elif command.status is CommandStatus.ACKED:
        click.echo(f"acked: {label} on {where}")
        if command.result is not None:
            click.echo(f"result: {value_text(command.result)}")
    elif command.status.final:
        click.echo(f"{command.status}: {label} on {where}: {command.error or 'no reason given'}")
    elif waited:
        click.echo(
            f"still {command.status}: {label} on {where} (command {command.id}); see `carhome commands`"
        )
    else:
        click.echo(f"{command.status}: {label} on {where} (command {command.id})")
    ctx = click.get_current_context()
    if command.status in (CommandStatus.FAILED, CommandStatus.EXPIRED):
        ctx.exit(EXIT_FAILED)
    if waited and not command.status.final:
        ctx.exit(EXIT_PENDING)


@click.command()
@click.argument("device", metavar="DEVICE")
@click.argument("action", metavar="ACTION")
@click.argument("assignments", nargs=-1, metavar="[ARG=VALUE]...")
@_command_options
def call(
    *,
    device: str,
    action: str,
    assignments: tuple[str, ...],
    ttl: float,
    no_wait: bool,
    hub: str | None,
    as_json: bool,
) -> None:
    """Run ACTION on DEVICE and print the result.

    DEVICE is HOME/DEVICE, or just DEVICE when only one home has a device of that id.
    Values are JSON scalars when they read as one (true, 24, 24.5, "x"), else text.

    \b
    Examples:
      carhome call car lock
      carhome call car climate_on temperature=21.5
      carhome call yizhuang/cooker start program=porridge --no-wait
    Exit status: 0 acked, 3 failed or expired, 4 still pending, 1 hub error, 2 usage.
    """
    args = parse_assignments(assignments)

    async def work(client: HubClient) -> Command:
        home, dev = resolve_device(device, [] if "/" in device else await client.devices())
        # a safety-critical action is signed with this machine's key when it is enrolled there
        signed = await signed_call(client, home, dev, action, args, ttl=ttl, wait=not no_wait)
        if signed is not None:
            return signed
        return await _send(
            client, home, dev, kind="action", target=action, args=args, ttl=ttl, wait=not no_wait
        )

    _report(with_hub(hub, work), action, as_json=as_json, waited=not no_wait)


@click.command("set")
@click.argument("device", metavar="DEVICE")
@click.argument("prop", metavar="PROPERTY")
@click.argument("value", metavar="VALUE")
@_command_options
def set_(
    *, device: str, prop: str, value: str, ttl: float, no_wait: bool, hub: str | None, as_json: bool
) -> None:
    """Set PROPERTY of DEVICE to VALUE and print the result.

    PROPERTY is the full name or any unique ending of it (for a car, the VSS path:
    Driver.Temperature for Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature).

    \b
    Examples:
      carhome set purifier mode auto
      carhome set car Driver.Temperature 22
      carhome set car ChargeLimit 80 --json
    Exit status: 0 acked, 3 failed or expired, 4 still pending, 1 hub error, 2 usage.
    """
    parsed = parse_value(value)
    labels: list[str] = []

    async def work(client: HubClient) -> Command:
        home, dev = resolve_device(device, [] if "/" in device else await client.devices())
        spec = (await client.device(home, dev)).spec
        names = [p.name for p in spec.properties]
        writable = [p.name for p in spec.properties if "write" in p.access]
        target = resolve_name(prop, names, prefer=writable)
        labels.append(f"{short_names(names)[target]} = {value_text(parsed)}")
        return await _send(
            client, home, dev, kind="set", target=target, args={"value": parsed}, ttl=ttl, wait=not no_wait
        )

    command = with_hub(hub, work)
    _report(command, labels[0], as_json=as_json, waited=not no_wait)


@click.command()
@click.option("--home", metavar="HOME", help="Only the commands of this home.")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many, newest first."
)
@hub_options
def commands(*, home: str | None, limit: int, hub: str | None, as_json: bool) -> None:
    """List recent commands, newest first, with their status.

    \b
    Example:
      carhome commands --limit 5
    """

    async def work(client: HubClient) -> CommandList:
        return await client.commands(home, limit)

    found = with_hub(hub, work)
    if as_json:
        echo_json(found)
        return
    if not found.commands:
        click.echo("no commands yet")
        return
    rows = [
        [
            c.id[:8],
            age_text(found.now - c.created),
            f"{c.home}/{c.device}",
            c.kind,
            c.target,
            str(c.status),
            c.member,
            c.error or "",
        ]
        for c in found.commands
    ]
    click.echo(table(["ID", "AGE", "DEVICE", "KIND", "TARGET", "STATUS", "MEMBER", "ERROR"], rows))
