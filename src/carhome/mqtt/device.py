"""The device side of carhome's MQTT: a library a real device embeds (the simulator does).

``MqttDeviceClient`` keeps the device's link to the broker (last will ``offline``,
``online`` once its command subscription is in place), publishes state and events, and
executes commands through the device's ``CommandHandler`` — one at a time, in arrival
order — answering each on its ``ack`` topic.

The promises the hub relies on are kept here: a command past its expiry is never executed
(it is acked ``expired``); a command id already executed is never executed again (the
stored ack is sent again, since the first may have been lost); a malformed command is
logged and counted, never fatal. The memory of executed ids is bounded: an id is kept
while its command is unexpired (after that the expiry check stops it anyway), and never
more than ``remember`` ids.

With ``data`` (a directory of the device's own) that memory survives a restart of the
device too (``carhome.mqtt.executed``): the id is written to disk before the handler runs
the command and the ack before it is sent, so a hub that redelivers after a crash of both
gets the stored ack and nothing runs twice — a signed command already executed is answered
with its ack, not verified again (a new epoch would refuse it). A command the device was
running when it stopped is not run again either; it is answered ``failed``
(``carhome.mqtt.executed.INTERRUPTED``).

With ``keys`` (a ``carhome.signing.keeper.DeviceKeys``) the device also verifies: a command
in a safety-critical domain runs only if its signature verifies for this device, epoch,
expiry and counter window, else it is acked ``failed`` with the verifier's reason code
first (``replayed: …``). It then answers session and enrollment asks on its ``session``
and ``enroll`` topics (``carhome.signing.relay``) on ``session_reply`` / ``enroll_reply``.

The device keeps the last value it published of each property with its time (the ``ts``
it was sent with, or the device's clock when none was given). Asked on its ``resend``
topic (a fleet worker does after a takeover or a partition stream's new leader:
``carhome.fleet.republish``), it publishes its status and every property again, QoS 1, each
with its own time, so the hub keeps any newer value it holds (it applies by device time).
It does the same each time its link comes back after a loss: the QoS 1 reports not PUBACKed
then went with the old session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Protocol, Self

import msgspec

from carhome.backoff import Backoff
from carhome.clock import Clock
from carhome.errors import ConnectorError, DeviceRefused, StoreError
from carhome.hub import Ack
from carhome.mqtt.executed import INTERRUPTED, ExecutedLog
from carhome.mqtt.link import BrokerUrl, MqttLink, MqttVersion
from carhome.mqtt.malformed import MalformedMessage
from carhome.mqtt.payloads import (
    ONLINE,
    CommandMessage,
    decode_command,
    decode_resend,
    encode_ack,
    encode_event,
    encode_state,
)
from carhome.mqtt.topics import Kind, Topic
from carhome.signing.envelope import CommandFields
from carhome.signing.keeper import DeviceKeys
from carhome.signing.relay import KeyAnswer, KeyAsk, Session, answer

log: Final = logging.getLogger(__name__)


class CommandHandler(Protocol):
    """What a device does with a command. Raise ``DeviceRefused(reason)`` to refuse it."""

    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
        """Run a ``set`` (``args == {"value": v}``) or an action; return a JSON-able result."""
        ...


class DeviceStats(msgspec.Struct):
    """What the device client has done with the commands it received."""

    commands: int = 0
    """Well-formed commands received (duplicates included)."""
    malformed: int = 0
    executed: int = 0
    failed: int = 0
    """Refused by the handler, or it raised."""
    expired: int = 0
    duplicates: int = 0
    """Ids already executed or already queued: not executed again."""
    unverified: int = 0
    """Refused because the signature did not let them run (counted in ``failed`` too)."""
    key_asks: int = 0
    """Session and enrollment asks answered."""
    resends: int = 0
    """Asks to publish the whole state again, answered."""


class _Done(msgspec.Struct, gc=False):
    expires: float
    ack: bytes


class MqttDeviceClient:
    """One device's connection to carhome over MQTT; an async context manager."""

    def __init__(
        self,
        home: str,
        device: str,
        url: str,
        handler: CommandHandler,
        *,
        clock: Clock,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        protocol: MqttVersion = 311,
        keepalive: int = 30,
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
        remember: int = 1024,
        keys: DeviceKeys | None = None,
        data: Path | None = None,
    ) -> None:
        self._cmd = Topic(home, device, Kind.CMD)  # checks both ids
        self.keys = keys
        self._asks = {
            str(self._cmd.sibling(Kind.SESSION)): str(self._cmd.sibling(Kind.SESSION_REPLY)),
            str(self._cmd.sibling(Kind.ENROLL)): str(self._cmd.sibling(Kind.ENROLL_REPLY)),
        }
        self._cmd_topic = str(self._cmd)
        self._state = str(self._cmd.sibling(Kind.STATE))
        self._event = str(self._cmd.sibling(Kind.EVENT))
        self._ack = str(self._cmd.sibling(Kind.ACK))
        self._resend = str(self._cmd.sibling(Kind.RESEND))
        self._status = str(self._cmd.sibling(Kind.STATUS))
        self._held: dict[str, tuple[Any, float]] = {}
        """Each property's last published value and its time: what a resend publishes."""
        self.home = home
        self.device = device
        self._handler = handler
        self._clock = clock
        self._remember = max(1, remember)
        self._log = None if data is None else ExecutedLog(data, keep=self._remember)
        self.stats = DeviceStats()
        self._done: OrderedDict[str, _Done] = OrderedDict()
        self._queued: set[str] = set()
        self._queue: asyncio.Queue[CommandMessage] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._malformed_seen: set[str] = set()
        self._link = MqttLink(
            BrokerUrl.parse(url),
            clock=clock,
            client_id=client_id or f"carhome-{home}-{device}",
            status_topic=self._status,
            subscriptions=(self._cmd_topic, self._resend, *(self._asks if keys is not None else ())),
            # an ask lost now is asked again, and the device says its state again when its link
            # is back; through the NATS server a QoS 1 subscription costs a JetStream consumer
            quiet=(self._resend,),
            on_message=self._on_message,
            on_up=self._up,
            username=username,
            password=password,
            version=protocol,
            keepalive=keepalive,
            backoff=backoff,
            connect_timeout=connect_timeout,
        )

    @property
    def connected(self) -> bool:
        return self._link.connected

    async def __aenter__(self) -> Self:
        if self._log is not None:
            await self._log.open()
            try:
                await self._recall(self._log)
            except BaseException:
                await self._log.close()
                raise
        self._worker = asyncio.create_task(self._work(), name=f"mqtt-device-{self.home}-{self.device}")
        try:
            await self._link.__aenter__()
        except BaseException:
            await self._stop_worker()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._link.__aexit__(et, e, tb)
        finally:
            await self._stop_worker()

    def _up(self) -> None:
        """Back after the link was lost: what was not PUBACKed then is gone with the old
        session (and an ask to resend may have come meanwhile), so say the state again."""
        if self._link.connects > 1 and self._held:
            try:
                self.resend()
            except ConnectorError as exc:
                log.info("%s/%s could not resend its state: %s", self.home, self.device, exc)

    async def _recall(self, log: ExecutedLog) -> None:
        """Remember what this device executed before it (re)started."""
        now = self._clock.time()
        for executed in await log.recall(now):
            ack = executed.ack
            if ack is None:  # it stopped while running this one: never run it again
                ack = encode_ack(Ack(executed.id, "failed", error=INTERRUPTED))
                await log.finish(executed.id, executed.expires, ack, now)
            self._done[executed.id] = _Done(executed.expires, ack)

    async def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._log is not None:
            await self._log.close()

    # -- publishing -----------------------------------------------------------------------

    async def publish_state(
        self, values: Mapping[str, Any], ts: float | None = None, *, qos: int = 0
    ) -> None:
        """Report property values (QoS 0 unless ``qos``); ``ConnectorError`` while not
        connected. The values are the device's state from now on either way: a resend
        publishes them (with ``ts``, or the device's time now)."""
        at = self._clock.time() if ts is None else ts
        for prop, value in values.items():
            self._held[prop] = (value, at)
        self._link.publish(self._state, encode_state(dict(values), ts), qos=qos)

    def held(self) -> dict[str, tuple[Any, float]]:
        """Each property's last published value and its time (what a resend sends)."""
        return dict(self._held)

    def resend(self) -> int:
        """Publish the status and every held property again (QoS 1), one state message per
        distinct time; how many state messages. ``ConnectorError`` while not connected."""
        by_ts: dict[float, dict[str, Any]] = {}
        for prop, (value, ts) in self._held.items():
            by_ts.setdefault(ts, {})[prop] = value
        self._link.publish(self._status, ONLINE, qos=1, retain=True)
        for ts, values in sorted(by_ts.items()):
            self._link.publish(self._state, encode_state(values, ts), qos=1)
        return len(by_ts)

    async def publish_event(
        self, name: str, fields: Mapping[str, Any] | None = None, ts: float | None = None
    ) -> None:
        """Report an event from the device's spec (QoS 1); ``ConnectorError`` while offline."""
        self._link.publish(self._event, encode_event(name, dict(fields or {}), ts), qos=1)

    # -- commands -------------------------------------------------------------------------

    def _on_message(self, topic: str | bytes, payload: bytes, retained: bool) -> None:
        if isinstance(topic, str) and topic in self._asks and self.keys is not None:
            self._on_ask(topic, payload)
            return
        if topic == self._resend:
            self._on_resend(payload)
            return
        if topic != self._cmd_topic:
            # Not ours: a broker may route by wider filters than ours.
            return
        try:
            command = decode_command(payload)
        except MalformedMessage as exc:
            self.stats.malformed += 1
            level = logging.DEBUG if exc.code in self._malformed_seen else logging.WARNING
            self._malformed_seen.add(exc.code)
            log.log(level, "%s/%s ignored a malformed command: %s", self.home, self.device, exc)
            return
        self.stats.commands += 1
        done = self._done.get(command.id)
        if done is not None:
            # Executed before: the hub did not get our ack. Say it again, do nothing again.
            self.stats.duplicates += 1
            self._send_ack(command.id, done.ack)
            return
        if command.id in self._queued:
            self.stats.duplicates += 1  # its ack follows when it has run
            return
        self._queued.add(command.id)
        self._queue.put_nowait(command)

    async def _work(self) -> None:
        while True:
            command = await self._queue.get()
            try:
                ack = await self._execute(command)
                try:
                    payload = encode_ack(ack)
                except (TypeError, msgspec.EncodeError) as exc:
                    payload = encode_ack(
                        Ack(command.id, "failed", error=f"the device's result is not JSON: {exc}")
                    )
                if ack.status != "expired":
                    # On disk before it is answered; the id stays queued meanwhile, so a
                    # duplicate arriving now is not run (its ack follows).
                    await self._record(command, payload)
                    self._keep(command, payload)
            finally:
                self._queued.discard(command.id)
            self._send_ack(command.id, payload)

    async def _execute(self, command: CommandMessage) -> Ack:
        refusal = self._refusal(command)
        if refusal is None:
            refusal = await self._begin(command)
        if refusal is not None:
            return refusal
        try:
            result = await self._handler.execute(command.kind, command.target, dict(command.args))
        except DeviceRefused as exc:
            self.stats.failed += 1
            return Ack(command.id, "failed", error=exc.reason)
        except Exception as exc:
            # A broken handler must not take the device's command loop down with it.
            log.exception(
                "%s/%s failed on command %s %s", self.home, self.device, command.kind, command.target
            )
            self.stats.failed += 1
            return Ack(command.id, "failed", error=f"the device failed: {type(exc).__name__}: {exc}")
        self.stats.executed += 1
        return Ack(command.id, "acked", result=result)

    def _refusal(self, command: CommandMessage) -> Ack | None:
        """The answer to a command that must not run: expired, or not verified."""
        now = self._clock.time()
        if command.expires <= now:
            self.stats.expired += 1
            return Ack(
                command.id,
                "expired",
                error=f"arrived {now - command.expires:.3f} s after its expiry; not executed",
            )
        if self.keys is None:
            return None
        signed = CommandFields.received(command, home=self.home, device=self.device)
        check = self.keys.check(signed, command.signature)
        if check.accepted:
            return None
        self.stats.failed += 1
        self.stats.unverified += 1
        return Ack(command.id, "failed", error=check.error)

    async def _begin(self, command: CommandMessage) -> Ack | None:
        """Put the id on disk before the command runs; an answer if it must not run now."""
        if self._log is None:
            return None
        try:
            await self._log.begin(command.id, command.expires, self._clock.time())
        except StoreError as exc:
            # Unrecorded, it could run twice after a restart: it does not run at all.
            self.stats.failed += 1
            return Ack(command.id, "failed", error=f"the device could not record the command: {exc}")
        if command.expires <= self._clock.time():  # the write took until past its expiry
            self.stats.expired += 1
            return Ack(command.id, "expired", error="expired while the device recorded it; not executed")
        return None

    def _on_resend(self, payload: bytes) -> None:
        try:
            ask = decode_resend(payload)
        except MalformedMessage as exc:
            self.stats.malformed += 1
            log.warning("%s/%s ignored a malformed resend ask: %s", self.home, self.device, exc)
            return
        try:
            messages = self.resend()
        except ConnectorError as exc:
            # the link is down; coming back it says online, and the hub asks again
            log.info("%s/%s could not resend its state: %s", self.home, self.device, exc)
            return
        self.stats.resends += 1
        log.debug("%s/%s resent its state (%s): %d messages", self.home, self.device, ask.reason, messages)

    def _on_ask(self, topic: str, payload: bytes) -> None:
        keys = self.keys
        if keys is None:  # pragma: no cover - subscribed only with keys
            return
        try:
            ask = msgspec.json.decode(payload, type=KeyAsk)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self.stats.malformed += 1
            log.warning("%s/%s ignored a malformed key ask: %s", self.home, self.device, str(exc)[:200])
            return
        self.stats.key_asks += 1
        # a session ask only on the session topic, the others only on enroll: one kind, one ACL
        if isinstance(ask.op, Session) != topic.endswith(f"/{Kind.SESSION.value}"):
            reply = KeyAnswer(ask.id, False, reason="wrong_topic", message="ask sent on the wrong topic")
        else:
            reply = answer(keys, ask)
        try:
            self._link.publish(self._asks[topic], msgspec.json.encode(reply), qos=1)
        except ConnectorError as exc:
            log.info("%s/%s could not answer ask %s: %s", self.home, self.device, ask.id, exc)

    async def _record(self, command: CommandMessage, ack: bytes) -> None:
        if self._log is None:
            return
        try:
            await self._log.finish(command.id, command.expires, ack, self._clock.time())
        except StoreError as exc:
            # It ran; the ack still goes out. After a restart it would be answered failed
            # (interrupted) and not run again.
            log.error(  # noqa: TRY400 - the cause is in the message; no traceback to add
                "%s/%s could not record the ack of %s: %s", self.home, self.device, command.id, exc
            )

    def _keep(self, command: CommandMessage, ack: bytes) -> None:
        done = self._done
        done[command.id] = _Done(command.expires, ack)
        now = self._clock.time()
        while done and (len(done) > self._remember or next(iter(done.values())).expires <= now):
            done.popitem(last=False)

    def _send_ack(self, command_id: str, payload: bytes) -> None:
        try:
            self._link.publish(self._ack, payload, qos=1)
        except ConnectorError as exc:
            # The hub redelivers unacknowledged commands when the link is back; the stored
            # ack answers then.
            log.info("%s/%s could not ack %s yet: %s", self.home, self.device, command_id, exc)
