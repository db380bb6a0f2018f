"""Commands: made, checked, written to the outbox, delivered, acknowledged or expired.

Lifecycle: ``queued → sent → acked | failed | expired``. A command is written to the
outbox (durably, by the store) before ``submit`` returns, so "accepted" means it survives
a crash. Delivery goes through the transport of the device's connector; while no transport
is ready the command waits queued and is delivered when one is. Devices acknowledge by
command id and ignore an id they already executed, so redelivery after a reconnect or a
restart is safe. A command still unacknowledged at its expiry ends ``expired``; a device
never executes one past it (the expiry travels with the command).
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import logging
import uuid
from collections.abc import Callable
from typing import Any, Final, Literal, Protocol

import msgspec

from carhome.clock import Clock
from carhome.errors import (
    CommandDenied,
    CommandTimeout,
    ConnectorError,
    InvalidCommand,
    UnknownDevice,
)
from carhome.hub.model import Device
from carhome.spec import DeviceSpec, InvalidValue

log: Final = logging.getLogger(__name__)

DEFAULT_TTL: Final = 30.0
MAX_TTL: Final = 24 * 3600.0


class CommandStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    ACKED = "acked"
    FAILED = "failed"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL: Final = frozenset({CommandStatus.ACKED, CommandStatus.FAILED, CommandStatus.EXPIRED})

CommandKind = Literal["set", "action"]


class Command(msgspec.Struct, kw_only=True):
    """A request to one device: write a property (``set``) or run an action."""

    id: str
    home: str
    device: str
    kind: CommandKind
    target: str
    args: dict[str, Any]
    member: str
    face: str
    created: float
    expires: float
    status: CommandStatus = CommandStatus.QUEUED
    sent_at: float | None = None
    done_at: float | None = None
    result: Any = None
    error: str | None = None
    signature: str | None = None


class Ack(msgspec.Struct, frozen=True):
    """A device's answer to a command, matched by id."""

    id: str
    status: Literal["acked", "failed", "expired"]
    result: Any = None
    error: str | None = None


class Decision(msgspec.Struct, frozen=True):
    allowed: bool
    reason: str


class Gatekeeper(Protocol):
    """Decides whether a command may go. Provided by the access layer; the hub only asks."""

    async def decide(self, command: Command, spec: DeviceSpec) -> Decision: ...


class AllowAll:
    """The gatekeeper of a hub with no access control configured: everything goes."""

    async def decide(self, command: Command, spec: DeviceSpec) -> Decision:
        return Decision(True, "no access control configured")


class Transport(Protocol):
    """Delivers commands to devices of one connector (MQTT, OCPP …)."""

    async def deliver(self, command: Command) -> None:
        """Send ``command``; raise ``ConnectorError`` if it cannot be sent now."""
        ...


class Outbox(Protocol):
    """Where commands are kept until final. ``put`` returns only once it is durable."""

    async def outbox_put(self, command: Command) -> None: ...

    async def outbox_update(self, command: Command) -> None: ...


ResultListener = Callable[[Command], None]
DeviceLookup = Callable[[str, str], tuple[Device, DeviceSpec]]


