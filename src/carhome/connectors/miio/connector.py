"""The hub's miIO connector: Xiaomi MIoT devices on the LAN, polled and commanded.

Each configured device gets a ``MiioClient`` (python-miio's codec on asyncio UDP) and a
polling task: every ``poll_interval`` it reads the model's mapped properties with one
``get_properties`` request, converts them through the model's table
(``carhome.connectors.miio.mapping``) and hands them to ``Hub.report``; a poll that gets
no answer marks the device offline, the next good one online again.

It is the hub's ``Transport`` for devices whose connector is ``miio``. A command runs as
``set_properties`` or ``action`` and is acknowledged with what the device answered: MIoT
code 0 is ``acked``, any other code a ``failed`` ack whose error says what the code means.
The expiry travels with the command: nothing is sent to the device at or after it (the
miIO wire has no expiry field, so the connector checks before every send and resend); a
command that could not go in time is acked ``expired``. An id already executed is answered
from the connector's memory, never sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self

from carhome.clock import Clock
from carhome.connectors.miio.client import (
    MiioClient,
    MiioDeviceError,
    MiioError,
    MiioExpired,
)
from carhome.connectors.miio.mapping import MAPPINGS, ConversionError, ModelMap, PropertyMap
from carhome.connectors.miio.tokens import PORT, check_token
from carhome.drivers.checks import check_hub_device
from carhome.drivers.execution import Executor, RunStats, Tasks
from carhome.errors import ConfigError, ConnectorError, InvalidChange, UnknownDevice
from carhome.hub import Ack, Command, Hub
from carhome.hub.runs import CommandRuns

log: Final = logging.getLogger(__name__)

CONNECTOR: Final = "miio"
SOURCE: Final = "miio"

# MIoT answer codes (miot-spec): 0 done, 1 accepted and being done; the rest are refusals.
MIOT_CODES: Final = {
    -4001: "the property is not readable",
    -4002: "the property is not writable",
    -4003: "the device has no such property or action",
    -4004: "the device failed to carry it out",
    -4005: "the device does not accept this value",
    -4006: "the device does not accept the action's arguments",
}


def describe_code(code: Any) -> str:
    """What a MIoT answer code means, in words for a failed ack."""
    text = MIOT_CODES.get(code) if isinstance(code, int) else None
    return f"MIoT code {code}: {text}" if text else f"MIoT code {code}"


@dataclass(frozen=True, slots=True)
class MiioDevice:
    """One Xiaomi device on the LAN: which hub device it is, where, its token and model.

    The token cannot be discovered on current firmware (the hello answers with ``0xff``
    in its place): read it from the Mi Home app or the Xiaomi cloud.
    """

    home: str
    device: str
    host: str
    token: str = field(repr=False)
    model: str
    port: int = PORT

    def __post_init__(self) -> None:
        check_token(self.token)
        if self.model not in MAPPINGS:
            raise ConfigError(
                f"miio device {self.home}/{self.device}: no MIoT mapping for model {self.model!r};"
                f" mapped models: {', '.join(sorted(MAPPINGS))}"
            )

    @property
    def mapping(self) -> ModelMap:
        return MAPPINGS[self.model]


class MiioStats(RunStats):
    """What the connector has done since it was made."""

    polls: int = 0
    poll_failures: int = 0
    rejected_values: int = 0


class _Unmapped(Exception):
    """The model's table does not map a command's target."""


class _Entry:
    """A device's client, its task, and what it has executed."""

    def __init__(self, device: MiioDevice, client: MiioClient) -> None:
        self.device = device
        self.client = client
        self.lock = asyncio.Lock()
        self.runs = CommandRuns()
        self.last_error: str | None = None


