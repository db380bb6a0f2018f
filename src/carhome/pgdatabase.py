"""``PgDatabase``: the PostgreSQL database a process's parts keep their tables in, one pool.

The PostgreSQL counterpart of ``carhome.sqlitefile``. When the hub's store is on PostgreSQL
(``hub.store: postgresql://…``), every part that keeps something durable (history, timers,
members and audit, OCPP transactions, …) keeps it in tables of that database rather than in
a SQLite file beside the hub's: the process opens one ``PgDatabase`` and hands it to the
parts (``carhome.parts.keys.POSTGRES``).

- **One pool.** Up to ``pool_size`` connections for all the parts of the process.
- **Migrations per part.** ``await database.migrate(part, what, migrations)``: ``migrations[n]``
  takes the part's tables from version ``n`` to ``n + 1``; each step is applied in one
  transaction with the row of ``part_versions`` it reaches, under an advisory lock so two
  processes opening one database migrate it once. A part whose tables are newer than this
  carhome knows is refused (``ConfigError``) with a message naming it.
- **Durable.** A ``write`` runs in one transaction; when it returns the transaction is
  committed (the server's ``fsync`` and ``synchronous_commit`` on, as PostgreSQL ships).
- **The server may go away.** When PostgreSQL stops or restarts while the process runs,
  each call made meanwhile fails with ``StoreError`` at once, and the next call after it
  is back connects again. A connection whose call failed is dropped, not reused (it may
  be left mid-operation), and so is one that broke on its way back: asyncpg's pool keeps
  such a one checked out for good, and once every slot is so stranded every call, and
  ``close``, would wait forever. For the same reason a connection goes back to the pool
  as it is, without asyncpg's reset query: nothing run on a pooled connection leaves
  session state behind (``write`` closes its transaction; what lives as long as a
  session, such as a fleet worker's advisory locks, has a ``session()`` of its own).
- **Errors translated.** asyncpg, connection and encoding errors become ``StoreError``
  naming the database by its URL *without* the password, what was being done and what to
  check. Credentials never appear in a message.

A part's store declares its tables as ``class Store(PartTables, part=..., what=...,
migrations=...)``: it is given the process's database, ``open`` migrates its tables and
``close`` has nothing to do (the database is the process's).

Every table a part makes carries the home id in its primary key where the thing belongs to
a home (the home is the fleet's partition key).
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import asyncpg
import msgspec

from carhome.errors import ConfigError, StoreError
from carhome.sqlitefile import Migrations, Opens, PartStore, codec_error

_T = TypeVar("_T")

REACH: Final = (
    "check that PostgreSQL runs and listens there, and the URL's host, port, database, user and password"
)

# Serialises migrations of one database between processes (a transaction-level advisory lock).
MIGRATION_LOCK: Final = 0x6361_7268_6F6D_66  # "carhomf": the parts' tables, beside the hub store's lock

_PART_VERSIONS: Final = (
    "CREATE TABLE IF NOT EXISTS part_versions ("
    " part TEXT PRIMARY KEY, version INTEGER NOT NULL, applied TIMESTAMPTZ NOT NULL DEFAULT now())"
)
_PART_VERSION: Final = "SELECT coalesce(max(version), 0) FROM part_versions WHERE part = $1"
_RECORD_PART_VERSION: Final = (
    "INSERT INTO part_versions (part, version) VALUES ($1, $2)"
    " ON CONFLICT (part) DO UPDATE SET version = excluded.version, applied = now()"
)


def redacted(url: str) -> str:
    """``url`` without its password (in the user part or as ``?password=``), fit for a message."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in query if key != "password"]
    if parts.password is None and len(kept) == len(query):
        return url
    user, at, host = parts.netloc.rpartition("@")
    netloc = f"{user.partition(':')[0]}{at}{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=urllib.parse.urlencode(kept)))


