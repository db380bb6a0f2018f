"""The audit log: every access decision, hash-chained so that tampering shows.

Each ``AuditEntry`` holds seq, time, home, member, face, command id, device, target,
decision, reason, the previous entry's hash and its own: SHA-256 over a canonical
encoding (a JSON array in fixed field order, scheme tag first) of everything but the hash.
``verify`` walks the entries in seq order and reports the first bad one: altered (hash does
not match), removed (seq gap), reordered (seq goes back) or relinked (prev does not match).
Removing entries from the *end* leaves a valid shorter chain; compare with a head (seq,
hash) kept elsewhere to catch that (``verify(..., head=...)``).

Chains: a store keeps either one chain for the whole database (``per_home = False``: memory
and ``SqliteAuditStore``, table ``access_audit`` of the access database,
``carhome.access.database``, whose files have always held one chain for every home) or one
chain per home (``per_home = True``: ``carhome.access.postgres.PostgresAuditStore``, where
several hub processes may append to one home's chain). ``verify_chains`` checks each chain
of a store's entries on its own and names the home of the first bad entry.

A store may refuse an entry that does not continue its chain because another writer
appended first (``ChainMoved``, with the store's last entry): ``AuditLog`` then links the
entry to that one and tries again, so two logs appending to one chain never fork it.
Each entry is kept (on disk, committed) when ``append`` returns; SQLite writes on the
database's own thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

import msgspec

from carhome.clock import Clock
from carhome.errors import StoreError
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
    home: str | None = None
    """The home whose chain holds the first bad entry, when each home has a chain of its own."""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.entries} entries"
        where = "" if self.home is None else f" in the chain of home {self.home}"
        return f"tamper detected{where} at seq {self.first_bad}: {self.problem}"


def verify(
    entries: Iterable[AuditEntry], *, head: tuple[int, str] | None = None, ends_at_head: bool = True
) -> Verification:
    """Check the chain; ``entries`` in stored order. ``head`` is a known (seq, hash) of it:
    its last (``ends_at_head``) or, where other writers may have appended since, one it
    must hold."""
    expected_seq, prev, count = 1, GENESIS, 0
    for entry in entries:
        count += 1
        fault = _fault(entry, expected_seq, prev, head)
        if fault is not None:
            return Verification(False, count, *fault)
        prev, expected_seq = entry.hash, expected_seq + 1
    if head is not None and (
        (expected_seq - 1, prev) != head if ends_at_head else expected_seq - 1 < head[0]
    ):
        return Verification(False, count, min(expected_seq, head[0]), "chain ends before the known head")
    return Verification(True, count)


def _fault(
    entry: AuditEntry, expected_seq: int, prev: str, head: tuple[int, str] | None
) -> tuple[int, str] | None:
    """The bad seq and what is wrong, if ``entry`` does not continue the chain at ``expected_seq``."""
    if entry.seq < expected_seq:
        return entry.seq, "out of order (seq goes back)"
    if entry.seq > expected_seq:
        return expected_seq, f"missing (next stored is seq {entry.seq})"
    if entry.prev != prev:
        return entry.seq, "link to the previous entry broken"
    if rehash(entry) != entry.hash:
        return entry.seq, "contents altered (hash mismatch)"
    if head is not None and entry.seq == head[0] and entry.hash != head[1]:
        return entry.seq, "not the entry written there (rewritten chain)"
    return None


def verify_chains(
    entries: Iterable[AuditEntry], *, per_home: bool, heads: Mapping[str, tuple[int, str]] | None = None
) -> Verification:
    """Check the chains of a store's ``entries`` (stored order): one for them all, or one per
    home when ``per_home``. ``heads`` are known (seq, hash) by chain (by home, or under
    ``ALL_HOMES``): the last of a store's one chain, which one hub writes; an entry each
    home's chain must hold, as other hubs may have appended to it since."""
    heads = heads or {}
    if not per_home:
        return verify(entries, head=heads.get(ALL_HOMES))
    chains: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        chains.setdefault(entry.home, []).append(entry)
    total = 0
    for home in sorted(chains.keys() | heads.keys()):
        result = verify(chains.get(home, ()), head=heads.get(home), ends_at_head=False)
        if not result.ok:
            return msgspec.structs.replace(result, entries=total + result.entries, home=home)
        total += result.entries
    return Verification(True, total)


ALL_HOMES: Final = ""
"""The key of the one chain of a store that keeps one for every home."""


class ChainMoved(StoreError):
    """An entry did not continue its chain: another writer appended to it first. ``last`` is
    the chain's last entry now; link the entry to it and append again."""

    def __init__(self, message: str, *, last: AuditEntry) -> None:
        super().__init__(message)
        self.last = last


