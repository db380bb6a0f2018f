"""The chaos suite's world: a hub, counters that really execute, and brokers to kill.

A *counter* is the simplest device that shows every execution: a command sets its
``value``, each command a value of its own, and the device's handler writes down which
value it ran and when (the device's clock). From that record and the hub's results the
tests count what matters — commands lost, executed twice, executed after their expiry —
without looking inside either side. Each counter runs the real device library
(``MqttDeviceClient``) with a data directory of its own, as a real device would.

Everything is seeded and counted; nothing waits on wall time except bounded waits for a
condition (``BOUND``), a safety net for a broken build.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

from carhome.clock import Clock
from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Availability, Command, CommandStatus, Device, Home, Hub, Result
from carhome.mqtt import Backoff, MqttDeviceClient
from carhome.spec import SPECS, DeviceSpec
from carhome.spec.properties import Access, Format, PropertySpec
from mqtt.brokers import BrokerProcess
from mqtt.conftest import free_port, require_mosquitto
from waiting import until_told

from .brokers import BROKERS

BOUND = 60.0  # seconds any one wait may take; the tests wait on conditions, never on time
FAST = Backoff(first=0.02, most=0.2)
HOME = Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060)

COUNTER = DeviceSpec(
    type="counter",
    title="Counter",
    category="test",
    properties={
        "value": PropertySpec(
            "value", Format.INT, None, 0, 2**31 - 1, access=Access.RWN, description="The last value set."
        )
    },
    description="A test device: each command sets a value of its own, so each execution shows.",
)
CHAOS_SPECS = {**SPECS, "counter": COUNTER}


class Executions:
    """What the counters ran: value → the (device, device clock time) of each execution."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.runs: dict[int, list[tuple[str, float]]] = collections.defaultdict(list)

    def handler(self, device: str) -> Counter:
        return Counter(device, self)

    def twice(self) -> int:
        """Executions beyond the first of a value."""
        return sum(len(r) - 1 for r in self.runs.values() if len(r) > 1)


class Counter:
    """A counter's command handler (``carhome.mqtt.device.CommandHandler``)."""

    def __init__(self, device: str, executions: Executions) -> None:
        self.device = device
        self.executions = executions

    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
        value = int(args["value"])
        self.executions.runs[value].append((self.device, self.executions.clock.time()))
        return {"value": value}


class Finals:
    """The hub's results as the API hears them: every command that became final."""

    def __init__(self, hub: Hub) -> None:
        self.done: dict[str, Command] = {}
        self._changed = asyncio.Event()
        hub.bus.subscribe(self._seen, kind=Result)

    def _seen(self, result: Result) -> None:
        if result.final:
            self.done[result.command.id] = result.command
            self._changed.set()

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        """Wait (bounded) until ``condition()`` holds; it is checked at each result."""
        await until_told(self._changed, condition, what, bound=BOUND)

    async def all_final(self, commands: list[Command]) -> None:
        ids = {c.id for c in commands}
        await self.until(lambda: ids <= self.done.keys(), f"all {len(ids)} commands final")


class Counters:
    """Home h1 with ``n`` counters, each on its own device client with a data directory,
    and the hub's MQTT connector; devices reach the broker at ``device_url`` (a proxy, if
    the test puts one in between), the hub at ``hub_url``."""

    def __init__(
        self,
        hub: Hub,
        clock: Clock,
        data: Path,
        *,
        hub_url: str,
        device_url: str,
        n: int = 4,
        keepalive: int = 30,
        connect_timeout: float = 10.0,
    ) -> None:
        self.hub = hub
        self.clock = clock
        self.data = data
        self.names = [f"c{i}" for i in range(n)]
        self.executions = Executions(clock)
        self.finals = Finals(hub)
        self.connector = MqttConnector(hub, hub_url, backoff=FAST, client_id="chaos-hub")
        self.devices = {
            name: MqttDeviceClient(
                HOME.id,
                name,
                device_url,
                self.executions.handler(name),
                clock=clock,
                client_id=f"chaos-{name}",
                backoff=FAST,
                keepalive=keepalive,
                connect_timeout=connect_timeout,
                data=data / "devices" / name,
            )
            for name in self.names
        }
        self.online: dict[str, bool] = {}
        self._availability = asyncio.Event()
        self._next = 1

    async def __aenter__(self) -> Self:
        if not self.hub.homes():
            await self.hub.add_home(HOME)
            await self.hub.add_devices([Device(home=HOME.id, id=n, type="counter") for n in self.names])
        self._watching = self.hub.bus.subscribe(self._seen, kind=Availability)
        await self.connector.__aenter__()
        for client in self.devices.values():
            await client.__aenter__()
        await self.until_online(set(self.names))
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for client in self.devices.values():
            await client.__aexit__(et, e, tb)
        await self.connector.__aexit__(et, e, tb)
        self._watching.close()

    def _seen(self, seen: Availability) -> None:
        self.online[seen.device] = seen.online
        self._availability.set()

    async def until_online(self, names: set[str], *, up: bool = True) -> None:
        async def wait() -> None:
            while any(self.online.get(n) is not up for n in names):
                self._availability.clear()
                await self._availability.wait()

        try:
            await asyncio.wait_for(wait(), BOUND)
        except TimeoutError:
            state = "online" if up else "offline"
            raise AssertionError(f"{sorted(names)} not {state} in {BOUND} s") from None

    async def send(self, device: str, *, ttl: float = 3600.0) -> Command:
        """Set ``device`` to the next value (each command a value of its own)."""
        value, self._next = self._next, self._next + 1
        return await self.hub.submit(
            HOME.id, device, "set", "value", {"value": value}, member="chaos", face="test", ttl=ttl
        )

    def late(self, commands: list[Command]) -> int:
        """Executions of ``commands`` after their expiry, by the device's clock."""
        return sum(
            1 for c in commands for _, at in self.executions.runs.get(c.args["value"], ()) if at >= c.expires
        )

    def executed(self, command: Command) -> int:
        return len(self.executions.runs.get(command.args["value"], ()))


def lost(counters: Counters, commands: list[Command]) -> list[Command]:
    """Commands whose result and the device disagree: acked but not run exactly once, or
    run though the hub says otherwise, or not final at all."""
    return [
        c
        for c in commands
        if not c.status.final
        or (c.status is CommandStatus.ACKED and counters.executed(c) != 1)
        or (c.status is not CommandStatus.ACKED and counters.executed(c) != 0)
    ]


@pytest.fixture(
    params=[
        pytest.param(name, marks=[pytest.mark.mosquitto] if name == "mosquitto" else []) for name in BROKERS
    ]
)
async def broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BrokerProcess]:
    """Each kind of broker in turn, running in a process of its own on a free port."""
    if request.param == "mosquitto":
        require_mosquitto()
    made = BROKERS[request.param](free_port(), tmp_path)
    await made.start()
    try:
        yield made
    finally:
        await made.stop(kill=False)
