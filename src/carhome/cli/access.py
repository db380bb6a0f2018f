"""``carhome members …`` and ``carhome audit verify``: people and the record of decisions.

- ``members`` talks to the running hub as the logged-in member (``carhome login``): the
  gatekeeper decides, the audit log records, and a revocation closes the member's live
  sessions at once. With ``--db`` (or ``--store``) it edits the member table of a *stopped*
  hub directly instead — how the first owner of a home is made; whoever can write that
  database is the home's administrator already, so no login is asked, and each change is
  still written to the audit log (member ``local-admin``, face ``cli``).
- ``audit verify`` must not trust the process whose log it checks: it reads the database
  itself (read-only), recomputes every hash, and works while the hub runs or is stopped.
  Exit 0 when every chain is intact, 3 when one was tampered with (the first bad seq is
  printed, with its home where each home has a chain of its own).

Where: ``--db`` names an ``access.db`` file; ``--store`` the hub's store by URL, as
``hub.store:`` does: ``postgresql://…`` the hub's PostgreSQL database (members and one audit
chain per home in its tables), ``sqlite:///path/carhome.db`` the SQLite hub whose
``access.db`` sits beside that file.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import click

from carhome.access.audit import AuditLog, AuditStore, SqliteAuditStore, Verification, verify_chains
from carhome.access.database import ACCESS_DB, access_file
from carhome.access.members import Grant, Member, MemberError, Members, MemberStore, SqliteMemberStore
from carhome.access.passwords import Passwords, WeakPassword
from carhome.access.postgres import PostgresAuditStore, PostgresMemberStore, open_tables
from carhome.cli import exits
from carhome.cli.options import hub_options, store_option, with_hub
from carhome.cli.output import echo_json
from carhome.clock import SystemClock
from carhome.errors import CarhomeError, InvalidName, StoreError
from carhome.hub.commands import Decision
from carhome.pgdatabase import PgDatabase
from carhome.store import sqlite_path
from carhome.wire import members as wire
from carhome.wire.members import Role

_Command = Callable[..., None]

EXIT_TAMPERED: Final = exits.REFUSED
LOCAL_ADMIN: Final = "local-admin"

_audit_db_option = click.option(
    "--db",
    "db",
    envvar="CARHOME_ACCESS_DB",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Check a hub's access database file (e.g. .carhome/access.db) instead of asking the"
    " running hub [env CARHOME_ACCESS_DB].",
)
_db_option = click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Edit a stopped hub's access database (e.g. .carhome/access.db) instead of asking the running hub.",
)


_store_option = store_option(
    "The hub's store instead of the running hub: postgresql://… (its tables) or"
    " sqlite:///path/carhome.db (the access.db beside it)."
)


class _Where:
    """The access database a command works on without the running hub: an ``access.db`` file,
    or the hub's PostgreSQL database."""

    def __init__(self, db: Path | None, store: str | None) -> None:
        if db is not None and store is not None:
            raise click.UsageError("give --db or --store, not both")
        path = None if store is None else sqlite_path(store)
        self.file = db if path is None else Path(path).parent / ACCESS_DB
        self.url = store if path is None else None
        self._flag = "--db" if db is not None else "--store"

    @property
    def given(self) -> bool:
        return self.file is not None or self.url is not None

    def check(self) -> None:
        if self.file is not None and not self.file.exists():
            raise click.ClickException(
                f"no database at {self.file}: give the access.db in the hub's data folder (start the"
                f" hub once to make it), or leave {self._flag} out to ask the running hub"
            )

    @contextlib.asynccontextmanager
    async def stores(self, *, readonly: bool = False) -> AsyncIterator[tuple[MemberStore, AuditStore]]:
        """The member and audit stores there, open for the block (``readonly``: nothing made
        or changed; on PostgreSQL the tables are made when missing otherwise)."""
        if self.file is not None:
            async with access_file(self.file, readonly=readonly) as file:
                yield SqliteMemberStore(file), SqliteAuditStore(file)
            return
        if self.url is None:
            raise click.UsageError("give --db or --store")
        async with PgDatabase(self.url, pool_size=1) as database:
            if not readonly:
                await open_tables(database)
            yield PostgresMemberStore(database), PostgresAuditStore(database)