class MiioConnector:
    """Connects a hub to miIO/MIoT devices on the LAN; an async context manager."""

    def __init__(
        self,
        hub: Hub,
        devices: list[MiioDevice] | tuple[MiioDevice, ...],
        *,
        poll_interval: float = 30.0,
        clock: Clock | None = None,
        timeout: float = 5.0,
        attempts: int = 2,
    ) -> None:
        if poll_interval <= 0:
            raise ConfigError(f"miio poll_interval must be positive, got {poll_interval}")
        self._hub = hub
        self._clock = clock or hub.clock
        self.poll_interval = poll_interval
        self.stats = MiioStats()
        self._entries: dict[tuple[str, str], _Entry] = {}
        for device in devices:
            key = (device.home, device.device)
            if key in self._entries:
                raise ConfigError(f"miio device {device.home}/{device.device} is configured twice")
            client = MiioClient(
                device.host,
                device.token,
                clock=self._clock,
                port=device.port,
                timeout=timeout,
                attempts=attempts,
            )
            self._entries[key] = _Entry(device, client)
        self._tasks = Tasks()
        self._executor = Executor(hub, self.stats, self._tasks, connector=CONNECTOR, name="miio", log=log)
        self._stack = contextlib.AsyncExitStack()

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        for entry in self._entries.values():
            self._check_hub_device(entry.device)
        async with contextlib.AsyncExitStack() as stack:
            for entry in self._entries.values():
                await stack.enter_async_context(entry.client)
            self._stack = stack.pop_all()
        for entry in self._entries.values():
            d = entry.device
            self._tasks.spawn(self._poll_forever(entry), f"miio-poll-{d.home}-{d.device}")
        self._executor.attach(self)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._executor.stop()
        await self._stack.aclose()

    def _check_hub_device(self, device: MiioDevice) -> None:
        check_hub_device(
            self._hub,
            CONNECTOR,
            device.home,
            device.device,
            wanted=device.mapping.device_type,
            where=f"miio device {device.home}/{device.device}",
            feeds=f"model {device.model} is a",
        )

    def last_error(self, home: str, device: str) -> str | None:
        """Why the device's last poll or command failed (``None`` after a success)."""
        return self._entry(home, device).last_error

    def _entry(self, home: str, device: str) -> _Entry:
        entry = self._entries.get((home, device))
        if entry is None:
            raise UnknownDevice(home, device, [d for h, d in self._entries if h == home])
        return entry

    # -- polling --------------------------------------------------------------------------

    async def _poll_forever(self, entry: _Entry) -> None:
        while True:
            try:
                await self._poll(entry)
            except Exception:  # a poll must never end the loop; the cause is logged
                log.exception("miio poll of %s/%s failed", entry.device.home, entry.device.device)
            await self._clock.sleep(self.poll_interval)

    async def poll(self, home: str, device: str) -> bool:
        """Read the device now; whether it answered (its values are in the hub then)."""
        return await self._poll(self._entry(home, device))

    async def _poll(self, entry: _Entry) -> bool:
        async with entry.lock:
            return await self._poll_locked(entry)

    async def _poll_locked(self, entry: _Entry) -> bool:
        device, mapping = entry.device, entry.device.mapping
        self.stats.polls += 1
        try:
            answers = await entry.client.get_properties([p.key for p in mapping.properties])
        except MiioError as exc:
            self.stats.poll_failures += 1
            self._went_offline(entry, exc)
            return False
        values: dict[str, Any] = {}
        for answer in answers:
            pmap = mapping.by_key.get((answer.get("siid"), answer.get("piid")))  # type: ignore[arg-type]
            if pmap is None:
                continue  # not asked for: a device echoing extra properties
            code = answer.get("code", 0)
            if code != 0:
                self._reject(device, pmap.prop, "device_error", f"the device answered {describe_code(code)}")
                continue
            try:
                values[pmap.prop] = pmap.from_device(answer.get("value"))
            except ConversionError as exc:
                self._reject(device, pmap.prop, "not_mapped", exc.reason, exc.allowed)
        report = self._hub.report(device.home, device.device, values, ts=self._clock.time(), source=SOURCE)
        self.stats.rejected_values += len(report.rejected)
        if entry.last_error is not None:
            log.info("miio device %s/%s answers again", device.home, device.device)
        entry.last_error = None
        self._hub.set_available(device.home, device.device, True)
        return True

    def _went_offline(self, entry: _Entry, exc: MiioError) -> None:
        device = entry.device
        if entry.last_error != exc.reason:  # log each new cause once, not every poll
            log.warning("miio device %s/%s offline: %s", device.home, device.device, exc)
        entry.last_error = exc.reason
        self._hub.set_available(device.home, device.device, False)

    def _reject(
        self, device: MiioDevice, prop: str, code: str, reason: str, allowed: str | None = None
    ) -> None:
        self.stats.rejected_values += 1
        self._hub.rejections.record(
            InvalidChange(
                home=device.home, device=device.device, prop=prop, code=code, reason=reason, allowed=allowed
            )
        )

    # -- commands -------------------------------------------------------------------------

    async def deliver(self, command: Command) -> None:
        """Start executing ``command`` on its device (``Transport``); the ack follows."""
        entry = self._entries.get((command.home, command.device))
        if entry is None:
            raise ConnectorError(f"{command.home}/{command.device} is not a miio device of this connector")
        refresh = False  # an action's effects are read back once it is acked

        async def run() -> Ack:
            nonlocal refresh
            async with entry.lock:
                ack, refresh = await self._run(entry, command)
            return ack

        async def then() -> None:
            if refresh:
                await self._poll(entry)

        self._executor.start(entry.runs, command, run, then)

    async def _run(self, entry: _Entry, command: Command) -> tuple[Ack, bool]:
        """Execute under the device's lock; the ack, and whether to read the state again."""
        expired = Ack(command.id, "expired", error="expired before it could be sent to the device")
        if self._clock.time() >= command.expires:
            return expired, False
        try:
            return await self._perform(entry, command)
        except MiioExpired:
            return expired, False
        except MiioDeviceError as exc:
            reason = f"the device refused {command.target}: {exc.reason}"
        except MiioError as exc:
            self._went_offline(entry, exc)
            reason = f"no result from the device: {exc.reason}"
        except ConversionError as exc:
            reason = exc.reason + (f"; allowed: {exc.allowed}" if exc.allowed else "")
        except _Unmapped:
            mapping = entry.device.mapping
            known = sorted(mapping.by_prop) if command.kind == "set" else sorted(mapping.by_action)
            reason = (
                f"model {entry.device.model} has no MIoT mapping for {command.target!r};"
                f" mapped: {', '.join(known)}"
            )
        return self._executor.failed(command, reason), False

    async def _perform(self, entry: _Entry, command: Command) -> tuple[Ack, bool]:
        mapping = entry.device.mapping
        if command.kind == "set":
            pmap = mapping.by_prop.get(command.target)
            if pmap is None:
                raise _Unmapped
            return await self._write(entry, command, ((pmap, command.args["value"]),)), False
        amap = mapping.by_action.get(command.target)
        if amap is None:
            raise _Unmapped
        if amap.toggles is not None:
            return await self._toggle(entry, command, mapping.by_prop[amap.toggles]), False
        if amap.writes:
            writes = tuple((mapping.by_prop[p], v) for p, v in amap.writes)
            return await self._write(entry, command, writes), False
        if amap.siid is None or amap.aiid is None:
            raise _Unmapped
        result = await entry.client.action(amap.siid, amap.aiid, deadline=command.expires)
        code = result.get("code", 0)
        if code not in (0, 1):
            return self._executor.failed(
                command, f"the device refused {command.target}: {describe_code(code)}"
            ), False
        return Ack(command.id, "acked", result={"out": result.get("out", [])}), True

    async def _toggle(self, entry: _Entry, command: Command, pmap: PropertyMap) -> Ack:
        """Read the switch from the device (not the hub's copy, which may be stale), write its inverse."""
        [answer] = await entry.client.get_properties([pmap.key])
        code = answer.get("code", 0)
        if code != 0:
            return self._executor.failed(command, f"reading {pmap.prop}: {describe_code(code)}")
        return await self._write(entry, command, ((pmap, not pmap.from_device(answer.get("value"))),))

    async def _write(
        self, entry: _Entry, command: Command, writes: tuple[tuple[PropertyMap, Any], ...]
    ) -> Ack:
        items = [(p.siid, p.piid, p.to_device(v)) for p, v in writes]
        answers = await entry.client.set_properties(items, deadline=command.expires)
        refused = [
            f"{p.prop}: {describe_code(a.get('code'))}"
            for (p, _), a in zip(writes, answers, strict=False)
            if a.get("code", 0) not in (0, 1)
        ]
        if len(answers) != len(writes):
            refused.append(f"{len(answers)} answers to {len(writes)} writes")
        if refused:
            return self._executor.failed(command, "the device refused " + "; ".join(refused))
        device = entry.device
        done = {p.prop: v for p, v in writes}
        self._hub.report(device.home, device.device, done, ts=self._clock.time(), source=SOURCE)
        return Ack(command.id, "acked", result=done)

    def _failed(self, command: Command, reason: str) -> Ack:
        return self._executor.failed(command, reason)
