"""The hub's Zigbee2MQTT connector: a bridge's devices in, commands out through ``/set``.

It subscribes ``<base>/#`` on the bridge's broker and handles each message in order, one at
a time, in a task it owns:

- ``bridge/devices``: every device with a definition becomes a hub device of the configured
  home (``zigbee-<ieee>``, named and placed in a room by its friendly name) with its own
  spec made from its exposes (``mapping``); a device that left the list leaves the hub.
  Until the first list has come, messages of devices not known yet wait for it.
- ``<friendly_name>``: the state, converted and handed to ``Hub.report`` (which checks each
  value against the spec); a button's ``action`` is also reported as the device's event
  (``Hub.event``), which automations and every other subscriber find on the hub's bus.
- ``<friendly_name>/availability`` and ``bridge/state``: online/offline; while the bridge
  is offline, every one of its devices is.

Bad input — a device list, device or expose that is malformed, a state or availability of a
device the bridge never listed, a value its spec refuses — is rejected with its reason
through the hub's rejection log (counted, logged once per cause); the rest carries on. Keys
a state carries that the device does not expose (``last_seen``, ``color_mode`` …) are only
counted (``stats.ignored_values``).

It is the hub's ``Transport`` for devices whose connector is ``zigbee2mqtt``. Zigbee2MQTT
does not acknowledge commands, so a command is acknowledged when a state message of the
device shows the value it wrote (or, for ``toggle`` and a cover's ``stop``, any report of
it; a cover on its way confirms ``open``/``close``), and fails when none does within
``confirm_timeout``. A value the device never reports (write-only) is acknowledged once
sent, saying it was not confirmed. Nothing is published at or past a command's expiry, and
no command id is published twice: one already sent (before a restart too) is only waited
for. A lock is unlocked only when an owner trusts it (``trusted_locks``): it cannot verify
the member's signature.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, Self

import msgspec

from carhome.backoff import Backoff
from carhome.clock import Clock
from carhome.connectors.zigbee2mqtt.config import Zigbee2MqttConfig
from carhome.connectors.zigbee2mqtt.confirmations import Confirmations, Expectation, Status
from carhome.connectors.zigbee2mqtt.listing import Known, read_list
from carhome.connectors.zigbee2mqtt.mapping import DeviceMap
from carhome.connectors.zigbee2mqtt.names import TYPE_PREFIX
from carhome.connectors.zigbee2mqtt.payloads import (
    MAX_DEVICES_PAYLOAD,
    MAX_PAYLOAD,
    Kind,
    decode_groups,
    decode_online,
    decode_state,
    route,
)
from carhome.drivers.execution import RunStats, Tasks
from carhome.errors import ConfigError, ConnectorError, InvalidChange
from carhome.hub import Ack, Command, CommandStatus, Device, Hub
from carhome.mqtt.link import BrokerUrl, Heartbeat, MqttLink
from carhome.mqtt.malformed import MalformedMessage
from carhome.mqtt.topics import hub_heartbeat_topic, hub_status_topic
from carhome.spec import Access

log: Final = logging.getLogger(__name__)

CONNECTOR: Final = "zigbee2mqtt"
SOURCE: Final = "zigbee2mqtt"
BRIDGE: Final = "zigbee2mqtt-bridge"
"""The device named in rejections of the bridge's own messages (no hub device has it)."""
MAX_QUEUE: Final = 10_000
"""Messages waiting to be handled; past it, new ones are refused (``overloaded``)."""
MAX_EARLY: Final = 2_000
"""Messages of devices not known yet kept until the first device list comes."""
REMEMBERED: Final = 1_000
"""Results of finished commands kept to answer a redelivery."""

Owners = Callable[[str, str], bool]
"""``owners(home, member)``: whether ``member`` is an owner of ``home`` now (not revoked)."""
DevicesListener = Callable[[list[Device]], None]


class Zigbee2MqttStats(RunStats):
    """What the connector has seen and done since it was made."""

    received: int = 0
    """Messages handled on the bridge's topics."""
    rejected: int = 0
    """Messages or device-list entries refused whole."""
    rejected_values: int = 0
    """Single values refused inside otherwise good state messages."""
    ignored_values: int = 0
    """Keys of state messages that the device does not expose."""
    device_lists: int = 0


