"""The hub's Shelly connector: Gen2 meters and relays over MQTT, with JSON-RPC for commands.

A Shelly with MQTT enabled publishes, under its topic prefix, ``online`` (``true`` or
``false``, retained, ``false`` its will) and JSON-RPC notifications on ``events/rpc``
(``NotifyStatus`` with what changed, ``NotifyFullStatus`` with everything; and, when its
"generic status update" is on, each component's status on ``status/<component>``). It
takes JSON-RPC requests on ``<prefix>/rpc`` and answers on ``<src>/rpc``, ``src`` being
the name the request gives.

The connector keeps one ``MqttLink`` to the broker the Shellys use. It decodes each
message at the edge: a component's status becomes carhome values through the tables of
``carhome.connectors.shelly.mapping`` and goes to ``Hub.report``; ``online`` alone sets the
hub devices' availability (and the link going down makes them offline: carhome no longer
hears them); when a Shelly comes online, and whenever the link comes up, it asks
``Shelly.GetStatus`` for the whole picture. Bad input — a payload that is not a JSON-RPC
frame, a component that is not an object, an ``online`` that is neither true nor false, a
payload past ``MAX_PAYLOAD`` — is rejected with its reason, counted in ``carhome
rejections`` and logged once per cause; the rest of the message and the stream carry on.

It is the hub's ``Transport`` for devices whose connector is ``shelly``: a relay's
``turn_on``, ``turn_off``, ``toggle`` and a set of ``on`` run as ``Switch.Set`` /
``Switch.Toggle``. The answer is the ack: a result is ``acked`` (with ``was_on``), an
error frame is ``failed`` with the Shelly's code and message, no answer within the
timeout is ``failed`` saying so. Nothing is sent at or after a command's expiry, and an id
already executed is answered from memory, never sent twice.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self

import msgspec

from carhome.backoff import Backoff
from carhome.clock import Clock
from carhome.connectors.shelly.config import CONNECTOR, ShellyDeviceConfig
from carhome.drivers.checks import check_hub_device
from carhome.drivers.execution import Executor, RunStats, Tasks
from carhome.errors import ConfigError, ConnectorError, InvalidChange
from carhome.hub import Ack, Command, Hub
from carhome.hub.rejections import HUB_WIDE
from carhome.hub.runs import CommandRuns
from carhome.mqtt.link import MqttLink

log: Final = logging.getLogger(__name__)

SOURCE: Final = "shelly"
MAX_PAYLOAD: Final = 64 * 1024
"""The largest message decoded: a Pro 4PM's full status is under 5 KiB."""
_REMEMBERED: Final = 1000  # executed command ids kept per hub device
_STATUS_METHODS: Final = frozenset({"NotifyStatus", "NotifyFullStatus"})

# Shelly's common error codes (gen2 "Common Errors"), in words for a failed ack.
RPC_ERRORS: Final = {
    -103: "invalid argument",
    -104: "deadline exceeded",
    -105: "not found",
    -106: "already exists",
    -108: "resource exhausted",
    -109: "failed precondition",
    -114: "unavailable",
    401: "unauthorized (the device has authentication on)",
}


class ShellyError(ConnectorError):
    """A Shelly did not answer a request, or answered with an error."""


class ShellyRefused(ShellyError):
    """The Shelly answered a request with an error frame."""

    def __init__(self, method: str, code: Any, message: str) -> None:
        words = RPC_ERRORS.get(code) if isinstance(code, int) else None
        super().__init__(f"{method}: Shelly error {code}{f' ({words})' if words else ''}: {message}")
        self.code = code
        self.reason = str(self)


class ShellyTimeout(ShellyError):
    """No answer to a request within the time allowed."""


class _RpcError(msgspec.Struct):
    code: Any = None
    message: str = ""


class _Notification(msgspec.Struct):
    """A frame on ``<prefix>/events/rpc``."""

    method: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    src: str | None = None


class _Response(msgspec.Struct):
    """A frame on ``<src>/rpc``: the answer to one of our requests."""

    id: int | str
    src: str | None = None
    result: Any = None
    error: _RpcError | None = None


