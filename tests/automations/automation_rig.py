"""The automation tests' rig: fake lights at the hub's public seam, and a hub and engine to restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from carhome.automations import Engine, PostgresTimerStore, SqliteTimerStore, TimerStore
from carhome.hub import Ack, Command, Device, Home, Hub
from carhome.pgdatabase import PgDatabase
from carhome.store import SqliteStore
from carhome.testing import FakeClock

LOW_BATTERY = """\
home: h1
automations:
  - id: low
    triggers:
      - trigger: threshold
        device: car
        property: soc
        below: 20
    actions:
      - action: notify
        member: owner
        message: low
"""
"""The automation file tests start from and add to: the owner told when the car's charge falls below 20 %."""


class Lights:
    """Devices at the public seam: execute every command at once, ack it, report the state."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.received: list[Command] = []

    async def deliver(self, command: Command) -> None:
        self.received.append(command)
        self.hub.ack(command.home, command.device, Ack(command.id, "acked"))
        if command.kind == "action":
            self.hub.report(command.home, command.device, {"on": command.target != "turn_off"})
        else:
            self.hub.report(command.home, command.device, {command.target: command.args["value"]})


@dataclass(frozen=True)
class Place:
    """Where a restartable hub keeps its things: its SQLite file ``db``, and its timers
    beside it or, given a ``database``, in PostgreSQL."""

    db: Path
    database: PgDatabase | None = None

    def timers(self) -> TimerStore:
        """A new store on the place's timers (each restart opens one)."""
        return (
            SqliteTimerStore.beside(self.db) if self.database is None else PostgresTimerStore(self.database)
        )


@asynccontextmanager
async def restartable(
    place: Place, clock: FakeClock, text: str, store: TimerStore | None = None
) -> AsyncIterator[Engine]:
    """A hub and engine at ``place``, with home ``h1`` (a car and a purifier) and the
    automations of ``text``: closed and opened again, it is a real restart."""
    async with Hub(store=SqliteStore(place.db), clock=clock) as hub:
        if not hub.homes():
            await hub.add_home(Home(id="h1", name="Home", lat=39.8, lon=116.5))
            await hub.add_device(Device(home="h1", id="car", type="car"))
            await hub.add_device(Device(home="h1", id="purifier", type="air_purifier"))
        async with Engine(hub, timer_store=store or place.timers()) as engine:
            assert engine.load_text(text) == []
            yield engine
            await engine.timers.flush()


async def advance(clock: FakeClock, seconds: float) -> None:
    """Move the clock (``advance`` first lets what is ready run until every task waits)."""
    await clock.advance(seconds)


def messages(engine: Engine) -> list[str]:
    return [n.message for n in engine.notifications.list()]