class Zigbee2MqttConnector:
    """Connects a hub to a Zigbee2MQTT bridge; an async context manager."""

    def __init__(
        self,
        hub: Hub,
        config: Zigbee2MqttConfig,
        *,
        owners: Owners | None = None,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        heartbeat: float = 5.0,
    ) -> None:
        self._hub = hub
        self._config = config
        self._home = config.home
        self._base = config.base_topic
        self._owners = owners
        self._clock = clock or hub.clock
        self.stats = Zigbee2MqttStats()
        self._trusted = {t.ieee: t.owner for t in config.trusted_locks if t.ieee is not None}
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._by_name: dict[str, Known] = {}
        self._by_id: dict[str, Known] = {}
        self._not_brought: set[str] = set()
        self._groups: set[str] = set()
        self._early: OrderedDict[str, bytes] = OrderedDict()
        self._listed = False
        self._bridge_online: bool | None = None
        self._online: dict[str, bool] = {}
        self._confirmations = Confirmations(self._clock, config.confirm_timeout, self._finish)
        self._done: OrderedDict[str, Ack] = OrderedDict()
        self._devices_listeners: list[DevicesListener] = []
        self._tasks = Tasks()
        link_id = f"carhome-zigbee2mqtt-{config.home}"[:63]
        self._link = MqttLink(
            BrokerUrl.parse(config.url),
            client_id=link_id,
            status_topic=hub_status_topic(link_id),
            subscriptions=(f"{self._base}/#",),
            on_message=self._on_message,
            on_up=lambda: hub.commands.attach(CONNECTOR, self),
            on_down=lambda: hub.commands.detach(CONNECTOR),
            username=config.username,
            password=config.password,
            backoff=backoff,
            heartbeat=Heartbeat(hub_heartbeat_topic(link_id), heartbeat, 3 * heartbeat),
            clock=self._hub.clock,
        )

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._check_trust()
        self._hub.home(self._home)  # UnknownDevice if the home is not the hub's
        self._tasks.spawn(self._work(), "zigbee2mqtt-messages")
        try:
            await self._link.__aenter__()
        except BaseException:
            await self._tasks.cancel()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._link.__aexit__(et, e, tb)
        await self._tasks.cancel()
        await self._confirmations.close()

    def _check_trust(self) -> None:
        if not self._trusted:
            return
        if self._owners is None:
            raise ConfigError("zigbee2mqtt.trusted_locks needs the hub's members to check each owner")
        for ieee, owner in self._trusted.items():
            if not self._is_owner(owner):
                raise ConfigError(
                    f"zigbee2mqtt.trusted_locks: lock {ieee} is not trusted: {owner!r} is not an owner"
                    f" of {self._home!r}; name an owner of that home"
                )
            log.warning(
                "Zigbee lock %s may be unlocked without a signature it can verify, as %s chose", ieee, owner
            )

    def _is_owner(self, member_id: str) -> bool:
        return self._owners is not None and self._owners(self._home, member_id)

    @property
    def connected(self) -> bool:
        return self._link.connected

    def deafness(self) -> str | None:
        """Why no message of the bridge can arrive now, or ``None``."""
        return self._link.deafness()

    def on_devices(self, listener: DevicesListener) -> None:
        """Call ``listener`` with the hub devices of the bridge after each device list."""
        self._devices_listeners.append(listener)

    def device_map(self, device: str) -> DeviceMap:
        """How the hub device ``device`` of the bridge is mapped (``KeyError`` if it is none)."""
        return self._by_id[device].map

    # -- messages in ----------------------------------------------------------------------

    def _on_message(self, topic: str | bytes, payload: bytes, retained: bool) -> None:
        if isinstance(topic, bytes):
            topic = topic.decode("utf-8", errors="replace")
        found = route(self._base, topic)
        if found is None:
            return
        limit = MAX_DEVICES_PAYLOAD if found.kind is Kind.DEVICES else MAX_PAYLOAD
        if len(payload) > limit:
            self._reject(
                None, "too_large", f"a message of {len(payload)} bytes on {topic[:120]} (at most {limit})"
            )
            return
        if len(self._queue) >= MAX_QUEUE:
            self._reject(None, "overloaded", f"{MAX_QUEUE} messages wait already; {topic[:120]} was dropped")
            return
        self._queue.append((topic, bytes(payload)))
        self._wake.set()

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                topic, payload = self._queue.popleft()
                try:
                    await self._handle(topic, payload)
                except Exception:  # one message must never stop the others
                    log.exception("Zigbee2MQTT message on %s could not be handled", topic[:120])

    async def _handle(self, topic: str, payload: bytes) -> None:
        found = route(self._base, topic)
        if found is None:  # pragma: no cover - routed once already
            return
        self.stats.received += 1
        try:
            if found.kind is Kind.DEVICES:
                await self._apply_devices(payload)
            elif found.kind is Kind.BRIDGE_STATE:
                self._apply_bridge_state(payload)
            elif found.kind is Kind.GROUPS:
                self._groups = set(decode_groups(payload))
            else:
                self._device_message(found.kind, found.name, topic, payload)
        except MalformedMessage as exc:
            self._reject(None, exc.code, f"{topic[:120]}: {exc.reason}")

    def _device_message(self, kind: Kind, name: str, topic: str, payload: bytes) -> None:
        if not payload.strip():
            return  # a retained message cleared (a device renamed or removed): nothing to say
        known = self._by_name.get(name)
        if known is None:
            if name in self._not_brought or name in self._groups:
                return
            if not self._listed:
                self._keep_early(topic, payload)
                return
            self._reject(
                None,
                "unknown_device",
                f"{name[:80]!r} is not a device of the bridge's list (bridge/devices)",
            )
            return
        if kind is Kind.AVAILABILITY:
            self._apply_availability(known, payload)
        else:
            self._apply_state(known, payload)

    def _keep_early(self, topic: str, payload: bytes) -> None:
        self._early[topic] = payload
        self._early.move_to_end(topic)
        if len(self._early) > MAX_EARLY:
            self._early.popitem(last=False)

    def _reject(self, device: str | None, code: str, reason: str) -> None:
        """Refuse a message or entry whole: of ``device``, or of the bridge (``None``)."""
        self.stats.rejected += 1
        self._hub.rejections.record(
            InvalidChange(home=self._home, device=device or BRIDGE, prop=None, code=code, reason=reason)
        )

    # -- the device list ------------------------------------------------------------------

    async def _apply_devices(self, payload: bytes) -> None:
        listing = read_list(payload, home=self._home, connector=CONNECTOR)
        for problem in listing.problems:
            self._reject(problem.device, problem.code, problem.reason)
        listed, not_brought = listing.listed, listing.not_brought
        by_id = {k.device.id: k for k in listed.values()}
        for known in listed.values():
            old = self._by_id.get(known.device.id)
            if old is None or old.device != known.device or old.map.spec != known.map.spec:
                await self._hub.add_device(known.device, spec=known.map.spec)
        for device in self._hub.devices(self._home):
            if (
                device.connector == CONNECTOR
                and device.type.startswith(TYPE_PREFIX)
                and device.id not in by_id
            ):
                log.info("Zigbee device %s left the bridge's list; removed from %s", device.id, self._home)
                await self._hub.remove_device(self._home, device.id)
        self._by_name, self._by_id, self._not_brought = listed, by_id, not_brought
        self.stats.device_lists += 1
        for known in listed.values():
            self._tell_availability(known)
        if not self._listed:
            self._listed = True
            early, self._early = self._early, OrderedDict()
            for topic, held in early.items():
                found = route(self._base, topic)
                if found is not None:
                    self._device_message(found.kind, found.name, topic, held)
            if self._link.connected:
                self._tasks.spawn(self._hub.commands.redeliver(CONNECTOR), "zigbee2mqtt-redeliver")
        devices = [k.device for k in listed.values()]
        for listener in self._devices_listeners:
            try:
                listener(devices)
            except Exception:
                log.exception("a Zigbee2MQTT device list listener failed")

    # -- availability ---------------------------------------------------------------------

    def _apply_bridge_state(self, payload: bytes) -> None:
        online = decode_online(payload)
        if online is None:
            return
        if online != self._bridge_online:
            log.info("the Zigbee2MQTT bridge of %s is %s", self._home, "online" if online else "offline")
        self._bridge_online = online
        for known in self._by_id.values():
            self._tell_availability(known)

    def _apply_availability(self, known: Known, payload: bytes) -> None:
        try:
            online = decode_online(payload)
        except MalformedMessage as exc:
            self._reject(known.device.id, exc.code, f"{known.friendly_name[:80]}/availability: {exc.reason}")
            return
        if online is not None:
            self._online[known.device.id] = online
            self._tell_availability(known)

    def _tell_availability(self, known: Known) -> None:
        """Offline while the bridge is; else what the device said last (online when
        Zigbee2MQTT's availability feature is off and the bridge is up)."""
        if self._bridge_online is False:
            online: bool | None = False
        else:
            online = self._online.get(known.device.id, True if self._bridge_online else None)
        if online is not None:
            self._hub.set_available(self._home, known.device.id, online)

    # -- states ---------------------------------------------------------------------------

    def _apply_state(self, known: Known, payload: bytes) -> None:
        try:
            message = decode_state(payload)
        except MalformedMessage as exc:
            self._reject(known.device.id, exc.code, f"{known.friendly_name[:80]}: {exc.reason}")
            return
        decoded = known.map.decode(message)
        self.stats.ignored_values += decoded.ignored
        for prop, problem in decoded.problems:
            self.stats.rejected_values += 1
            self._hub.rejections.record(
                InvalidChange(
                    home=self._home,
                    device=known.device.id,
                    prop=prop,
                    code=problem.code,
                    reason=problem.reason,
                    allowed=problem.allowed,
                )
            )
        now = self._clock.time()
        report = self._hub.report(self._home, known.device.id, decoded.values, ts=now, source=SOURCE)
        self.stats.rejected_values += len(report.rejected)
        refused = {r.prop for r in report.rejected}
        accepted = {p: v for p, v in decoded.values.items() if p not in refused}
        for name, fields in known.map.events_in(accepted):
            self._hub.event(self._home, known.device.id, name, fields, ts=now, source=SOURCE)
        if accepted:
            self._confirmations.reported(known.device.id, accepted)

    # -- commands out ---------------------------------------------------------------------

    async def deliver(self, command: Command) -> None:
        """Publish ``command`` on its device's ``/set`` topic (``Transport``); the ack
        follows when a state shows it done, or when none does in time."""
        done = self._done.get(command.id)
        if done is not None:  # a redelivery of what finished: answer again, send nothing
            self._hub.ack(command.home, command.device, done)
            return
        if command.id in self._confirmations:
            return  # sent already: never twice
        known = self._by_id.get(command.device) if command.home == self._home else None
        if known is None and not self._listed:
            # Redelivered once the list has come (the hub may hand over what waited for us
            # before the bridge's retained list arrived).
            raise ConnectorError(f"waiting for the Zigbee2MQTT bridge's device list to send {command.id}")
        if known is None:
            where = f"{command.home}/{command.device}"
            self._finish(
                command, "failed", error=f"{where} is not in the Zigbee2MQTT bridge's device list now"
            )
            return
        now = self._clock.time()
        if now >= command.expires:
            self._finish(command, "expired", error="expired before it could be sent to Zigbee2MQTT")
            return
        try:
            payload, expectation = self._prepare(known, command)
        except _Refused as exc:
            self._finish(command, "failed", error=exc.reason)
            return
        if command.status is CommandStatus.QUEUED:
            topic = f"{self._base}/{known.friendly_name}/set"
            self._link.publish(topic, msgspec.json.encode(payload), qos=1)  # ConnectorError: it waits queued
            self.stats.delivered += 1
        else:  # sent before this connector started (the hub restarted): wait, never resend
            log.info("command %s was sent to Zigbee2MQTT before; waiting for its state", command.id)
        if expectation is None:
            self._finish(command, "acked", {"sent": payload, "confirmed": False})
        else:
            self._confirmations.wait(command, known.device.id, known.friendly_name, expectation)

    def _prepare(self, known: Known, command: Command) -> tuple[dict[str, Any], Expectation | None]:
        """The ``/set`` payload, and what will confirm it (``None``: nothing can)."""
        mapped = known.map
        if command.kind == "set":
            leaf = mapped.leaves.get(command.target)
            if leaf is None or not leaf.prop.writable:
                raise _Refused(f"{command.target!r} is not writable on {known.friendly_name}")
            value = command.args["value"]
            readable = bool(leaf.prop.access & Access.READ)
            return mapped.encode_set(command.target, value), Expectation.of_set(
                leaf, value
            ) if readable else None
        action = mapped.actions.get(command.target)
        if action is None:
            raise _Refused(f"{known.friendly_name} has no action {command.target!r}")
        if action.unlocks:
            self._check_unlock(known)
        payload = mapped.encode_action(command.target)
        if not mapped.leaves[action.leaf].prop.access & Access.READ:
            return payload, None
        return payload, Expectation.of_action(
            action, lambda prop: self._hub.value(self._home, known.device.id, prop)
        )

    def _check_unlock(self, known: Known) -> None:
        owner = self._trusted.get(known.ieee)
        if owner is None:
            raise _Refused(
                f"{known.friendly_name} is a Zigbee lock, which cannot verify the member's signature,"
                " so carhome does not unlock it unless an owner trusts it for that: add it to"
                f" zigbee2mqtt.trusted_locks (ieee_address {known.ieee}, owner) and restart the hub"
            )
        if not self._is_owner(owner):
            raise _Refused(
                f"{known.friendly_name} was trusted to unlock by {owner}, who is no longer an owner"
                f" of {self._home}; an owner must trust it again"
            )
        log.info("unlocking Zigbee lock %s unsigned, as %s chose", known.friendly_name, owner)

    def _finish(self, command: Command, status: Status, result: Any = None, error: str | None = None) -> None:
        ack = Ack(command.id, status, result=result, error=error)
        self._done[command.id] = ack
        if len(self._done) > REMEMBERED:
            self._done.popitem(last=False)
        if status == "acked":
            self.stats.acked += 1
        elif status == "expired":
            self.stats.expired += 1
        else:
            self.stats.failed += 1
            log.info(
                "Zigbee2MQTT command %s %s on %s failed: %s",
                command.kind,
                command.target,
                command.device,
                error,
            )
        self._hub.ack(command.home, command.device, ack)


class _Refused(Exception):
    """A command the connector will not send; ``reason`` goes back in the failed ack."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
