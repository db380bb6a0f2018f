"""One connected charger's conversation with the hub, whatever its OCPP version.

The edge (``edge.py``) decodes each OCPP call into a method call here with typed
arguments; this module reports to the hub and keeps transactions. It never sees a payload.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final, Protocol

from carhome.connectors.ocpp.messages import STATUS, OcppVersion, Outcome, Sample
from carhome.connectors.ocpp.transactions import Transaction, Transactions
from carhome.hub import Hub

log: Final = logging.getLogger(__name__)

SOURCE: Final = "ocpp"


class ChargerLink(Protocol):
    """Requests carhome sends to one connected charger (implemented by the edge)."""

    version: OcppVersion

    async def serve(self) -> None: ...

    async def start_charging(self, id_tag: str, remote_id: int) -> Outcome: ...

    async def stop_charging(self, tx_id: str) -> Outcome: ...

    async def set_current_limit(self, amps: int, tx_id: str | None) -> Outcome: ...

    async def unlock(self) -> Outcome: ...

    async def data_transfer(self, message_id: str, data: str) -> Outcome:
        """A carhome ``DataTransfer`` (vendor ``carhome``); ``detail`` is the data answered."""
        ...


class Session:
    """What carhome does with one charger's messages (both versions)."""

    def __init__(
        self,
        hub: Hub,
        *,
        charger: str,
        home: str,
        device: str,
        id_tokens: Mapping[str, str],
        transactions: Transactions,
    ) -> None:
        self.hub = hub
        self.charger = charger
        self.home = home
        self.device = device
        self._id_tokens = id_tokens
        self.transactions = transactions
        self.booted = False
        # newest meter timestamp reported to the hub, so a late (resent) reading never
        # overwrites a newer state
        self._latest: dict[str, float] = {}

    def now(self) -> float:
        return self.hub.clock.time()

    def _report(self, values: dict[str, object], ts: float | None = None) -> None:
        report = self.hub.report(self.home, self.device, values, ts=ts, source=SOURCE)
        for err in report.rejected:
            log.warning("charger %s: %s", self.charger, err)

    # -- charger → carhome ----------------------------------------------------------------

    def boot(self, vendor: str, model: str) -> None:
        self.booted = True
        log.info("charger %s booted: %s %s", self.charger, vendor, model)

    def status(self, ocpp_status: str) -> None:
        status = STATUS.get(ocpp_status)
        if status is not None:
            self._report({"status": status})

    def member_of(self, id_tag: str | None) -> str | None:
        """The member an id token belongs to, or ``None`` if carhome does not know it."""
        return None if id_tag is None else self._id_tokens.get(id_tag)

    def begin(
        self, *, connector: int, id_tag: str | None, started: float, start_wh: float, tx_id: str | None = None
    ) -> Transaction:
        tx = self.transactions.begin(
            charger=self.charger,
            connector=connector,
            id_tag=id_tag,
            member=self.member_of(id_tag),
            started=started,
            start_wh=start_wh,
            tx_id=tx_id,
        )
        if tx.active and not tx.samples:
            self._report({"energy": 0.0}, ts=started)
        return tx

    def meter(self, tx: Transaction | None, samples: list[Sample]) -> int:
        """Record readings (idempotent by timestamp); returns how many were new."""
        new = 0
        for sample in samples:
            if tx is not None:
                if sample.ts in tx.samples:
                    continue
                tx.samples[sample.ts] = sample
            new += 1
            key = tx.id if tx is not None else ""
            if sample.ts < self._latest.get(key, float("-inf")):
                continue  # a resent older reading: kept in the transaction, not the live state
            self._latest[key] = sample.ts
            values: dict[str, object] = {}
            if sample.power_w is not None:
                values["power"] = sample.power_w
            if sample.energy_wh is not None and tx is not None:
                values["energy"] = tx.energy_kwh(sample.energy_wh)
            if values:
                self._report(values, ts=sample.ts)
        return new

    def end(self, tx: Transaction, *, stopped: float, stop_wh: float) -> None:
        if not tx.active:
            return  # a resent stop
        tx.stopped = stopped
        tx.stop_wh = stop_wh
        self._report({"energy": tx.energy_kwh(stop_wh), "power": 0.0}, ts=stopped)
