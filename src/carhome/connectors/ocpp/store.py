"""Where the central system keeps its transactions: the ``TransactionStore`` protocol, in memory.

A charger's transaction outlives the hub process: a charger keeps sending meter values and
its ``StopTransaction`` for a transaction the hub opened before it restarted, and a 1.6
charger knows it only by the id the hub gave it. So every transaction, each new meter
reading of it, and each charger's last register reading outside a transaction are saved
before the charger is answered: what the charger was told is taken is on disk.

``save`` writes a transaction's record and its new samples together; a sample is keyed by
(charger, transaction, timestamp), so one saved twice is kept once. ``load`` returns the
transactions still open and those that ended since ``since`` (with their samples), and
each charger's newest register reading. The SQLite store (``carhome.connectors.ocpp.sqlite``)
and this one pass the same contract tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from carhome.connectors.ocpp.transactions import Register, Transaction
from carhome.ocpp.messages import Sample


class Saved(msgspec.Struct, kw_only=True):
    """What a store hands back on start."""

    transactions: list[Transaction] = msgspec.field(default_factory=list)
    registers: list[Register] = msgspec.field(default_factory=list)
    """Each connector's newest energy register reading outside any transaction."""


class TransactionStore(Protocol):
    """Keeps the central system's transactions; the SQLite and memory stores share one contract."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def load(self, since: float) -> Saved:
        """Open transactions, those that ended at or after ``since``, and the chargers' registers."""
        ...

    async def save(self, tx: Transaction, samples: Sequence[Sample] = ()) -> None:
        """Keep ``tx``'s record (its ``samples`` field aside) and these new ``samples`` of it,
        in one transaction, durable when it returns."""
        ...

    async def save_register(self, register: Register) -> None:
        """Keep a connector's register reading taken outside a transaction (the newest wins)."""
        ...


class MemoryTransactionStore:
    """The transactions in memory: for tests and throwaway hubs (a "restart" keeps the object)."""

    def __init__(self) -> None:
        self._transactions: dict[tuple[str, str], bytes] = {}
        self._samples: dict[tuple[str, str], dict[float, Sample]] = {}
        self._registers: dict[tuple[str, int], Register] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def load(self, since: float) -> Saved:
        found: list[Transaction] = []
        for key, data in self._transactions.items():
            tx = msgspec.json.decode(data, type=Transaction)
            if tx.stopped is None or tx.stopped >= since:
                tx.samples = dict(sorted(self._samples.get(key, {}).items()))
                found.append(tx)
        found.sort(key=lambda t: (t.started, t.id))
        return Saved(transactions=found, registers=list(self._registers.values()))

    async def save(self, tx: Transaction, samples: Sequence[Sample] = ()) -> None:
        key = (tx.charger, tx.id)
        self._transactions[key] = msgspec.json.encode(msgspec.structs.replace(tx, samples={}))
        kept = self._samples.setdefault(key, {})
        for sample in samples:
            kept.setdefault(sample.ts, sample)

    async def save_register(self, register: Register) -> None:
        key = (register.charger, register.connector)
        known = self._registers.get(key)
        if known is None or known.ts <= register.ts:
            self._registers[key] = register
