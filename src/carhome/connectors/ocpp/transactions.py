"""Charging transactions, kept by the central system across a charger's reconnects.

Transactions and their meter readings belong to the server, not to one WebSocket, so a
charger that drops mid-transaction and resends its queued messages loses nothing: a start
resent is matched to the transaction it already opened, a reading is keyed by its
timestamp, a stop resent is accepted once more without effect.
"""

from __future__ import annotations

import secrets

import msgspec

from carhome.connectors.ocpp.messages import Sample


class Transaction(msgspec.Struct, kw_only=True):
    id: str
    charger: str
    connector: int
    id_tag: str | None
    member: str | None
    started: float
    start_wh: float
    stopped: float | None = None
    stop_wh: float | None = None
    samples: dict[float, Sample] = msgspec.field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.stopped is None

    def energy_kwh(self, register_wh: float) -> float:
        return max(0.0, register_wh - self.start_wh) / 1000.0


class Transactions:
    """Every transaction of every charger, by id."""

    def __init__(self) -> None:
        self._by_id: dict[str, Transaction] = {}
        # (charger, connector, id tag, start time) → id, so a resent start finds its transaction
        self._starts: dict[tuple[str, int, str | None, float], str] = {}

    def new_id(self) -> str:
        """An unpredictable OCPP 1.6 transaction id (a positive int32, as text)."""
        while True:
            candidate = str(secrets.randbelow(2**31 - 2) + 1)
            if candidate not in self._by_id:
                return candidate

    def begin(
        self,
        *,
        charger: str,
        connector: int,
        id_tag: str | None,
        member: str | None,
        started: float,
        start_wh: float,
        tx_id: str | None = None,
    ) -> Transaction:
        """Open a transaction, or return the one this same start already opened."""
        key = (charger, connector, id_tag, started)
        if tx_id is not None:
            if tx_id in self._by_id:
                return self._by_id[tx_id]
        else:
            # A charger resends a start only before its stop (its queue keeps order), so
            # only a transaction still open can be the one a resent start already opened.
            known = self._by_id.get(self._starts.get(key, ""))
            if known is not None and known.active:
                return known
        tx = Transaction(
            id=tx_id or self.new_id(),
            charger=charger,
            connector=connector,
            id_tag=id_tag,
            member=member,
            started=started,
            start_wh=start_wh,
        )
        self._by_id[tx.id] = tx
        self._starts[key] = tx.id
        return tx

    def get(self, tx_id: str) -> Transaction | None:
        return self._by_id.get(tx_id)

    def active(self, charger: str) -> Transaction | None:
        for tx in self._by_id.values():
            if tx.charger == charger and tx.active:
                return tx
        return None

    def of(self, charger: str) -> list[Transaction]:
        return [tx for tx in self._by_id.values() if tx.charger == charger]
