"""The simulator at scale: many light simulated homes in one process, over MQTT, for a fleet.

Each home has a car and a wallbox or a light. Every device is a real MQTT 3.1.1 client
(gmqtt) logged in with its own identity (``carhome.mqtt.credentials``), so the cluster's
permissions apply to it as to a real device; the clients are spread over the cluster's
servers and connected a few at a time (``FleetSimulator.connect``).

- The **car** changes on a seeded schedule (``CarSchedule``): its state of charge falls
  while it is away and rises while it charges at home, its location moves, and it starts
  and stops charging; each change is published QoS 1 with the device's ``ts``
  (``carhome.mqtt.payloads``). The home's wallbox follows the car's charging.
- The **wallbox** and the **light** take commands on their own ``cmd`` topic (subscribed at
  QoS 0: a QoS 1 subscription costs the NATS server a durable JetStream consumer per device),
  answer each with an ack (QoS 1) and publish the state it changed.

Per device the simulator keeps the last state it published (``last``), and the last one the
server PUBACKed with each value's ``ts`` (``settle``); ``report`` is that, for a state file
(``saving`` rewrites one every few seconds while the stream runs), so ``fleet status`` and
the tests compare the fleet's stored state with it, after a failure too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import gmqtt
import msgspec
from gmqtt.mqtt.constants import UNLIMITED_RECONNECTS, MQTTv311
from gmqtt.storage import PersistentStorage

from carhome.clock import Clock, SystemClock
from carhome.errors import BrokerUnavailable, ConfigError
from carhome.files import write_atomically
from carhome.hub.commands import Ack
from carhome.mqtt.malformed import MalformedMessage
from carhome.mqtt.payloads import decode_command, encode_ack, encode_state
from carhome.mqtt.topics import ROOT

log: Final = logging.getLogger(__name__)

SOC: Final = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
CHARGING: Final = "Vehicle.Powertrain.TractionBattery.Charging.IsCharging"
LAT: Final = "Vehicle.CurrentLocation.Latitude"
LON: Final = "Vehicle.CurrentLocation.Longitude"

CONNECT_AT_ONCE: Final = 16
"""Clients connecting at the same time (the NATS server writes each MQTT session to JetStream)."""
SPARE_FILES: Final = 256
"""Open files the process needs besides the devices' connections."""
BOUND: Final = 60.0
"""Seconds a connection, or the PUBACKs of one round, may take."""
SAVE_EVERY: Final = 2.0
"""Seconds between two writes of the state file while the stream runs."""


def open_files(needed: int) -> int:
    """Let this process open ``needed`` files (one socket per device): the soft limit raised
    as far as the hard one allows; ``ConfigError`` saying what to do if that is not enough."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return soft
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise ConfigError(
            f"the simulator needs {needed} open files (a connection per device) and this process may"
            f" open {hard}: simulate fewer homes, or raise the hard limit (ulimit -Hn) first"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return needed


class SimulatedDevice(msgspec.Struct, frozen=True):
    """One device of the simulated fleet and its MQTT login."""

    home: str
    device: str
    type: str
    username: str
    password: str = msgspec.field(default="")

    def __repr__(self) -> str:
        return f"SimulatedDevice({self.home}/{self.device}, {self.type})"


class _Client(gmqtt.Client):  # type: ignore[misc]  # gmqtt is untyped
    """A gmqtt client that knows which of its QoS 1 messages are not PUBACKed yet."""

    def __init__(self, client_id: str) -> None:
        self.outbox = PersistentStorage()
        super().__init__(client_id, clean_session=True, persistent_storage=self.outbox)


def car_random(seed: int, home: str) -> random.Random:
    """The seeded randomness of ``home``'s car: its home position first, then its day."""
    return random.Random(f"{seed}:{home}")  # noqa: S311 - a simulation, not a secret


def home_position(rng: random.Random) -> tuple[float, float]:
    """Where a simulated home is (around Berlin): the first draws of its ``car_random``."""
    return 52.0 + rng.uniform(-1, 1), 13.0 + rng.uniform(-1, 1)


@dataclass
class CarSchedule:
    """A car's seeded day: away (soc falls, location moves) or at home charging (soc rises)."""

    rng: random.Random
    home_lat: float
    home_lon: float
    soc: float = 60.0
    charging: bool = False
    lat: float = 0.0
    lon: float = 0.0

    def __post_init__(self) -> None:
        self.soc = round(self.rng.uniform(20, 90), 1)
        self.lat, self.lon = self.home_lat, self.home_lon

    def step(self) -> dict[str, Any]:
        """The next change of the car's state."""
        if self.charging:
            self.soc = min(100.0, round(self.soc + self.rng.uniform(0.5, 2.5), 1))
            if self.soc >= 95 or self.rng.random() < 0.05:
                self.charging = False
        elif self.rng.random() < 0.15:
            self.lat, self.lon = self.home_lat, self.home_lon
            self.charging = self.soc < 90
        else:
            self.soc = max(0.0, round(self.soc - self.rng.uniform(0.0, 1.5), 1))
            self.lat = round(self.lat + self.rng.uniform(-0.002, 0.002), 6)
            self.lon = round(self.lon + self.rng.uniform(-0.002, 0.002), 6)
        return {SOC: self.soc, CHARGING: self.charging, LAT: self.lat, LON: self.lon}