class CommandRouter:
    """Routes commands from any face or automation to the device's connector."""

    def __init__(self, *, clock: Clock, gatekeeper: Gatekeeper, outbox: Outbox, lookup: DeviceLookup) -> None:
        self._clock = clock
        self.gatekeeper = gatekeeper
        self._outbox = outbox
        self._lookup = lookup
        self._transports: dict[str, Transport] = {}
        self._redelivering: set[str] = set()
        self._pending: dict[str, Command] = {}
        self._recent: dict[str, Command] = {}
        self._waiters: dict[str, list[asyncio.Future[Command]]] = {}
        self._deadlines: list[tuple[float, str]] = []
        self._wake = asyncio.Event()
        self._listeners: list[ResultListener] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.late_acks = 0

    # -- making and accepting -------------------------------------------------------------

    def make(
        self,
        *,
        home: str,
        device: str,
        kind: CommandKind,
        target: str,
        args: dict[str, Any] | None = None,
        member: str,
        face: str,
        ttl: float = DEFAULT_TTL,
        signature: str | None = None,
    ) -> Command:
        """Build a command checked against the device's spec (``InvalidCommand`` if not)."""
        dev, spec = self._lookup(home, device)
        if not 0 < ttl <= MAX_TTL:
            raise InvalidCommand(
                device=device,
                target=target,
                reason=f"ttl {ttl} s is out of range",
                allowed=f"more than 0 and at most {MAX_TTL:.0f} s",
            )
        args = dict(args or {})
        try:
            if kind == "set":
                if set(args) != {"value"}:
                    raise InvalidValue("bad_arguments", "a set command takes one argument 'value'")
                args = {"value": spec.check_set(target, args["value"])}
            else:
                args = spec.action(target).check_args(args)
        except InvalidValue as exc:
            raise InvalidCommand(
                device=dev.id, target=target, reason=exc.reason, allowed=exc.allowed
            ) from None
        now = self._clock.time()
        return Command(
            id=uuid.uuid4().hex,
            home=home,
            device=device,
            kind=kind,
            target=target,
            args=args,
            member=member,
            face=face,
            created=now,
            expires=now + ttl,
            signature=signature,
        )

    async def submit(self, command: Command) -> Command:
        """Ask the gatekeeper, make the command durable, then deliver it."""
        _, spec = self._lookup(command.home, command.device)
        decision = await self.gatekeeper.decide(command, spec)
        if not decision.allowed:
            raise CommandDenied(
                member=command.member, device=command.device, target=command.target, reason=decision.reason
            )
        await self._outbox.outbox_put(command)
        self._track(command)
        await self._deliver(command)
        return command

    def restore(self, commands: list[Command]) -> None:
        """Take back commands that were pending when the hub stopped."""
        now = self._clock.time()
        for command in commands:
            if command.status.final:
                continue
            if command.expires <= now:
                self._finish(command, CommandStatus.EXPIRED, error="expired while the hub was down")
            else:
                self._track(command)

    def _track(self, command: Command) -> None:
        self._pending[command.id] = command
        earliest = self._deadlines[0][0] if self._deadlines else None
        heapq.heappush(self._deadlines, (command.expires, command.id))
        # Wake the expiry task only when this deadline comes before the one it waits for.
        if earliest is None or command.expires < earliest:
            self._wake.set()

    # -- delivery -------------------------------------------------------------------------

    def attach(self, connector: str, transport: Transport) -> None:
        """Register the transport for a connector and deliver what waits for it."""
        self._transports[connector] = transport
        # One redelivery pass per connector at a time: attaches close together would
        # otherwise send every pending command once per attach.
        if connector not in self._redelivering:
            self._redelivering.add(connector)
            self._spawn(self._redeliver_once(connector), f"redeliver-{connector}")

    async def _redeliver_once(self, connector: str) -> None:
        try:
            await self.redeliver(connector)
        finally:
            self._redelivering.discard(connector)

    def detach(self, connector: str) -> None:
        self._transports.pop(connector, None)

    async def redeliver(self, connector: str) -> None:
        """Send again every unfinished command of ``connector`` (after a reconnect)."""
        for command in list(self._pending.values()):
            if self._connector_of(command) == connector:
                await self._deliver(command)

    def _connector_of(self, command: Command) -> str | None:
        try:
            return self._lookup(command.home, command.device)[0].connector
        except UnknownDevice:  # removed since it was sent; its command waits out its expiry
            return None

    async def _deliver(self, command: Command) -> None:
        if command.status.final or command.expires <= self._clock.time():
            return
        transport = self._transports.get(self._connector_of(command) or "")
        if transport is None:
            return
        try:
            await transport.deliver(command)
        except ConnectorError as exc:
            log.warning("command %s to %s/%s not sent yet: %s", command.id, command.home, command.device, exc)
            return
        if command.status is CommandStatus.QUEUED:
            command.status = CommandStatus.SENT
            command.sent_at = self._clock.time()
            self._spawn(self._outbox.outbox_update(command), "outbox-update")

    # -- results --------------------------------------------------------------------------

    def ack(self, home: str, device: str, ack: Ack) -> Command | None:
        """Record a device's answer. Acks for unknown, foreign or finished ids are ignored."""
        command = self._pending.get(ack.id)
        if command is None or command.home != home or command.device != device:
            if ack.id in self._recent:
                self.late_acks += 1
            log.info("ignored ack %s from %s/%s: no such pending command", ack.id, home, device)
            return None
        self._finish(command, CommandStatus(ack.status), result=ack.result, error=ack.error)
        return command

    def _finish(
        self, command: Command, status: CommandStatus, *, result: Any = None, error: str | None = None
    ) -> None:
        command.status = status
        command.result = result
        command.error = error
        command.done_at = self._clock.time()
        self._pending.pop(command.id, None)
        self._recent[command.id] = command
        if len(self._recent) > 10_000:
            self._recent.pop(next(iter(self._recent)))
        self._spawn(self._outbox.outbox_update(command), "outbox-update")
        for future in self._waiters.pop(command.id, ()):
            if not future.done():
                future.set_result(command)
        for listener in self._listeners:
            try:
                listener(command)
            except Exception:
                log.exception("command result listener failed")

    def withdraw(self, member: str, reason: str) -> list[Command]:
        """Fail every command of ``member`` not yet sent to its device (the member was
        revoked: what they queued must not run later). A sent one cannot be called back."""
        gone = [c for c in self._pending.values() if c.member == member and c.status is CommandStatus.QUEUED]
        for command in gone:
            self._finish(command, CommandStatus.FAILED, error=reason)
        return gone

    def on_result(self, listener: ResultListener) -> Callable[[], None]:
        """Call ``listener`` with every command that reaches a final status."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def get(self, command_id: str) -> Command | None:
        return self._pending.get(command_id) or self._recent.get(command_id)

    def pending(self) -> list[Command]:
        return list(self._pending.values())

    async def wait(self, command_id: str, timeout: float | None = None) -> Command:
        """Wait (real seconds) until the command is final and return it."""
        command = self.get(command_id)
        if command is not None and command.status.final:
            return command
        future: asyncio.Future[Command] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(command_id, []).append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise CommandTimeout(f"command {command_id} had no result within {timeout} s") from None

    # -- expiry ---------------------------------------------------------------------------

    async def run_expiry(self) -> None:
        """Expire commands at their deadline. Runs for the life of the hub."""
        while True:
            now = self._clock.time()
            heap = self._deadlines
            while heap and heap[0][0] <= now:
                _, command_id = heapq.heappop(heap)
                command = self._pending.get(command_id)
                if command is not None:
                    self._finish(command, CommandStatus.EXPIRED, error="no result before expiry")
            self._wake.clear()
            waits: list[asyncio.Task[Any]] = [asyncio.create_task(self._wake.wait())]
            if heap:
                waits.append(asyncio.create_task(self._clock.sleep(heap[0][0] - now)))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()

    # -- housekeeping ---------------------------------------------------------------------

    def _spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for outbox writes and deliveries started so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
