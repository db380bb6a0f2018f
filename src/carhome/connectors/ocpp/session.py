"""One connected charger's conversation with the hub, whatever its OCPP version.

The edge (``edge.py``) decodes each OCPP call into a method call here with typed
arguments; this module reports to the hub and keeps transactions. It never sees a payload.

What the hub shows of a charger (its ``energy`` and ``power``) follows the charger's
newest open transaction only: a transaction a reboot left behind, or a reading that came
late, never moves it back. The session's energy starts at 0 and only grows (a register
reading below an earlier one changes nothing).

A connector's status also tells when a cable goes in or out: a connector that was free
(``Available``) and now has a car (``Preparing``/``Occupied`` and on), or the other way
round, is reported to the hub as the wallbox's ``plugged`` event. The first status a
connector reports on a connection is where it stands, not a plug: no event.

A charger is ``ready`` for requests once it has said something on this connection and been
answered — after its ``BootNotification`` when that comes first, as OCPP requires — so no
charging profile reaches a charger that has not booted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final, Protocol

from carhome.connectors.ocpp.transactions import Transaction, Transactions
from carhome.hub import Hub
from carhome.ocpp.messages import STATUS, OcppVersion, Outcome, Sample

log: Final = logging.getLogger(__name__)

SOURCE: Final = "ocpp"
# OCPP connector statuses (1.6 and 2.0.1) with a car at the connector, and without one;
# the others (reserved, unavailable, faulted) say nothing about a cable.
_PLUGGED: Final = frozenset(
    {"Preparing", "Occupied", "EVConnected", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"}
)
_UNPLUGGED: Final = frozenset({"Available"})


class ChargerLink(Protocol):
    """Requests carhome sends to one connected charger (implemented by the edge)."""

    version: OcppVersion
    session: Session

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
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self.hub = hub
        self.charger = charger
        self.home = home
        self.device = device
        self._id_tokens = id_tokens
        self.transactions = transactions
        self._on_ready = on_ready
        self.booted = False
        self.ready = False
        self._plugged: dict[int, bool] = {}  # connector → a car at it, as last reported

    def now(self) -> float:
        return self.hub.clock.time()

    def _report(self, values: dict[str, object], ts: float | None = None) -> None:
        report = self.hub.report(self.home, self.device, values, ts=ts, source=SOURCE)
        for err in report.rejected:
            log.warning("charger %s: %s", self.charger, err)

    def answered(self) -> None:
        """The charger's call was answered: from now on it may be sent requests."""
        if not self.ready:
            self.ready = True
            if self._on_ready is not None:
                self._on_ready()

    # -- charger → carhome ----------------------------------------------------------------

    async def boot(self, vendor: str, model: str) -> None:
        self.booted = True
        log.info("charger %s booted: %s %s", self.charger, vendor, model)
        await self.transactions.booted(self.charger)

    async def status(self, ocpp_status: str, *, connector: int | None = None) -> None:
        """A connector's status (``None``: the transaction's charging state)."""
        if connector is not None and ocpp_status == "Available":
            await self.transactions.free(self.charger, connector, self.now())
        status = STATUS.get(ocpp_status)
        if status is not None:
            self._report({"status": status})
        if connector is not None:
            self._cable(connector, ocpp_status)

    def _cable(self, connector: int, ocpp_status: str) -> None:
        """Report ``plugged`` when the connector's status says a cable went in or out."""
        if ocpp_status in _PLUGGED:
            plugged = True
        elif ocpp_status in _UNPLUGGED:
            plugged = False
        else:
            return
        before = self._plugged.get(connector)
        self._plugged[connector] = plugged
        if before is not None and before != plugged:
            # a device whose spec has no such event is rejected and counted by the hub
            self.hub.event(self.home, self.device, "plugged", {"plugged": plugged}, source=SOURCE)

    def member_of(self, id_tag: str | None) -> str | None:
        """The member an id token belongs to, or ``None`` if carhome does not know it."""
        return None if id_tag is None else self._id_tokens.get(id_tag)

    def _current(self, tx: Transaction) -> bool:
        """Whether ``tx`` is what the hub shows of the charger."""
        return tx.active and self.transactions.current(self.charger) is tx

    async def begin(
        self,
        *,
        connector: int,
        id_tag: str | None,
        started: float,
        start_wh: float | None,
        tx_id: str | None = None,
    ) -> Transaction:
        tx, new = await self.transactions.begin(
            charger=self.charger,
            connector=connector,
            id_tag=id_tag,
            member=self.member_of(id_tag),
            started=started,
            start_wh=start_wh,
            tx_id=tx_id,
        )
        if new and self._current(tx) and tx.newer(started):
            tx.reported = started
            self._report({"energy": 0.0}, ts=started)
        return tx

    async def began(
        self, tx: Transaction, *, started: float, start_wh: float | None, id_tag: str | None
    ) -> None:
        """The start of a transaction already known from its later messages."""
        await self.transactions.began(
            tx, started=started, start_wh=start_wh, id_tag=id_tag, member=self.member_of(id_tag)
        )

    def find(self, tx_id: str) -> Transaction | None:
        return self.transactions.get(self.charger, tx_id)

    async def adopt(self, tx_id: str, *, connector: int, started: float) -> Transaction:
        """A transaction the hub has no record of (its data was lost): kept from now on."""
        log.warning("charger %s: transaction %s was unknown; recording it from here", self.charger, tx_id)
        return await self.begin(connector=connector, id_tag=None, started=started, start_wh=None, tx_id=tx_id)

    async def meter(self, tx: Transaction | None, samples: list[Sample], *, connector: int = 1) -> int:
        """Record readings (idempotent by timestamp); returns how many were new."""
        if tx is None:
            await self.transactions.reading(self.charger, connector, samples)
            newest = max(samples, key=lambda s: s.ts, default=None)
            if (
                newest is not None
                and newest.power_w is not None
                and self.transactions.current(self.charger) is None
            ):
                self._report({"power": newest.power_w}, ts=newest.ts)
            return len(samples)
        new = await self.transactions.record(tx, samples)
        if not self._current(tx):
            return len(new)  # an ended transaction's late readings: kept, not shown
        for sample in new:
            if not tx.newer(sample.ts):
                continue  # a resent older reading: kept in the transaction, not the live state
            tx.reported = sample.ts
            values: dict[str, object] = {}
            if sample.power_w is not None:
                values["power"] = sample.power_w
            energy = tx.energy_kwh()
            if sample.energy_wh is not None and energy is not None:
                values["energy"] = energy
            if values:
                self._report(values, ts=sample.ts)
        return len(new)

    async def end(self, tx: Transaction, *, stopped: float, stop_wh: float | None) -> None:
        shown = self._current(tx)
        if not await self.transactions.end(tx, stopped=stopped, stop_wh=stop_wh):
            return  # a resent stop
        if shown and (tx.reported is None or stopped >= tx.reported):
            tx.reported = stopped
            self._report({"energy": tx.energy_kwh() or 0.0, "power": 0.0}, ts=stopped)
