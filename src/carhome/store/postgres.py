"""The hub's ``Store`` protocol on PostgreSQL, with asyncpg and a small connection pool.

What it keeps and the rules it keeps them by are the SQLite store's (``carhome.store.sqlite``;
the same contract suite runs on both); the tables are ``carhome.store.pgschema``'s, where
every table carries the home id in its primary key.

Durability: a transaction is durable when its commit returns (the server's ``fsync`` and
``synchronous_commit`` on, as PostgreSQL ships). Each ``outbox_put`` and ``outbox_update``
returns once the transaction holding it is committed (acknowledged means durable, and so
does final); outbox writes arriving together share one transaction, written by one task in
arrival order (group commit: a command's put always lands before its updates). Each
``save_states`` batch is one transaction (the write-behind's flush).

Migrations are applied at ``open``, each step in one transaction with its ``schema_version``
row, under an advisory lock so two processes opening one database migrate it once. A
database whose schema is newer than this carhome knows is refused (``ConfigError``).

asyncpg and connection errors become ``StoreError`` naming the database by its URL without
the password, and saying what to check. Credentials never appear in a message.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg

from carhome.errors import ConfigError, DuplicateCommand, StoreError
from carhome.hub.commands import Command
from carhome.hub.model import Device, Home
from carhome.hub.persistence import StateRow
from carhome.pgdatabase import PgDatabase, redacted, rowcount
from carhome.sqlitefile import Opens
from carhome.store import pgschema
from carhome.store.groupcommit import GroupCommit
from carhome.store.rows import (
    CommandRow,
    command_row,
    decode_command,
    decode_device,
    decode_home,
    decode_value,
    encode,
)

__all__ = ["PostgresStore", "command_writer", "redacted", "write_states"]

_T = TypeVar("_T")

Statement = tuple[str, tuple[object, ...]]
"""A command's columns: id, home, device, status, created, expires, data."""


