"""Runs a simulated home against the hub: one device link per device, stepped by the clock.

``SimRunner`` opens one link per device — by default the device-side MQTT client, the
same one a real device embeds — publishes every device's full state, then on every tick
of the clock (``clock.sleep(tick)``; a ``ScaledClock`` runs simulated time faster than
real time) moves the home to the clock's time, steps each device and publishes what
changed and what happened. A command a device receives is executed by that device; the
runner is woken at once to publish the state it changed, without waiting for the tick.

The link is injected (``links=``), so tests and embedders can run the simulator over
anything that speaks ``DeviceLink``. A publish that fails (the broker is away) is kept
and sent with the next one, so nothing the device reported is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final, Protocol, Self

from carhome.clock import Clock
from carhome.errors import ConnectorError
from carhome.mqtt import MqttDeviceClient
from carhome.mqtt.credentials import Credentials
from carhome.sim.device import SimBase, SimDevice, SimEvent
from carhome.sim.world import SimHome

log: Final = logging.getLogger(__name__)

MAX_STEP_S: Final = 3600.0  # a clock that jumps further (a suspended laptop) is not replayed


class CommandHandler(Protocol):
    """What a link calls with each command it receives (the device-side MQTT protocol)."""

    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any: ...


class DeviceLink(Protocol):
    """One device's connection to the hub; an async context manager."""

    async def __aenter__(self) -> Any: ...

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> Any: ...

    async def publish_state(self, values: Mapping[str, Any], ts: float | None = None) -> None: ...

    async def publish_event(self, name: str, fields: Mapping[str, Any]) -> None: ...


LinkFactory = Callable[[str, str, CommandHandler], DeviceLink]
"""Makes the link for (home id, device id, the device's command handler)."""


def mqtt_links(url: str, clock: Clock, credentials: Credentials | None = None) -> LinkFactory:
    """Links over MQTT through ``carhome.connectors.mqtt.MqttDeviceClient``.

    With ``credentials`` each simulated device connects as itself (its own username and
    password), so the broker's ACL holds it to its own topics as it would a real device.
    """

    def make(home: str, device: str, handler: CommandHandler) -> DeviceLink:
        login = None if credentials is None else credentials.device(home, device)
        return MqttDeviceClient(
            home,
            device,
            url,
            handler,
            clock=clock,
            client_id=f"carhome-sim-{home}-{device}",
            username=None if login is None else login.username,
            password=None if login is None else login.password,
            keys=handler.keys if isinstance(handler, _Handler) else None,
            data=handler.data if isinstance(handler, _Handler) else None,
        )

    return make


class _Handler:
    """Executes a command on one device, then wakes the runner to publish its effect."""

    def __init__(self, device: SimDevice, wake: asyncio.Event) -> None:
        self._device = device
        self._wake = wake
        # A device that verifies signed commands hands its key store to its MQTT client, and
        # one with a data directory the place to keep the commands it executed.
        self.keys = device.keys if isinstance(device, SimBase) else None
        self.data = device.data if isinstance(device, SimBase) else None

    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
        try:
            return await self._device.execute(kind, target, args)
        finally:
            self._wake.set()


class _Outgoing:
    """What one device still has to publish (kept across a failed publish)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.events: list[SimEvent] = []
        self.failing = False


class SimRunner:
    """Steps a ``SimHome`` on the clock and publishes each device through its link."""

    def __init__(
        self,
        home: SimHome,
        url: str = "",
        *,
        clock: Clock,
        tick: float = 1.0,
        links: LinkFactory | None = None,
        credentials: Credentials | None = None,
        device_links: Mapping[str, LinkFactory] | None = None,
    ) -> None:
        if tick <= 0:
            raise ValueError(f"tick must be positive, got {tick}")
        if links is None and not url:
            raise ValueError("give the broker's url (mqtt://host:port) or a link factory (links=)")
        self.home = home
        self.clock = clock
        self.tick = tick
        self._links_factory = links or mqtt_links(url, clock, credentials)
        # devices that reach the hub another way (a wallbox over OCPP), by device id
        self._device_links = dict(device_links or {})
        self._wake = asyncio.Event()
        self._ticking = asyncio.Event()
        self._links: dict[str, DeviceLink] = {}
        self._out: dict[str, _Outgoing] = {}
        self._stack = contextlib.AsyncExitStack()
        self._task: asyncio.Task[None] | None = None
        self._last = 0.0
        self.steps = 0

    async def __aenter__(self) -> Self:
        home_id = self.home.home.id
        try:
            for device_id, device in self.home.devices.items():
                factory = self._device_links.get(device_id, self._links_factory)
                link = factory(home_id, device_id, _Handler(device, self._wake))
                await self._stack.enter_async_context(link)
                self._links[device_id] = link
                self._out[device_id] = _Outgoing()
            self._last = self.clock.time()
            self.home.update(self._last)
            await self._publish(self._last, 0.0)  # everything, as a device does on connecting
        except BaseException:
            await self._stack.aclose()
            raise
        self._task = asyncio.create_task(self._run(), name=f"sim-runner-{home_id}")
        # return once the first tick is being waited for, so time that passes from now on
        # (a test advancing its clock) is simulated
        ticking = asyncio.create_task(self._ticking.wait(), name="sim-ticking")
        await asyncio.wait({self._task, ticking}, return_when=asyncio.FIRST_COMPLETED)
        ticking.cancel()
        if self._task.done():
            await self.__aexit__(None, None, None)
            self._task.result()  # raises what stopped the runner
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        task, self._task = self._task, None
        try:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            await self._stack.aclose()

    async def _run(self) -> None:
        sleeper: asyncio.Task[None] | None = None
        waker: asyncio.Task[bool] | None = None
        try:
            while True:
                if sleeper is None:
                    sleeper = asyncio.create_task(self._sleep(), name="sim-tick")
                waker = asyncio.create_task(self._wake.wait(), name="sim-wake")
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
                if sleeper.done():
                    sleeper = None
                self._wake.clear()
                now = self.clock.time()
                # the clock may be stepped backwards (NTP, a test): simulated time never is
                dt = min(MAX_STEP_S, max(0.0, now - self._last))
                self._last = max(self._last, now)
                self.home.update(self._last)
                await self._publish(self._last, dt)
        finally:
            for task in (sleeper, waker):
                if task is not None:
                    task.cancel()

    async def _sleep(self) -> None:
        self._ticking.set()
        await self.clock.sleep(self.tick)

    async def _publish(self, now: float, dt: float) -> None:
        self.steps += 1
        for device_id, device in self.home.devices.items():
            out = self._out[device_id]
            out.values.update(device.step(dt))
            out.events.extend(device.drain_events())
            if not out.values and not out.events:
                continue
            link = self._links[device_id]
            try:
                if out.values:
                    await link.publish_state(out.values, now)
                    out.values = {}
                while out.events:
                    event = out.events[0]
                    await link.publish_event(event.name, event.fields)
                    out.events.pop(0)
            except ConnectorError as exc:
                if not out.failing:
                    log.warning(
                        "sim %s/%s cannot publish yet (kept for later): %s", self.home.home.id, device_id, exc
                    )
                out.failing = True
                continue
            out.failing = False
