"""What every hub-facing command shares: ``--hub`` and ``--json``, and running a call;
``--config`` of the commands that read the hub's configuration file instead; and
``--store`` of the commands that open a hub's store themselves.

The hub's address comes from ``--hub``, else ``CARHOME_HUB``, else the file a running hub
writes (``carhome.wire.discovery``), else ``http://127.0.0.1:8780``. ``with_hub`` opens a
``HubClient``, runs one async function with it, and turns carhome's errors into clean
CLI errors (no traceback), since this is where the CLI meets the network.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import click

from carhome.cli import exits
from carhome.cli.client import DEFAULT_URL, ApiError, HubClient
from carhome.cli.session import TOKEN_ENV, Sessions
from carhome.errors import CarhomeError
from carhome.wire.discovery import read_hub_address

_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T")

EXIT_HUB: Final = exits.HUB
"""The hub could not be reached or answered with an error."""


def hub_options(fn: _F) -> _F:
    """Add ``--hub URL`` and ``--json`` to a command (as ``hub`` and ``as_json``)."""
    fn = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of text.")(fn)
    return click.option(
        "--hub",
        "hub",
        envvar="CARHOME_HUB",
        metavar="URL",
        help="The hub's local API [env CARHOME_HUB; default: the address a running hub"
        f" announced, else {DEFAULT_URL}].",
    )(fn)


def config_option(what: str = "") -> Callable[[_F], _F]:
    """``--config FILE`` (as ``config_file``) of a command that reads the hub's configuration file;
    ``what`` says what the command needs in it (e.g. ``", with a fleet: section"``)."""
    return click.option(
        "--config",
        "config_file",
        required=True,
        envvar="CARHOME_CONFIG",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help=f"The configuration file (YAML){what} [env CARHOME_CONFIG].",
    )


def checked_value(check: Callable[[str], str], value: str | None) -> str | None:
    """An option's ``value`` as ``check`` answers it (None stays None); what ``check``
    refuses (a ``ValueError`` or one of carhome's errors) is a usage error naming the option."""
    if value is None:
        return None
    try:
        return check(value)
    except (ValueError, CarhomeError) as exc:
        raise click.BadParameter(str(exc)) from None


def store_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The click callback of an option naming a hub's store."""
    from carhome.store import check_store_url  # noqa: PLC0415 - the stores load only when asked

    return checked_value(check_store_url, value)


def store_option(help: str) -> Callable[[_F], _F]:  # noqa: A002 - click's own word for it
    """``--store URL`` (as ``store``): a hub's store, checked as a store URL when given."""
    return click.option("--store", "store", metavar="URL", default=None, callback=store_url, help=help)


def port_option(flag: str, default: int, help: str) -> Callable[[_F], _F]:  # noqa: A002 - click's own word for it
    """An option giving a TCP port (0 to 65535), its default shown in ``--help``."""
    return click.option(flag, type=click.IntRange(0, 65535), default=default, show_default=True, help=help)


def hub_url(given: str | None) -> str:
    """Where to find the hub (see the module docstring)."""
    return given or read_hub_address() or DEFAULT_URL


_C = TypeVar("_C", bound=HubClient)


def with_client(given: str | None, kind: type[_C], work: Callable[[_C], Awaitable[_T]]) -> _T:
    """Run ``work`` with a ``kind`` client of the hub, logged in as this CLI's session (or
    ``CARHOME_TOKEN``); carhome errors exit with their message."""

    async def run() -> _T:
        token = os.environ.get(TOKEN_ENV) or None
        async with kind(hub_url(given), sessions=Sessions(), token=token) as client:
            return await work(client)

    try:
        return asyncio.run(run())
    except click.ClickException:
        raise
    except ApiError as exc:
        if exc.status == 403:  # access said no: a refusal, exit as a device's refusal does
            click.echo(f"Error: {exc.detail}", err=True)
            raise SystemExit(exits.REFUSED) from exc
        raise click.ClickException(exc.detail) from exc
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from exc


def with_hub(given: str | None, work: Callable[[HubClient], Awaitable[_T]]) -> _T:
    """Run ``work`` with a client of the hub (see ``with_client``)."""
    return with_client(given, HubClient, work)