class SimulatorReport(msgspec.Struct, frozen=True, kw_only=True):
    """The simulator's state file: each device's last PUBACKed state and each value's ``ts``."""

    reports: int
    """Reports published so far."""
    devices: int
    connect_s: float
    last: dict[str, dict[str, Any]]
    """By ``home/device``: the values of its last reports the server PUBACKed."""
    stamps: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)
    """By ``home/device``: each value's ``ts`` in ``last``."""
    written: float = 0.0
    """When the file was written (the simulator's clock)."""
    done: bool = False
    """Whether the stream is over (every report PUBACKed): ``last`` is each device's last state."""


@dataclass
class _Device:
    spec: SimulatedDevice
    client: _Client
    last: dict[str, Any] = field(default_factory=dict)
    stamps: dict[str, float] = field(default_factory=dict)
    settled: dict[str, Any] = field(default_factory=dict)
    """``last`` when nothing of it waited for a PUBACK (``FleetSimulator.settle``)."""
    settled_stamps: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Connected:
    """How connecting the fleet's devices went."""

    devices: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.devices / self.seconds if self.seconds > 0 else float("inf")


class FleetSimulator:
    """``devices`` as MQTT clients of the servers at ``ports`` (on ``host``), for as long as
    the context is open; ``run`` plays ``rounds`` seeded changes of every car, one round each
    ``every`` seconds, and returns once every report of them is PUBACKed."""

    def __init__(
        self,
        devices: Sequence[SimulatedDevice],
        ports: Sequence[int],
        *,
        host: str = "127.0.0.1",
        seed: int = 1,
        clock: Clock | None = None,
    ) -> None:
        if not ports:
            raise BrokerUnavailable("the simulator needs at least one MQTT port to connect to")
        self._specs = list(devices)
        self._ports = list(ports)
        self._host = host
        self._seed = seed
        self.clock: Clock = clock or SystemClock()
        self._devices: dict[tuple[str, str], _Device] = {}
        self._cars: dict[str, CarSchedule] = {}
        self.connected: Connected | None = None
        self.reports = 0
        """Reports published (QoS 1) so far."""
        self.commands = 0
        """Commands answered so far."""

    # -- what a test compares -------------------------------------------------------------

    def last(self) -> dict[str, dict[str, Any]]:
        """Each device's last published state, by ``home/device``."""
        return {f"{d.spec.home}/{d.spec.device}": dict(d.last) for d in self._devices.values()}

    def settle(self) -> None:
        """Take as settled the last state of every device none of whose reports waits for its
        PUBACK (the others keep the one settled before: at most a round old)."""
        for device in self._devices.values():
            if device.client.outbox.is_empty:
                device.settled = dict(device.last)
                device.settled_stamps = dict(device.stamps)

    def report(self, *, done: bool = False) -> SimulatorReport:
        """What the state file says now (``settle`` first)."""
        self.settle()
        devices = self._devices.values()
        return SimulatorReport(
            reports=self.reports,
            devices=len(self._devices),
            connect_s=round(self.connected.seconds, 2) if self.connected is not None else 0.0,
            last={f"{d.spec.home}/{d.spec.device}": dict(d.settled) for d in devices},
            stamps={f"{d.spec.home}/{d.spec.device}": dict(d.settled_stamps) for d in devices},
            written=self.clock.time(),
            done=done,
        )

    def save(self, path: Path, *, done: bool = False) -> SimulatorReport:
        """Write ``report`` to ``path`` at once (a reader sees the old file or the new one)."""
        report = self.report(done=done)
        write_atomically(path, msgspec.json.encode(report) + b"\n")
        return report

    async def saving(self, path: Path, every: float = SAVE_EVERY) -> None:
        """Rewrite the state file at ``path`` every ``every`` seconds until cancelled."""
        while True:
            self.save(path)
            await self.clock.sleep(every)

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        try:
            await self.connect()
        except BaseException:
            await self._disconnect()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._disconnect()

    async def connect(self) -> Connected:
        """Connect every device, ``CONNECT_AT_ONCE`` at a time, round robin over the servers;
        a wallbox or light subscribes its commands and says its first state."""
        open_files(len(self._specs) + SPARE_FILES)
        started = time.monotonic()  # real seconds: how fast the cluster takes connections
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)

        async def one(n: int, spec: SimulatedDevice) -> None:
            async with gate:
                await self._connect(spec, self._ports[n % len(self._ports)])

        await asyncio.gather(*(one(n, s) for n, s in enumerate(self._specs)))
        self.connected = Connected(len(self._specs), time.monotonic() - started)
        log.info(
            "simulator: %d devices connected in %.1f s (%.0f a second)",
            self.connected.devices,
            self.connected.seconds,
            self.connected.per_second,
        )
        return self.connected

    async def _connect(self, spec: SimulatedDevice, port: int) -> None:
        client = _Client(f"sim-{spec.home}-{spec.device}")
        client.set_auth_credentials(spec.username, spec.password)
        client.set_config({"reconnect_retries": UNLIMITED_RECONNECTS, "reconnect_delay": 0.5})
        device = _Device(spec, client)
        self._devices[(spec.home, spec.device)] = device
        try:
            await asyncio.wait_for(client.connect(self._host, port, version=MQTTv311, keepalive=60), BOUND)
        except (OSError, TimeoutError, gmqtt.mqtt.handler.MQTTConnectError) as exc:
            raise BrokerUnavailable(
                f"simulated device {spec.home}/{spec.device} cannot connect to {self._host}:{port}: {exc!r}"
            ) from exc
        if spec.type == "car":
            rng = car_random(self._seed, spec.home)
            self._cars[spec.home] = CarSchedule(rng, *home_position(rng))
            return
        client.on_message = lambda _c, topic, payload, _qos, _props: self._command(device, topic, payload)
        subscribed = asyncio.Event()
        client.on_subscribe = lambda *_: subscribed.set()
        client.subscribe(gmqtt.Subscription(f"{ROOT}/{spec.home}/{spec.device}/cmd", qos=0))
        await asyncio.wait_for(subscribed.wait(), BOUND)  # takes commands from here on
        first: dict[str, Any] = (
            {"on": False, "brightness": 80}
            if spec.type == "light"
            else {"status": "available", "power": 0.0, "current_limit": 16}
        )
        self._publish(device, first)

    async def _disconnect(self) -> None:
        devices = list(self._devices.values())
        self._devices.clear()

        async def one(device: _Device) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(device.client.disconnect(), 5)

        await asyncio.gather(*(one(d) for d in devices))

    # -- reports ----------------------------------------------------------------------------

    def _publish(self, device: _Device, values: dict[str, Any]) -> None:
        ts = self.clock.time()
        spec = device.spec
        device.client.publish(f"{ROOT}/{spec.home}/{spec.device}/state", encode_state(values, ts), qos=1)
        device.last.update(values)
        device.stamps.update(dict.fromkeys(values, ts))
        self.reports += 1

    async def run(self, rounds: int, every: float) -> None:
        """``rounds`` rounds of every car's next change (and its wallbox's), one round each
        ``every`` seconds spread over the round; returns once every report is PUBACKed."""
        cars = [d for d in self._devices.values() if d.spec.type == "car"]
        gap = every / max(1, len(cars))
        for _ in range(rounds):
            for car in cars:
                schedule = self._cars[car.spec.home]
                was = schedule.charging
                self._publish(car, schedule.step())
                wallbox = self._devices.get((car.spec.home, "wallbox"))
                if wallbox is not None and schedule.charging != was:
                    self._publish(
                        wallbox,
                        {
                            "status": "charging" if schedule.charging else "available",
                            "power": 11000.0 if schedule.charging else 0.0,
                        },
                    )
                await self.clock.sleep(gap)
        await self.until_acked()

    async def until_acked(self) -> None:
        """Wait until every device's QoS 1 messages are PUBACKed (``TimeoutError`` after ``BOUND``)."""
        await asyncio.wait_for(
            asyncio.gather(*(d.client.outbox.wait_empty() for d in self._devices.values())), BOUND
        )

    # -- commands ---------------------------------------------------------------------------

    def _command(self, device: _Device, topic: str, payload: bytes) -> int:
        try:
            command = decode_command(payload)
        except MalformedMessage as exc:
            log.warning(
                "simulated %s: a command it cannot read on %s: %s", device.spec.device, topic, exc.reason
            )
            return 0
        changed = _execute(device.spec.type, command.kind, command.target, command.args, device.last)
        spec = device.spec
        if changed is not None:
            ack = encode_ack(Ack(id=command.id, status="acked"))
        else:
            error = f"{spec.type} cannot {command.kind} {command.target}"
            ack = encode_ack(Ack(id=command.id, status="failed", error=error))
        device.client.publish(f"{ROOT}/{spec.home}/{spec.device}/ack", ack, qos=1)
        if changed:
            self._publish(device, changed)
        self.commands += 1
        return 0


def _execute(
    kind: str, how: str, target: str, args: dict[str, Any], state: dict[str, Any]
) -> dict[str, Any] | None:
    """What a wallbox or light changes for a command; ``None`` if it cannot do it."""
    if how == "set":
        return {target: args["value"]} if target in state or target in ("color_temperature",) else None
    actions: dict[str, dict[str, dict[str, Any]]] = {
        "light": {
            "turn_on": {"on": True},
            "turn_off": {"on": False},
            "toggle": {"on": not state.get("on", False)},
        },
        "wallbox": {
            "start_charging": {"status": "charging", "power": 11000.0},
            "stop_charging": {"status": "available", "power": 0.0},
        },
    }
    return actions.get(kind, {}).get(target)
