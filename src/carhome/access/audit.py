"""The audit log: every access decision, hash-chained so that tampering shows.

Each ``AuditEntry`` holds seq, time, home, member, face, command id, device, target,
decision, reason, the previous entry's hash and its own: SHA-256 over a canonical
encoding (a JSON array in fixed field order, scheme tag first) of everything but the hash.
``verify`` walks the entries in seq order and reports the first bad one: altered (hash does
not match), removed (seq gap), reordered (seq goes back) or relinked (prev does not match).
Removing entries from the *end* leaves a valid shorter chain; compare with a head (seq,
hash) kept elsewhere to catch that (``verify(..., head=...)``).

Stores: ``MemoryAuditStore`` and ``SqliteAuditStore`` (table ``access_audit`` of the access
database, ``carhome.access.database``: each entry on disk when ``append`` returns, written on
the database's own thread, never on the event loop).
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Iterable
from typing import Final, Protocol

import msgspec

from carhome.clock import Clock
from carhome.hub.commands import Command, Decision
from carhome.sqlitefile import SqliteFile
from carhome.wire.members import AuditEntry, Verdict

SCHEME: Final = "carhome-audit-v1"
GENESIS: Final = "0" * 64


def rehash(entry: AuditEntry) -> str:
    """The hash ``entry`` must carry: of the scheme and its fields in order, all but the hash."""
    *fields, _ = msgspec.structs.astuple(entry)
    return hashlib.sha256(msgspec.json.encode([SCHEME, *fields])).hexdigest()


class Verification(msgspec.Struct, frozen=True):
    ok: bool
    entries: int
    first_bad: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.entries} entries"
        return f"tamper detected at seq {self.first_bad}: {self.problem}"


def verify(entries: Iterable[AuditEntry], *, head: tuple[int, str] | None = None) -> Verification:
    """Check the chain; ``entries`` in stored order. ``head`` is a known last (seq, hash)."""
    expected_seq, prev, count = 1, GENESIS, 0
    for entry in entries:
        count += 1
        if entry.seq < expected_seq:
            return Verification(False, count, entry.seq, "out of order (seq goes back)")
        if entry.seq > expected_seq:
            return Verification(False, count, expected_seq, f"missing (next stored is seq {entry.seq})")
        if entry.prev != prev:
            return Verification(False, count, entry.seq, "link to the previous entry broken")
        if rehash(entry) != entry.hash:
            return Verification(False, count, entry.seq, "contents altered (hash mismatch)")
        prev, expected_seq = entry.hash, expected_seq + 1
    if head is not None and (expected_seq - 1, prev) != head:
        return Verification(False, count, min(expected_seq, head[0]), "chain ends before the known head")
    return Verification(True, count)


class AuditStore(Protocol):
    async def append(self, entry: AuditEntry) -> None: ...

    async def last(self) -> AuditEntry | None: ...

    async def entries(self) -> list[AuditEntry]: ...


class MemoryAuditStore:
    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []

    async def append(self, entry: AuditEntry) -> None:
        self._entries.append(entry)

    async def last(self) -> AuditEntry | None:
        return self._entries[-1] if self._entries else None

    async def entries(self) -> list[AuditEntry]:
        return list(self._entries)


_FIELDS: Final = tuple(AuditEntry.__struct_fields__)
_COLUMNS: Final = ", ".join(_FIELDS)


_INSERT: Final = f"INSERT INTO access_audit ({_COLUMNS}) VALUES ({', '.join('?' * len(_FIELDS))})"  # noqa: S608
_ALL: Final = f"SELECT {_COLUMNS} FROM access_audit ORDER BY rowid"  # noqa: S608
_LAST: Final = f"SELECT {_COLUMNS} FROM access_audit ORDER BY rowid DESC LIMIT 1"  # noqa: S608


class SqliteAuditStore:
    """The log in table ``access_audit`` of the access database (``carhome.access.database``),
    which its owner opens and closes; reads are in stored (rowid) order, not seq order, so
    that ``verify`` sees a reordering."""

    def __init__(self, file: SqliteFile) -> None:
        self._file = file

    async def append(self, entry: AuditEntry) -> None:
        row = msgspec.structs.astuple(entry)
        await self._file.write("writing the audit log", lambda conn: conn.execute(_INSERT, row))

    async def last(self) -> AuditEntry | None:
        def read(conn: sqlite3.Connection) -> AuditEntry | None:
            row = conn.execute(_LAST).fetchone()
            return None if row is None else AuditEntry(*row)

        return await self._file.read("reading the audit log", read)

    async def entries(self) -> list[AuditEntry]:
        return await self._file.read(
            "reading the audit log", lambda conn: [AuditEntry(*row) for row in conn.execute(_ALL)]
        )


class AuditLog:
    """Appends decisions to the chain, one at a time."""

    def __init__(self, store: AuditStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = asyncio.Lock()
        self._head: tuple[int, str] | None = None

    @property
    def head(self) -> tuple[int, str] | None:
        """The last (seq, hash) written by this log, to keep apart from the store."""
        return self._head

    async def record(
        self,
        *,
        home: str,
        member: str,
        face: str,
        command: str,
        device: str,
        target: str,
        decision: Decision,
    ) -> AuditEntry:
        async with self._lock:
            if self._head is None:
                last = await self._store.last()
                self._head = (0, GENESIS) if last is None else (last.seq, last.hash)
            seq, prev = self._head[0] + 1, self._head[1]
            now = self._clock.time()
            verdict: Verdict = "allowed" if decision.allowed else "denied"
            blank = AuditEntry(
                seq, now, home, member, face, command, device, target, verdict, decision.reason, prev, ""
            )
            entry = msgspec.structs.replace(blank, hash=rehash(blank))
            await self._store.append(entry)
            self._head = (seq, entry.hash)
            return entry

    async def record_command(self, command: Command, decision: Decision) -> AuditEntry:
        return await self.record(
            home=command.home,
            member=command.member,
            face=command.face,
            command=command.id,
            device=command.device,
            target=command.target,
            decision=decision,
        )

    async def verify(self) -> Verification:
        return verify(await self._store.entries(), head=self._head)

    async def entries(self) -> list[AuditEntry]:
        """Every entry, oldest first."""
        return await self._store.entries()