def _where_options(db_option: Callable[[_Command], _Command]) -> Callable[[_Command], _Command]:
    """``db_option`` and ``--store`` on a command, handed to it as one ``where``: the
    database it works on without the running hub, if either was given."""

    def decorate(command: _Command) -> _Command:
        @functools.wraps(command)
        def with_where(*, db: Path | None, store: str | None, **rest: Any) -> None:
            command(where=_Where(db, store), **rest)

        return db_option(_store_option(with_where))

    return decorate


def _when(text: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time, e.g. 2026-07-01T18:00") from None
    return moment.astimezone().timestamp()  # a time without zone is the machine's local time


def _members_of(where: _Where) -> list[Member]:
    """Every member kept there."""
    where.check()

    async def read() -> list[Member]:
        async with where.stores() as (member_store, _):
            return await member_store.load()

    try:
        return asyncio.run(read())
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from None


def _change(
    where: _Where,
    home_of: Callable[[Members], str],
    change: str,
    work: Callable[[Members], Awaitable[object]],
) -> None:
    """Apply one change to the member table and put it on record."""
    where.check()

    async def apply() -> None:
        async with where.stores() as (member_store, audit_store):
            members = await Members.load(member_store)
            try:
                await work(members)
                home = home_of(members)
            except (CarhomeError, ValueError) as exc:
                raise click.ClickException(str(exc)) from None
            try:
                await AuditLog(audit_store, SystemClock()).record(
                    home=home,
                    member=LOCAL_ADMIN,
                    face="cli",
                    command="-",
                    device="-",
                    target=f"manage_members:{change}",
                    decision=Decision(True, "local database access"),
                )
            except StoreError as exc:
                raise click.ClickException(f"the change is made but not on record: {exc}") from None

    try:
        asyncio.run(apply())
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def members() -> None:
    """List, add, grant to and revoke the members of a home."""


def _print_members(rows: list[tuple[str, str, str, str, bool, tuple[wire.Grant, ...]]]) -> None:
    for home, member_id, role, name, revoked, grants in sorted(rows):
        state = " (revoked)" if revoked else ""
        click.echo(f"{home}/{member_id}  {role}  {name}{state}")
        for g in grants:
            uses = f", {g.used}/{g.uses} uses" if g.uses is not None else ""
            start = dt.datetime.fromtimestamp(g.starts).astimezone().isoformat(timespec="minutes")
            end = dt.datetime.fromtimestamp(g.ends).astimezone().isoformat(timespec="minutes")
            what = f"{','.join(g.targets)} on {','.join(g.devices)}"
            click.echo(f"    grant {g.id}: {what} from {start} until {end}{uses}")


@members.command("list")
@_where_options(_db_option)
@hub_options
def list_members(where: _Where, hub: str | None, as_json: bool) -> None:
    """Show every member, role and grant."""
    if not where.given:
        found = with_hub(hub, lambda client: client.members())
        if as_json:
            echo_json(found)
            return
        _print_members([(m.home, m.id, m.role, m.name, m.revoked, m.grants) for m in found])
        return
    _print_members([(m.home, m.id, m.role.value, m.name, m.revoked, m.grants) for m in _members_of(where)])


def _new_password() -> str:
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@members.command("add")
@click.argument("member_id")
@click.option("--home", default=None, help="The home the member belongs to (with --db/--store; else yours).")
@click.option("--name", required=True, help="The member's display name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password/--no-password", default=True, help="Ask for a login password [default: yes].")
@_where_options(_db_option)
@hub_options
def add(
    *,
    member_id: str,
    home: str | None,
    name: str,
    role: str,
    password: bool,
    where: _Where,
    hub: str | None,
    as_json: bool,
) -> None:
    """Add a member (a guest then needs grants: `carhome members grant`)."""
    if not where.given:
        secret = _new_password() if password else None
        made = with_hub(hub, lambda client: client.add_member(member_id, name, role, secret))
        click.echo(f"added {made.home}/{made.id} as {made.role}")
        return
    if home is None:
        raise click.UsageError("--home is needed with --db or --store")
    hashed = None
    if password:
        try:
            hashed = Passwords().hash(_new_password())
        except WeakPassword as exc:
            raise click.ClickException(str(exc)) from None
    try:
        member = Member(id=member_id, home=home, name=name, role=Role(role), password=hashed)
    except (InvalidName, MemberError) as exc:
        raise click.ClickException(str(exc)) from None
    _change(where, lambda _: home, f"add {member_id} as {role}", lambda reg: reg.add(member))
    click.echo(f"added {home}/{member_id} as {role}")


@members.command("grant")
@click.argument("member_id")
@click.option("--device", "devices", multiple=True, required=True, help="A device id (repeat for more).")
@click.option(
    "--target",
    "targets",
    multiple=True,
    required=True,
    help="An action or property (repeat); '*' for every ordinary one. Safety-critical ones must be named.",
)
@click.option("--from", "starts", required=True, help="Start, ISO 8601 (e.g. 2026-07-01T18:00).")
@click.option("--until", "ends", required=True, help="End (exclusive), ISO 8601.")
@click.option("--uses", type=click.IntRange(min=1), default=None, help="How many commands at most.")
@_where_options(_db_option)
@hub_options
def grant(
    *,
    member_id: str,
    devices: tuple[str, ...],
    targets: tuple[str, ...],
    starts: str,
    ends: str,
    uses: int | None,
    where: _Where,
    hub: str | None,
    as_json: bool,
) -> None:
    """Give a guest a grant."""
    if not where.given:
        body = {
            "devices": devices,
            "targets": targets,
            "starts": _when(starts),
            "ends": _when(ends),
            "uses": uses,
        }
        made = with_hub(hub, lambda client: client.grant(member_id, body))
        click.echo(f"granted {made.id} to {member_id}")
        return
    grant_id = f"g-{secrets.token_hex(3)}"
    try:
        new = Grant(grant_id, devices, targets, _when(starts), _when(ends), uses)
    except MemberError as exc:
        raise click.ClickException(str(exc)) from None
    _change(
        where,
        lambda reg: reg.require(member_id).home,
        f"grant {grant_id} to {member_id}",
        lambda reg: reg.grant(member_id, new),
    )
    click.echo(f"granted {grant_id} to {member_id}")


@members.command("revoke")
@click.argument("member_id")
@_where_options(_db_option)
@hub_options
def revoke(member_id: str, where: _Where, hub: str | None, as_json: bool) -> None:
    """Revoke a member for good (their sessions close and their commands are refused)."""
    if not where.given:
        with_hub(hub, lambda client: client.revoke_member(member_id))
    else:
        _change(
            where,
            lambda reg: reg.require(member_id).home,
            f"revoke {member_id}",
            lambda reg: reg.revoke(member_id),
        )
    click.echo(f"revoked {member_id}")


@click.group()
def audit() -> None:
    """Check the audit log of access decisions."""


@audit.command("verify")
@_where_options(_audit_db_option)
@hub_options
def verify_audit(where: _Where, hub: str | None, as_json: bool) -> None:
    """Recompute the hash chains; exit 3 and name the first bad entry if one was tampered with.

    \b
    Examples:
      carhome audit verify                          # the running hub checks its own log
      carhome audit verify --db .carhome/access.db  # a hub's access database file
      carhome audit verify --store postgresql://carhome@db/carhome  # a PostgreSQL hub's chains
    """
    if not where.given:
        found = with_hub(hub, lambda client: client.audit(limit=1))
        if as_json:
            echo_json({"intact": found.intact, "checked": found.checked, "problem": found.problem})
        elif found.intact:
            click.echo(f"audit chain intact: {found.checked} entries")
        else:
            click.echo(f"tamper detected: {found.problem or 'the hub gave no detail'}")
        if not found.intact:
            raise SystemExit(EXIT_TAMPERED)
        return
    where.check()

    async def read() -> Verification:
        async with where.stores(readonly=True) as (_, audit_store):
            return verify_chains(await audit_store.entries(), per_home=audit_store.per_home)

    try:
        result = asyncio.run(read())
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        echo_json(
            {
                "intact": result.ok,
                "checked": result.entries,
                "problem": result.problem,
                "home": result.home,
                "seq": result.first_bad,
            }
        )
    else:
        click.echo(str(result))
    if not result.ok:
        raise SystemExit(EXIT_TAMPERED)