class AuditStore(Protocol):
    """Where the chain is kept. ``per_home``: one chain per home, else one for all."""

    @property
    def per_home(self) -> bool: ...

    async def append(self, entry: AuditEntry) -> None:
        """Keep ``entry``; may raise ``ChainMoved`` when its chain has entries at or after its seq."""
        ...

    async def last(self, home: str) -> AuditEntry | None:
        """The entry a new entry of ``home`` follows (the last of its chain)."""
        ...

    async def entries(self) -> list[AuditEntry]:
        """Every entry, in stored order (chain by chain, for a store with one per home)."""
        ...


class MemoryAuditStore:
    """One chain for every home, in memory."""

    per_home: Final = False

    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []

    async def append(self, entry: AuditEntry) -> None:
        self._entries.append(entry)

    async def last(self, home: str) -> AuditEntry | None:
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
    which its owner opens and closes: one chain for every home of the file (one hub writes
    it). Reads are in stored (rowid) order, not seq order, so that ``verify`` sees a
    reordering."""

    per_home: Final = False

    def __init__(self, file: SqliteFile) -> None:
        self._file = file

    async def append(self, entry: AuditEntry) -> None:
        row = msgspec.structs.astuple(entry)
        await self._file.write("writing the audit log", lambda conn: conn.execute(_INSERT, row))

    async def append_all(self, entries: Sequence[AuditEntry]) -> None:
        """Keep ``entries`` (a store copy's), which continue the chain in order, in one transaction."""
        rows = [msgspec.structs.astuple(entry) for entry in entries]
        await self._file.write("writing the audit log", lambda conn: conn.executemany(_INSERT, rows))

    async def last(self, home: str) -> AuditEntry | None:
        def read(conn: sqlite3.Connection) -> AuditEntry | None:
            row = conn.execute(_LAST).fetchone()
            return None if row is None else AuditEntry(*row)

        return await self._file.read("reading the audit log", read)

    async def entries(self) -> list[AuditEntry]:
        return await self._file.read(
            "reading the audit log", lambda conn: [AuditEntry(*row) for row in conn.execute(_ALL)]
        )


_MOVES: Final = 64
"""How often one record links to a chain another writer moved on before it gives up."""


class AuditLog:
    """Appends decisions to the chain (of their home, in a store with one per home), one at
    a time; links again to the store's last entry when another writer appended first."""

    def __init__(self, store: AuditStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = asyncio.Lock()
        self._heads: dict[str, tuple[int, str]] = {}

    def head(self, home: str = ALL_HOMES) -> tuple[int, str] | None:
        """The last (seq, hash) of ``home``'s chain this log knows (wrote, or linked to), to
        keep apart from the store."""
        return self._heads.get(home if self._store.per_home else ALL_HOMES)

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
        chain = home if self._store.per_home else ALL_HOMES
        verdict: Verdict = "allowed" if decision.allowed else "denied"
        async with self._lock:
            head = self._heads.get(chain)
            if head is None:
                last = await self._store.last(home)
                head = (0, GENESIS) if last is None else (last.seq, last.hash)
            for _ in range(_MOVES):
                seq, prev = head[0] + 1, head[1]
                blank = AuditEntry(
                    seq,
                    self._clock.time(),
                    home,
                    member,
                    face,
                    command,
                    device,
                    target,
                    verdict,
                    decision.reason,
                    prev,
                    "",
                )
                entry = msgspec.structs.replace(blank, hash=rehash(blank))
                try:
                    await self._store.append(entry)
                except ChainMoved as moved:  # another writer appended first: follow it
                    head = (moved.last.seq, moved.last.hash)
                    self._heads[chain] = head
                    continue
                self._heads[chain] = (seq, entry.hash)
                return entry
        raise StoreError(
            f"the audit chain of home {home} moved on {_MOVES} times while one decision was"
            " recorded: too many hubs write to it at once; retry"
        )

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

    async def verify(self, home: str | None = None) -> Verification:
        """Check every chain of the store, each against the head this log knows of it; in a
        store with one per home, ``home``'s alone when given."""
        entries = await self._store.entries()
        heads: Mapping[str, tuple[int, str]] = self._heads
        if home is not None and self._store.per_home:
            entries = [e for e in entries if e.home == home]
            heads = {home: heads[home]} if home in heads else {}
        return verify_chains(entries, per_home=self._store.per_home, heads=heads)

    async def entries(self) -> list[AuditEntry]:
        """Every entry, oldest first."""
        return await self._store.entries()
