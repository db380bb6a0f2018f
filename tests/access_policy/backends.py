"""Where the access tests keep members and the audit log: memory, an ``access.db``, PostgreSQL.

``Backend.stores()`` opens the member and audit stores of one backend for a block (again
and again: each block is a restart of the process, but memory's objects outlive it);
``alter`` and ``remove`` change the stored log behind the stores' back, with the backend's
own SQL, as someone holding the database could.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from carhome.access.audit import AuditStore, MemoryAuditStore, SqliteAuditStore
from carhome.access.database import ACCESS_DB, access_file
from carhome.access.members import MemberStore, MemoryMemberStore, SqliteMemberStore
from carhome.access.postgres import PostgresAuditStore, PostgresMemberStore, open_tables
from carhome.pgdatabase import PgDatabase

_FLIP_SQLITE = (
    "UPDATE access_audit SET decision = CASE decision WHEN 'denied' THEN 'allowed' ELSE 'denied' END"
    " WHERE seq = ?"
)
_DENIED, _ALLOWED = '\'"decision":"denied"\'', '\'"decision":"allowed"\''
_FLIP_PG = (
    f"UPDATE access_audit SET data = CASE WHEN strpos(data, {_DENIED}) > 0"
    f" THEN replace(data, {_DENIED}, {_ALLOWED}) ELSE replace(data, {_ALLOWED}, {_DENIED}) END"
    " WHERE home = $1 AND seq = $2"
)


class Backend:
    """Members and audit log on ``name`` (memory, sqlite, postgres); ``url`` for postgres."""

    def __init__(self, name: str, directory: Path, url: str | None = None) -> None:
        self.name = name
        self.file = directory / ACCESS_DB
        self.url = url
        self._memory = (MemoryMemberStore(), MemoryAuditStore())

    @property
    def per_home(self) -> bool:
        """Whether each home has an audit chain of its own."""
        return self.name == "postgres"

    @property
    def cli_args(self) -> list[str]:
        """How ``carhome members``/``audit verify`` name this backend's database."""
        return ["--db", str(self.file)] if self.url is None else ["--store", self.url]

    @contextlib.asynccontextmanager
    async def stores(self) -> AsyncIterator[tuple[MemberStore, AuditStore]]:
        if self.name == "memory":
            yield self._memory
        elif self.url is None:
            async with access_file(self.file) as file:
                yield SqliteMemberStore(file), SqliteAuditStore(file)
        else:
            async with PgDatabase(self.url) as database:
                await open_tables(database)
                yield PostgresMemberStore(database), PostgresAuditStore(database)

    async def alter(self, home: str, seq: int) -> None:
        """Turn the stored decision ``seq`` of ``home``'s log around (a refusal into a
        permission, or the other way)."""
        if self.url is None:
            self._sqlite(_FLIP_SQLITE, seq)
        else:
            await self._postgres(_FLIP_PG, home, seq)

    async def remove(self, home: str, seq: int) -> None:
        """Delete the stored entry ``seq`` of ``home``'s log."""
        if self.url is None:
            self._sqlite("DELETE FROM access_audit WHERE seq = ?", seq)
        else:
            await self._postgres("DELETE FROM access_audit WHERE home = $1 AND seq = $2", home, seq)

    async def damage_member(self, member: str) -> None:
        """Overwrite the stored record of ``member`` with a broken one."""
        if self.url is None:
            self._sqlite("UPDATE access_members SET data = '{' WHERE id = ?", member)
        else:
            await self._postgres("UPDATE access_members SET data = '{' WHERE id = $1", member)

    def _sqlite(self, sql: str, *params: object) -> None:
        with sqlite3.connect(self.file) as raw:
            changed = raw.execute(sql, params).rowcount
        raw.close()
        if changed != 1:
            raise AssertionError(f"{sql} changed {changed} rows")

    async def _postgres(self, sql: str, *params: object) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            status = await conn.execute(sql, *params)
        finally:
            await conn.close()
        if not status.endswith(" 1"):
            raise AssertionError(f"{sql} did {status}")
