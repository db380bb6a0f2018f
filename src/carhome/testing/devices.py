"""Devices at the hub's public seams, for tests: a transport that answers as a device would,
one that only records, and a device-side command handler.

``AckingDevice`` is a ``carhome.hub.Transport`` (the seam a connector fills): it records each
command and answers it through ``hub.ack`` right after delivery returns, as a device on the
network would — ``acked`` with a result, ``failed`` with a reason for the targets in ``fail``,
and no answer at all for the targets in ``silent`` (the hub then expires the command).

``RecordingTransport`` records and answers nothing; with ``down`` it refuses every delivery
with ``ConnectorError``, as a connector whose broker is away.

``Recorder`` is the other side: a ``carhome.connectors.mqtt.CommandHandler`` for a device
client (``MqttDeviceClient``), which records what it ran and may refuse or hold a command.

Each waits on conditions, never on time: ``next()`` and ``until()`` return as soon as what
they wait for arrived, and fail after ``WAIT`` real seconds if it never does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from carhome.errors import ConnectorError, DeviceRefused
from carhome.hub import Ack, Command, Hub
from carhome.testing.clock import settle

WAIT: Final = 10.0
"""Real seconds ``next`` and ``until`` wait for what they expect before they fail."""

AckStatus = Literal["acked", "failed", "expired"]
Result = Callable[[Command], Any]
"""What a device answers a command with (the ack's ``result``)."""


def ran(command: Command) -> dict[str, Any]:
    """The default result: ``{"ran": target, **arguments}``."""
    return {"ran": command.target, **command.args}


class _Received:
    """The commands a fake was given, in order, and waits on them."""

    def __init__(self) -> None:
        self.received: list[Command] = []
        """Every command delivered, in order."""
        self._taken = 0
        self._arrived: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        # made on first use, in the loop of the test that waits
        if self._arrived is None:
            self._arrived = asyncio.Condition()
        return self._arrived

    async def _note(self, command: Command) -> None:
        self.received.append(command)
        arrived = self._condition()
        async with arrived:
            arrived.notify_all()

    async def until(self, done: Callable[[list[Command]], bool], *, wait: float = WAIT) -> None:
        """Wait until the commands received make ``done`` true (the hub delivers from its own
        tasks, so a command may arrive after the call that caused it returned), then until
        the answers to them are in (every task is blocked)."""
        arrived = self._condition()
        async with asyncio.timeout(wait), arrived:
            await arrived.wait_for(lambda: done(self.received))
        await settle()

    async def next(self, *, wait: float = WAIT) -> Command:
        """The first command received that no earlier ``next`` returned."""
        await self.until(lambda received: len(received) > self._taken, wait=wait)
        self._taken += 1
        return self.received[self._taken - 1]


class AckingDevice(_Received):
    """A ``Transport`` that answers each command through ``hub.ack``, as a device would.

    ``status`` is the answer to every command (``acked`` unless told, with ``error`` for any
    other; ``None`` answers nothing); targets in ``fail`` get ``failed`` with that reason,
    targets in ``silent`` no answer. ``result`` makes an ``acked`` answer's result (``ran``
    by default).
    """

    def __init__(
        self,
        hub: Hub,
        *,
        status: AckStatus | None = "acked",
        error: str | None = None,
        fail: Mapping[str, str] | None = None,
        silent: set[str] | frozenset[str] = frozenset(),
        result: Result = ran,
    ) -> None:
        super().__init__()
        self.hub = hub
        self.status = status
        self.error = error
        self.fail = dict(fail or {})
        self.silent = set(silent)
        self.result = result

    async def deliver(self, command: Command) -> None:
        ack = self._answer(command)
        if ack is not None:
            # The answer comes back after delivery returns, as it would over the network,
            # and before anyone waiting on ``next``/``until`` looks at the command.
            asyncio.get_running_loop().call_soon(self.hub.ack, command.home, command.device, ack)
        await self._note(command)

    def _answer(self, command: Command) -> Ack | None:
        if self.status is None or command.target in self.silent:
            return None
        if command.target in self.fail:
            return Ack(command.id, "failed", error=self.fail[command.target])
        if self.status == "acked":
            return Ack(command.id, "acked", result=self.result(command))
        return Ack(command.id, self.status, error=self.error)


class RecordingTransport(_Received):
    """A ``Transport`` that records what it delivers and answers nothing; with ``down`` it
    refuses with ``ConnectorError`` (counted in ``attempts`` all the same)."""

    def __init__(self, *, down: bool = False) -> None:
        super().__init__()
        self.down = down
        self.attempts = 0
        """Deliveries tried, refused ones included."""
        self.sent = asyncio.Event()
        """Set at the first delivery that went through."""

    @property
    def delivered(self) -> list[Command]:
        """The commands that went through (``received``)."""
        return self.received

    async def deliver(self, command: Command) -> None:
        self.attempts += 1
        if self.down:
            raise ConnectorError("broker unreachable (a RecordingTransport set down)")
        await self._note(command)
        self.sent.set()


class Recorder:
    """A device's command handler that records what it ran; may refuse or hold a command.

    ``refuse`` maps a target to the reason it is refused with (``DeviceRefused``); while
    ``hold`` is an unset event, each command waits for it after it started (``started``).
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.refuse: dict[str, str] = {}
        self.hold: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
        self.calls.append((kind, target, args))
        self.started.set()
        if self.hold is not None:
            await self.hold.wait()
        if target in self.refuse:
            raise DeviceRefused(self.refuse[target])
        return {"ran": target}
