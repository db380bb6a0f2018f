"""The hub's MQTT connector: device topics in, commands out.

It subscribes ``carhome/+/+/state|event|ack|status`` (and the key replies) at QoS 1 —
or, on the built-in broker (``one_subscription``), all of them with the one filter ``#``,
of which the broker's permissions keep away what the hub does not read (the commands it
sends itself, Home Assistant's topics: ``credentials.Access.SUBSCRIBE``); without
permissions (a broker anyone may use) what is not a device's report is ignored here.
The NATS server lets one MQTT session have 1,024 QoS 1 messages in flight, but each QoS 1
subscription's JetStream consumer 1,024 as well: with several busy subscriptions it drops
what goes past the session's limit and sends it again only after its ack wait (30 s), so
ingest stalls. No server setting helps: ``max_ack_pending`` sets both limits alike, and a
session's consumers may not sum past 65,535. One subscription is one consumer, within the
session's limit. And ``#`` is the one filter whose consumer reads the stream in order:
for any narrower one (``carhome/+/+/+`` included) the server looks up, for each message
it delivers while the consumer is behind, the first match among every subject the stream
holds (``msgBlock.firstMatching``; each device's ``cmd`` and ``ack`` is a subject), which
took half the server's CPU and held W2 at NATS QoS 1 to 0.47 of the bare rate
(``#``: 0.70). Mosquitto queues per client, not per subscription; there it subscribes
kind by kind, which its ACL file allows. It translates each message at the
edge: state → ``Hub.report_many`` (the hub checks each value against the spec, so one bad
value never sinks its neighbours), ack → ``Hub.ack``, status → ``Hub.set_available``, event
→ ``Hub.event`` (the hub checks it against the spec and publishes it on its bus, where
automations and every other subscriber find it). It takes what arrived in one read of the
socket as one batch (``MqttLink``'s ``on_batch``): each payload decoded once with msgspec,
each run of state messages applied with one ``Hub.report_many``, no task per message; a
QoS 1 message is acknowledged to the broker only once its batch was applied. Anything it
cannot decode — a bad topic, invalid JSON, a non-object — is rejected with its reason
through the hub's rejection log and counted; the stream carries on.

What it decodes is bounded: a payload larger than ``max_payload`` bytes is refused
(``too_large``) before it is decoded, one nested too deep while it is (``too_deep``, see
``payloads``). A state or event whose ``ts`` is more than ``max_ahead`` seconds ahead of the
hub's clock (``future_ts``), or more than ``max_behind`` seconds behind it (``stale_ts``), is
refused whole, as a ``ts`` that is no time at all is (``bad_ts``): its values would be
placed at a time that did not happen, ahead of everything the hub records after them.
A state message naming more than ``ONE_BY_ONE`` properties the device does not have is
applied without them, and they are rejected as one (each counted), not one by one: a
message of random names costs what its decoding costs.

It is the hub's ``Transport`` for devices whose connector is ``mqtt``: it attaches when
its link comes up (the router then redelivers what is pending) and detaches when it drops.
A device that comes back ``online`` gets its pending commands again too, since the broker
may have dropped them while it was away; devices ignore an id they already executed.

It is also the hub's ``carhome.signing.relay.KeyRelay``: ``ask`` publishes a session or
enrollment ask on the device's ``session``/``enroll`` topic and waits, up to a timeout,
for the answer with the same id on ``session_reply``/``enroll_reply``. The hub only passes
these on; what they carry is signed or tagged for the phone and the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, Self

import msgspec

from carhome.backoff import Backoff
from carhome.errors import ConnectorError, InvalidChange, UnknownDevice
from carhome.hub import Command, Hub
from carhome.mqtt.link import BrokerUrl, Heartbeat, Incoming, MqttLink, MqttVersion
from carhome.mqtt.malformed import MalformedMessage
from carhome.mqtt.payloads import (
    MAX_PAYLOAD,
    decode_ack,
    decode_event,
    decode_json,
    decode_state,
    decode_status,
    encode_command,
)
from carhome.mqtt.topics import (
    EVERY_TOPIC,
    Kind,
    Topic,
    hub_heartbeat_topic,
    hub_status_topic,
    is_device_topic,
)
from carhome.signing.relay import KeyAnswer, KeyAsk, KeyOp, Session

log: Final = logging.getLogger(__name__)

CONNECTOR: Final = "mqtt"
SOURCE: Final = "mqtt"
_REPLIES: Final = frozenset({Kind.SESSION_REPLY, Kind.ENROLL_REPLY})
_SUBSCRIBED: Final = frozenset({Kind.STATE, Kind.EVENT, Kind.ACK, Kind.STATUS, *_REPLIES})
ASK_TIMEOUT: Final = 10.0
MAX_AHEAD: Final = 60.0
"""Seconds a device's ``ts`` may run ahead of the hub's clock (clocks drift a little)."""
MAX_BEHIND: Final = 7 * 24 * 3600.0
"""Seconds a device's ``ts`` may lag the hub's clock (a device reporting what it kept offline)."""
SUBSCRIPTIONS: Final = tuple(sorted(k.filter for k in _SUBSCRIBED))
ONE_BY_ONE: Final = 16
"""Unknown properties of one state message rejected each with its own error; more are one."""
_ECHO: Final = 40

# Rejections need a home and a device; a topic that names none gets these.
_NOBODY: Final = "?"

_reply_decoder: Final = msgspec.json.Decoder(KeyAnswer)


class MqttStats(msgspec.Struct):
    """What the connector has seen since it was made."""

    received: int = 0
    """Messages on carhome's device topics."""
    states: int = 0
    """Of them, state messages (applied, in part or whole, or rejected)."""
    rejected: int = 0
    """Messages rejected whole: bad topic, undecodable payload, unknown device, bad event."""
    rejected_values: int = 0
    """Single values the hub rejected inside otherwise good state messages."""
    delivered: int = 0
    """Commands handed to the broker (redeliveries included)."""


