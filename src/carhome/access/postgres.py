"""Members and the audit log on PostgreSQL: the tables, their migrations and every query.

When the hub's store is on PostgreSQL (``carhome.parts.keys.POSTGRES``), access control
keeps its members and audit log in tables of that database (``carhome.pgdatabase``,
part ``access``) instead of ``access.db``:

- ``access_members``: one row per member, the ``Member`` as msgspec JSON in ``data``;
  primary key (home, id), and a member id is taken on the whole database (``UNIQUE (id)``,
  as logins look members up by id alone).
- ``access_audit``: **one hash chain per home** (``carhome.access.audit``), primary key
  (home, seq), the ``AuditEntry`` as JSON in ``data`` beside the columns the queries select
  and order on. ``append`` takes a transaction-level advisory lock on the home's chain,
  then inserts only when no entry of that home has the seq or a later one; otherwise it
  raises ``ChainMoved`` with the chain's last entry, and ``AuditLog`` links to it and tries
  again. Two hub processes appending to one home's chain therefore never fork it; a chain
  whose tail was cut continues after the gap, which ``verify`` then reports.

A write returns when its transaction is committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import asyncpg
import msgspec

from carhome.access.audit import ChainMoved
from carhome.access.members import Member
from carhome.errors import StoreError
from carhome.pgdatabase import PgDatabase
from carhome.sqlitefile import Migrations
from carhome.wire.members import AuditEntry

PART: Final = "access"
WHAT: Final = "members and audit log"

# MIGRATIONS[n] takes the part's tables from version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    # 0 → 1: the members and one audit chain per home
    (
        "CREATE TABLE access_members ("
        " home TEXT NOT NULL, id TEXT NOT NULL UNIQUE, data TEXT NOT NULL,"
        " PRIMARY KEY (home, id))",
        "CREATE TABLE access_audit ("
        " home TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, data TEXT NOT NULL,"
        " PRIMARY KEY (home, seq))",
    ),
)

# The advisory lock space of the audit chains: (this, hashtext(home)) serialises one home's appends.
CHAIN_LOCK: Final = 0x6361_7564  # "caud"

_MEMBERS: Final = "SELECT data FROM access_members ORDER BY home, id"
_SAVE_MEMBER: Final = (
    "INSERT INTO access_members (home, id, data) VALUES ($1, $2, $3)"
    " ON CONFLICT (home, id) DO UPDATE SET data = excluded.data"
)
_LOCK_CHAIN: Final = "SELECT pg_advisory_xact_lock($1, hashtext($2))"
_LAST: Final = "SELECT data FROM access_audit WHERE home = $1 ORDER BY seq DESC LIMIT 1"
_APPEND: Final = "INSERT INTO access_audit (home, seq, hash, data) VALUES ($1, $2, $3, $4)"
_ENTRIES: Final = "SELECT data FROM access_audit ORDER BY home, seq"
_LAST_SEQ: Final = "SELECT max(seq) FROM access_audit WHERE home = $1"

_decode_member: Final = msgspec.json.Decoder(Member).decode
_decode_entry: Final = msgspec.json.Decoder(AuditEntry).decode


async def open_tables(database: PgDatabase) -> None:
    """Make or bring up to date the members and audit tables in ``database``."""
    await database.migrate(PART, WHAT, MIGRATIONS)


class PostgresMemberStore:
    """Members in table ``access_members`` of ``database`` (opened and migrated by its owner,
    ``open_tables``)."""

    def __init__(self, database: PgDatabase) -> None:
        self._database = database

    async def load(self) -> list[Member]:
        return await self._database.fetch("reading the members", lambda r: _decode_member(r[0]), _MEMBERS)

    async def save(self, member: Member) -> None:
        data = msgspec.json.encode(member).decode()
        await self._database.execute("saving a member", [(_SAVE_MEMBER, (member.home, member.id, data))])


class PostgresAuditStore:
    """The audit log in table ``access_audit`` of ``database``: one chain per home."""

    per_home: Final = True

    def __init__(self, database: PgDatabase) -> None:
        self._database = database

    async def append(self, entry: AuditEntry) -> None:
        data = msgspec.json.encode(entry).decode()

        async def append(conn: asyncpg.Connection) -> None:
            await conn.execute(_LOCK_CHAIN, CHAIN_LOCK, entry.home)
            last = await conn.fetchval(_LAST, entry.home)
            if last is not None:
                found = _decode_entry(last)
                if found.seq >= entry.seq:
                    raise ChainMoved(
                        f"the audit chain of home {entry.home} is at seq {found.seq} already",
                        last=found,
                    )
            await conn.execute(_APPEND, entry.home, entry.seq, entry.hash, data)

        await self._database.write("writing the audit log", append)

    async def append_all(self, entries: Sequence[AuditEntry]) -> None:
        """Keep ``entries`` (a store copy's), which continue their homes' chains in order, in
        one transaction; ``ChainMoved`` (nothing kept) when a chain holds their seqs already."""
        rows = [(e.home, e.seq, e.hash, msgspec.json.encode(e).decode()) for e in entries]
        firsts: dict[str, AuditEntry] = {}
        for entry in entries:
            firsts.setdefault(entry.home, entry)

        async def append(conn: asyncpg.Connection) -> None:
            for home, first in sorted(firsts.items()):
                await conn.execute(_LOCK_CHAIN, CHAIN_LOCK, home)
                last = await conn.fetchval(_LAST_SEQ, home)
                if last is not None and last >= first.seq:
                    raise StoreError(
                        f"the audit chain of home {home} is at seq {last} already, not before {first.seq}:"
                        " something appended to it during the copy; stop the hub and copy again"
                    )
            await conn.executemany(_APPEND, rows)

        await self._database.write("writing the audit log", append)

    async def last(self, home: str) -> AuditEntry | None:
        found = await self._database.fetch(
            "reading the audit log", lambda r: _decode_entry(r[0]), _LAST, home
        )
        return found[0] if found else None

    async def entries(self) -> list[AuditEntry]:
        return await self._database.fetch("reading the audit log", lambda r: _decode_entry(r[0]), _ENTRIES)
