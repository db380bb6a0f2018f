"""Commands: made, checked, written to the outbox, delivered, acknowledged or expired.

Lifecycle: ``queued → sent → acked | failed | expired``. A command is written to the
outbox (durably, by the store) before ``submit`` returns, so "accepted" means it survives
a crash. Delivery goes through the transport of the device's connector; while no transport
is ready the command waits queued and is delivered when one is. Devices acknowledge by
command id and ignore an id they already executed, so redelivery after a reconnect or a
restart is safe. A command still unacknowledged at its expiry ends ``expired``; a device
never executes one past it (the expiry travels with the command).

Final means durable: when an ack, the expiry or a withdrawal decides a command's outcome,
the router first writes it to the outbox and only once that returned makes it visible —
the command's status, ``get``, ``wait``, and the ``Result`` it publishes on the hub's bus
(API answers, WebSocket, automations' triggers, the charging controller). Until then the
command stays pending, and the first outcome decided is the one kept: later acks for it
are ignored. A write that fails is tried again. A command handed to its device publishes a
``Result`` too, with status ``sent`` (not final: ``Result.final`` says which).

Command ids are unique on a hub for good: ``submit`` refuses an id that is pending, done or
only in the store (from before a restart) with ``DuplicateCommand`` before the gatekeeper
is asked, and the store refuses it too, so no id ever rewrites another command's record.

Derived ids: a command the hub makes on its own (an automation run, a scene it applies, the
charging controller) or one an API client retries under its idempotency key carries an id
derived from what caused it (``derived_id``), not a random one. Replaying the same cause —
a trigger seen again after a restart or a failover, a client retrying after a timeout —
then makes the same id, which ``submit`` refuses with ``DuplicateCommand``: the maker takes
that as "already made", so a replay never sends a second command.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import heapq
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal, Protocol

import msgspec

from carhome.clock import Clock
from carhome.errors import (
    CommandDenied,
    CommandTimeout,
    ConnectorError,
    DuplicateCommand,
    InvalidCommand,
    UnknownDevice,
)
from carhome.hub.model import Device
from carhome.spec import DeviceSpec, InvalidValue

log: Final = logging.getLogger(__name__)

DEFAULT_TTL: Final = 30.0
MAX_TTL: Final = 24 * 3600.0
# After a failed write of a result, how long (hub time) before it is tried again.
RESULT_RETRY: Final = 1.0


# Dict keys sorted, so equal parts encode alike; anything JSON cannot say goes as its repr.
_ID_PARTS: Final = msgspec.json.Encoder(enc_hook=repr, order="sorted")


def derived_id(*parts: object) -> str:
    """A command id made from what caused the command: the blake2b hash (16 bytes, hex) of
    ``parts``, each as its JSON text (so ``1`` and ``"1"`` differ), separated so that no two
    different lists of parts run together. Same cause, same id; a random id (``make``'s
    default) never equals one of these in practice."""
    # One text hashed at once: the same bytes as each part followed by its separator.
    encode = _ID_PARTS.encode
    text = b"\x1f".join([encode(part) for part in parts])
    if parts:
        text += b"\x1f"
    return hashlib.blake2b(text, digest_size=16, person=b"carhome-cmd-id").hexdigest()


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
# An ack's status as the enum, by a dict lookup (calling the enum class is slow).
_STATUS: Final = {status.value: status for status in CommandStatus}

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


class Result(msgspec.Struct, frozen=True):
    """A command's status changed: it was sent, or it is final (and durable). Its key on the
    bus is (home, device, target); ``status`` is the command's status when this was published."""

    home: str
    device: str
    name: str
    status: CommandStatus
    command: Command

    @classmethod
    def of(cls, command: Command) -> Result:
        return cls(command.home, command.device, command.target, command.status, command)

    @property
    def final(self) -> bool:
        return self.status.final


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


