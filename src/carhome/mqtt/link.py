"""A link: one client's connection to an MQTT broker, kept up for as long as it is open.

Both ends of carhome's MQTT use it — the hub's connector and the device library. A link
connects, subscribes, announces itself ``online`` on its retained status topic (whose last
will says ``offline``), and when the connection drops it reconnects with backoff, waited on
the clock it is given (the hub's), in a task it owns, announcing itself again each time.
Closing it says ``offline`` first, because a clean DISCONNECT discards the will.

Every link's client id is the given one plus a random part, the same for the link's
whole life: no other client can guess it, so none can take over the link's session by
connecting with the same id (brokers must drop the older of two clients with one id, and
the NATS server does so for a client of another user). A reconnect reuses the id, so it
replaces a half-open old connection (whose will the broker then discards) instead of
leaving it to fire ``offline`` after the new one said ``online``.

With a ``Heartbeat`` the link sends itself a message through the broker every
``interval`` seconds on a topic only it writes and reads. ``deafness()`` says why the link
does not hear — down, or no heartbeat back within ``bound`` seconds (a broker that takes
the connection but stops delivering) — or ``None`` while it hears.

With ``on_batch`` instead of ``on_message`` the link hands over what arrived in one read
of the socket as one list, once the read is parsed (one loop callback per read, never a
task per message). Over MQTT 3.1.1 it cuts the reads into packets and parses PUBLISH
packets itself (there is little to parse: topic, packet id, payload; gmqtt gets the other
packets) and acknowledges a QoS 1 message only after the batch holding it was handled.
(Its sessions are clean, so what a hub that dies mid-batch had not acknowledged goes with
its session: the devices say their state again when asked, ``carhome.fleet.republish``.)

gmqtt does the wire protocol. Its own reconnect is switched off: it retries at a fixed
delay, forever, in tasks nobody owns. Each connection gets a fresh gmqtt client, so no
half-torn state of the last one leaks into the next; whatever the broker lost meanwhile
the owner restores in ``on_up`` (the hub redelivers pending commands, for one).

Its subscriptions are QoS 1 (the heartbeat's and the ``quiet`` ones QoS 0). Through the
NATS server a link that must take a busy stream at QoS 1 should take it with one
subscription: the server lets a
session have 1,024 QoS 1 messages in flight in all, but each QoS 1 subscription's
JetStream consumer 1,024 too, and drops what goes past the session's limit until the
consumer's ack wait (30 s) runs out (server/mqtt.go, ``trackPublish``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Literal, Self, TypeVar
from urllib.parse import unquote, urlsplit

import gmqtt
from gmqtt.mqtt.constants import MQTTv50, MQTTv311
from gmqtt.mqtt.package import Package
from gmqtt.storage import PersistentStorage

from carhome.backoff import Backoff
from carhome.clock import Clock
from carhome.errors import BrokerUnavailable, ConfigError, ConnectorError
from carhome.mqtt.payloads import OFFLINE, ONLINE

log: Final = logging.getLogger(__name__)

MqttVersion = Literal[311, 5]
MessageHandler = Callable[[str | bytes, bytes, bool], None]
"""Called with (topic, payload, retained) for every message on the link's subscriptions."""
Incoming = tuple[str | bytes, bytes, bool]
"""One message as a batch holds it: (topic, payload, retained)."""
BatchHandler = Callable[[list[Incoming]], None]
"""Called with the messages of one read of the socket, in the order they arrived."""

_DEFAULT_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}
_GMQTT_VERSION: Final = {311: MQTTv311, 5: MQTTv50}

_T = TypeVar("_T")

