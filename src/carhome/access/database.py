"""``access.db``: the members of a hub's homes, the audit chain and the login sessions, in one
SQLite file.

A file apart from the hub's own database, which the store holds with an exclusive lock:
``carhome members --db`` edits a stopped hub's members in it, and ``carhome audit verify``
reads a running hub's log from it. ``access_file`` is its ``carhome.sqlitefile.SqliteFile``
(one connection on one thread of its own, WAL with ``synchronous = FULL``, mode 0600);
``SqliteMemberStore``, ``SqliteAuditStore`` and ``SqliteSessionStore`` share it, whoever opened it closes it.
"""

from __future__ import annotations

import os
from typing import Final

from carhome.sqlitefile import Migrations, SqliteFile

ACCESS_DB: Final = "access.db"
"""Its name in a hub's data directory."""

# MIGRATIONS[n] takes the file from schema version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    # 0 → 1: the members and the audit chain. IF NOT EXISTS: files made before the schema
    # had a version already hold both tables.
    (
        "CREATE TABLE IF NOT EXISTS access_members (id TEXT PRIMARY KEY, home TEXT NOT NULL,"
        " data BLOB NOT NULL)",
        "CREATE TABLE IF NOT EXISTS access_audit (seq INTEGER NOT NULL, time REAL NOT NULL,"
        " home TEXT NOT NULL, member TEXT NOT NULL, face TEXT NOT NULL, command TEXT NOT NULL,"
        " device TEXT NOT NULL, target TEXT NOT NULL, decision TEXT NOT NULL,"
        " reason TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL)",
    ),
    # 1 → 2: the login sessions (``carhome.access.sessions``): digests of refresh secrets,
    # never a token.
    (
        "CREATE TABLE access_sessions (home TEXT NOT NULL, id TEXT NOT NULL, member TEXT NOT NULL,"
        " expires REAL NOT NULL, data BLOB NOT NULL, PRIMARY KEY (home, id))",
        "CREATE INDEX access_sessions_expires ON access_sessions (expires)",
    ),
)


def access_file(path: str | os.PathLike[str], *, readonly: bool = False) -> SqliteFile:
    """The access database at ``path`` (not yet open); ``readonly`` changes nothing in it."""
    return SqliteFile(path, what="access database", migrations=MIGRATIONS, thread="access", readonly=readonly)
