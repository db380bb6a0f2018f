"""Charger energy is exact: OCPP chargers in a storm of faults, against the charger's own truth.

Two chargers — one OCPP 1.6J, one 2.0.1 reporting power per phase and now and then starting
without a begin meter value — run charging sessions against a hub whose transactions live in
SQLite beside its database. A seeded random schedule (every fault counted, every loop
bounded) has them:

- drop the connection mid-transaction, meter on while offline and send the queue later,
  sometimes in another order than it was taken (reordered);
- reboot mid-transaction, ending the lost transaction themselves or not (then the
  connector says ``Available``), and start the next one;
- send again messages that were answered before (replayed), long after, too;
- send a register reading below the last one now and then (a glitch);
- start a 2.0.1 transaction while offline;

while the hub itself restarts, between sessions and in the middle of them. Each charger
writes down what it really metered in each transaction; the hub must hold every one of
them, closed, with exactly that energy: ``energy error: 0 Wh``, ``charges lost: 0``, and
no transaction the chargers never ran.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from pathlib import Path

from websockets.exceptions import ConnectionClosed

from carhome.connectors.ocpp import Charger, OcppServer
from carhome.connectors.ocpp.sqlite import SqliteTransactionStore
from carhome.errors import ConnectorError
from carhome.hub import Device, Home, Hub
from carhome.store.sqlite import SqliteStore
from carhome.testing import FakeClock, Restartable
from carhome.testing.wallbox import SimulatedWallbox, Version

SEEDS = (11, 23, 47)
SESSIONS = 10  # per charger and seed
READINGS = (2, 6)  # per session, bounds
CHARGERS: dict[str, tuple[Version, str, int]] = {
    "CP-A": ("1.6", "garage", 1),
    "CP-B": ("2.0.1", "carport", 3),
}
PASSWORDS = {cid: f"{cid.lower()}-chaos-password" for cid in CHARGERS}
TAG = "RFID-ALICE"


@dataclass
class Truth:
    """One transaction as the charger saw it."""

    charger: str
    tx_id: str
    begin_wh: float
    end_wh: float | None = None


@dataclass
class Faults:
    drops: int = 0
    reboots: int = 0
    replays: int = 0
    reorders: int = 0
    glitches: int = 0
    offline_starts: int = 0
    missing_begins: int = 0
    hub_restarts: int = 0
    sessions: int = 0
    readings: int = 0
    truths: list[Truth] = field(default_factory=list)


class HubRun(Restartable):
    """The hub and its OCPP server over one data directory; ``restart`` is a process restart."""

    def __init__(self, data: Path, clock: FakeClock) -> None:
        self.db = data / "carhome.db"
        self.clock = clock
        self.server: OcppServer | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._first = True

    async def start(self) -> None:
        stack = contextlib.AsyncExitStack()
        hub = await stack.enter_async_context(Hub(store=SqliteStore(self.db), clock=self.clock))
        if self._first:
            await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
            await hub.add_devices(
                [
                    Device(home="h1", id=device, type="wallbox", connector="ocpp")
                    for _, device, _ in CHARGERS.values()
                ]
            )
            self._first = False
        chargers = {
            cid: Charger(home="h1", device=dev, password=PASSWORDS[cid])
            for cid, (_, dev, _) in CHARGERS.items()
        }
        self.server = await stack.enter_async_context(
            OcppServer(
                hub,
                "127.0.0.1",
                0,
                chargers=chargers,
                id_tokens={TAG: "alice"},
                store=SqliteTransactionStore.beside(self.db),
            )
        )
        self._stack = stack

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack, self.server = None, None

    def url(self, cid: str) -> str:
        assert self.server is not None
        return f"ws://127.0.0.1:{self.server.port}/ocpp/{cid}"


class ChaosCharger:
    """One simulated charger driven by the seeded schedule; it keeps its own truth."""

    def __init__(self, cid: str, run: HubRun, clock: FakeClock, rng: random.Random, faults: Faults) -> None:
        version, _, phases = CHARGERS[cid]
        self.cid = cid
        self.run = run
        self.clock = clock
        self.rng = rng
        self.faults = faults
        self.box = SimulatedWallbox(
            run.url(cid),
            cid,
            version=version,
            password=PASSWORDS[cid],
            clock=clock,
            phases=1 if phases == 1 else 3,
        )
        self.box.register_wh = float(rng.randrange(1_000_000, 9_000_000))

    async def online(self, *, reorder: bool = True) -> None:
        """Be connected (to the hub as it is now), sending what was queued."""
        box = self.box
        if box.online and box.url == self.run.url(self.cid):
            return
        await box.disconnect()  # (a hub that restarted listens on another port)
        box.url = self.run.url(self.cid)
        if reorder and len(box.queue) > 1 and self.rng.random() < 0.7:
            self.rng.shuffle(box.queue)
            self.faults.reorders += 1
        await box.connect()

    async def say(self, status: str) -> None:
        """A status notification, if the link is up (they are not queued)."""
        with contextlib.suppress(ConnectionClosed, ConnectorError):
            if self.box.online:
                await self.box.status(status)

    async def session(self) -> None:
        box, rng, faults = self.box, self.rng, self.faults
        faults.sessions += 1
        if box.version == "2.0.1":
            box.begin_meter = rng.random() > 0.4
            faults.missing_begins += not box.begin_meter
        if box.version == "1.6" or rng.random() > 0.35:
            await self.online()
            await self.say("Preparing" if box.version == "1.6" else "Occupied")
        else:
            await box.disconnect()  # a 2.0.1 charger may start a transaction while offline
            faults.offline_starts += 1
        begin = box.register_wh
        tx_id = await box.start(TAG)
        truth = Truth(self.cid, tx_id, begin)
        faults.truths.append(truth)
        for _ in range(rng.randint(*READINGS)):
            await self.clock.advance(60)
            await self.reading()
        await self.clock.advance(30)
        if rng.random() < 0.15:
            await self.reboot(truth)
        else:
            await box.stop()
            truth.end_wh = box.register_wh
            await self.say("Available")
        await self.clock.advance(rng.randint(60, 3600))

    async def reading(self) -> None:
        box, rng, faults = self.box, self.rng, self.faults
        if rng.random() < 0.1:
            box.register_wh -= 700.0  # the meter misreads once, then reads right again
            await box.meter(0.0, 0.0)
            box.register_wh += 700.0
            await self.clock.advance(5)
            faults.glitches += 1
        power = float(rng.randrange(1_400, 11_000))
        await box.meter(float(rng.randrange(20, 180)), power)
        faults.readings += 1
        if rng.random() < 0.04:
            await self.run.restart()  # mid-transaction: the charger finds out when it next sends
            faults.hub_restarts += 1
        roll = rng.random()
        if roll < 0.12 and box.online:
            await box.disconnect()
            faults.drops += 1
        elif roll < 0.45 and not box.online:
            await self.online()
        if box.online and box.sent and rng.random() < 0.15:
            for payload in rng.sample(box.sent, k=min(len(box.sent), rng.randint(1, 3))):
                with contextlib.suppress(ConnectionClosed, ConnectorError):
                    await box.replay(payload)
                    faults.replays += 1

    async def reboot(self, truth: Truth) -> None:
        """Power goes at once: no energy after the last reading; back up it boots."""
        box = self.box
        end_lost = self.rng.random() < 0.5
        truth.end_wh = box.register_wh
        await box.disconnect()
        box.url = self.run.url(self.cid)
        await box.reboot(end_lost=end_lost)
        await self.say("Available")
        self.faults.reboots += 1


@dataclass
class Outcome:
    """The hub's record held against the chargers' truth."""

    error_wh: float = 0.0
    lost: int = 0
    phantoms: int = 0
    wrong: list[str] = field(default_factory=list)


async def chaos(seed: int, data: Path, faults: Faults) -> Outcome:
    rng = random.Random(seed)
    clock = FakeClock()
    first = len(faults.truths)
    async with HubRun(data, clock) as run:
        chargers = [ChaosCharger(cid, run, clock, rng, faults) for cid in CHARGERS]
        for charger in chargers:
            await charger.online()
            await charger.box.boot()
            await charger.box.idle_meter()  # a clock-aligned reading: the register is known
        for _ in range(SESSIONS):
            for charger in rng.sample(chargers, k=len(chargers)):
                await charger.session()
                if rng.random() < 0.25:
                    await run.restart()  # between sessions, or while a charger is offline mid-way
                    faults.hub_restarts += 1
        for charger in chargers:  # the last queues go in
            await charger.online()
            await charger.box.disconnect()
        await run.restart()  # what the hub holds after one more restart is what counts
        faults.hub_restarts += 1
        assert run.server is not None
        held = {(tx.charger, tx.id): tx for cid in CHARGERS for tx in run.server.transactions_of(cid)}
    outcome = Outcome()
    for truth in faults.truths[first:]:
        assert truth.end_wh is not None
        tx = held.pop((truth.charger, truth.tx_id), None)
        energy = None if tx is None or tx.active else tx.energy_wh()
        if energy is None:
            outcome.lost += 1
            outcome.error_wh += truth.end_wh - truth.begin_wh
        else:
            outcome.error_wh += abs(energy - (truth.end_wh - truth.begin_wh))
        if energy != truth.end_wh - truth.begin_wh:
            outcome.wrong.append(f"seed {seed}: {truth} held as {tx}")
    outcome.phantoms = len(held)
    return outcome


async def test_charger_energy_is_exact_through_drops_reboots_replays_and_hub_restarts(tmp_path: Path) -> None:
    faults = Faults()
    total = Outcome()
    for seed in SEEDS:
        data = tmp_path / f"seed-{seed}"
        data.mkdir()
        outcome = await chaos(seed, data, faults)
        total.error_wh += outcome.error_wh
        total.lost += outcome.lost
        total.phantoms += outcome.phantoms
        total.wrong += outcome.wrong
    metered = sum((t.end_wh or 0.0) - t.begin_wh for t in faults.truths)
    seeds = ", ".join(map(str, SEEDS))
    print(
        f"OCPP chaos (seeds {seeds}: {faults.sessions} sessions, {metered / 1000:.1f} kWh;"
        f" {faults.drops} drops, {faults.reboots} reboots, {faults.replays} replays,"
        f" {faults.reorders} reorders, {faults.glitches} glitches, {faults.offline_starts} offline starts,"
        f" {faults.missing_begins} missing begin values, {faults.hub_restarts} hub restarts):"
        f" energy error: {total.error_wh:.0f} Wh, charges lost: {total.lost}"
    )
    for kind in ("drops", "reboots", "replays", "reorders", "glitches", "offline_starts", "missing_begins"):
        assert getattr(faults, kind) > 0, f"the schedule made no {kind}: the seeds test less than they say"
    assert faults.hub_restarts > len(SEEDS)
    assert total.error_wh == 0.0, "\n".join(total.wrong)
    assert total.lost == 0
    assert total.phantoms == 0