class MqttConnector:
    """Connects a hub to an MQTT broker; an async context manager."""

    def __init__(
        self,
        hub: Hub,
        url: str = "mqtt://127.0.0.1:1883",
        *,
        client_id: str = "carhome-hub",
        hub_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        protocol: MqttVersion = 311,
        keepalive: int = 30,
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
        heartbeat: float = 5.0,
        max_payload: int = MAX_PAYLOAD,
        max_ahead: float = MAX_AHEAD,
        max_behind: float = MAX_BEHIND,
        one_subscription: bool = False,
    ) -> None:
        self._hub = hub
        self.stats = MqttStats()
        self.max_payload = max_payload
        self.max_ahead = max_ahead
        self.max_behind = max_behind
        self._asks: dict[str, tuple[str, str, asyncio.Future[KeyAnswer]]] = {}
        self._link = MqttLink(
            BrokerUrl.parse(url),
            clock=hub.clock,
            client_id=client_id,
            status_topic=hub_status_topic(hub_id or client_id),
            subscriptions=(EVERY_TOPIC,) if one_subscription else SUBSCRIPTIONS,
            on_batch=self._on_batch,
            on_up=self._on_up,
            on_down=self._on_down,
            username=username,
            password=password,
            version=protocol,
            keepalive=keepalive,
            backoff=backoff,
            connect_timeout=connect_timeout,
            # its own message through the broker every `heartbeat` s: three missed, it is deaf
            heartbeat=Heartbeat(hub_heartbeat_topic(hub_id or client_id), heartbeat, 3 * heartbeat),
        )

    @property
    def connected(self) -> bool:
        return self._link.connected

    def deafness(self) -> str | None:
        """Why the hub hears no device now (link down, heartbeat not back), or ``None``."""
        return self._link.deafness()

    @property
    def connects(self) -> int:
        """How many times the connector came up (1 after opening, +1 per reconnect)."""
        return self._link.connects

    async def __aenter__(self) -> Self:
        await self._link.__aenter__()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._link.__aexit__(et, e, tb)

    def _on_up(self) -> None:
        self._hub.commands.attach(CONNECTOR, self)

    def _on_down(self) -> None:
        self._hub.commands.detach(CONNECTOR)

    # -- commands out ---------------------------------------------------------------------

    async def deliver(self, command: Command) -> None:
        """Publish ``command`` on its device's ``cmd`` topic at QoS 1 (``Transport``)."""
        self._publish_command(command)

    def _publish_command(self, command: Command) -> None:
        topic = Topic(command.home, command.device, Kind.CMD)
        self._link.publish(str(topic), encode_command(command), qos=1)
        self.stats.delivered += 1

    def _redeliver_to(self, home: str, device: str) -> None:
        now = self._hub.clock.time()
        for command in self._hub.commands.pending():
            if command.home == home and command.device == device and command.expires > now:
                with contextlib.suppress(ConnectorError):
                    self._publish_command(command)

    # -- key asks (carhome.signing.relay) ----------------------------------------------------

    async def ask(self, home: str, device: str, op: KeyOp, *, timeout: float = ASK_TIMEOUT) -> KeyAnswer:
        """Relay ``op`` to the device and return its answer (``ConnectorError`` if none
        comes within ``timeout`` seconds: the device is offline or does not verify)."""
        self._hub.device(home, device)  # UnknownDevice for a device not in the hub
        kind = Kind.SESSION if isinstance(op, Session) else Kind.ENROLL
        ask = KeyAsk(uuid.uuid4().hex, op)
        future: asyncio.Future[KeyAnswer] = asyncio.get_running_loop().create_future()
        self._asks[ask.id] = (home, device, future)
        try:
            self._link.publish(str(Topic(home, device, kind)), msgspec.json.encode(ask), qos=1)
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise ConnectorError(
                f"{home}/{device} did not answer the {kind.value} ask within {timeout} s;"
                " is it online, and does it verify signed commands?"
            ) from None
        finally:
            self._asks.pop(ask.id, None)

    def _on_reply(self, topic: Topic, payload: bytes) -> None:
        reply = decode_json(_reply_decoder, payload, code="bad_reply", invalid=lambda r: f"key answer: {r}")
        pending = self._asks.get(reply.id)
        # only the device asked may answer: another device cannot answer for it
        if pending is None or pending[:2] != (topic.home, topic.device) or pending[2].done():
            return
        pending[2].set_result(reply)

    # -- messages in ----------------------------------------------------------------------

    def _on_batch(self, messages: list[Incoming]) -> None:
        """What arrived in one read, in order: each run of state messages applied together
        (``Hub.report_many``), any other message in its turn."""
        stats = self.stats
        states: list[tuple[str, str, Mapping[str, Any], float | None]] = []
        for raw_topic, payload, retained in messages:
            try:
                topic = Topic.parse(raw_topic)
            except MalformedMessage as exc:
                if is_device_topic(raw_topic, _SUBSCRIBED):
                    stats.received += 1
                    self._reject(_NOBODY, _NOBODY, exc.code, exc.reason)
                # else none of our business
                continue
            kind = topic.kind
            if kind is Kind.STATE:
                stats.received += 1
                stats.states += 1
                try:
                    states.append(self._state(topic, payload))
                except MalformedMessage as exc:
                    self._reject(topic.home, topic.device, exc.code, exc.reason)
                continue
            if kind not in _SUBSCRIBED:
                continue  # a cmd topic reaches us only if a broker misroutes it: not ours to read
            stats.received += 1
            if states:
                self._apply(states)
                states = []
            try:
                self._on_other(topic, payload, retained)
            except MalformedMessage as exc:
                self._reject(topic.home, topic.device, exc.code, exc.reason)
        if states:
            self._apply(states)

    def _on_other(self, topic: Topic, payload: bytes, retained: bool) -> None:
        """An ack, status, key answer or event, applied in its turn."""
        self._check_size(payload)
        kind = topic.kind
        if kind is Kind.ACK:
            self._hub.ack(topic.home, topic.device, decode_ack(payload))
        elif kind is Kind.STATUS:
            self._on_status(topic, payload, retained)
        elif kind in _REPLIES:
            self._on_reply(topic, payload)
        else:
            self._on_event(topic, payload)

    def _check_size(self, payload: bytes) -> None:
        if len(payload) > self.max_payload:
            raise MalformedMessage(
                "too_large",
                f"the payload is {len(payload)} bytes, more than the {self.max_payload} this hub takes",
            )

    def _state(self, topic: Topic, payload: bytes) -> tuple[str, str, Mapping[str, Any], float | None]:
        """A state message decoded and checked at the edge, ready for ``Hub.report_many``."""
        if len(payload) > self.max_payload:
            self._check_size(payload)  # says what is wrong
        values, ts = decode_state(payload)
        if ts is not None:
            self._check_time(ts)
        if len(values) > ONE_BY_ONE:
            values = self._without_many_unknown(topic, values)
        return topic.home, topic.device, values, ts

    def _apply(self, states: list[tuple[str, str, Mapping[str, Any], float | None]]) -> None:
        stats = self.stats
        for refused in self._hub.report_many(states, source=SOURCE):
            if refused.code == "unknown_device":
                stats.rejected += 1
            else:
                stats.rejected_values += 1

    def _on_status(self, topic: Topic, payload: bytes, retained: bool) -> None:
        if not payload:
            return  # a cleared retained status: nothing is known, nothing to say
        online = decode_status(payload)
        self._hub.set_available(topic.home, topic.device, online)
        # A retained "online" is old news replayed on subscribe; a live one means the
        # device just (re)connected and may have missed commands while it was away.
        if online and not retained:
            self._redeliver_to(topic.home, topic.device)

    def _on_event(self, topic: Topic, payload: bytes) -> None:
        message = decode_event(payload)
        if message.ts is not None:
            self._check_time(message.ts)
        report = self._hub.event(
            topic.home, topic.device, message.name, message.fields, ts=message.ts, source=SOURCE
        )
        if report.rejected:
            self.stats.rejected += 1

    def _without_many_unknown(self, topic: Topic, values: dict[str, Any]) -> dict[str, Any]:
        """``values``, less the properties the device does not have when there are more than
        ``ONE_BY_ONE`` of them: those are rejected together."""
        try:
            spec = self._hub.spec(topic.home, topic.device)
        except UnknownDevice:
            return values  # the hub rejects the whole message
        unknown = values.keys() - spec.properties.keys()
        if len(unknown) <= ONE_BY_ONE:
            return values
        some = ", ".join(repr(name[:_ECHO]) for name in heapq.nsmallest(3, unknown))
        self.stats.rejected_values += len(unknown)
        self._hub.rejections.record(
            InvalidChange(
                home=topic.home,
                device=topic.device,
                prop=None,
                code="unknown_property",
                reason=f"{len(unknown)} properties {spec.type} has not, such as {some}",
                allowed=", ".join(sorted(spec.properties)),
            ),
            times=len(unknown),
        )
        return {name: value for name, value in values.items() if name in spec.properties}

    def _check_time(self, ts: float) -> None:
        now = self._hub.clock.time()
        if ts > now + self.max_ahead:
            raise MalformedMessage(
                "future_ts",
                f"'ts' is {ts - now:.0f} s ahead of the hub's clock (at most {self.max_ahead:g} s);"
                " set the device's clock (NTP)",
            )
        if ts < now - self.max_behind:
            raise MalformedMessage(
                "stale_ts",
                f"'ts' is {now - ts:.0f} s behind the hub's clock (at most {self.max_behind:g} s);"
                " set the device's clock (NTP), or leave 'ts' out to mean now",
            )

    def _reject(self, home: str, device: str, code: str, reason: str) -> None:
        self.stats.rejected += 1
        self._hub.rejections.record(
            InvalidChange(home=home, device=device, prop=None, code=code, reason=reason)
        )
