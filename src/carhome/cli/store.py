"""``carhome store``: the hub's store by URL, without a running hub.

``migrate`` brings a store's schema up to this carhome's and prints its version; ``copy``
moves the hub's store (homes, devices, states, commands) from one database to another,
SQLite to PostgreSQL or back (``carhome.store.copy``), with the parts' data kept beside it
(``carhome.compose.copy_parts``), access control (``carhome.compose.copy_access``) and the
saved automations and delegate keys (``carhome.compose.copy_saved``).
Both take the URLs the hub's configuration takes (``store:``); a password in a URL is never
printed. Errors (a store
that cannot be reached, a schema newer than this carhome) exit with the hub-error code.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from carhome.cli.options import store_url
from carhome.errors import StoreError

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar


@click.group()
def store() -> None:
    """The hub's store: bring its schema up to date, or copy it to another database.

    \b
    Examples:
      carhome store migrate --store postgresql://carhome:secret@127.0.0.1/carhome
      carhome store copy --from sqlite:///.carhome/carhome.db --to postgresql://carhome:secret@127.0.0.1/carhome
    """


@store.command()
@click.option("--store", "url", required=True, metavar="URL", callback=store_url, help="The store's URL.")
def migrate(*, url: str) -> None:
    """Apply the store's schema migrations, then print its schema version.

    A store written by a newer carhome is refused, untouched.

    \b
    Examples:
      carhome store migrate --store postgresql://carhome:secret@127.0.0.1/carhome
      carhome store migrate --store sqlite:///.carhome/carhome.db
    """
    from carhome.store import open_store  # noqa: PLC0415 - the stores load only when asked
    from carhome.store.postgres import redacted  # noqa: PLC0415

    async def go() -> int:
        async with open_store(url) as opened:
            return await opened.schema_version()

    version = asyncio.run(go())
    click.echo(f"{redacted(url)}: schema version {version}")


@store.command("copy")
@click.option("--from", "source", required=True, metavar="URL", callback=store_url, help="The store to copy.")
@click.option("--to", "target", required=True, metavar="URL", callback=store_url, help="The store to fill.")
@click.option(
    "--force", is_flag=True, help="Copy into a store that is not empty (merge: the source's records win)."
)
def copy_(*, source: str, target: str, force: bool) -> None:
    """Copy the hub's store (homes, devices, states, commands) to another database, with
    the history, the automation timers, the OCPP transactions, access control (members,
    login sessions, the token secret, the audit log), the automations saved through the API
    with their switches and the automation delegate keys kept beside it (SQLite files beside
    the hub's and in its data directory, or tables in its PostgreSQL database).

    Stop the hub first. The target must be empty unless --force; a source whose audit log
    does not verify is refused. Every table is counted on both sides at the end, and a
    difference is an error; the audit entries are chained anew in the target's chains, each
    ending with an entry naming the source's chain heads, and verified there.

    \b
    Examples:
      carhome store copy --from sqlite:///.carhome/carhome.db --to postgresql://carhome:secret@db/carhome
      carhome store copy --from postgresql://carhome:secret@db/carhome --to sqlite:///backup.db
    """
    from carhome.compose.copy_access import (  # noqa: PLC0415 - the stores load only when asked
        access_stores,
        check_access,
        copy_access,
    )
    from carhome.compose.copy_parts import (  # noqa: PLC0415
        check_empty,
        copy_parts,
        opened,
        source_parts,
        target_parts,
    )
    from carhome.compose.copy_saved import copy_saved, saved_sides  # noqa: PLC0415
    from carhome.sqlitefile import MEMORY  # noqa: PLC0415
    from carhome.store import open_store, sqlite_path  # noqa: PLC0415
    from carhome.store.copy import copy_store  # noqa: PLC0415
    from carhome.store.postgres import redacted  # noqa: PLC0415

    if source == target:
        raise click.BadParameter("--from and --to name the same store", param_hint="--to")
    path = sqlite_path(source)
    if path is not None and path != MEMORY and not Path(path).is_file():
        raise StoreError(f"{redacted(source)}: no such file; give the path of the hub's carhome.db")

    progress = _Progress()

    async def go() -> None:
        name = redacted(target)
        async with open_store(source) as src, open_store(target) as dst, contextlib.AsyncExitStack() as parts:
            src_parts = await opened(parts, source_parts(src))
            dst_parts = await opened(parts, target_parts(dst, src_parts))
            # refused here, before anything is written, if the target holds any and not --force
            src_saved, dst_saved = await saved_sides(src, dst, merge=force, target_name=name)
            src_access = await parts.enter_async_context(access_stores(src, redacted(source), make=False))
            dst_access = None
            if src_access is not None:
                dst_access = await parts.enter_async_context(access_stores(dst, name, make=True))
            # before anything is written: the source's audit chains verify, the target is empty
            if src_access is not None and dst_access is not None:
                await check_access(src_access, dst_access, merge=force)
            if not force:
                await check_empty(dst_parts, name)
            with progress:
                counted = await copy_store(src, dst, merge=force, progress=progress, target_name=name)
                counted += await copy_parts(src_parts, dst_parts, progress=progress, target_name=name) + (
                    await copy_saved(src_saved, dst_saved, progress=progress, target_name=name)
                )
                verified = None
                if src_access is not None and dst_access is not None:
                    more, verified = await copy_access(src_access, dst_access, progress=progress)
                    counted += more
        click.echo(f"counted in {redacted(source)} and {redacted(target)}:")
        for c in counted:
            pending = "" if c.open is None else f" ({c.open} in the outbox)"
            click.echo(f"  {c.table}: {c.source} in the source, {c.target} in the target{pending}")
        if verified is not None:
            click.echo(f"audit chains of the target: {verified}")

    asyncio.run(go())


class _Progress(contextlib.ExitStack):
    """Told ``(table, rows copied, rows to copy)``: a bar per table on a terminal (its label
    alone otherwise), then one line saying what was copied."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: dict[str, ProgressBar[int]] = {}
        self._finished: set[str] = set()

    def __call__(self, table: str, done: int, total: int) -> None:
        bar = self._shown.get(table)
        if bar is None:
            bar = self._shown[table] = self.enter_context(
                click.progressbar(length=total, label=f"{table:<9}", show_pos=True, show_eta=False)
            )
        bar.update(done - bar.pos)
        if done == total and table not in self._finished:
            self._finished.add(table)
            self.close()
            click.echo(f"{table}: {done} copied")