class PostgresStore(Opens):
    """Implements the hub's ``Store`` protocol on the PostgreSQL database at ``url``.

    Use it as ``async with PostgresStore(url) as store`` or hand it to a ``Hub``, which
    opens and closes it. ``pool_size`` is the most connections it holds; ``connect_timeout``
    how long ``open`` waits for the server. Given a ``PgDatabase`` instead of a URL, it
    shares that database's pool with the parts that keep their tables there (it opens and
    closes it with itself).
    """

    def __init__(self, url: str | PgDatabase, *, pool_size: int = 4, connect_timeout: float = 10.0) -> None:
        self.database = (
            url
            if isinstance(url, PgDatabase)
            else PgDatabase(url, pool_size=pool_size, connect_timeout=connect_timeout)
        )
        self.url = self.database.url
        self._open = False
        # Puts (True) and updates (False) of the outbox, committed in groups.
        self._outbox = GroupCommit(self._write_commands, name="postgres-outbox-writer")

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect (a pool of up to ``pool_size``) and bring the schema up to date."""
        if self._open:
            return
        await self.database.open()
        try:
            await self.database.read("bringing the schema up to date", self._migrate)
        except BaseException:
            await self.database.close()
            raise
        self._open = True

    async def close(self) -> None:
        """Finish the outbox writes already made, then close the pool."""
        await self._outbox.finish()
        self._open = False
        await self.database.close()

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", pgschema.MIGRATION_LOCK)
            await conn.execute(pgschema.VERSION_TABLE)
            version: int = await conn.fetchval(pgschema.VERSION)
            if version > pgschema.SCHEMA_VERSION:
                raise ConfigError(
                    f"{self.url}: the hub's database was written by a newer carhome (schema {version};"
                    f" this one knows {pgschema.SCHEMA_VERSION}); upgrade carhome to open it, or point"
                    " it at another database"
                )
            for step in range(version, pgschema.SCHEMA_VERSION):
                # each step with its version row, so a step is applied whole or not at all
                async with conn.transaction():
                    for statement in pgschema.MIGRATIONS[step]:
                        await conn.execute(statement)
                    await conn.execute(pgschema.RECORD_VERSION, step + 1)

    async def schema_version(self) -> int:
        """The schema version of the open database (``open`` brought it up to this carhome's)."""

        async def version(conn: asyncpg.Connection) -> int:
            found: int = await conn.fetchval(pgschema.VERSION)
            return found

        return await self._with_connection("reading the schema version", version)

    # -- homes and devices ----------------------------------------------------------------

    async def save_home(self, home: Home) -> None:
        await self._write("saving a home", [(pgschema.SAVE_HOME, (home.id, encode(home).decode()))])

    async def homes(self) -> list[Home]:
        return await self._fetch("reading homes", lambda r: decode_home(r[0]), pgschema.HOMES)

    async def save_device(self, device: Device) -> None:
        await self.save_devices([device])

    async def save_devices(self, devices: Sequence[Device]) -> None:
        """Save many devices in one transaction."""
        await self._write(
            "saving devices",
            [(pgschema.SAVE_DEVICE, (d.home, d.id, encode(d).decode())) for d in devices],
        )

    async def remove_device(self, home: str, device: str) -> None:
        await self._write(
            "removing a device",
            [(pgschema.REMOVE_DEVICE, (home, device)), (pgschema.REMOVE_DEVICE_STATES, (home, device))],
        )

    async def devices(self) -> list[Device]:
        return await self._fetch("reading devices", lambda r: decode_device(r[0]), pgschema.DEVICES)

    # -- states ---------------------------------------------------------------------------

    async def save_states(self, rows: Sequence[StateRow]) -> None:
        """Upsert a batch of states in one statement (one transaction); on return it is committed."""
        if not rows:
            return
        await self._with_connection("saving states", functools.partial(write_states, rows=rows))

    async def states(self) -> list[StateRow]:
        return await self._fetch("reading states", _state, pgschema.STATES)

    # -- some homes only (a fleet worker's partition) --------------------------------------

    async def home_ids(self) -> list[str]:
        """The id of every home kept."""
        return await self._fetch("reading home ids", lambda r: str(r[0]), pgschema.HOME_IDS)

    async def home_ids_of_partition(self, partition: int, partitions: int) -> list[str]:
        """The ids of the homes in ``partition`` of ``partitions`` (those whose
        ``carhome.fleet.log.partition_of`` it is), computed by the server from a stored hash."""
        return await self._fetch(
            "reading a partition's home ids",
            lambda r: str(r[0]),
            pgschema.HOME_IDS_OF_PARTITION,
            partition,
            partitions,
        )

    async def homes_in(self, homes: Sequence[str]) -> list[Home]:
        return await self._fetch("reading homes", lambda r: decode_home(r[0]), pgschema.HOMES_IN, list(homes))

    async def devices_in(self, homes: Sequence[str]) -> list[Device]:
        return await self._fetch(
            "reading devices", lambda r: decode_device(r[0]), pgschema.DEVICES_IN, list(homes)
        )

    async def states_in(self, homes: Sequence[str]) -> list[StateRow]:
        return await self._fetch("reading states", _state, pgschema.STATES_IN, list(homes))

    async def outbox_pending_in(self, homes: Sequence[str]) -> list[Command]:
        """The commands of ``homes`` not yet final, oldest first."""
        return await self._fetch("reading the outbox", _command, pgschema.OPEN_COMMANDS_IN, list(homes))

    # -- the command outbox ---------------------------------------------------------------

    async def outbox_put(self, command: Command) -> None:
        """Keep ``command``; return only once its transaction is committed.

        ``DuplicateCommand`` if its id is taken: the record already kept stays as it is."""
        if not await self._outbox_write(True, command_row(command)):
            raise DuplicateCommand(command.id)

    async def outbox_update(self, command: Command) -> None:
        """Record a new status of ``command``; on return it is committed. An update never
        touches another command under the same id, nor a command already final."""
        await self._outbox_write(False, command_row(command))

    async def outbox_get(self, command_id: str) -> Command | None:
        """The command kept under ``command_id``, whatever its status."""
        found = await self._fetch("reading a command", _command, pgschema.COMMAND, command_id)
        return found[0] if found else None

    async def outbox_pending(self) -> list[Command]:
        """Commands not yet final, oldest first."""
        return await self._fetch("reading the outbox", _command, pgschema.OPEN_COMMANDS)

    async def commands(self, home: str | None = None, limit: int = 100) -> list[Command]:
        """Recent commands, newest first."""
        if home is None:
            return await self._fetch("reading commands", _command, pgschema.RECENT_COMMANDS, limit)
        return await self._fetch("reading commands", _command, pgschema.RECENT_HOME_COMMANDS, home, limit)

    async def _outbox_write(self, put: bool, params: CommandRow) -> int:
        """A put (or an update) in the next group commit; the rows it changed."""
        self._opened()
        return await self._outbox.write((put, params))

    async def _write_commands(self, batch: list[tuple[bool, CommandRow]]) -> list[int]:
        return await self._with_connection(
            "writing commands to the outbox", functools.partial(_write_commands, batch=batch)
        )

    # -- talking to the server ------------------------------------------------------------

    async def _write(self, doing: str, statements: Sequence[Statement]) -> list[int]:
        """Run ``statements`` in one transaction; the rows each one changed."""
        self._opened()
        return await self.database.execute(doing, statements)

    async def _fetch(self, doing: str, row: Callable[[Any], _T], sql: str, *params: object) -> list[_T]:
        """The rows of ``sql``, each made into a record by ``row`` (errors reading it included)."""
        self._opened()
        return await self.database.fetch(doing, row, sql, *params)

    async def _with_connection(self, doing: str, fn: Callable[[asyncpg.Connection], Awaitable[_T]]) -> _T:
        self._opened()
        return await self.database.read(doing, fn)

    def _opened(self) -> None:
        if not self._open:
            raise StoreError(f"{self.url}: the store is not open; use `async with` or await open() first")


def _command(row: Any) -> Command:
    return decode_command(row[0])


def _state(row: Any) -> StateRow:
    return StateRow(row[0], row[1], row[2], decode_value(row[3]), row[4], row[5])


async def write_states(conn: asyncpg.Connection, rows: Sequence[StateRow]) -> None:
    """Upsert ``rows`` on ``conn`` in one statement, in whatever transaction it is in (a
    fleet worker's is fenced, and commits the partition's checkpoint with them)."""
    if not rows:
        return
    # the last row of a property wins, as it would upserted one by one
    last = {(r.home, r.device, r.prop): r for r in rows}.values()
    columns = zip(
        *((r.home, r.device, r.prop, encode(r.value).decode(), r.ts, r.source) for r in last),
        strict=True,
    )
    await conn.execute(pgschema.SAVE_STATES, *map(list, columns))


async def _write_commands(conn: asyncpg.Connection, batch: Sequence[tuple[bool, CommandRow]]) -> list[int]:
    """One transaction, in arrival order (a command's put always lands before its updates):
    each run of puts in one statement, the updates one by one. The rows each one changed."""
    counts: list[int] = []
    async with conn.transaction():
        for put, run in itertools.groupby(batch, key=lambda item: item[0]):
            rows = [params for _, params in run]
            if put:
                kept = {
                    r[0] for r in await conn.fetch(pgschema.PUT_COMMANDS, *map(list, zip(*rows, strict=True)))
                }
                for params in rows:
                    counts.append(int(params[0] in kept))
                    kept.discard(params[0])  # a second put of one id in the run is refused
            else:
                counts += [rowcount(await conn.execute(pgschema.UPDATE_COMMAND, *params)) for params in rows]
    return counts


def command_writer(command: Command, *, put: bool) -> Callable[[asyncpg.Connection], Awaitable[bool]]:
    """A write of ``command`` (a put, or an update of its status) to run on a connection in
    whatever transaction it is in (a fleet worker's is fenced); it says whether a row changed
    (a put of a taken id changes none). The command is encoded now: the router changes it
    right after it asks for the write."""
    params = command_row(command)

    async def write(conn: asyncpg.Connection) -> bool:
        if put:
            return bool(await conn.fetch(pgschema.PUT_COMMANDS, *([value] for value in params)))
        return rowcount(await conn.execute(pgschema.UPDATE_COMMAND, *params)) > 0

    return write
