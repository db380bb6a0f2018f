"""Login sessions kept durable: what of a session survives a restart, and where it is kept.

A ``Session`` is what ``carhome.access.tokens.Tokens`` needs to take a session up again
after a restart: its id, home and member, the SHA-256 digest of its current refresh secret
(never the refresh token itself), the digests of the last secrets it spent (so a spent one
coming back still revokes it), when it was opened, when it expires and whether it was
revoked. A ``SessionStore`` keeps them:

- ``MemorySessionStore``: for tests and hubs without a data directory;
- ``SqliteSessionStore``: table ``access_sessions`` of ``access.db``
  (``carhome.access.database``);
- ``PostgresSessionStore``: table ``access_sessions`` of the hub's PostgreSQL database
  (part ``sessions`` of ``PgDatabase.migrate``), with the token-signing secret beside it in
  ``access_token_secret``, made once, so a restart or a second process on the same database
  signs and checks with the same secret.

``load`` returns the sessions not yet expired and deletes the expired ones; ``save`` replaces
a session's record and returns once it is committed; ``prune`` deletes the expired ones.
A process takes up the sessions kept when it starts: a session another process on the same
database opens later is not known to it until it starts again.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from typing import Final, Protocol

import asyncpg
import msgspec

from carhome.errors import StoreError
from carhome.pgdatabase import PgDatabase
from carhome.sqlitefile import Migrations, SqliteFile, decoded

SECRET_BYTES: Final = 32
"""The token-signing secret's length."""


