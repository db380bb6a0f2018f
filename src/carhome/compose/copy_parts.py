"""The parts' durable things copied with the hub's store (``carhome store copy``).

Beside the hub's store (``carhome.store.copy``) three parts keep data of their own: the
history (records and open states), the automation timers and the OCPP transactions. On
SQLite they are files beside the hub's (``carhome.history.db``, ``carhome.timers.db``,
``carhome.ocpp.db``); on PostgreSQL, tables in the hub's database. ``copy_parts`` copies
each through its store's protocol, so SQLite to PostgreSQL and back alike; a SQLite
source without a part's file has nothing of that part to copy (no file is made for it).

As for the hub's store, a target part that already holds anything is refused unless
``merge`` (then the source's records, states, timers and transactions replace the target's
under the same keys; a sample the target has stays as it is). Transactions copied into
PostgreSQL are kept under the home ``""`` until the hub starts: its OCPP part moves each
configured charger's rows to that charger's home as it opens. ``check_empty`` says so before
anything is written; after the copy each table is counted on both sides and compared with
what the target must hold, and a difference is a ``StoreError``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from carhome.automations.postgres_timers import PostgresTimerStore
from carhome.automations.sqlite_timers import SqliteTimerStore
from carhome.automations.timers import SavedTimer, TimerStore
from carhome.connectors.ocpp.postgres import PostgresTransactionStore
from carhome.connectors.ocpp.sqlite import SqliteTransactionStore
from carhome.connectors.ocpp.store import Saved, TransactionStore
from carhome.history.postgres import PostgresHistoryStore
from carhome.history.records import OpenState
from carhome.history.sqlite import SqliteHistoryStore
from carhome.history.store import HistoryStore, Query
from carhome.sqlitefile import MEMORY
from carhome.store import PostgresStore, SqliteStore
from carhome.store.copy import BATCH, Counted, Progress, copied_parts, refuse_held
from carhome.wire.history import ChargeSession, Parked, Trip

# The tables of each part, as counted after a copy.
PART_TABLES: Final = {
    "history": ("trips", "charge sessions", "parked spells", "open states"),
    "timers": ("automation timers",),
    "ocpp": ("OCPP transactions", "OCPP samples", "OCPP registers"),
}


@dataclass(frozen=True, slots=True)
class Parts:
    """The parts' stores of one side (None: a SQLite source without that part's file)."""

    history: HistoryStore | None
    timers: TimerStore | None
    ocpp: TransactionStore | None


@dataclass(frozen=True, slots=True)
class _Held:
    trips: list[Trip]
    charges: list[ChargeSession]
    parked: list[Parked]
    states: list[OpenState]
    timers: list[SavedTimer]
    ocpp: Saved

    def keys(self) -> dict[str, set[Hashable]]:
        return {
            "trips": {r.id for r in self.trips},
            "charge sessions": {r.id for r in self.charges},
            "parked spells": {r.id for r in self.parked},
            "open states": {(s.home, s.car) for s in self.states},
            "automation timers": {t.key for t in self.timers},
            "OCPP transactions": {(t.charger, t.id) for t in self.ocpp.transactions},
            "OCPP samples": {(t.charger, t.id, ts) for t in self.ocpp.transactions for ts in t.samples},
            "OCPP registers": {(r.charger, r.connector) for r in self.ocpp.registers},
        }


def source_parts(store: SqliteStore | PostgresStore) -> Parts:
    """The parts' stores beside the source ``store`` (not opened): its SQLite files that
    exist, or its PostgreSQL database's tables; a throwaway SQLite store has none."""
    if isinstance(store, PostgresStore):
        return _on_postgres(store)
    if store.path == MEMORY:
        return Parts(None, None, None)
    history, timers, ocpp = _beside(store)
    return Parts(
        history if Path(history.path).is_file() else None,
        timers if Path(timers.path).is_file() else None,
        ocpp if Path(ocpp.path).is_file() else None,
    )


