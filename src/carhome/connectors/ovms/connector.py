"""``OvmsConnector``: cars of many makers, through the OVMS module in each, over MQTT.

An OVMS v3 module (the Open Vehicle Monitoring System, sold for dozens of EV models)
publishes its metrics to an MQTT broker with its server v3 client (``topics``). The
connector subscribes to each configured car's metrics and to the answers to its own
commands, and translates at the edge:

- a metric ``METRICS`` maps → its VSS values in their units (``metrics``) → ``Hub.report``
  (the hub checks each against the car's spec); a value OVMS could not have written, or one
  larger than ``max_payload``, is rejected whole with its reason, counted and logged once
  per cause (``carhome rejections``); a metric carhome does not map is left alone;
- ``metric/s/v3/connected`` (``yes``, or ``no`` by the module's will) → the car's availability;
- the hub's commands (its ``Transport`` for devices whose connector is ``ovms``) → the OVMS
  shell command (``commands``) on ``client/<client id>/command/<command id>``, and the
  answer on ``…/response/<command id>`` → the ack, failed with the module's words when it
  says it failed.

A module runs every command it receives, and remembers none: so the connector publishes a
command once, never again (not after a reconnect, not after a restart — a command the hub
marked sent stays sent), at QoS 0 and only while the module says it is connected, so no
broker keeps it for a module that is away and hands it over after its expiry (the module's
MQTT session is persistent). A command that cannot go now waits, queued, until the module
is back or its expiry ends it; an answer that comes after that is ignored. A command with
an end-to-end signature is refused, never passed on: an OVMS module cannot verify one.

While the link is up the connector tells each module it is an active client
(``client/<id>/active``, renewed every ``active_every`` seconds of the hub's clock), so the
module reports at its "client connected" rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self

from carhome.connectors.ovms.commands import Unsupported, ack_of, shell_command
from carhome.connectors.ovms.config import CONNECTOR, OvmsCar, OvmsConfig
from carhome.connectors.ovms.metrics import CONNECTED, CarMetrics, MetricError
from carhome.connectors.ovms.topics import ModuleTopics, is_command_id
from carhome.drivers.feeds import CarFeed, FeedStats, check_car
from carhome.errors import ConnectorError
from carhome.hub import Ack, Command, CommandStatus, Hub, Result, Subscription
from carhome.mqtt import Backoff, MqttVersion
from carhome.mqtt.link import MqttLink

log: Final = logging.getLogger(__name__)

SOURCE: Final = "ovms"
ACTIVE_EVERY: Final = 60.0
"""Seconds between ``active`` messages (a module drops a client silent for 120 s)."""
_CONNECTED_TOPIC: Final = CONNECTED.replace(".", "/")
_STATUS: Final = {b"yes": True, b"no": False}


class OvmsStats(FeedStats):
    """What the connector has seen (messages on the modules' metric and response topics) and
    done since it was made."""

    commands: int = 0
    """Commands published to a module."""
    refused: int = 0
    """Commands failed before anything was sent (signed, unsupported, no PIN)."""
    answers: int = 0
    """Answers that decided a command's outcome."""
    stray_answers: int = 0
    """Answers to no command carhome waits for (late, after the command's expiry, or foreign)."""


@dataclass(slots=True)
class _Car:
    config: OvmsCar
    topics: ModuleTopics
    metrics: CarMetrics
    pin: str | None = None
    published: set[str] = field(default_factory=set)

    @property
    def home(self) -> str:
        return self.config.home

    @property
    def device(self) -> str:
        return self.config.device


class OvmsConnector(CarFeed):
    """Keeps the configured cars current from their OVMS modules and sends them commands;
    an async context manager, made from the hub and the ``ovms`` section."""

    stats: OvmsStats
    _link: MqttLink

    def __init__(
        self,
        hub: Hub,
        config: OvmsConfig,
        *,
        protocol: MqttVersion = 311,
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
        active_every: float = ACTIVE_EVERY,
    ) -> None:
        super().__init__(hub)
        self.config = config
        self.stats = OvmsStats()
        self.active_every = active_every
        self._cars: list[_Car] = []
        self._by_device: dict[tuple[str, str], _Car] = {}
        for car in config.cars:
            check_car(hub, car.home, car.device, feeds="an OVMS module feeds a car")
            entry = _Car(
                car,
                car.topics(config.client_id),
                CarMetrics(
                    distance=car.units.distance,
                    temperature=car.units.temperature,
                    right_hand_drive=car.right_hand_drive,
                ),
            )
            self._cars.append(entry)
            self._by_device[(car.home, car.device)] = entry
        # the longest prefix first: a topic belongs to the car whose prefix says the most
        self._cars.sort(key=lambda c: len(c.topics.prefix), reverse=True)
        self._link = MqttLink(
            config.url,
            **config.login("ovms"),
            subscriptions=[t for c in self._cars for t in (c.topics.metrics, c.topics.responses)],
            on_message=self._on_message,
            on_up=self._on_up,
            on_down=self._on_down,
            version=protocol,
            backoff=backoff,
            connect_timeout=connect_timeout,
            clock=hub.clock,
        )
        self._active: asyncio.Task[None] | None = None
        self._subscriptions: list[Subscription] = []

    async def __aenter__(self) -> Self:
        for car in self._cars:
            car.pin = car.config.read_pin()  # a PIN file that cannot be read stops the start
        # the results of its cars' commands only, closed when it stops
        self._subscriptions = [
            self._hub.bus.subscribe(self._forget, kind=Result, home=car.home, device=car.device)
            for car in self._cars
        ]
        await self._link.__aenter__()
        if self.config.active:
            self._active = asyncio.create_task(self._stay_active(), name="ovms-active")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._active is not None:
            self._active.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._active
            self._active = None
            self._tell_active(b"0")
        for subscription in self._subscriptions:
            subscription.close()
        self._subscriptions = []
        await self._link.__aexit__(et, e, tb)

    def _on_up(self) -> None:
        self._hub.commands.attach(CONNECTOR, self)
        if self.config.active:
            self._tell_active(b"1")

    def _on_down(self) -> None:
        self._hub.commands.detach(CONNECTOR)
        self._unseen(self._cars)

    async def _stay_active(self) -> None:
        while True:
            await self._hub.clock.sleep(self.active_every)
            self._tell_active(b"1")

    def _tell_active(self, value: bytes) -> None:
        for car in self._cars:
            with contextlib.suppress(ConnectorError):  # down: said again when it is up
                self._link.publish(car.topics.active, value, qos=0)

    # -- commands out ---------------------------------------------------------------------

    async def deliver(self, command: Command) -> None:
        """Publish ``command`` to its car's module once (``Transport``); ``ConnectorError``
        while it cannot go (the module or the link is away, or it is past its expiry)."""
        car = self._by_device.get((command.home, command.device))
        if car is None:
            self._refuse(command, "no OVMS module is configured for this car (ovms.cars)")
            return
        if command.id in car.published or command.status is not CommandStatus.QUEUED:
            return  # it went once: a module runs every copy it gets, so it never goes again
        if command.signature is not None:
            self._refuse(
                command,
                "an OVMS module cannot verify carhome's end-to-end signatures, so a signed"
                " command is not passed on; nothing was sent",
            )
            return
        if not is_command_id(command.id):
            self._refuse(command, "its id cannot name an OVMS command topic (letters, digits, '_.-')")
            return
        try:
            text = shell_command(command, car.pin)
        except Unsupported as exc:
            self._refuse(command, str(exc))
            return
        if command.expires <= self._hub.clock.time():
            raise ConnectorError(f"command {command.id} is past its expiry; it is not sent")
        if self._hub.available(car.home, car.device) is not True:
            raise ConnectorError(
                f"the OVMS module of {car.home}/{car.device} is not connected to the broker;"
                " the command waits for it until its expiry"
            )
        # QoS 0: a broker keeps no copy for a module that went away, to hand over late
        self._link.publish(car.topics.command(command.id), text.encode(), qos=0)
        car.published.add(command.id)
        self.stats.commands += 1

    def _refuse(self, command: Command, reason: str) -> None:
        self.stats.refused += 1
        self._hub.ack(command.home, command.device, Ack(command.id, "failed", error=reason))

    def _forget(self, result: Result) -> None:
        if not result.final:
            return
        car = self._by_device.get((result.home, result.device))
        if car is not None:
            car.published.discard(result.command.id)

    # -- messages in ----------------------------------------------------------------------

    def _on_message(self, raw_topic: str | bytes, payload: bytes, retained: bool) -> None:
        topic = raw_topic.decode(errors="replace") if isinstance(raw_topic, bytes) else raw_topic
        for car in self._cars:
            found = car.topics.parse(topic)
            if found is not None:
                break
        else:
            return  # not a topic of a configured module
        self.stats.received += 1
        kind, rest = found
        if kind == "response":
            self._on_answer(car, rest, payload)
        elif rest == _CONNECTED_TOPIC:
            self._on_connected(car, payload)
        else:
            self._on_metric(car, rest, payload)

    def _on_metric(self, car: _Car, path: str, payload: bytes) -> None:
        metric = car.metrics.find(path)
        if metric is None:
            self.stats.unmapped += 1
            return
        if not payload:
            return  # a retained value cleared: nothing is known, nothing to say
        if len(payload) > self.config.max_payload:
            self._reject(
                car,
                "too_large",
                f"metric {metric.metric}: {len(payload)} bytes, more than the {self.config.max_payload}"
                " carhome reads (ovms.max_payload)",
            )
            return
        try:
            values = car.metrics.decode(path, payload.decode())
        except UnicodeDecodeError:
            self._reject(car, "bad_value", f"metric {metric.metric}: the value is not UTF-8 text")
            return
        except MetricError as exc:
            self._reject(car, exc.code, f"metric {metric.metric}: {exc.reason}")
            return
        self._report(car, values, SOURCE)

    def _on_connected(self, car: _Car, payload: bytes) -> None:
        if not payload:
            return  # a cleared retained status: nothing is known
        online = _STATUS.get(payload)
        if online is None:
            self._reject(car, "bad_status", "metric s.v3.connected: not yes or no")
            return
        self._hub.set_available(car.home, car.device, online)
        if online and self._link.connected:
            # attach again: the router then delivers what waited for the module
            self._hub.commands.attach(CONNECTOR, self)

    def _on_answer(self, car: _Car, command_id: str, payload: bytes) -> None:
        # The router matches the id to a command of this car still waiting (one sent before
        # a restart too) and ignores any other: late, already answered, or not this car's.
        answer = payload[: self.config.max_payload].decode(errors="replace")
        decided = self._hub.ack(car.home, car.device, ack_of(command_id, answer))
        if decided is None:
            self.stats.stray_answers += 1
        else:
            self.stats.answers += 1
        car.published.discard(command_id)
