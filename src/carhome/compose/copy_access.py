"""Access control copied with the hub's store (``carhome store copy``).

Beside a SQLite hub database, access control keeps ``access.db`` (members with their grants
and the uses counted on them, the audit log, the login sessions) and ``token.key`` (the
token-signing secret); on PostgreSQL, tables of the hub's database (``carhome.access.postgres``
and ``carhome.access.sessions``, the secret in ``access_token_secret``). ``copy_access``
moves all of it, SQLite to PostgreSQL and back, so that people stay logged in: a session's
record (the digest of its refresh secret, never a token) is copied whole, expired ones too
(the hub deletes those when it starts), and the secret goes with it, so a refresh token and
an access token issued before the copy are taken by a hub on the target. A SQLite source
without ``access.db`` has nothing to copy (no file is made at the target), and a source that
never made a token secret gives none.

The audit log is re-chained, because the two backends keep different chains: ``access.db``
one chain for every home of the file, PostgreSQL one chain per home (several hub processes
append to one home's chain), so:

- the source's chains are verified first, and a broken one refuses the copy (nothing is
  written), naming the entry;
- each entry keeps every field it had (time, home, member, face, command, device, target,
  decision, reason) and gets the seq, link and hash of its place in the target's chain: to
  PostgreSQL, each home's entries in their order, continuing that home's chain; to SQLite,
  all entries in one chain (PostgreSQL's chains merged in the order of their times, then
  home and seq; another ``access.db``'s in its order), continuing it;
- each chain that received entries ends with one more entry, the *seal*, at the time of the
  source's latest entry (so times stay in order), of the chain's home (none, ``""``, in
  ``access.db``'s one chain): face ``store copy``, member ``local-admin``,
  and as reason the head (seq and hash) and length of the source chain its entries came
  from (``access.db``'s one chain; or, copied into one chain, every home's chain; a home's
  chain copied into a home's chain names that one alone, not other homes'), and how many
  entries precede the seal. Whoever holds the source can check the head against it and
  match the entries field by field; the hub appends after the seal.

The alternative, keeping the original hashes, would need the target's verification to
accept a foreign prefix whose links jump between homes (and a way back from several chains
into one), so every reader of a chain would have to know about copies; re-chaining keeps
one rule for verifying a chain, wherever it was written.

The target's chains are verified afterwards (``carhome audit verify --store`` passes there).
As for the other parts, a target that holds any member, session, audit entry or token
secret is refused unless ``merge`` (then the source's members and sessions replace those with
the same keys, its secret replaces the target's, and its entries are chained after the
target's). Each table is counted on both sides after the copy and compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import msgspec

from carhome.access.audit import ALL_HOMES, GENESIS, SqliteAuditStore, Verification, rehash, verify_chains
from carhome.access.database import ACCESS_DB, access_file
from carhome.access.members import Member, SqliteMemberStore
from carhome.access.postgres import PostgresAuditStore, PostgresMemberStore, open_tables
from carhome.access.service import TOKEN_KEY
from carhome.access.sessions import PostgresSessionStore, Session, SqliteSessionStore
from carhome.errors import StoreError
from carhome.files import write_atomically
from carhome.sqlitefile import MEMORY
from carhome.store import PostgresStore, SqliteStore
from carhome.store.copy import BATCH, Counted, Progress, held_as_copied, refuse_held
from carhome.wire.members import AuditEntry

TABLES: Final = ("members", "login sessions", "audit entries", "token secret")

SEAL_MEMBER: Final = "local-admin"
SEAL_FACE: Final = "store copy"


class _Secret(Protocol):
    async def read(self) -> bytes | None: ...

    async def write(self, secret: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class _SecretFile:
    path: Path

    async def read(self) -> bytes | None:
        def read() -> bytes | None:
            try:
                return self.path.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise StoreError(f"cannot read the token secret {self.path}: {exc.strerror}") from exc

        return await asyncio.to_thread(read)

    async def write(self, secret: bytes) -> None:
        try:
            await asyncio.to_thread(write_atomically, self.path, secret)
        except OSError as exc:
            raise StoreError(f"cannot write the token secret {self.path}: {exc.strerror}") from exc


@dataclass(frozen=True, slots=True)
class _SecretRow:
    sessions: PostgresSessionStore

    async def read(self) -> bytes | None:
        return await self.sessions.kept_secret()

    async def write(self, secret: bytes) -> None:
        await self.sessions.keep_secret(secret)


@dataclass(frozen=True, slots=True)
class AccessStores:
    """Access control's stores of one side, open."""

    members: SqliteMemberStore | PostgresMemberStore
    audit: SqliteAuditStore | PostgresAuditStore
    sessions: SqliteSessionStore | PostgresSessionStore
    secret: _Secret
    name: str


