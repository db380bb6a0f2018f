"""A device at the hub's public seam: a ``Transport`` that answers through ``hub.ack``."""

from __future__ import annotations

import asyncio

from carhome.hub import Ack, Command, Hub


class FakeDevice:
    """A ``Transport`` that answers each command through ``hub.ack``, as a device would.

    Targets in ``fail`` are refused with that reason; targets in ``silent`` get no answer.
    """

    def __init__(
        self, hub: Hub, *, fail: dict[str, str] | None = None, silent: set[str] | None = None
    ) -> None:
        self.hub = hub
        self.fail = fail or {}
        self.silent = silent or set()
        self.received: list[Command] = []
        self.delivered = asyncio.Event()

    async def deliver(self, command: Command) -> None:
        self.received.append(command)
        self.delivered.set()
        if command.target in self.silent:
            return
        if command.target in self.fail:
            ack = Ack(command.id, "failed", error=self.fail[command.target])
        else:
            ack = Ack(command.id, "acked", result={"ran": command.target, **command.args})
        # The answer comes back after delivery returns, as it would over the network.
        asyncio.get_running_loop().call_soon(self.hub.ack, command.home, command.device, ack)