_GRACE: Final = 0.1
_PUBLISH: Final = 3  # the packet type of an MQTT PUBLISH
_PUBACK: Final = b"\x40\x02"  # fixed header of an MQTT 3.1.1 PUBACK; the packet id follows
_CLIENT_ID_BYTES: Final = 12  # 96 random bits in every client id


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    """Where a broker is: ``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS)."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"broker URL {url!r} is not valid: {exc}") from exc
        if parts.scheme not in _DEFAULT_PORTS:
            raise ConfigError(f"broker URL {url!r}: use the scheme mqtt:// or mqtts://")
        if not parts.hostname:
            raise ConfigError(f"broker URL {url!r} names no host; e.g. mqtt://127.0.0.1:1883")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigError(f"broker URL {url!r}: a broker URL has no path, query or fragment")
        return cls(
            parts.hostname,
            port or _DEFAULT_PORTS[parts.scheme],
            parts.scheme == "mqtts",
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )

    def __str__(self) -> str:
        # Never the password: this goes into logs and error messages.
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A message the link sends itself through the broker, to know the broker still delivers."""

    topic: str
    interval: float = 5.0
    """Seconds between heartbeats."""
    bound: float = 15.0
    """Seconds without a heartbeat back, while connected, after which the link is deaf."""

    def __post_init__(self) -> None:
        if not 0 < self.interval < self.bound:
            raise ConfigError(f"heartbeat needs 0 < interval < bound, got {self.interval} and {self.bound}")


class _Client(gmqtt.Client):  # type: ignore[misc]  # gmqtt ships no types
    """gmqtt's client with its reconnect handed to the link."""

    def __init__(self, client_id: str, *, on_over: Callable[[], None], **kwargs: Any) -> None:
        # Our own reference to the store of unacknowledged QoS 1/2 messages, to wait on.
        self.outbox = PersistentStorage()
        super().__init__(client_id, persistent_storage=self.outbox, **kwargs)
        self._on_over = on_over

    async def reconnect(self, delay: bool = False) -> None:
        # gmqtt asks for this when the connection is over (lost, refused, downgraded).
        # The link's supervisor reconnects instead, with backoff, in a task it owns.
        self._on_over()


class _Corked:
    """A transport whose writes of one loop turn go out together: one send, one wakeup of
    the broker, however many commands and acknowledgements the turn produced."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._chunks: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes | bytearray) -> None:
        if not self._chunks:
            self._loop.call_soon(self.flush)
        self._chunks.append(bytes(data))

    def flush(self) -> None:
        chunks, self._chunks = self._chunks, []
        if chunks and not self._transport.is_closing():
            self._transport.write(b"".join(chunks))

    def close(self) -> None:
        self.flush()  # a DISCONNECT written just before goes out before the close
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _frame(on_publish: Callable[[int, bytes], None], connection: Any, data: bytes) -> int:
    """gmqtt's ``_read_packet``, with each PUBLISH packet handed to ``on_publish`` at once:
    cuts what was read into packets (fixed header, remaining length, body) and returns how
    many bytes it used (the rest waits for the next read), or -1 for a malformed length.
    Other packets take gmqtt's way. gmqtt parses one packet in several calls and objects
    (a ``Package``, the connection's and the handler's dispatch), which W2's profile showed
    as a seventh of the hub's time; this is one loop."""
    if connection._handler.current_connection is not connection:
        return len(data)  # a superseded connection's bytes (gmqtt drops its packets too)
    size = len(data)
    parsed = 0
    while size - parsed >= 2:
        first = data[parsed]
        at = parsed + 1
        length = shift = 0
        while True:
            if at >= size:
                return parsed  # the length is not all here yet
            byte = data[at]
            at += 1
            length |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if shift > 21:  # more than four bytes: not MQTT
                return -1
        end = at + length
        if end > size:
            break
        try:
            if first >> 4 == _PUBLISH:
                on_publish(first, data[at:end])
            else:
                connection.put_package(Package(first, data[at:end]))
        except Exception:
            # as gmqtt's handler does: one packet never ends the connection's reading
            log.exception("an MQTT packet (type %d) could not be handled", first >> 4)
        parsed = end
    if parsed:
        connection._last_data_in = time.monotonic()  # gmqtt's keepalive reads it
    return parsed