class Session(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One login session as it is kept: no token, only the digests of refresh secrets."""

    id: str
    home: str
    member: str
    digest: bytes
    created: float
    expires: float
    retired: tuple[bytes, ...] = ()
    revoked: bool = False


class SessionStore(Protocol):
    """Where sessions are kept. ``save`` replaces the session's whole record; on return it
    is committed (on disk, for a store with a file or a database)."""

    async def load(self, now: float) -> list[Session]:
        """The sessions not expired at ``now`` (the expired ones are deleted)."""
        ...

    async def save(self, session: Session) -> None: ...

    async def prune(self, now: float) -> int:
        """Delete the sessions expired at ``now``; how many."""
        ...


_decode: Final = msgspec.json.Decoder(Session).decode
_DAMAGED: Final = "delete the table's rows (everybody logs in again) or restore a backup"


class MemorySessionStore:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], bytes] = {}  # by home and id, as the tables

    async def load(self, now: float) -> list[Session]:
        await self.prune(now)
        return [_decode(row) for row in self._rows.values()]

    async def save(self, session: Session) -> None:
        self._rows[session.home, session.id] = msgspec.json.encode(session)

    async def prune(self, now: float) -> int:
        expired = [key for key, row in self._rows.items() if _decode(row).expires <= now]
        for key in expired:
            del self._rows[key]
        return len(expired)


# SQLite (table of access.db, made by its migration step 2) and PostgreSQL: SQL in one place.
_SQLITE_PRUNE: Final = "DELETE FROM access_sessions WHERE expires <= ?"
_SQLITE_LOAD: Final = "SELECT data FROM access_sessions ORDER BY home, id"
_SQLITE_SAVE: Final = (
    "INSERT OR REPLACE INTO access_sessions (home, id, member, expires, data) VALUES (?, ?, ?, ?, ?)"
)

PG_MIGRATIONS: Final[Migrations] = (
    # 0 → 1: the sessions, and the token-signing secret.
    (
        "CREATE TABLE IF NOT EXISTS access_sessions (home TEXT NOT NULL, id TEXT NOT NULL,"
        " member TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL, data TEXT NOT NULL,"
        " PRIMARY KEY (home, id))",
        "CREATE INDEX IF NOT EXISTS access_sessions_expires ON access_sessions (expires)",
        "CREATE TABLE IF NOT EXISTS access_token_secret (name TEXT PRIMARY KEY, secret BYTEA NOT NULL)",
    ),
)
_PG_PRUNE: Final = "DELETE FROM access_sessions WHERE expires <= $1"
_PG_LOAD: Final = "SELECT data FROM access_sessions ORDER BY home, id"
_PG_SAVE: Final = (
    "INSERT INTO access_sessions (home, id, member, expires, data) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (home, id) DO UPDATE SET member = excluded.member, expires = excluded.expires,"
    " data = excluded.data"
)
_PG_MAKE_KEY: Final = (
    "INSERT INTO access_token_secret (name, secret) VALUES ('tokens', $1) ON CONFLICT (name) DO NOTHING"
)
_PG_KEY: Final = "SELECT secret FROM access_token_secret WHERE name = 'tokens'"
_PG_PUT_KEY: Final = (
    "INSERT INTO access_token_secret (name, secret) VALUES ('tokens', $1)"
    " ON CONFLICT (name) DO UPDATE SET secret = excluded.secret"
)


def _sessions(where: str, rows: Sequence[bytes | str]) -> list[Session]:
    """The sessions kept as ``rows`` (JSON) at ``where``."""
    return decoded(rows, _decode, where, "login session", _DAMAGED)


class SqliteSessionStore:
    """Sessions in table ``access_sessions`` of the access database, which its owner opens
    and closes."""

    def __init__(self, file: SqliteFile) -> None:
        self._file = file

    async def load(self, now: float) -> list[Session]:
        def read(conn: sqlite3.Connection) -> list[bytes]:
            conn.execute(_SQLITE_PRUNE, (now,))
            return [row[0] for row in conn.execute(_SQLITE_LOAD)]

        rows = await self._file.write("reading the login sessions", read)
        return _sessions(self._file.path, rows)

    async def everything(self) -> list[Session]:
        """Every session kept, the expired ones too, deleting none (a store copy reads them)."""

        def read(conn: sqlite3.Connection) -> list[bytes]:
            return [row[0] for row in conn.execute(_SQLITE_LOAD)]

        rows = await self._file.read("reading the login sessions", read)
        return _sessions(self._file.path, rows)

    async def save(self, session: Session) -> None:
        row = (session.home, session.id, session.member, session.expires, msgspec.json.encode(session))
        await self._file.write("saving a login session", lambda conn: conn.execute(_SQLITE_SAVE, row))

    async def prune(self, now: float) -> int:
        def prune(conn: sqlite3.Connection) -> int:
            return conn.execute(_SQLITE_PRUNE, (now,)).rowcount

        return await self._file.write("deleting expired login sessions", prune)


class PostgresSessionStore:
    """Sessions in table ``access_sessions`` of the hub's PostgreSQL database (its owner
    opens and closes it; ``open`` brings the tables up to date)."""

    def __init__(self, database: PgDatabase) -> None:
        self._database = database

    @classmethod
    async def open(cls, database: PgDatabase) -> PostgresSessionStore:
        await database.migrate("sessions", "login sessions", PG_MIGRATIONS)
        return cls(database)

    async def secret(self) -> bytes:
        """The token-signing secret kept in the database, made by whoever asks first."""

        async def secret(conn: asyncpg.Connection) -> bytes:
            await conn.execute(_PG_MAKE_KEY, secrets.token_bytes(SECRET_BYTES))
            kept: bytes = await conn.fetchval(_PG_KEY)
            return kept

        kept = await self._database.write("reading the token secret", secret)
        if len(kept) < SECRET_BYTES:
            raise StoreError(
                f"{self._database.url}: the token secret is {len(kept)} bytes; it needs {SECRET_BYTES}"
                " (delete the row of access_token_secret to make a new one: everybody logs in again)"
            )
        return kept

    async def load(self, now: float) -> list[Session]:
        async def read(conn: asyncpg.Connection) -> list[str]:
            await conn.execute(_PG_PRUNE, now)
            return [row[0] for row in await conn.fetch(_PG_LOAD)]

        rows = await self._database.write("reading the login sessions", read)
        return _sessions(self._database.url, rows)

    async def everything(self) -> list[Session]:
        """Every session kept, the expired ones too, deleting none (a store copy reads them)."""
        rows = await self._database.fetch("reading the login sessions", lambda r: str(r[0]), _PG_LOAD)
        return _sessions(self._database.url, rows)

    async def kept_secret(self) -> bytes | None:
        """The token-signing secret kept in the database, None if none was made yet."""
        found = await self._database.fetch("reading the token secret", lambda r: bytes(r[0]), _PG_KEY)
        return found[0] if found else None

    async def keep_secret(self, secret: bytes) -> None:
        """Keep ``secret`` as the token-signing secret, in the place of any (a store copy's)."""
        await self._database.execute("writing the token secret", [(_PG_PUT_KEY, (secret,))])

    async def save(self, session: Session) -> None:
        data = msgspec.json.encode(session).decode()
        await self._database.execute(
            "saving a login session",
            [(_PG_SAVE, (session.home, session.id, session.member, session.expires, data))],
        )

    async def prune(self, now: float) -> int:
        (count,) = await self._database.execute("deleting expired login sessions", [(_PG_PRUNE, (now,))])
        return count
