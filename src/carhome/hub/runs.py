"""Commands a connector runs itself, each at most once per id.

A connector that executes a command by a request of its own (miIO, SunSpec over Modbus,
Shelly RPC), rather than handing it to a device that keeps its own executed ids, keeps this
per device: the router may deliver a command again (a link back, a hub restart), so the
ids running now and the acks of the last ``remembered`` commands run are kept, and a
redelivery is answered with the kept ack instead of running twice.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Protocol

from carhome.hub.commands import Ack, Command


class RunTally(Protocol):
    """The counters a connector's stats keep of the commands it runs."""

    delivered: int
    acked: int
    failed: int
    expired: int


class CommandRuns:
    """The commands of one device: running now, and the acks of those run lately."""

    def __init__(self, remembered: int = 1000) -> None:
        self._remembered = remembered
        self._done: OrderedDict[str, Ack] = OrderedDict()
        self._running: set[str] = set()

    def start(self, command: Command, tally: RunTally, answer: Callable[[str, str, Ack], object]) -> bool:
        """Whether to run ``command`` now: not when it ran already (its kept ack goes to
        ``answer`` again) nor while it runs."""
        done = self._done.get(command.id)
        if done is not None:
            answer(command.home, command.device, done)
            return False
        if command.id in self._running:
            return False
        self._running.add(command.id)
        tally.delivered += 1
        return True

    @contextlib.contextmanager
    def running(self, command: Command) -> Iterator[None]:
        """Around a started run: however it ends (cancelled too), it no longer runs."""
        try:
            yield
        finally:
            self._running.discard(command.id)

    def finished(self, command: Command, ack: Ack, tally: RunTally) -> None:
        """Keep ``ack`` for a redelivery of ``command`` and count it."""
        self._done[command.id] = ack
        if len(self._done) > self._remembered:
            self._done.popitem(last=False)
        if ack.status == "acked":
            tally.acked += 1
        elif ack.status == "expired":
            tally.expired += 1
        else:
            tally.failed += 1
