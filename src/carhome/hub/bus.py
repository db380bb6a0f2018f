"""The event bus: hands each change to the subscribers indexed on it.

Subscribers register on a key (home, device, property) where any part may be ``None`` as
a wildcard for "all". Publishing looks up four keys — exact, device-wide, home-wide and
global — so the cost of a change does not grow with subscribers that do not watch it.

Callbacks run synchronously inside ``publish``: a value that crosses a threshold and comes
back before the event loop turns is still seen by every subscriber. A callback that needs
to await schedules its own task. Live clients use ``listen``, an async iterator with a
bounded queue that drops the oldest changes (and counts them) rather than stall ingest.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Final

from carhome.hub.states import Change

Callback = Callable[[Change], None]
Key = tuple[str | None, str | None, str | None]

log: Final = logging.getLogger(__name__)


class Subscription:
    """A registration on the bus; ``cancel()`` removes it."""

    __slots__ = ("_bus", "callback", "key")

    def __init__(self, bus: EventBus, key: Key, callback: Callback) -> None:
        self._bus = bus
        self.key = key
        self.callback = callback

    def cancel(self) -> None:
        self._bus._remove(self)


class EventBus:
    """Index of subscribers keyed by (home, device, property), wildcards as ``None``."""

    def __init__(self) -> None:
        self._index: dict[Key, list[Callback]] = {}
        self._subs: dict[Key, list[Subscription]] = {}
        self.errors = 0
        self.dropped = 0

    def subscribe(
        self,
        callback: Callback,
        *,
        home: str | None = None,
        device: str | None = None,
        prop: str | None = None,
    ) -> Subscription:
        """Call ``callback`` for every change matching the key."""
        if device is not None and home is None:
            raise ValueError("a device subscription needs its home")
        if prop is not None and device is None:
            raise ValueError("a property subscription needs its device")
        key: Key = (home, device, prop)
        sub = Subscription(self, key, callback)
        # Copy on write: publish iterates the lists it found, unaffected by (un)subscribes.
        self._subs[key] = [*self._subs.get(key, ()), sub]
        self._index[key] = [s.callback for s in self._subs[key]]
        return sub

    def _remove(self, sub: Subscription) -> None:
        # By identity of the subscription: the same callback may be registered twice.
        subs = [s for s in self._subs.get(sub.key, ()) if s is not sub]
        if subs:
            self._subs[sub.key] = subs
            self._index[sub.key] = [s.callback for s in subs]
        else:
            self._subs.pop(sub.key, None)
            self._index.pop(sub.key, None)

    def publish(self, change: Change) -> None:
        """Hand ``change`` to every subscriber indexed on it."""
        index = self._index
        home, device = change.home, change.device
        for key in (
            (home, device, change.prop),
            (home, device, None),
            (home, None, None),
            (None, None, None),
        ):
            callbacks = index.get(key)
            if callbacks is None:
                continue
            for callback in callbacks:
                try:
                    callback(change)
                except Exception:
                    # One broken subscriber must not stop ingest or the others.
                    self.errors += 1
                    log.exception("subscriber %r failed on %s/%s %s", callback, home, device, change.prop)

    def watched(self, home: str, device: str, prop: str) -> bool:
        """Whether any subscriber would receive a change of this property."""
        index = self._index
        return any(
            k in index
            for k in ((home, device, prop), (home, device, None), (home, None, None), (None, None, None))
        )

    async def listen(
        self,
        *,
        home: str | None = None,
        device: str | None = None,
        prop: str | None = None,
        maxlen: int = 10_000,
    ) -> AsyncGenerator[Change, None]:
        """Yield matching changes as they come; keeps at most ``maxlen`` unread."""
        queue: deque[Change] = deque(maxlen=maxlen)
        ready = asyncio.Event()

        def push(change: Change) -> None:
            if len(queue) == maxlen:
                self.dropped += 1
            queue.append(change)
            ready.set()

        sub = self.subscribe(push, home=home, device=device, prop=prop)
        try:
            while True:
                await ready.wait()
                ready.clear()
                while queue:
                    yield queue.popleft()
        finally:
            sub.cancel()