def reason(exc: BaseException) -> str:
    """What went wrong, for a message (asyncpg's name the user and database, never the password)."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def rowcount(status: str) -> int:
    """The rows a statement changed, from its command tag (``INSERT 0 1``, ``DELETE 3``)."""
    count = status.rpartition(" ")[2]
    return int(count) if count.isdigit() else 0


class PgDatabase(Opens):
    """The PostgreSQL database at ``url`` with a pool of up to ``pool_size`` connections
    (each session with ``settings``, as ``SET`` would give them).

    ``async with PgDatabase(url) as database`` (or ``open``/``close``, both idempotent).
    ``read`` and ``write`` run an async function of a connection; ``write`` runs it in one
    transaction, committed when it returns.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self._url = url
        self._settings = dict(settings or {})  # of each pooled session (a fleet worker's timeouts)
        self.url = redacted(url)
        """The URL without its password: fit for messages and logs."""
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """Connect (a pool of up to ``pool_size``)."""
        if self._pool is not None:
            return
        try:
            self._pool = await asyncpg.create_pool(
                self._url,
                min_size=1,
                max_size=self._pool_size,
                timeout=self._connect_timeout,
                server_settings=self._settings,
                reset=_as_it_is,
            )
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"{self.url}: cannot connect ({reason(exc)}): {REACH}") from None
        except ValueError as exc:  # a URL asyncpg cannot read
            raise ConfigError(f"{self.url}: not a PostgreSQL URL asyncpg can use ({exc})") from None

    async def close(self) -> None:
        """Close the pool (the calls already made finish first)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def terminate(self) -> None:
        """Close every connection now, without waiting for the calls in flight: for a process
        that must stop writing at once (a fleet worker its watchdog stopped), whose calls in
        flight may never end cleanly."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    async def session(self, doing: str, settings: Mapping[str, str] | None = None) -> asyncpg.Connection:
        """A connection of the caller's own, outside the pool, with ``settings`` for its session.

        For what lives as long as a session (a fleet worker's advisory locks, freed by
        PostgreSQL when the session ends); the caller closes it. ``doing`` says what it is for.
        """
        try:
            connection: asyncpg.Connection = await asyncpg.connect(
                self._url, timeout=self._connect_timeout, server_settings=dict(settings or {})
            )
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"{self.url}: cannot connect for {doing} ({reason(exc)}): {REACH}") from None
        except ValueError as exc:  # a URL asyncpg cannot read
            raise ConfigError(f"{self.url}: not a PostgreSQL URL asyncpg can use ({exc})") from None
        return connection

    async def migrate(self, part: str, what: str, migrations: Migrations) -> int:
        """Bring ``part``'s tables (holding ``what``, for messages) up to ``migrations``;
        the version they are at."""

        async def migrate(conn: asyncpg.Connection) -> int:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                await conn.execute(_PART_VERSIONS)
                version: int = await conn.fetchval(_PART_VERSION, part)
                if version > len(migrations):
                    raise ConfigError(
                        f"{self.url}: the {what} was written by a newer carhome (schema {version};"
                        f" this one knows {len(migrations)}); upgrade carhome to open it, or point"
                        " it at another database"
                    )
                for step in range(version, len(migrations)):
                    # each step with its version row, so a step is applied whole or not at all
                    async with conn.transaction():
                        for statement in migrations[step]:
                            await conn.execute(statement)
                        await conn.execute(_RECORD_PART_VERSION, part, step + 1)
                return len(migrations)

        return await self.read(f"bringing the {what} up to date", migrate)

    async def read(self, doing: str, fn: Callable[[asyncpg.Connection], Awaitable[_T]]) -> _T:
        """``fn`` of a pooled connection; its errors translated (``doing`` says what it does)."""
        pool = self._opened()

        async def run() -> _T:
            conn = await pool.acquire()
            try:
                done = await fn(conn)
            except BaseException:
                # a call that failed may leave its connection mid-operation: never reuse it
                with contextlib.suppress(asyncpg.InterfaceError):  # gone with its broken link
                    conn.terminate()
                raise
            try:
                if not conn.is_closed():
                    await pool.release(conn)
            finally:
                _drop_if_broken(conn)
            return done

        return await self.guard(doing, run())

    async def write(self, doing: str, fn: Callable[[asyncpg.Connection], Awaitable[_T]]) -> _T:
        """``fn`` of a pooled connection in one transaction, committed when this returns."""

        async def in_transaction(conn: asyncpg.Connection) -> _T:
            async with conn.transaction():
                return await fn(conn)

        return await self.read(doing, in_transaction)

    async def execute(self, doing: str, statements: Sequence[tuple[str, Sequence[object]]]) -> list[int]:
        """Run ``statements`` (SQL and its parameters) in one transaction; the rows each changed."""

        async def run(conn: asyncpg.Connection) -> list[int]:
            return [rowcount(await conn.execute(sql, *params)) for sql, params in statements]

        return await self.write(doing, run)

    async def fetch(self, doing: str, row: Callable[[Any], _T], sql: str, *params: object) -> list[_T]:
        """The rows of ``sql``, each made into a record by ``row`` (errors reading it included)."""

        async def fetch(conn: asyncpg.Connection) -> list[_T]:
            return [row(r) for r in await conn.fetch(sql, *params)]

        return await self.read(doing, fetch)

    async def guard(self, doing: str, work: Awaitable[_T]) -> _T:
        """Await ``work``; asyncpg, connection and encoding errors become ``StoreError``."""
        try:
            return await work
        except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as exc:
            raise StoreError(f"{self.url}: {doing} failed ({reason(exc)}): {REACH}") from exc
        except (msgspec.DecodeError, msgspec.EncodeError, TypeError) as exc:
            raise codec_error(self.url, doing, exc, "database") from exc

    def _opened(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError(f"{self.url}: the database is not open; use `async with` or await open() first")
        return self._pool


class PartTables(PartStore):
    """A part's store in tables of ``database`` (opened and closed by its owner: the process),
    declared as ``class Store(PartTables, part=..., what=..., migrations=...)``: ``part``
    names its tables' version row, ``what`` says what they hold in messages."""

    def __init__(self, database: PgDatabase) -> None:
        self.database = database

    async def open(self) -> None:
        """Bring the part's tables up to date."""
        await self.database.migrate(self.PART, self.WHAT, self.MIGRATIONS)

    async def close(self) -> None:
        return None  # the database is the process's; its writes have all returned


async def _as_it_is(conn: asyncpg.Connection) -> None:
    """A connection's reset on its way back to the pool: none (see the module's doc)."""


def _drop_if_broken(conn: asyncpg.Connection) -> None:
    """Free the pool slot of ``conn`` if it broke under a call or on its way back (asyncpg
    would keep it checked out); a connection back in the pool is left alone."""
    try:
        broken = conn.is_closed()
    except asyncpg.InterfaceError:  # released: the pool has it back
        return
    if broken:
        conn.terminate()