class CommandSigner(Protocol):
    """Signs a command a part makes with no phone in the loop (an automation run, the
    charging controller) before the gatekeeper is asked. Provided by the access layer (the
    hub's delegate keys); the hub carries the string it returns as it carries a phone's
    signature, and knows nothing of how it was made."""

    async def sign(self, command: Command, spec: DeviceSpec) -> str | None:
        """The signature ``command`` is to carry, or ``None`` if it has none to get (then
        the gatekeeper decides on it unsigned); ``CommandDenied`` if it needs one it cannot
        get now."""
        ...


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
    """Where commands are kept. ``put`` and ``update`` are done once durable; ``put``
    raises ``DuplicateCommand`` for a taken id."""

    async def outbox_put(self, command: Command) -> None: ...

    def outbox_update(self, command: Command) -> Awaitable[None]:
        """Done once the update is durable. A store that is done at once (the memory store)
        returns a finished future: the router then makes the result final before it returns."""
        ...

    async def outbox_get(self, command_id: str) -> Command | None: ...


Publish = Callable[[Result], None]
DeviceLookup = Callable[[str, str], tuple[Device, DeviceSpec]]


def _checked(
    dev: Device, spec: DeviceSpec, kind: CommandKind, target: str, args: dict[str, Any] | None
) -> dict[str, Any]:
    """A command's arguments checked against its device's spec (``InvalidCommand`` if not)."""
    args = dict(args or {})
    try:
        if kind == "set":
            if set(args) != {"value"}:
                raise InvalidValue("bad_arguments", "a set command takes one argument 'value'")
            return {"value": spec.check_set(target, args["value"])}
        return spec.action(target).check_args(args)
    except InvalidValue as exc:
        raise InvalidCommand(device=dev.id, target=target, reason=exc.reason, allowed=exc.allowed) from None