def target_parts(store: SqliteStore | PostgresStore, source: Parts) -> Parts:
    """The parts' stores beside the target ``store`` (not opened), for the parts ``source``
    has: no file nor table is made for a part with nothing to copy."""
    if isinstance(store, PostgresStore):
        made = _on_postgres(store)
    elif store.path == MEMORY:
        return Parts(None, None, None)
    else:
        made = Parts(*_beside(store))
    return Parts(
        made.history if source.history is not None else None,
        made.timers if source.timers is not None else None,
        made.ocpp if source.ocpp is not None else None,
    )


def _on_postgres(store: PostgresStore) -> Parts:
    database = store.database
    return Parts(
        PostgresHistoryStore(database), PostgresTimerStore(database), PostgresTransactionStore(database)
    )


def _beside(store: SqliteStore) -> tuple[SqliteHistoryStore, SqliteTimerStore, SqliteTransactionStore]:
    return (
        SqliteHistoryStore.beside(store.path),
        SqliteTimerStore.beside(store.path),
        SqliteTransactionStore.beside(store.path),
    )


async def opened(stack: AsyncExitStack, parts: Parts) -> Parts:
    """``parts`` opened, closed with ``stack``."""
    for store in (parts.history, parts.timers, parts.ocpp):
        if store is not None:
            await store.open()
            stack.push_async_callback(store.close)
    return parts


async def check_empty(target: Parts, target_name: str) -> None:
    """``StoreError`` if the target's parts hold anything (checked before any copy)."""
    refuse_held(
        {table: len(keys) for table, keys in (await _held(target)).keys().items()},
        target_name,
        merged="the source's records, timers and transactions replace those with the same keys",
    )


async def copy_parts(
    source: Parts,
    target: Parts,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
    target_name: str = "the target",
) -> list[Counted]:
    """Copy the open ``source`` parts into the open ``target``; their tables counted after."""
    told = progress or (lambda table, done, total: None)
    before = await _held(target)
    data = await _held(source)
    if target.history is not None:
        history = target.history
        for table, records in (
            ("trips", data.trips),
            ("charge sessions", data.charges),
            ("parked spells", data.parked),
        ):
            told(table, 0, len(records))
            for start in range(0, len(records), batch):
                await history.commit(records[start : start + batch], [])
                told(table, min(start + batch, len(records)), len(records))
        told("open states", 0, len(data.states))
        await history.commit([], data.states)
        told("open states", len(data.states), len(data.states))
    if target.timers is not None:
        told("automation timers", 0, len(data.timers))
        for timer in data.timers:
            await target.timers.save(timer)
        told("automation timers", len(data.timers), len(data.timers))
    if target.ocpp is not None:
        ocpp = target.ocpp
        transactions = data.ocpp.transactions
        told("OCPP transactions", 0, len(transactions))
        for done, tx in enumerate(transactions, 1):
            await ocpp.save(tx, list(tx.samples.values()))  # with its samples, in one transaction
            if done % batch == 0 or done == len(transactions):
                told("OCPP transactions", done, len(transactions))
        told("OCPP registers", 0, len(data.ocpp.registers))
        for register in data.ocpp.registers:
            await ocpp.save_register(register)
        told("OCPP registers", len(data.ocpp.registers), len(data.ocpp.registers))

    after = (await _held(target)).keys()
    copied, was = data.keys(), before.keys()
    return copied_parts(
        PART_TABLES, source, target, copied=copied, was=was, after=after, target_name=target_name
    )


async def _held(parts: Parts) -> _Held:
    """Everything ``parts`` hold (nothing of a part that is None)."""
    everything = Query()
    history = parts.history
    return _Held(
        trips=await history.records(Trip, everything) if history is not None else [],
        charges=await history.records(ChargeSession, everything) if history is not None else [],
        parked=await history.records(Parked, everything) if history is not None else [],
        states=await history.open_states() if history is not None else [],
        timers=await parts.timers.load() if parts.timers is not None else [],
        ocpp=await parts.ocpp.load(-math.inf) if parts.ocpp is not None else Saved(),
    )
