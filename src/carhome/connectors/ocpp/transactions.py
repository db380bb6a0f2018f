"""Charging transactions, kept by the central system across reconnects, reboots and restarts.

Transactions and their meter readings belong to the server, not to one WebSocket, and are
saved (``carhome.connectors.ocpp.store``) before a charger is answered, so neither a
charger that drops mid-transaction nor a hub that restarts loses one: a start resent is
matched to the transaction it already opened, a reading is keyed by its timestamp, a stop
resent is accepted once more without effect. A transaction is known by its charger and
its id (2.0.1 chargers name their own, and two of them may pick the same).

The energy of a transaction is its highest register reading less the register it began
at. The rules, and why:

- A register only grows: a reading lower than one before it (a late message, a glitch) is
  kept but never lowers the energy.
- The begin register is the charger's (1.6 ``meterStart``, a 2.0.1 ``Transaction.Begin``
  reading or the reading of the ``Started`` event). Without one it is the connector's last
  register reading before the transaction began (nothing is metered between transactions),
  also one that arrives later (a stop that came late); or else the transaction's first
  reading — never zero, which would count the whole register. A ``Started`` event that
  comes after its transaction's other messages still gives it its begin.
- A charger that reboots loses its transactions unless it says otherwise: after a
  ``BootNotification`` an open transaction is not ``live`` (no command targets it) until
  the charger reports on it again; a new transaction on the same connector ends the one
  before it (``ended="replaced"``, at its last reading), and so does the connector saying
  it is ``Available`` (``ended="lost"``); the charger's own stop may still come, and wins.
- A meter value or a stop for a transaction the hub never heard of (its store was lost) is
  adopted, not refused: the charger would otherwise resend it, and the charge be lost.
"""

from __future__ import annotations

import bisect
import math
import secrets
from typing import TYPE_CHECKING, Final, Literal

import msgspec

from carhome.ocpp.messages import Sample

if TYPE_CHECKING:
    from carhome.connectors.ocpp.store import TransactionStore

Begin = Literal["charger", "register", "first"]
"""Where a transaction's begin register came from: the charger's begin reading, the
charger's last register before it, or the transaction's first reading."""
Ended = Literal["charger", "replaced", "lost"]
KEEP_ENDED_S: Final = 7 * 86_400.0
"""Ended transactions loaded on start (for resent stops and readings)."""
KEEP_READINGS: Final = 256
"""Register readings kept per connector, to find the one before a transaction's start."""


class Transaction(msgspec.Struct, kw_only=True):
    id: str
    charger: str
    connector: int
    id_tag: str | None
    member: str | None
    started: float
    start_wh: float | None = None
    begin: Begin = "charger"
    begin_at: float | None = None
    """The time of the register reading ``start_wh`` was taken from, when not the charger's."""
    stopped: float | None = None
    stop_wh: float | None = None
    ended: Ended | None = None
    live: bool = True
    """Heard of since the charger last booted: commands may name it."""
    reported: float | None = None
    """Newest reading time reported to the hub, so a late reading never overwrites a newer one."""
    samples: dict[float, Sample] = msgspec.field(default_factory=dict)

    def newer(self, ts: float) -> bool:
        """Whether a reading at ``ts`` is newer than what the hub shows of this transaction."""
        return self.reported is None or ts > self.reported

    @property
    def active(self) -> bool:
        return self.stopped is None

    @property
    def top_wh(self) -> float | None:
        """The highest register reading of the transaction (its stop reading included)."""
        readings = [s.energy_wh for s in self.samples.values() if s.energy_wh is not None]
        if self.stop_wh is not None:
            readings.append(self.stop_wh)
        return max(readings, default=None)

    def energy_wh(self) -> float | None:
        """Energy delivered so far, Wh (``None`` while the begin register is unknown)."""
        top = self.top_wh
        if self.start_wh is None:
            return None
        return max(0.0, (top if top is not None else self.start_wh) - self.start_wh)

    def energy_kwh(self) -> float | None:
        wh = self.energy_wh()
        return None if wh is None else wh / 1000.0


class Register(msgspec.Struct, frozen=True, kw_only=True):
    """A connector's energy register at one time, read outside a transaction."""

    charger: str
    connector: int
    ts: float
    energy_wh: float


StartKey = tuple[str, int, str | None, float, float | None]