class ShellyStats(RunStats):
    """What the connector has done since it was made."""

    messages: int = 0
    status_updates: int = 0
    rejected: int = 0


class _Target:
    """One hub device fed by one component of one Shelly."""

    def __init__(self, config: ShellyDeviceConfig) -> None:
        self.config = config
        self.home = config.home
        self.device = config.device
        self.prefix = config.prefix
        self.component = config.parsed
        self.runs = CommandRuns(_REMEMBERED)


class ShellyConnector:
    """Connects a hub to Shelly Gen2 devices through an MQTT broker; an async context manager."""

    def __init__(
        self,
        hub: Hub,
        url: str,
        devices: Sequence[ShellyDeviceConfig],
        *,
        username: str | None = None,
        password: str | None = None,
        client_id: str = "carhome-shelly",
        timeout: float = 5.0,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if timeout <= 0:
            raise ConfigError(f"shelly timeout must be positive, got {timeout}")
        self._hub = hub
        self._clock = clock or hub.clock
        self.timeout = timeout
        self.stats = ShellyStats()
        self._targets: dict[tuple[str, str], _Target] = {}
        self._by_prefix: dict[str, list[_Target]] = {}
        for config in devices:
            try:
                target = _Target(config)
            except ValueError as exc:
                raise ConfigError(f"shelly device {config.home}/{config.device}: {exc}") from None
            key = (config.home, config.device)
            if key in self._targets:
                raise ConfigError(f"shelly device {config.home}/{config.device} is configured twice")
            self._targets[key] = target
            self._by_prefix.setdefault(config.prefix, []).append(target)
        # The name our requests carry: answers come back on <src>/rpc, which only we read.
        self.src = f"{client_id}-{secrets.token_hex(4)}"
        self._reply_topic = f"{self.src}/rpc"
        self._topics: dict[str, tuple[str, str]] = {self._reply_topic: ("reply", "")}
        for prefix, targets in self._by_prefix.items():
            self._topics[f"{prefix}/online"] = ("online", prefix)
            self._topics[f"{prefix}/events/rpc"] = ("events", prefix)
            for target in targets:
                for component in (target.component.key, target.component.data_key):
                    if component is not None:
                        self._topics[f"{prefix}/status/{component}"] = ("status", prefix)
        self._link = MqttLink(
            url,
            client_id=client_id,
            status_topic=f"{self.src}/online",
            on_message=self._on_message,
            subscriptions=sorted(self._topics),
            on_up=self._on_up,
            on_down=self._on_down,
            username=username,
            password=password,
            backoff=backoff,
            clock=self._hub.clock,
        )
        self._ids = itertools.count(1)
        self._calls: dict[int, asyncio.Future[_Response]] = {}
        self._tasks = Tasks()
        self._executor = Executor(hub, self.stats, self._tasks, connector=CONNECTOR, name="Shelly", log=log)

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        for target in self._targets.values():
            self._check_hub_device(target)
        await self._link.__aenter__()
        self._executor.attach(self)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._executor.stop()
        await self._link.__aexit__(et, e, tb)

    def _check_hub_device(self, target: _Target) -> None:
        check_hub_device(
            self._hub,
            CONNECTOR,
            target.home,
            target.device,
            wanted=target.component.kind.device_type,
            where=f"shelly device {target.home}/{target.device}",
            feeds=f"{target.component.key} is a",
        )

    def deafness(self) -> str | None:
        """Why the connector hears nothing now (its MQTT link is down), or ``None``."""
        return self._link.deafness()

    def _on_up(self) -> None:
        # What the broker kept (retained online) comes again with the subscriptions; what it
        # did not, the devices tell when asked.
        for prefix in self._by_prefix:
            self._tasks.spawn(self.refresh(prefix), f"shelly-status-{prefix}")

    def _on_down(self) -> None:
        for target in self._targets.values():
            self._hub.set_available(target.home, target.device, False)

    # -- ingest ---------------------------------------------------------------------------

    def _on_message(self, topic: str | bytes, payload: bytes, retained: bool) -> None:
        if isinstance(topic, bytes):
            topic = topic.decode("utf-8", errors="replace")
        self.stats.messages += 1
        kind, prefix = self._topics.get(topic, ("", ""))
        if not kind:
            return  # not a topic we subscribed to (a broker's stray delivery)
        if len(payload) > MAX_PAYLOAD:
            self._reject(prefix, "too_large", f"{len(payload)} bytes on {topic}, more than {MAX_PAYLOAD}")
            return
        if kind == "online":
            self._online(prefix, payload)
        elif kind == "events":
            self._event(prefix, topic, payload)
        elif kind == "status":
            self._component_status(prefix, topic, payload)
        else:
            self._reply(payload)

    def _online(self, prefix: str, payload: bytes) -> None:
        words = {b"true": True, b"false": False}
        online = words.get(payload.strip())
        if online is None:
            self._reject(prefix, "bad_payload", f"{prefix}/online is {payload[:40]!r}, not true or false")
            return
        for target in self._by_prefix[prefix]:
            self._hub.set_available(target.home, target.device, online)
        if online:
            self._tasks.spawn(self.refresh(prefix), f"shelly-status-{prefix}")

    def _event(self, prefix: str, topic: str, payload: bytes) -> None:
        try:
            frame = msgspec.json.decode(payload, type=_Notification)
        except msgspec.DecodeError as exc:
            self._reject(prefix, "bad_payload", f"{topic}: not a JSON-RPC notification: {exc}")
            return
        if frame.method in _STATUS_METHODS:
            self._apply(prefix, frame.params)
        # NotifyEvent (a button pressed …) carries no state carhome keeps.

    def _component_status(self, prefix: str, topic: str, payload: bytes) -> None:
        component = topic.rsplit("/", 1)[1]
        try:
            status = msgspec.json.decode(payload)
        except msgspec.DecodeError as exc:
            self._reject(prefix, "bad_payload", f"{topic}: not JSON: {exc}")
            return
        self._apply(prefix, {component: status})

    def _apply(self, prefix: str, status: Mapping[str, Any]) -> None:
        """Report what ``status`` (keyed by component) says of each hub device of ``prefix``."""
        now = self._clock.time()
        for target in self._by_prefix[prefix]:
            values, wrong = target.component.values(status)
            for reason in wrong:
                self._reject_target(target, "bad_payload", f"{prefix}: {reason}")
            if not values:
                continue
            self.stats.status_updates += 1
            report = self._hub.report(target.home, target.device, values, ts=now, source=SOURCE)
            self.stats.rejected += len(report.rejected)

    def _reply(self, payload: bytes) -> None:
        try:
            frame = msgspec.json.decode(payload, type=_Response)
        except msgspec.DecodeError as exc:
            self.stats.rejected += 1
            self._hub.rejections.record(
                InvalidChange(
                    home=HUB_WIDE,
                    device=self.src,
                    prop=None,
                    code="bad_payload",
                    reason=f"{self._reply_topic}: not a JSON-RPC response: {exc}",
                )
            )
            return
        future = self._calls.get(frame.id) if isinstance(frame.id, int) else None
        if future is not None and not future.done():
            future.set_result(frame)

    def _reject(self, prefix: str, code: str, reason: str) -> None:
        # counted once, on the first hub device the Shelly feeds (a cause per device and code)
        self._reject_target(self._by_prefix[prefix][0], code, reason)

    def _reject_target(self, target: _Target, code: str, reason: str) -> None:
        self.stats.rejected += 1
        self._hub.rejections.record(
            InvalidChange(home=target.home, device=target.device, prop=None, code=code, reason=reason)
        )

    # -- requests -------------------------------------------------------------------------

    async def call(
        self,
        prefix: str,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        deadline: float | None = None,
    ) -> Any:
        """Send one JSON-RPC request to the Shelly at ``prefix``; its result.

        ``ShellyRefused`` for an error frame, ``ShellyTimeout`` without an answer within the
        timeout (or by ``deadline``, clock time), ``ConnectorError`` if the broker is away.
        """
        request_id = next(self._ids)
        frame: dict[str, Any] = {"id": request_id, "src": self.src, "method": method}
        if params is not None:
            frame["params"] = dict(params)
        wait = self.timeout
        if deadline is not None:
            wait = min(wait, deadline - self._clock.time())
        future: asyncio.Future[_Response] = asyncio.get_running_loop().create_future()
        self._calls[request_id] = future
        try:
            self._link.publish(f"{prefix}/rpc", msgspec.json.encode(frame), qos=1)
            timer: asyncio.Future[Any] = asyncio.ensure_future(self._clock.sleep(wait))
            waiting: set[asyncio.Future[Any]] = {future, timer}
            try:
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
            if not future.done():
                raise ShellyTimeout(f"{method} to {prefix}: no answer within {wait:g} s")
            answer = future.result()
        finally:
            self._calls.pop(request_id, None)
            future.cancel()
        if answer.error is not None:
            raise ShellyRefused(method, answer.error.code, answer.error.message)
        return answer.result

    async def refresh(self, prefix: str) -> bool:
        """Ask the Shelly at ``prefix`` for its whole status (``Shelly.GetStatus``) and report
        it; whether it answered."""
        try:
            result = await self.call(prefix, "Shelly.GetStatus")
        except ShellyError as exc:
            log.debug("Shelly %s status not read: %s", prefix, exc)
            return False
        except ConnectorError:
            return False
        if not isinstance(result, Mapping):
            self._reject(
                prefix, "bad_payload", f"Shelly.GetStatus of {prefix} answered {type(result).__name__}"
            )
            return False
        self._apply(prefix, result)
        return True

    # -- commands -------------------------------------------------------------------------

    async def deliver(self, command: Command) -> None:
        """Start executing ``command`` on its device (``Transport``); the ack follows."""
        target = self._targets.get((command.home, command.device))
        if target is None:
            raise ConnectorError(f"{command.home}/{command.device} is not a Shelly device of this connector")
        self._executor.start(target.runs, command, lambda: self._run(target, command))

    async def _run(self, target: _Target, command: Command) -> Ack:
        if self._clock.time() >= command.expires:
            return Ack(command.id, "expired", error="expired before it could be sent to the Shelly")
        request = self._request(target, command)
        if isinstance(request, str):
            return self._executor.failed(command, request)
        method, params, wanted = request
        try:
            result = await self.call(target.prefix, method, params, deadline=command.expires)
        except ConnectorError as exc:
            return self._executor.failed(command, _why(exc))
        was_on = result.get("was_on") if isinstance(result, Mapping) else None
        if not isinstance(was_on, bool):
            self._reject_target(target, "bad_payload", f"{method} answered {result!r}, without was_on")
            return self._executor.failed(
                command, f"the Shelly's answer to {method} has no was_on: {result!r}"
            )
        now_on = (not was_on) if wanted is None else wanted
        self._hub.report(target.home, target.device, {"on": now_on}, ts=self._clock.time(), source=SOURCE)
        return Ack(command.id, "acked", result={"on": now_on, "was_on": was_on})

    def _request(self, target: _Target, command: Command) -> tuple[str, dict[str, Any], bool | None] | str:
        """The RPC method, its params and the state it asks for (``None``: a toggle), or why not."""
        if target.component.kind.kind != "switch":
            return f"{target.component.key} takes no commands"
        if self._hub.available(target.home, target.device) is False:
            return f"the Shelly {target.prefix} is offline (its online topic says false)"
        switch = target.component.id
        if command.kind == "set" and command.target == "on":
            wanted = bool(command.args["value"])
        elif command.kind == "action" and command.target in ("turn_on", "turn_off"):
            wanted = command.target == "turn_on"
        elif command.kind == "action" and command.target == "toggle":
            return "Switch.Toggle", {"id": switch}, None
        else:
            return f"a Shelly relay does not take {command.kind} {command.target!r}"
        return "Switch.Set", {"id": switch, "on": wanted}, wanted


def _why(exc: ConnectorError) -> str:
    """A failed request in words for its failed ack."""
    if isinstance(exc, ShellyRefused):
        return f"the Shelly refused {exc.reason}"
    if isinstance(exc, ShellyTimeout):
        return f"{exc}; whether it switched shows in its next status"
    return str(exc)