class CommandRouter:
    """Routes commands from any face or automation to the device's connector."""

    def __init__(
        self,
        *,
        clock: Clock,
        gatekeeper: Gatekeeper,
        outbox: Outbox,
        lookup: DeviceLookup,
        publish: Publish = lambda result: None,
    ) -> None:
        self._clock = clock
        self._publish = publish
        self.gatekeeper = gatekeeper
        # Given by the composition that holds delegate keys; asked by ``Hub.submit`` for a
        # command a part submits on its own (``delegated``).
        self.signer: CommandSigner | None = None
        self._outbox = outbox
        self._lookup = lookup
        self._transports: dict[str, Transport] = {}
        self._redelivering: set[str] = set()
        self._pending: dict[str, Command] = {}
        self._recent: dict[str, Command] = {}
        # Outcomes decided but not yet durable (the command is still pending meanwhile),
        # and those of them whose write is under way.
        self._outcomes: dict[str, Command] = {}
        self._settling: set[str] = set()
        self._admitting: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[Command]]] = {}
        self._deadlines: list[tuple[float, str]] = []
        self._wake = asyncio.Event()
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
        id: str | None = None,  # noqa: A002 - the command's own field name
    ) -> Command:
        """Build a command checked against the device's spec (``InvalidCommand`` if not).

        ``id`` is one derived from the command's cause (``derived_id``); without it the
        command gets a random one."""
        dev, spec = self._lookup(home, device)
        if not 0 < ttl <= MAX_TTL:
            raise InvalidCommand(
                device=device,
                target=target,
                reason=f"ttl {ttl} s is out of range",
                allowed=f"more than 0 and at most {MAX_TTL:.0f} s",
            )
        args = _checked(dev, spec, kind, target, args)
        now = self._clock.time()
        return Command(
            id=uuid.uuid4().hex if id is None else id,
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

    def check(
        self, *, home: str, device: str, kind: CommandKind, target: str, args: dict[str, Any] | None = None
    ) -> None:
        """Whether ``make`` would take these: its ``InvalidCommand`` (or ``UnknownDevice``)
        if not, and nothing made (an automation checks its commands when it is bound)."""
        dev, spec = self._lookup(home, device)
        _checked(dev, spec, kind, target, args)

    async def submit(self, command: Command, *, made_here: bool = False) -> Command:
        """Ask the gatekeeper, make the command durable, then deliver it.

        ``DuplicateCommand`` if its id is taken, by a command of any member or home, pending,
        done or kept from before a restart: the gatekeeper is not asked, nothing changes.
        ``made_here`` says the id is the random one ``make`` gave it, which no command can
        have taken: the store is then not asked first (it still refuses a taken id).
        """
        _, spec = self._lookup(command.home, command.device)
        # Taken: being admitted, pending or recently done here, or in the store (which also
        # has the ids from before the last restart).
        if self._held(command.id) or (
            not made_here and await self._outbox.outbox_get(command.id) is not None
        ):
            raise DuplicateCommand(command.id)
        self._admitting.add(command.id)
        try:
            decision = await self.gatekeeper.decide(command, spec)
            if not decision.allowed:
                raise CommandDenied(
                    member=command.member,
                    device=command.device,
                    target=command.target,
                    reason=decision.reason,
                )
            await self._outbox.outbox_put(command)  # the store refuses a taken id as well
        finally:
            self._admitting.discard(command.id)
        self._track(command)
        await self._deliver(command)
        return command

    def _held(self, command_id: str) -> bool:
        """Whether a command with this id is being admitted, pending or recently done here."""
        return command_id in self._admitting or command_id in self._pending or command_id in self._recent

    async def restore(self, commands: list[Command]) -> None:
        """Take back commands that were pending when the hub stopped; those past their
        expiry end ``expired``, durably, before this returns."""
        now = self._clock.time()
        for command in commands:
            if command.status.final:
                continue
            self._track(command)
            if command.expires <= now:
                self._finish(command, CommandStatus.EXPIRED, error="expired while the hub was down")
        await self.drain()

    def _track(self, command: Command) -> None:
        self._pending[command.id] = command
        self._push_deadline(command.expires, command.id)

    def _push_deadline(self, at: float, command_id: str) -> None:
        earliest = self._deadlines[0][0] if self._deadlines else None
        heapq.heappush(self._deadlines, (at, command_id))
        # Wake the expiry task only when this deadline comes before the one it waits for.
        if earliest is None or at < earliest:
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
        if command.status.final or command.id in self._outcomes or command.expires <= self._clock.time():
            return
        transport = self._transports.get(self._connector_of(command) or "")
        if transport is None:
            return
        try:
            await transport.deliver(command)
        except ConnectorError as exc:
            log.warning("command %s to %s/%s not sent yet: %s", command.id, command.home, command.device, exc)
            return
        if command.status is CommandStatus.QUEUED and command.id not in self._outcomes:
            command.status = CommandStatus.SENT
            command.sent_at = self._clock.time()
            # A copy: what is written is the command as it is now (the store never lets a
            # late "sent" overwrite a final status). A store that wrote it at once needs
            # no task to wait for it.
            written = self._outbox.outbox_update(msgspec.structs.replace(command))
            if not (isinstance(written, asyncio.Future) and written.done() and written.exception() is None):
                self._spawn(self._write(command.id, written), "outbox-update")
            self._publish(Result.of(command))

    # -- results --------------------------------------------------------------------------

    def ack(self, home: str, device: str, ack: Ack) -> Command | None:
        """Record a device's answer; the command is final once the answer is durable.

        Returns the command whose outcome this answer decides. Acks for unknown, foreign or
        finished ids — and for a command whose outcome is already decided — are ignored."""
        command = self._pending.get(ack.id)
        if command is None or command.home != home or command.device != device or ack.id in self._outcomes:
            if ack.id in self._recent or ack.id in self._outcomes:
                self.late_acks += 1
            log.info("ignored ack %s from %s/%s: no such pending command", ack.id, home, device)
            return None
        status = _STATUS.get(ack.status) or CommandStatus(ack.status)  # the enum says why not
        self._finish(command, status, result=ack.result, error=ack.error)
        return command

    def _finish(
        self, command: Command, status: CommandStatus, *, result: Any = None, error: str | None = None
    ) -> None:
        """Decide ``command``'s outcome and write it; it shows once it is durable."""
        if command.id in self._outcomes:
            return  # the first outcome decided is the one kept
        self._outcomes[command.id] = msgspec.structs.replace(
            command, status=status, result=result, error=error, done_at=self._clock.time()
        )
        self._settle(command.id)

    def _settle(self, command_id: str) -> None:
        """Write the decided outcome; make it final once the write is done."""
        if command_id in self._settling:
            return
        self._settling.add(command_id)
        try:
            written = self._outbox.outbox_update(self._outcomes[command_id])
        except Exception as exc:
            self._not_written(command_id, exc)
            return
        if isinstance(written, asyncio.Future) and written.done():
            # written at once (the memory store): final before ack or withdraw returns
            failed = written.exception()
            if failed is None:
                self._made_final(command_id)
            elif isinstance(failed, Exception):
                self._not_written(command_id, failed)
            else:  # pragma: no cover - a store's write does not end in a BaseException
                raise failed
            return
        self._spawn(self._await_written(command_id, written), "outbox-result")

    async def _await_written(self, command_id: str, written: Awaitable[None]) -> None:
        try:
            await written
        except Exception as exc:
            self._not_written(command_id, exc)
            return
        self._made_final(command_id)

    def _not_written(self, command_id: str, exc: Exception) -> None:
        # Not durable, so not final: the command stays pending and the write is tried
        # again after RESULT_RETRY (by the expiry task).
        self._settling.discard(command_id)
        log.error("could not record the result of command %s (will retry): %s", command_id, exc)
        self._push_deadline(self._clock.time() + RESULT_RETRY, command_id)

    def _made_final(self, command_id: str) -> None:
        self._settling.discard(command_id)
        outcome = self._outcomes.pop(command_id)
        command = self._pending.pop(command_id, None)
        if command is None:  # pragma: no cover - outcomes are decided for pending commands only
            return
        command.status = outcome.status
        command.result = outcome.result
        command.error = outcome.error
        command.done_at = outcome.done_at
        self._recent[command.id] = command
        if len(self._recent) > 10_000:
            self._recent.pop(next(iter(self._recent)))
        for future in self._waiters.pop(command.id, ()):
            if not future.done():
                future.set_result(command)
        self._publish(Result.of(command))

    def withdraw(self, member: str, reason: str) -> list[Command]:
        """Fail every command of ``member`` not yet sent to its device (the member was
        revoked: what they queued must not run later). A sent one cannot be called back.
        The returned commands are final once their failure is durable."""
        gone = [
            c
            for c in self._pending.values()
            if c.member == member and c.status is CommandStatus.QUEUED and c.id not in self._outcomes
        ]
        for command in gone:
            self._finish(command, CommandStatus.FAILED, error=reason)
        return gone

    def get(self, command_id: str) -> Command | None:
        return self._pending.get(command_id) or self._recent.get(command_id)

    def pending(self) -> list[Command]:
        """Commands not final yet (those whose outcome is being written included)."""
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
                if command_id in self._outcomes:
                    self._settle(command_id)  # decided, its write failed: try it again
                    continue
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

    async def _write(self, command_id: str, written: Awaitable[None]) -> None:
        """Wait for a "sent" write. One that fails (the store unreachable) is logged, not
        tried again: the store keeps the command as queued until its outcome is written,
        which is retried, and a restarted hub sends a pending command again either way."""
        try:
            await written
        except Exception as exc:
            log.warning("command %s: could not record that it was sent: %s", command_id, exc)

    def _spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for outbox writes and deliveries started so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