class _Intake:
    """Gathers the messages of one read and hands them over as one batch (``on_batch``).

    The first message of a read schedules one loop callback; gmqtt parses the rest of the
    read synchronously before the loop gets to it, so the callback sees them all. QoS 1
    messages are acknowledged after the batch was handled, all in one write.
    """

    def __init__(
        self, client: _Client, on_batch: BatchHandler, beat: str | None, heard: Callable[[], None]
    ) -> None:
        self._client = client
        self._on_batch = on_batch
        self._beat = beat
        self._heard = heard
        self._messages: list[Incoming] = []
        self._mids: list[int] = []
        self._scheduled = False
        self._loop = asyncio.get_running_loop()
        self._uncorked: Any = None  # the connection's own transport, once it is up
        self._v311 = False

    def install(self, version: MqttVersion) -> None:
        self._client.on_message = self.on_message
        self._v311 = version == 311
        if version == 311:
            # An instance attribute takes PUBLISH packets over before gmqtt's dispatch
            # (which logs and looks up a handler per packet); gmqtt itself then neither
            # parses nor acknowledges one.
            handler = self._client._package_handler  # gmqtt has no hook for this
            self._gmqtt_publish = handler._handle_publish_packet
            gmqtt_packet = handler._handle_packet
            on_publish = self.on_publish

            def on_packet(cmd: int, packet: bytes) -> None:
                if cmd >> 4 == _PUBLISH:
                    on_publish(cmd, packet)
                else:
                    gmqtt_packet(cmd, packet)

            handler._handle_packet = on_packet

    def cork(self) -> None:
        """Once connected: the connection's writes of one loop turn go out as one, and over
        MQTT 3.1.1 its reads are cut into packets here (``_frame``)."""
        connection = self._client._connection  # gmqtt's
        self._uncorked = connection._transport
        corked = _Corked(connection._transport)
        connection._transport = corked
        protocol = connection._protocol
        protocol._transport = corked
        if self._v311:
            protocol._read_packet = functools.partial(_frame, self.on_publish, connection)

    def on_message(
        self, _: object, topic: str | bytes, payload: bytes, qos: int, properties: dict[str, Any]
    ) -> None:
        """gmqtt's callback: MQTT 5 (acknowledged by gmqtt before this), or a QoS 2 message."""
        self._take(topic, payload, bool(properties.get("retain")), None)

    def on_publish(self, cmd: int, raw: bytes) -> None:
        """One MQTT 3.1.1 PUBLISH packet: topic length, topic, [packet id], payload."""
        qos = (cmd >> 1) & 3
        if qos == 2:  # never subscribed for; gmqtt's own handshake
            self._gmqtt_publish(cmd, raw)
            return
        end = 2 + int.from_bytes(raw[:2])
        name = raw[2:end]
        topic: str | bytes
        try:
            topic = name.decode()
        except UnicodeDecodeError:
            topic = name  # the handler says what is wrong with it
        # _take, inlined: this runs once per message
        if qos:
            self._mids.append(int.from_bytes(raw[end : end + 2]))
            end += 2
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)
        if topic == self._beat:
            self._heard()
        else:
            self._messages.append((topic, raw[end:], bool(cmd & 1)))

    def _take(self, topic: str | bytes, payload: bytes, retained: bool, mid: int | None) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)
        if mid is not None:
            self._mids.append(mid)
        if topic == self._beat:
            self._heard()
        else:
            self._messages.append((topic, payload, retained))

    def _flush(self) -> None:
        self._scheduled = False
        messages, self._messages = self._messages, []
        mids, self._mids = self._mids, []
        if messages:
            try:
                self._on_batch(messages)
            except Exception:
                # One batch must never stop the stream (it is acknowledged all the same:
                # a message that cannot be handled would come back for ever).
                log.exception("a batch of %d MQTT messages could not be handled", len(messages))
        # Before the cork (the retained messages a broker sends with its SUBACK can be
        # handled while the connect still waits its turn), the connection's own transport.
        transport = self._uncorked or self._client._connection._transport
        if mids and transport is not None and not transport.is_closing():
            # Past the cork, as soon as the batch was handled: the batch's PUBACKs in one
            # write (one send, not one per message).
            transport.write(b"".join([_PUBACK + mid.to_bytes(2) for mid in mids]))