@dataclass(frozen=True, slots=True)
class _Held:
    members: list[Member]
    sessions: list[Session]
    entries: list[AuditEntry]
    secret: bytes | None

    @staticmethod
    async def of(side: AccessStores) -> _Held:
        return _Held(
            await side.members.load(),
            await side.sessions.everything(),
            await side.audit.entries(),
            await side.secret.read(),
        )

    def counts(self) -> dict[str, int]:
        return {
            "members": len(self.members),
            "login sessions": len(self.sessions),
            "audit entries": len(self.entries),
            "token secret": int(self.secret is not None),
        }


@contextlib.asynccontextmanager
async def access_stores(
    store: SqliteStore | PostgresStore, name: str, *, make: bool
) -> AsyncIterator[AccessStores | None]:
    """Access control's stores beside ``store``, open for the block: ``access.db`` and
    ``token.key`` beside a SQLite file (None when there is no ``access.db`` and not
    ``make``, or for a throwaway store), else the tables of its PostgreSQL database (made
    when missing)."""
    if isinstance(store, PostgresStore):
        await open_tables(store.database)
        sessions = await PostgresSessionStore.open(store.database)
        yield AccessStores(
            PostgresMemberStore(store.database),
            PostgresAuditStore(store.database),
            sessions,
            _SecretRow(sessions),
            name,
        )
        return
    if store.path == MEMORY:
        yield None
        return
    directory = Path(store.path).parent
    if not make and not (directory / ACCESS_DB).is_file():
        yield None
        return
    async with access_file(directory / ACCESS_DB) as file:
        yield AccessStores(
            SqliteMemberStore(file),
            SqliteAuditStore(file),
            SqliteSessionStore(file),
            _SecretFile(directory / TOKEN_KEY),
            name,
        )


async def check_access(source: AccessStores, target: AccessStores, *, merge: bool) -> Verification:
    """Before anything is written: ``StoreError`` if the source's audit chains do not verify
    (naming the first bad entry), or, unless ``merge``, if the target holds anything."""
    entries = await source.audit.entries()
    verified = verify_chains(entries, per_home=source.audit.per_home)
    if not verified.ok:
        raise StoreError(
            f"{source.name}: the audit log does not verify ({verified}); nothing was copied:"
            " restore the access data from a backup, or find out who changed the log first"
        )
    if not merge:
        refuse_held(
            (await _Held.of(target)).counts(),
            target.name,
            merged="the source's members, sessions and token secret replace the target's, its"
            " audit entries are chained after the target's",
        )
    return verified