class Transactions:
    """Every transaction of every charger, kept in ``store`` (in memory without one)."""

    def __init__(self, store: TransactionStore | None = None) -> None:
        from carhome.connectors.ocpp.store import MemoryTransactionStore  # noqa: PLC0415 - import cycle

        self._store: TransactionStore = store if store is not None else MemoryTransactionStore()
        self._by_key: dict[tuple[str, str], Transaction] = {}
        self._ids: set[str] = set()
        # (charger, connector, id tag, start time, begin register) → id: a resent start
        # (before or after its stop: a charger replays) finds the transaction it opened
        self._starts: dict[StartKey, str] = {}
        # each connector's recent register readings, oldest first
        self._registers: dict[tuple[str, int], list[Sample]] = {}

    async def open(self, now: float) -> None:
        await self._store.open()
        saved = await self._store.load(now - KEEP_ENDED_S)
        for tx in saved.transactions:
            self._keep(tx, (tx.charger, tx.connector, tx.id_tag, tx.started, tx.start_wh))
            for sample in tx.samples.values():
                self._note(tx.charger, tx.connector, sample)
            if tx.stopped is not None and tx.stop_wh is not None:
                self._note(tx.charger, tx.connector, Sample(tx.stopped, tx.stop_wh))
        for register in saved.registers:
            self._note(register.charger, register.connector, Sample(register.ts, register.energy_wh))

    async def close(self) -> None:
        await self._store.close()

    def _keep(self, tx: Transaction, key: StartKey | None) -> None:
        self._by_key[(tx.charger, tx.id)] = tx
        self._ids.add(tx.id)
        if key is not None and tx.begin == "charger":
            self._starts[key] = tx.id

    def new_id(self) -> str:
        """An unpredictable OCPP 1.6 transaction id (a positive int32, as text)."""
        while True:
            candidate = str(secrets.randbelow(2**31 - 2) + 1)
            if candidate not in self._ids:
                return candidate

    # -- reading --------------------------------------------------------------------------

    def get(self, charger: str, tx_id: str) -> Transaction | None:
        return self._by_key.get((charger, tx_id))

    def of(self, charger: str) -> list[Transaction]:
        return sorted((tx for tx in self._by_key.values() if tx.charger == charger), key=lambda t: t.started)

    def current(self, charger: str, *, live: bool = False) -> Transaction | None:
        """The charger's newest open transaction (with ``live``, only one heard of since its boot)."""
        found = [tx for tx in self._by_key.values() if tx.charger == charger and tx.active]
        if live:
            found = [tx for tx in found if tx.live]
        return max(found, key=lambda t: (t.started, t.id), default=None)

    def register(self, charger: str, connector: int, before: float = math.inf) -> Sample | None:
        """The newest register reading of a charger's connector at or before ``before``."""
        readings = self._registers.get((charger, connector), [])
        at = bisect.bisect_right(readings, before, key=lambda s: s.ts)
        return readings[at - 1] if at else None

    def _note(self, charger: str, connector: int, sample: Sample) -> None:
        if sample.energy_wh is None:
            return
        readings = self._registers.setdefault((charger, connector), [])
        reading = Sample(sample.ts, sample.energy_wh)
        at = bisect.bisect_right(readings, sample.ts, key=lambda s: s.ts)
        if at and readings[at - 1].ts == sample.ts:
            readings[at - 1] = reading
        else:
            readings.insert(at, reading)
        del readings[:-KEEP_READINGS]

    async def _noted(
        self, charger: str, connector: int, samples: list[Sample], own: Transaction | None
    ) -> None:
        """Keep readings of a connector; a transaction with no begin reading of its own
        settles its begin again (a reading before it may have come late)."""
        for sample in samples:
            self._note(charger, connector, sample)
        if not samples:
            return
        for tx in self._by_key.values():
            if (
                tx is not own
                and tx.charger == charger
                and tx.connector == connector
                and self._settle_begin(tx)
            ):
                await self._store.save(tx)

    def _settle_begin(self, tx: Transaction) -> bool:
        """The begin of a transaction the charger gave none for: the connector's last register
        reading before it (nothing is metered between transactions) unless that is above all
        it read since (a new meter), else its earliest reading. Whether it changed."""
        if tx.begin == "charger":
            return False
        readings = [s for s in tx.samples.values() if s.energy_wh is not None and s.ts >= tx.started]
        top = tx.top_wh
        before = self.register(tx.charger, tx.connector, tx.started)
        begin: tuple[float | None, Begin, float | None]
        if before is not None and before.energy_wh is not None and (top is None or before.energy_wh <= top):
            begin = (before.energy_wh, "register", before.ts)
        elif readings:
            earliest = min(readings, key=lambda s: s.ts)
            begin = (earliest.energy_wh, "first", earliest.ts)
        elif tx.stop_wh is not None and tx.stopped is not None:
            begin = (tx.stop_wh, "first", tx.stopped)
        else:
            begin = (None, "first", None)
        if begin == (tx.start_wh, tx.begin, tx.begin_at):
            return False
        tx.start_wh, tx.begin, tx.begin_at = begin
        return True

    # -- changing -------------------------------------------------------------------------

    async def begin(
        self,
        *,
        charger: str,
        connector: int,
        id_tag: str | None,
        member: str | None,
        started: float,
        start_wh: float | None,
        tx_id: str | None = None,
    ) -> tuple[Transaction, bool]:
        """Open a transaction, or find the one this same start opened; ``True`` if new."""
        key: StartKey = (charger, connector, id_tag, started, start_wh)
        if tx_id is not None:
            known = self._by_key.get((charger, tx_id))
        else:
            known = self._by_key.get((charger, self._starts.get(key, "")))
        if known is not None:
            return known, False
        tx = Transaction(
            id=tx_id or self.new_id(),
            charger=charger,
            connector=connector,
            id_tag=id_tag,
            member=member,
            started=started,
            start_wh=start_wh,
            begin="charger" if start_wh is not None else "first",
        )
        self._settle_begin(tx)
        # One transaction at a time on a connector: a charger that started anew (after a
        # reboot) is done with the one before, and one that started before a newer one
        # (its messages came late) is over by the time the newer began.
        others = [
            old
            for old in self._by_key.values()
            if old.charger == charger and old.connector == connector and old.active
        ]
        for old in others:
            if old.started <= started:
                await self._end_by(old, started, "replaced")
        newer = [old.started for old in others if old.started > started]
        self._keep(tx, key)
        if start_wh is not None:
            await self._noted(charger, connector, [Sample(started, start_wh)], tx)
        if newer:
            await self._end_by(tx, min(newer), "replaced")
        else:
            await self._store.save(tx)
        return tx, True

    async def began(
        self,
        tx: Transaction,
        *,
        started: float,
        start_wh: float | None,
        id_tag: str | None = None,
        member: str | None = None,
    ) -> None:
        """The charger's own start of ``tx`` came after its other messages: take its begin
        (and whose it is)."""
        changed = started < tx.started or (tx.id_tag is None and id_tag is not None)
        if tx.id_tag is None and id_tag is not None:
            tx.id_tag, tx.member = id_tag, member
        tx.started = min(tx.started, started)
        if start_wh is not None and tx.begin != "charger":
            tx.start_wh, tx.begin, tx.begin_at, changed = start_wh, "charger", None, True
        changed = self._settle_begin(tx) or changed
        if changed:
            await self._store.save(tx)

    async def _end_by(self, tx: Transaction, by: float, why: Ended) -> None:
        """End ``tx`` at its last reading, at ``by`` at the latest, for ``why``."""
        last = max(tx.samples, default=tx.started)
        tx.stopped, tx.ended, tx.live = min(max(last, tx.started), by), why, False
        await self._store.save(tx)

    async def record(self, tx: Transaction, samples: list[Sample]) -> list[Sample]:
        """Keep the new ones of ``samples`` (by timestamp); returns them, oldest first."""
        new = sorted((s for s in samples if s.ts not in tx.samples), key=lambda s: s.ts)
        changed = not tx.live
        tx.live = True
        for sample in new:
            tx.samples[sample.ts] = sample
        changed = self._settle_begin(tx) or changed
        if new or changed:
            await self._store.save(tx, new)
        await self._noted(tx.charger, tx.connector, new, tx)
        return new

    async def end(self, tx: Transaction, *, stopped: float, stop_wh: float | None) -> bool:
        """Record the charger's stop; ``False`` if it had already been recorded (a resend)."""
        if tx.ended == "charger":
            return False
        tx.stopped, tx.ended = stopped, "charger"
        if stop_wh is not None:
            tx.stop_wh = stop_wh
        self._settle_begin(tx)
        await self._store.save(tx)
        if stop_wh is not None:
            await self._noted(tx.charger, tx.connector, [Sample(stopped, stop_wh)], tx)
        return True

    async def booted(self, charger: str) -> None:
        """The charger (re)booted: its open transactions are not live until it names them."""
        for tx in self._by_key.values():
            if tx.charger == charger and tx.active and tx.live:
                tx.live = False
                await self._store.save(tx)

    async def free(self, charger: str, connector: int, at: float) -> None:
        """The connector is free: a transaction still open on it is over (the charger lost
        it in a reboot, or its stop is late — then the stop, when it comes, wins)."""
        for tx in list(self._by_key.values()):
            if tx.charger == charger and tx.connector == connector and tx.active:
                await self._end_by(tx, at, "lost")

    async def reading(self, charger: str, connector: int, samples: list[Sample]) -> None:
        """Register readings of a connector outside any transaction."""
        for sample in samples:
            if sample.energy_wh is not None:
                await self._store.save_register(
                    Register(charger=charger, connector=connector, ts=sample.ts, energy_wh=sample.energy_wh)
                )
        await self._noted(charger, connector, samples, None)