class MqttLink:
    """A connection to a broker that stays up, with a retained online/offline status."""

    def __init__(
        self,
        url: str | BrokerUrl,
        *,
        clock: Clock,
        client_id: str,
        status_topic: str,
        on_message: MessageHandler | None = None,
        on_batch: BatchHandler | None = None,
        subscriptions: Sequence[str] = (),
        on_up: Callable[[], None] | None = None,
        on_down: Callable[[], None] | None = None,
        username: str | None = None,
        password: str | None = None,
        version: MqttVersion = 311,
        keepalive: int = 30,
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
        heartbeat: Heartbeat | None = None,
        quiet: Sequence[str] = (),
    ) -> None:
        self.url = url if isinstance(url, BrokerUrl) else BrokerUrl.parse(url)
        if version not in _GMQTT_VERSION:
            raise ConfigError(f"MQTT protocol {version!r} is not supported; use 311 or 5")
        if not client_id:
            raise ConfigError("an MQTT client id must not be empty")
        if (on_message is None) == (on_batch is None):
            raise ConfigError("an MQTT link takes either on_message or on_batch, one of them")
        self.name = client_id
        """The link's name in logs and errors (its client id without the random part)."""
        self.client_id = f"{client_id}-{secrets.token_hex(_CLIENT_ID_BYTES)}"
        """The id on the wire: ``client_id`` and a random part nobody else can guess."""
        self.status_topic = status_topic
        self.version = version
        self.keepalive = keepalive
        self.backoff = backoff or Backoff()
        self._clock = clock
        self.connect_timeout = connect_timeout
        self._username = username if username is not None else self.url.username
        self._password = password if password is not None else self.url.password
        self.heartbeat = heartbeat
        self._subscriptions = tuple(subscriptions) + ((heartbeat.topic,) if heartbeat else ())
        self._quiet = frozenset(quiet)  # of the subscriptions, those taken at QoS 0
        self._heard = 0.0  # loop time the last heartbeat came back (or the link came up)
        self._down_since = 0.0
        self._heartbeat_refused = False
        self._beats: asyncio.Task[None] | None = None
        self._on_message = on_message
        self._on_batch = on_batch
        self._on_up = on_up
        self._on_down = on_down
        self._client: _Client | None = None
        self._lost = asyncio.Event()
        self._up = False
        self._supervisor: asyncio.Task[None] | None = None
        self.connects = 0
        """How many times the link came up (1 after opening, +1 per reconnect)."""

    @property
    def connected(self) -> bool:
        client = self._client
        return self._up and client is not None and bool(client.is_connected)

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        # gmqtt logs every connection and subscription at INFO; the link logs what matters
        # (lost, reconnected) itself. Left alone if the application set a level.
        gmqtt_log = logging.getLogger("gmqtt")
        if gmqtt_log.level == logging.NOTSET:
            gmqtt_log.setLevel(logging.WARNING)
        self._down_since = asyncio.get_running_loop().time()
        await self._connect()
        self._supervisor = asyncio.create_task(self._supervise(), name=f"mqtt-link-{self.name}")
        if self.heartbeat is not None:
            self._beats = asyncio.create_task(self._beat(self.heartbeat), name=f"mqtt-heartbeat-{self.name}")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in (self._beats, self._supervisor):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._beats = self._supervisor = None
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            # A clean DISCONNECT discards the will, so say it ourselves, and wait for the
            # broker to take it (and every other QoS 1 message) before leaving.
            with contextlib.suppress(BrokerUnavailable, OSError):
                client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
                await self._until(client.outbox.wait_empty(), self._lost, "to acknowledge")
        if client is not None:
            await self._discard(client)
        self._went_down()

    async def _supervise(self) -> None:
        while True:
            await self._lost.wait()
            client, self._client = self._client, None
            self._went_down()
            log.warning("lost the MQTT broker at %s; reconnecting as %r", self.url, self.name)
            if client is not None:
                await self._discard(client)
            for attempt, delay in enumerate(self.backoff.delays(), start=1):
                await self._clock.sleep(delay)
                try:
                    await self._connect()
                except BrokerUnavailable as exc:
                    log.log(
                        logging.WARNING if attempt == 1 else logging.DEBUG,
                        "reconnect to %s failed (attempt %d): %s; still trying",
                        self.url,
                        attempt,
                        exc,
                    )
                    continue
                log.info("reconnected to the MQTT broker at %s as %r", self.url, self.name)
                break

    def _went_down(self) -> None:
        if self._up:
            self._up = False
            self._down_since = asyncio.get_running_loop().time()
            if self._on_down is not None:
                self._on_down()

    # -- connecting -----------------------------------------------------------------------

    async def _connect(self) -> None:
        """Connect, subscribe and announce ``online``; ``BrokerUnavailable`` if any fails."""
        lost = asyncio.Event()
        subacks: dict[int, asyncio.Future[tuple[int, ...]]] = {}
        client = _Client(
            self.client_id,
            on_over=lost.set,
            clean_session=True,
            will_message=gmqtt.Message(self.status_topic, OFFLINE, qos=1, retain=True),
        )

        def on_subscribe(_: object, mid: int, granted: tuple[int, ...], *__: object) -> None:
            future = subacks.pop(mid, None)
            if future is not None and not future.done():
                future.set_result(tuple(granted))

        intake = self._take_messages(client)
        client.on_subscribe = on_subscribe
        client.on_disconnect = lambda *_: lost.set()
        if self._username is not None:
            client.set_auth_credentials(self._username, self._password)
        try:
            await self._until(
                client.connect(
                    self.url.host,
                    self.url.port,
                    ssl=self.url.tls,
                    keepalive=self.keepalive,
                    version=_GMQTT_VERSION[self.version],
                ),
                lost,
                "to accept the connection",
            )
            if self._subscriptions:
                future: asyncio.Future[tuple[int, ...]] = asyncio.get_running_loop().create_future()
                # The heartbeat at QoS 0, as it is sent: on the NATS server a QoS 1
                # subscription is a JetStream consumer of its own, for nothing.
                beat = self.heartbeat.topic if self.heartbeat is not None else None
                mid = client.subscribe(
                    [
                        gmqtt.Subscription(t, qos=0 if t == beat or t in self._quiet else 1)
                        for t in self._subscriptions
                    ]
                )
                subacks[mid] = future
                self._granted(await self._until(future, lost, "to acknowledge the subscriptions"))
            if intake is not None:
                intake.cork()
            client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        except (OSError, gmqtt.MQTTConnectError) as exc:
            await self._discard(client)
            raise BrokerUnavailable(self._cannot(exc)) from exc
        except BaseException:
            await self._discard(client)
            raise
        self._client = client
        self._lost = lost
        self._up = True
        self._heard = asyncio.get_running_loop().time()
        self.connects += 1
        if self._on_up is not None:
            self._on_up()

    def _take_messages(self, client: _Client) -> _Intake | None:
        """Hand ``client``'s messages to the owner: in batches (the ``_Intake``, returned)
        or one by one; the heartbeat is heard, not handed on."""
        beat = self.heartbeat.topic if self.heartbeat is not None else None

        def heard() -> None:
            self._heard = asyncio.get_running_loop().time()

        if self._on_batch is not None:
            intake = _Intake(client, self._on_batch, beat, heard)
            intake.install(self.version)
            return intake
        handler = self._on_message

        def on_message(
            _: object, topic: str | bytes, payload: bytes, qos: int, properties: dict[str, Any]
        ) -> None:
            if beat is not None and topic == beat:
                heard()
                return
            try:
                if handler is not None:
                    handler(topic, payload, bool(properties.get("retain")))
            except Exception:
                # One message must never stop the stream.
                log.exception("MQTT message on %r could not be handled", topic)

        client.on_message = on_message
        return None

    def _granted(self, granted: tuple[int, ...]) -> None:
        """Check the SUBACK; ``BrokerUnavailable`` if the broker refused a subscription the
        link needs (its heartbeat's refusal is only noted: the link works without it)."""
        refused = [t for t, q in zip(self._subscriptions, granted, strict=False) if q >= 0x80]
        beat = self.heartbeat.topic if self.heartbeat is not None else None
        self._heartbeat_refused = beat is not None and beat in refused
        if beat is not None and self._heartbeat_refused:
            log.warning(
                "the broker at %s refused %r its heartbeat topic %s: it cannot tell whether it"
                " still hears; let it read and write that topic (carhome mqtt credentials"
                " --mosquitto writes such an ACL)",
                self.url,
                self.name,
                beat,
            )
            refused.remove(beat)
        if refused:
            raise BrokerUnavailable(
                f"the broker at {self.url} refused the subscription to {', '.join(refused)};"
                f" check the broker's ACL for {self.name!r}"
            )

    async def _until(self, awaitable: Awaitable[_T], lost: asyncio.Event, what: str) -> _T:
        """Await ``awaitable`` unless the connection ends or the broker takes too long."""
        work = asyncio.ensure_future(awaitable)
        over = asyncio.ensure_future(lost.wait())
        try:
            done, _ = await asyncio.wait(
                {work, over}, timeout=self.connect_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if over in done and not work.done():
                # A refused CONNACK ends the connection and fails connect() together; give
                # connect() its turn so the error names the broker's reason.
                done |= (await asyncio.wait({work}, timeout=_GRACE))[0]
        finally:
            for task in (work, over):
                task.cancel()
        if work in done:
            return work.result()
        hint = (
            "; if the broker speaks only MQTT 3.1.1 (the built-in one does), use protocol 311"
            if self.version == 5
            else ""
        )
        if over in done:
            raise BrokerUnavailable(
                f"the broker at {self.url} closed the connection before it was ready (waiting {what}){hint}"
            )
        raise BrokerUnavailable(
            f"the broker at {self.url} did not answer within {self.connect_timeout} s (waiting {what}){hint}"
        )

    def _cannot(self, exc: BaseException) -> str:
        return (
            f"cannot connect to the MQTT broker at {self.url} as {self.name!r}: {exc};"
            " check that it runs and the URL and credentials are right"
        )

    async def _discard(self, client: _Client) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
        # arrives as the disconnect completes, and the link could then never be closed.
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(self.connect_timeout):
                await client.disconnect()

    # -- hearing ------------------------------------------------------------------------------

    async def _beat(self, heartbeat: Heartbeat) -> None:
        deaf: str | None = None
        while True:
            # Real time, not the hub's clock: a heartbeat measures a real broker's round trip.
            await asyncio.sleep(heartbeat.interval)
            client = self._client
            if self._up and client is not None and client.is_connected:
                with contextlib.suppress(OSError, ValueError):
                    client.publish(heartbeat.topic, b"", qos=0)
            # Said once when it starts and once when it ends, not at every beat.
            was, deaf = deaf, self.deafness()
            if deaf is not None and was is None:
                log.warning("%s hears nothing: %s", self.name, deaf)
            elif deaf is None and was is not None:
                log.info("%s hears again through the broker at %s", self.name, self.url)

    def deafness(self) -> str | None:
        """Why the link hears nothing now, or ``None`` while it hears (as far as it knows)."""
        now = asyncio.get_running_loop().time()
        if not self.connected:
            down = now - self._down_since
            return f"the MQTT link to {self.url} is down (for {down:.0f} s); it reconnects by itself"
        heartbeat = self.heartbeat
        if heartbeat is None:
            return None
        if self._heartbeat_refused:
            return (
                f"the broker at {self.url} refused the heartbeat topic {heartbeat.topic}, so whether"
                " the hub still hears cannot be told; let the hub read and write it"
            )
        silent = now - self._heard
        if silent > heartbeat.bound:
            return (
                f"no heartbeat came back through the broker at {self.url} for {silent:.0f} s: it"
                f" takes messages but does not deliver them (or its ACL does not let the hub"
                f" read {heartbeat.topic})"
            )
        return None

    # -- publishing -----------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        """Hand one message to the broker; ``ConnectorError`` if the link is down."""
        client = self._client
        if not self._up or client is None or not client.is_connected:
            raise ConnectorError(
                f"not connected to the MQTT broker at {self.url}; the message"
                f" to {topic} was not sent (the link reconnects by itself)"
            )
        try:
            client.publish(topic, payload, qos=qos, retain=retain)
        except (OSError, OverflowError, ValueError) as exc:
            raise ConnectorError(f"could not publish to {topic} on {self.url}: {exc}") from exc
