"""The Home Assistant bridge: every home's devices in Home Assistant, through MQTT discovery.

For each device of the hub it publishes one retained device-level discovery message
(``{prefix}/device/{node}/config``) built from the entities Home Assistant is offered
(``offer``: the descriptions, cut to the commands the access policy lets the
``homeassistant`` face send), the device's state JSON and the topics some entities have of
their own (retained, coalesced: one message each per device per turn of the event loop
however many properties a report changed) and its availability. Home Assistant's commands
arrive on ``carhome/{home}/{device}/ha/cmd/{entity}/{facet}``; each becomes carhome
commands submitted as the configured member with face ``homeassistant``, so the hub's
gatekeeper decides them like any other face's — also one for an entity Home Assistant was
not offered, so a refusal is on record.

A command from Home Assistant that does not succeed is reported back to it: the device's
``command_result`` event entity gets ``refused`` (the gatekeeper's reason), ``rejected``
(a payload or value that makes no command), ``failed`` (the device's answer) or
``expired`` (no answer in time), with the command and the reason. Home Assistant answers
every service call that publishes with success; this is where its user sees otherwise.

It listens on the hub's bus for every device it publishes — property changes, availability,
and the results of commands — through subscriptions it closes when it stops.

It republishes everything when its link comes up and when Home Assistant says
``online`` on ``{prefix}/status``. ``sync()`` publishes devices added since and clears
(empty retained config) those removed; at start it also clears retained configs of its
own nodes that the hub no longer has, so a device removed while the bridge was down
goes too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Final, Self

import msgspec

from carhome.backoff import Backoff
from carhome.connectors.homeassistant.discovery import (
    OFFLINE,
    ONLINE,
    device_config,
    own_payloads,
    state_payload,
    values,
)
from carhome.connectors.homeassistant.entities import EntityDescription, Request, describe
from carhome.connectors.homeassistant.offer import offered
from carhome.connectors.homeassistant.schema import DiscoveryInvalid, check_config
from carhome.drivers.execution import Tasks
from carhome.errors import CommandDenied, CommandError, ConnectorError, UnknownDevice
from carhome.hub import Availability, Change, CommandStatus, Device, Hub, Result, Subscription
from carhome.hub.model import check_name
from carhome.mqtt import discovery_topics as topics
from carhome.mqtt.link import MqttLink, MqttVersion

log: Final = logging.getLogger(__name__)

FACE: Final = "homeassistant"


class BridgeStats(msgspec.Struct):
    """What the bridge has done since it was made."""

    configs: int = 0
    """Discovery messages published (republishes included)."""
    removed: int = 0
    """Devices whose discovery message was cleared."""
    states: int = 0
    """State messages published."""
    republished: int = 0
    """Times Home Assistant said ``online`` and got everything again."""
    commands: int = 0
    """carhome commands accepted from Home Assistant."""
    denied: int = 0
    """Commands the gatekeeper refused."""
    rejected: int = 0
    """Command messages that made no sense (unknown entity, bad payload, invalid command)."""
    failed: int = 0
    """Accepted commands from Home Assistant that failed at the device or expired."""
    reported: int = 0
    """Refusals, rejections, failures and expiries reported back to Home Assistant."""


class HomeAssistantBridge:
    """Publishes a hub's homes to Home Assistant over MQTT; an async context manager."""

    def __init__(
        self,
        hub: Hub,
        url: str = "mqtt://127.0.0.1:1883",
        *,
        member: str,
        discovery_prefix: str = "homeassistant",
        bridge_id: str = "carhome",
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        protocol: MqttVersion = 311,
        keepalive: int = 30,
        backoff: Backoff | None = None,
        command_ttl: float = 30.0,
    ) -> None:
        check_name("bridge", bridge_id)
        self.hub = hub
        self.member = member
        self.prefix = discovery_prefix
        self.bridge_id = bridge_id
        self.command_ttl = command_ttl
        self.stats = BridgeStats()
        self.status_topic = topics.bridge_status_topic(bridge_id)
        self._ha_status = topics.ha_status_topic(discovery_prefix)
        self._config_filter = topics.config_filter(discovery_prefix)
        self._link = MqttLink(
            url,
            clock=hub.clock,
            client_id=client_id or f"carhome-ha-{bridge_id}",
            status_topic=self.status_topic,
            on_message=self._on_message,
            subscriptions=(self._ha_status, topics.COMMAND_FILTER, self._config_filter),
            on_up=self.publish_all,
            username=username,
            password=password,
            version=protocol,
            keepalive=keepalive,
            backoff=backoff,
        )
        self._entities: dict[str, dict[str, EntityDescription]] = {}
        self._described: dict[str, dict[str, EntityDescription]] = {}
        self._published: set[tuple[str, str]] = set()
        self._own_leaves: dict[tuple[str, str], set[str]] = {}
        self._stale: set[str] = set()
        self._dirty: set[tuple[str, str]] = set()
        self._flush_scheduled = False
        self._subscriptions: list[Subscription] = []
        self._open = False
        self._tasks = Tasks()

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._open = True
        # Every device of every home is published, so every one is listened to.
        bus = self.hub.bus
        self._subscriptions = [
            bus.subscribe(self._changed),
            bus.subscribe(self._availability, kind=Availability),
            bus.subscribe(self._finished, kind=Result),
        ]
        try:
            await self._link.__aenter__()
        except BaseException:
            self._close_local()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close_local()
        await self._tasks.cancel()
        # Configs stay retained: Home Assistant keeps the entities, shown unavailable
        # because the link's will and goodbye say the bridge is offline.
        await self._link.__aexit__(et, e, tb)

    def _close_local(self) -> None:
        self._open = False
        for subscription in self._subscriptions:
            subscription.close()
        self._subscriptions = []

    @property
    def connected(self) -> bool:
        return self._link.connected

    async def drain(self) -> None:
        """Wait until every command received so far from Home Assistant is submitted or refused."""
        await self._tasks.settle()

    # -- discovery ------------------------------------------------------------------------

    def node(self, home: str, device: str) -> str:
        return topics.node_id(self.bridge_id, home, device)

    def entities(self, home: str, device: str) -> dict[str, EntityDescription]:
        """The entities Home Assistant is offered for a device, by key."""
        spec = self.hub.spec(home, device)
        found = self._entities.get(spec.type)
        if found is None:
            found = self._entities[spec.type] = {e.key: e for e in offered(spec)}
        return found

    def _commanded(self, home: str, device: str, key: str) -> EntityDescription | None:
        """The entity a command topic names: offered, or one the offer cut (the gatekeeper decides)."""
        found = self.entities(home, device).get(key)
        if found is not None and found.commands:
            return found
        spec = self.hub.spec(home, device)
        described = self._described.get(spec.type)
        if described is None:
            described = self._described[spec.type] = {e.key: e for e in describe(spec)}
        return described.get(key, found)

    def config(self, device: Device) -> bytes:
        """The discovery message of ``device``, checked against Home Assistant's schema."""
        payload = device_config(
            device,
            self.hub.spec(device.home, device.id),
            self.entities(device.home, device.id),
            node=self.node(device.home, device.id),
            bridge_status=self.status_topic,
        )
        check_config(payload)
        return payload

    def publish_all(self) -> None:
        """(Re)publish every device's config, state and availability; clear removed ones."""
        if not self._link.connected:
            return
        try:
            self._link.publish(self.status_topic, ONLINE.encode(), qos=1, retain=True)
            for device in self.hub.devices():
                self._publish_device(device)
            self._clear_gone()
            self._clear_stale()
        except ConnectorError as exc:
            # The link went down midway; it calls this again when it is back up.
            log.warning("publishing to Home Assistant stopped: %s", exc)

    def sync(self) -> None:
        """Publish devices the hub gained and clear those it lost since the last call."""
        if not self._link.connected:
            return  # publish_all runs when the link comes back up
        try:
            for device in self.hub.devices():
                if (device.home, device.id) not in self._published:
                    self._publish_device(device)
            self._clear_gone()
        except ConnectorError as exc:
            log.warning("syncing devices to Home Assistant stopped: %s", exc)

    def _publish_device(self, device: Device) -> None:
        try:
            payload = self.config(device)
        except DiscoveryInvalid:
            log.exception("device %s/%s is not published to Home Assistant", device.home, device.id)
            return
        node = self.node(device.home, device.id)
        self._link.publish(topics.config_topic(self.prefix, node), payload, qos=1, retain=True)
        self.stats.configs += 1
        self._published.add((device.home, device.id))
        self._publish_availability(device.home, device.id, self.hub.available(device.home, device.id))
        self._publish_state(device.home, device.id)

    def _clear_gone(self) -> None:
        present = {(d.home, d.id) for d in self.hub.devices()}
        for home, device in sorted(self._published - present):
            self._clear(self.node(home, device))
            for topic in (topics.state_topic(home, device), topics.availability_topic(home, device)):
                self._link.publish(topic, b"", qos=1, retain=True)
            for leaf in self._own_leaves.pop((home, device), ()):
                self._link.publish(topics.own_topic(home, device, leaf), b"", qos=1, retain=True)
            self._published.discard((home, device))

    def _clear(self, node: str) -> None:
        self._link.publish(topics.config_topic(self.prefix, node), b"", qos=1, retain=True)
        self.stats.removed += 1

    # -- state and availability -----------------------------------------------------------

    def _changed(self, change: Change) -> None:
        self._dirty.add((change.home, change.device))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, set()
        if not self._open or not self._link.connected:
            return  # publish_all sends every state when the link is back
        for home, device in dirty:
            if (home, device) in self._published:
                self._publish_state(home, device)

    def _publish_state(self, home: str, device: str) -> None:
        try:
            spec, states = self.hub.spec(home, device), self.hub.state(home, device)
            state = state_payload(spec, states)
            self._link.publish(topics.state_topic(home, device), state, qos=1, retain=True)
            for leaf, payload in own_payloads(self.entities(home, device), values(spec, states)):
                self._link.publish(topics.own_topic(home, device, leaf), payload, qos=1, retain=True)
                self._own_leaves.setdefault((home, device), set()).add(leaf)
        except (UnknownDevice, ConnectorError) as exc:
            log.debug("state of %s/%s not published: %s", home, device, exc)
            return
        self.stats.states += 1

    def _availability(self, seen: Availability) -> None:
        home, device = seen.home, seen.device
        if self._open and self._link.connected and (home, device) in self._published:
            self._publish_availability(home, device, seen.online)

    def _publish_availability(self, home: str, device: str, online: bool | None) -> None:
        # Unknown (no connector has said yet) counts as online: the entities then show
        # "unknown" values rather than hiding a device that may be fine.
        word = OFFLINE if online is False else ONLINE
        with contextlib.suppress(ConnectorError):
            self._link.publish(topics.availability_topic(home, device), word.encode(), qos=1, retain=True)

    # -- messages from Home Assistant -----------------------------------------------------

    def _on_message(self, topic: str | bytes, payload: bytes, retained: bool) -> None:
        if isinstance(topic, bytes):
            topic = topic.decode("utf-8", errors="replace")
        if topic == self._ha_status:
            # A retained "online" is history, not a restart; we published on connecting.
            if payload == ONLINE.encode() and not retained:
                self.stats.republished += 1
                self.publish_all()
            return
        if topic.startswith(f"{self.prefix}/device/"):
            self._seen_config(topic, payload, retained)
            return
        parsed = topics.CommandTopic.parse(topic)
        if parsed is not None:
            self._command(parsed, payload)

    def _seen_config(self, topic: str, payload: bytes, retained: bool) -> None:
        """A retained config of one of our nodes for a device the hub no longer has: clear it."""
        node = topic.split("/")[-2]
        if not retained or not payload or not node.startswith(f"{self.bridge_id}_"):
            return
        # Retained messages can arrive while the link is still connecting, before it can
        # publish; publish_all clears what was seen then.
        self._stale.add(node)
        if self._link.connected:
            self._clear_stale()

    def _clear_stale(self) -> None:
        present = {self.node(d.home, d.id) for d in self.hub.devices()}
        stale, self._stale = self._stale - present, set()
        for node in sorted(stale):
            log.info("clearing Home Assistant config of %s: the hub has no such device", node)
            self._clear(node)

    def _command(self, topic: topics.CommandTopic, payload: bytes) -> None:
        try:
            entity = self._commanded(topic.home, topic.device, topic.key)
            command = None if entity is None else entity.commands.get(topic.option)
            if entity is None or command is None:
                raise ValueError(f"no entity {topic.key!r} taking {topic.option}")
            requests = command(payload.decode("utf-8"))
        except UnknownDevice as exc:
            self.stats.rejected += 1
            log.warning("command from Home Assistant for %s/%s rejected: %s", topic.home, topic.device, exc)
            return
        except ValueError as exc:  # UnicodeDecodeError included
            self.stats.rejected += 1
            log.warning("command from Home Assistant for %s/%s rejected: %s", topic.home, topic.device, exc)
            self._report(topic.home, topic.device, "rejected", topic.key, str(exc))
            return
        self._tasks.spawn(self._submit(topic.home, topic.device, requests), f"ha-command-{topic.device}")

    async def _submit(self, home: str, device: str, requests: tuple[Request, ...]) -> None:
        # In order, one after another: "heat" is "set mode" then "set on".
        for request in requests:
            try:
                await self.hub.submit(
                    home,
                    device,
                    request.kind,
                    request.target,
                    request.args,
                    member=self.member,
                    face=FACE,
                    ttl=self.command_ttl,
                )
            except CommandDenied as exc:
                self.stats.denied += 1
                log.warning("Home Assistant command denied: %s", exc)
                self._report(home, device, "refused", request.target, str(exc))
                return
            except (CommandError, UnknownDevice) as exc:
                self.stats.rejected += 1
                log.warning("Home Assistant command for %s/%s rejected: %s", home, device, exc)
                self._report(home, device, "rejected", request.target, str(exc))
                return
            self.stats.commands += 1

    # -- what became of them --------------------------------------------------------------

    def _finished(self, result: Result) -> None:
        """A command reached its end; one of Home Assistant's that did not succeed is reported."""
        command = result.command
        if (
            not result.final
            or command.face != FACE
            or command.member != self.member
            or result.status is CommandStatus.ACKED
        ):
            return
        self.stats.failed += 1
        word = "expired" if result.status is CommandStatus.EXPIRED else "failed"
        reason = command.error or ("no answer from the device in time" if word == "expired" else "failed")
        self._report(command.home, command.device, word, command.target, reason, command_id=command.id)

    def _report(
        self, home: str, device: str, result: str, target: str, reason: str, *, command_id: str | None = None
    ) -> None:
        """Tell Home Assistant what became of a command (the ``command_result`` event entity)."""
        if not self._open or not self._link.connected or (home, device) not in self._published:
            return  # an event is news, not state: nobody would read it later
        event = {"event_type": result, "command": target, "reason": reason}
        if command_id is not None:
            event["id"] = command_id
        with contextlib.suppress(ConnectorError):
            self._link.publish(
                topics.own_topic(home, device, topics.RESULT), msgspec.json.encode(event), qos=1, retain=False
            )
            self.stats.reported += 1
