"""Copying the hub's store from one database to another (``carhome store copy``).

``copy_store`` reads every home, device, state and command (the outbox and the finals) of
an open source store and writes them to an open target store in batches, through the
``Store`` protocol alone, so it copies between any two backends (SQLite to PostgreSQL and
back). Commands go oldest first, so the target keeps their order; each keeps its status.

A target that already holds anything is refused unless ``merge`` is asked for: then homes,
devices and states of the source replace those under the same keys, and a command whose id
the target already holds is left as the target has it (a command id is used once, for
good). At the end the rows of each table are counted on both sides and compared with what
the target must hold; a difference is a ``StoreError``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from carhome.errors import DuplicateCommand, StoreError
from carhome.hub.commands import Command
from carhome.hub.model import Device, Home
from carhome.hub.persistence import StateRow, Store

_T = TypeVar("_T")

BATCH: Final = 500
"""Rows written per transaction (states, devices) or per group commit (commands)."""

TABLES: Final = ("homes", "devices", "states", "commands")

_ALL: Final = sys.maxsize
"""A ``limit`` that takes every command the store holds."""


@dataclass(frozen=True, slots=True)
class Counted:
    """One table after a copy: rows in the source, rows the target must hold, rows it holds."""

    table: str
    source: int
    expected: int
    target: int
    open: int | None = None
    """For commands: how many of the target's are still in the outbox (not final)."""

    @property
    def matches(self) -> bool:
        return self.expected == self.target


def counted_keys(
    tables: Iterable[str],
    copied: Mapping[str, set[Hashable]],
    was: Mapping[str, set[Hashable]],
    after: Mapping[str, set[Hashable]],
) -> list[Counted]:
    """Each of ``tables`` counted by its keys: ``copied`` from the source, what the target held
    before (``was``) and after; the target must hold the union of the first two."""
    return [Counted(t, len(copied[t]), len(copied[t] | was[t]), len(after[t])) for t in tables]


def copied_parts(
    parts: Mapping[str, Sequence[str]],
    source: object,
    target: object,
    *,
    copied: Mapping[str, set[Hashable]],
    was: Mapping[str, set[Hashable]],
    after: Mapping[str, set[Hashable]],
    target_name: str,
) -> list[Counted]:
    """The tables of each part that both ``source`` and ``target`` have (``parts`` maps the
    sides' attribute of a part, None where a side lacks it, to its tables), counted by
    ``counted_keys`` and checked by ``held_as_copied``."""
    both = [
        table
        for part, tables in parts.items()
        if getattr(source, part) is not None and getattr(target, part) is not None
        for table in tables
    ]
    return held_as_copied(counted_keys(both, copied, was, after), target_name)


def refuse_held(held: Mapping[str, int], target_name: str, *, merged: str) -> None:
    """``StoreError`` if the target holds rows of any table (``held``: its rows by table),
    checked before anything is written; ``merged`` says what ``--force`` would do."""
    counts = ", ".join(f"{rows} {table}" for table, rows in held.items() if rows)
    if counts:
        raise StoreError(
            f"{target_name} is not empty ({counts}); copy into an empty database, or give --force"
            f" to merge into it ({merged})"
        )


def held_as_copied(
    counted: list[Counted], target_name: str, *, wrong: Sequence[Counted] = ()
) -> list[Counted]:
    """``counted``, or ``StoreError`` naming each table the target does not hold as it must
    (and the ``wrong`` ones found otherwise)."""
    wrong = [*(c for c in counted if not c.matches), *wrong]
    if wrong:
        raise StoreError(
            f"{target_name} does not hold what was copied: "
            + "; ".join(f"{c.table}: {c.target} rows, expected {c.expected}" for c in wrong)
            + "; the copy is incomplete: run it again into an empty database"
        )
    return counted


Progress = Callable[[str, int, int], None]
"""Told ``(table, rows copied so far, rows to copy)`` after each batch."""


@dataclass(frozen=True, slots=True)
class _Snapshot:
    homes: list[Home]
    devices: list[Device]
    states: list[StateRow]
    commands: list[Command]
    """Oldest first."""

    @property
    def rows(self) -> int:
        return len(self.homes) + len(self.devices) + len(self.states) + len(self.commands)

    def keys(self) -> dict[str, set[Hashable]]:
        return {
            "homes": {h.id for h in self.homes},
            "devices": {(d.home, d.id) for d in self.devices},
            "states": {(s.home, s.device, s.prop) for s in self.states},
            "commands": {c.id for c in self.commands},
        }


async def snapshot(store: Store) -> _Snapshot:
    """Everything of the hub's ``store`` holds, commands oldest first."""
    commands = await store.commands(limit=_ALL)
    commands.reverse()
    return _Snapshot(await store.homes(), await store.devices(), await store.states(), commands)


async def copy_store(
    source: Store,
    target: Store,
    *,
    merge: bool = False,
    batch: int = BATCH,
    progress: Progress | None = None,
    target_name: str = "the target",
) -> list[Counted]:
    """Copy the open ``source`` store into the open ``target``; the tables counted after.

    ``StoreError`` if the target holds anything and ``merge`` is false (nothing is written
    then), or if the counts after the copy differ from what the target must hold."""
    before = await snapshot(target)
    if not merge:
        refuse_held(
            {table: len(keys) for table, keys in before.keys().items()},
            target_name,
            merged="the source's homes, devices and states replace those with the same ids;"
            " commands it already holds stay as they are",
        )
    data = await snapshot(source)
    told = progress or (lambda table, done, total: None)

    await _in_batches("homes", data.homes, batch, told, lambda rows: _each(target.save_home, rows))
    await _in_batches("devices", data.devices, batch, told, target.save_devices)
    await _in_batches("states", data.states, batch, told, target.save_states)
    await _in_batches("commands", data.commands, batch, told, lambda rows: _put(target, rows))

    after = await snapshot(target)
    expected = {table: len(keys | before.keys()[table]) for table, keys in data.keys().items()}
    holds = after.keys()
    counted = [
        Counted(
            table,
            len(data.keys()[table]),
            expected[table],
            len(holds[table]),
            sum(not c.status.final for c in after.commands) if table == "commands" else None,
        )
        for table in TABLES
    ]
    return held_as_copied(counted, target_name)


async def _in_batches(
    table: str,
    rows: Sequence[_T],
    size: int,
    progress: Progress,
    write: Callable[[Sequence[_T]], Awaitable[None]],
) -> None:
    progress(table, 0, len(rows))
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        await write(chunk)
        progress(table, start + len(chunk), len(rows))


async def _each(save: Callable[[Home], Awaitable[None]], homes: Sequence[Home]) -> None:
    for home in homes:
        await save(home)


async def _put(target: Store, commands: Sequence[Command]) -> None:
    """Put a batch together (one group commit, in this order); ids the target already holds
    keep the target's record."""
    results = await asyncio.gather(*(target.outbox_put(c) for c in commands), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, DuplicateCommand):
            raise result