async def copy_access(
    source: AccessStores,
    target: AccessStores,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> tuple[list[Counted], Verification]:
    """Copy the open ``source``'s access control into the open ``target`` (checked with
    ``check_access`` first); the tables counted after, and the target's chains verified."""
    told = progress or (lambda table, done, total: None)
    before = await _Held.of(target)
    data = await _Held.of(source)

    told("members", 0, len(data.members))
    for member in data.members:
        await target.members.save(member)
    told("members", len(data.members), len(data.members))
    told("login sessions", 0, len(data.sessions))
    for done, session in enumerate(data.sessions, 1):
        await target.sessions.save(session)
        if done % batch == 0 or done == len(data.sessions):
            told("login sessions", done, len(data.sessions))
    if data.secret is not None:
        told("token secret", 0, 1)
        await target.secret.write(data.secret)
        told("token secret", 1, 1)

    chained = await _rechained(data.entries, source.audit.per_home, target.audit)
    told("audit entries", 0, len(chained))
    for start in range(0, len(chained), batch):
        await target.audit.append_all(chained[start : start + batch])
        told("audit entries", min(start + batch, len(chained)), len(chained))

    after = await _Held.of(target)
    copied_ids, was_ids = {m.id for m in data.members}, {m.id for m in before.members}
    copied_sessions = {(s.home, s.id) for s in data.sessions}
    was_sessions = {(s.home, s.id) for s in before.sessions}
    counted = [
        Counted("members", len(copied_ids), len(copied_ids | was_ids), len(after.members)),
        Counted(
            "login sessions",
            len(copied_sessions),
            len(copied_sessions | was_sessions),
            len(after.sessions),
        ),
        Counted(
            "audit entries",
            len(data.entries),
            len(before.entries) + len(chained),
            len(after.entries),
        ),
        Counted(
            "token secret",
            int(data.secret is not None),
            int(data.secret is not None or before.secret is not None),
            int(after.secret is not None),
        ),
    ]
    not_the_source = data.secret is not None and after.secret != data.secret
    held_as_copied(
        counted,
        target.name,
        wrong=[Counted("token secret (not the source's)", 1, 1, 0)] if not_the_source else (),
    )
    verified = verify_chains(after.entries, per_home=target.audit.per_home)
    if not verified.ok:
        raise StoreError(
            f"{target.name}: the audit log does not verify after the copy ({verified});"
            " copy again into an empty database"
        )
    return counted, verified


async def _rechained(
    entries: list[AuditEntry], per_home: bool, target: SqliteAuditStore | PostgresAuditStore
) -> list[AuditEntry]:
    """``entries`` (a verified source's, stored order) re-chained into ``target``'s chains
    after their last entries, each chain sealed (see the module's docstring)."""
    if not entries:
        return []
    seal_time = max(e.time for e in entries)
    source_chains: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        source_chains.setdefault(entry.home if per_home else ALL_HOMES, []).append(entry)
    if target.per_home:
        chains = {home: list(group) for home, group in itertools.groupby(
            sorted(entries, key=lambda e: e.home), key=lambda e: e.home
        )}  # fmt: skip
    else:  # one chain: the source's, or its homes' chains merged in the order of their times
        chains = {ALL_HOMES: sorted(entries, key=lambda e: (e.time, e.home, e.seq)) if per_home else entries}
    out: list[AuditEntry] = []
    for home, chain in chains.items():
        last = await target.last(home)
        seq, prev = (0, GENESIS) if last is None else (last.seq, last.hash)
        for entry in chain:
            seq += 1
            moved = msgspec.structs.replace(entry, seq=seq, prev=prev, hash="")
            moved = msgspec.structs.replace(moved, hash=rehash(moved))
            out.append(moved)
            prev = moved.hash
        # a home's chain names its own source chain alone: another home's is none of its business
        named = {home: source_chains[home]} if per_home and target.per_home else source_chains
        reason = f"copied by carhome store copy from {_heads(named, per_home=per_home)}; the {len(chain)}" + (
            " entries before this one are its entries, re-chained here in their order"
            if len(named) == 1
            else " entries before this one are theirs, re-chained here in the order of their times"
        )
        seal = AuditEntry(
            seq + 1, seal_time, home, SEAL_MEMBER, SEAL_FACE, "", "", "", "allowed", reason, prev, ""
        )
        out.append(msgspec.structs.replace(seal, hash=rehash(seal)))
    return out


def _heads(chains: dict[str, list[AuditEntry]], *, per_home: bool) -> str:
    """The source ``chains`` named by their heads and lengths, for a seal."""
    if not per_home:
        (chain,) = chains.values()
        return (
            f"a store with one audit chain for every home: {len(chain)} entries,"
            f" head seq {chain[-1].seq} hash {chain[-1].hash}"
        )
    return "the audit chain of " + "; of ".join(
        f"home {home}: {len(chain)} entries, head seq {chain[-1].seq} hash {chain[-1].hash}"
        for home, chain in sorted(chains.items())
    )
