"""``carhome login``, ``logout`` and ``whoami``: the CLI's session with a hub.

The password is read from the terminal without echo (or, for scripts, the first line of
standard input with ``--password-stdin``); it goes to the hub once and is never stored.
What is kept is the token pair (``carhome.cli.session``).
"""

from __future__ import annotations

import sys

import click

from carhome.cli.client import HubClient
from carhome.cli.options import hub_options, with_hub
from carhome.cli.output import echo_result


@click.command()
@click.argument("member")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@hub_options
def login(member: str, password_stdin: bool, hub: str | None, as_json: bool) -> None:
    """Log in to the hub as MEMBER (the demo prints its owner's password when it starts)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"Password for {member}", hide_input=True)

    async def work(client: HubClient) -> None:
        tokens = await client.login(member, password)
        echo_result(
            {"member": tokens.member, "home": tokens.home, "hub": client.url},
            f"logged in to {client.url} as {tokens.member} (home {tokens.home})",
            as_json=as_json,
        )

    with_hub(hub, work)


@click.command()
@hub_options
def logout(hub: str | None, as_json: bool) -> None:
    """End this CLI's session with the hub."""

    async def work(client: HubClient) -> None:
        saved = client.saved()
        if saved is not None:
            await client.logout()
        echo_result(
            {"logged_out": saved.member if saved else None},
            f"logged out {saved.member}" if saved else f"not logged in to {client.url}",
            as_json=as_json,
        )

    with_hub(hub, work)


@click.command()
@hub_options
def whoami(hub: str | None, as_json: bool) -> None:
    """Show who this CLI is logged in as, and that the hub still accepts it."""

    async def work(client: HubClient) -> None:
        members = await client.members()
        me = members[0] if len(members) == 1 else None
        saved = client.saved()
        name = saved.member if saved else (me.id if me else "?")
        echo_result(
            {"member": name, "home": saved.home if saved else None},
            f"{name} at {client.url}" + (f" (home {saved.home})" if saved else ""),
            as_json=as_json,
        )

    with_hub(hub, work)
