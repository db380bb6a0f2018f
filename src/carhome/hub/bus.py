"""The event bus: everything the hub knows, handed to the subscribers indexed on it.

Four kinds of record travel on it (``Record``), each with its key (home, device, name):

| record | published by | name |
|---|---|---|
| ``Change`` | ``Hub.report``: a property took a new value | the property |
| ``Event`` | ``Hub.event``: a device event, checked against the spec | the event |
| ``Result`` | the command router: a command was sent, or is final (once durable) | the command's target |
| ``Availability`` | ``Hub.set_available``: a device went online or offline | ``AVAILABILITY`` |

There is one way to listen: ``subscribe(callback, kind=…, home=…, device=…, name=…)``, where
any part of the key may be ``None`` as a wildcard for "all" (``kind`` is ``Change`` unless
said). Each kind has its own index, and publishing looks up four keys in it — exact,
device-wide, home-wide and global — so the cost of a record does not grow with subscribers
that do not watch it, nor with subscribers of other kinds.

Every registration returns a ``Subscription``; ``close()`` (or leaving its ``with`` block)
removes it, and a closed subscriber is never called again — not even by a publish already
under way when it closed. Callbacks run synchronously inside ``publish``: a value that
crosses a threshold and comes back before the event loop turns is still seen by every
subscriber. A callback that needs to await schedules its own task. ``listen`` is an async
iterator over a bounded queue that drops the oldest records (and counts them) rather than
stall ingest.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self, TypeVar, overload

from carhome.hub.commands import Result
from carhome.hub.events import Event
from carhome.hub.states import Availability, Change

Record = Change | Event | Result | Availability
"""What the bus carries."""
KINDS: Final[tuple[type[Record], ...]] = (Change, Event, Result, Availability)

R = TypeVar("R", Change, Event, Result, Availability)
Callback = Callable[[Any], None]
Key = tuple[str | None, str | None, str | None]

log: Final = logging.getLogger(__name__)


def _closed(record: object) -> None:
    """Stands in for a closed subscriber in a publish under way."""


class Subscription:
    """A registration on the bus; ``close()`` removes it (``cancel()`` is the same).

    Also a context manager: the subscription closes when its block ends."""

    __slots__ = ("_bus", "callback", "key", "kind")

    def __init__(self, bus: EventBus, kind: type[Record], key: Key, callback: Callback) -> None:
        self._bus: EventBus | None = bus
        self.kind = kind
        self.key = key
        self.callback = callback

    @property
    def closed(self) -> bool:
        return self._bus is None

    def close(self) -> None:
        """Stop delivery to this subscriber, at once and for good (closing twice is fine)."""
        bus, self._bus = self._bus, None
        if bus is not None:
            bus._remove(self)
            self.callback = _closed  # let go of the subscriber

    def cancel(self) -> None:
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class EventBus:
    """Subscribers of each kind of record, indexed by (home, device, name), ``None`` as wildcard."""

    def __init__(self) -> None:
        self._indexes: dict[type[Record], dict[Key, list[Callback]]] = {kind: {} for kind in KINDS}
        # The change index again, shaped for the hot path of ingest (``publish_change``):
        # home → device → name (``None`` for device-wide) → the same callback lists as in
        # ``_indexes``, home-wide lists by home, and the global list. Plain string lookups,
        # no key tuple made per change, and a shape nobody subscribes to costs one test.
        self._devices: dict[str, dict[str, dict[str | None, list[Callback]]]] = {}
        self._homes: dict[str, list[Callback]] = {}
        self._everything: list[Callback] | None = None
        # The devices with a device-wide change subscription: where there are none, a
        # change does not look for one.
        self._device_wide: set[tuple[str, str]] = set()
        # For the publisher of changes (``Hub.report``), read only. ``routes``: home →
        # device → name → the callbacks of that name's change subscribers (the lists above;
        # copied on write, a closed one replaced by a no-op). ``broad``: whether any change
        # subscriber watches more than one name (device-, home- or hub-wide). While it is
        # false, the callbacks under a change's (home, device, name) are all its subscribers
        # and the publisher may call them itself, each in its own ``try`` (a failure goes to
        # ``failed``), instead of calling ``change``.
        self.routes: Mapping[str, Mapping[str, Mapping[str | None, Sequence[Callback]]]] = self._devices
        self.broad = False
        self._subs: dict[tuple[type[Record], Key], list[Subscription]] = {}
        self.errors = 0
        self.dropped = 0

    @overload
    def subscribe(
        self,
        callback: Callable[[Change], None],
        *,
        home: str | None = None,
        device: str | None = None,
        name: str | None = None,
    ) -> Subscription: ...

    @overload
    def subscribe(
        self,
        callback: Callable[[R], None],
        *,
        kind: type[R],
        home: str | None = None,
        device: str | None = None,
        name: str | None = None,
    ) -> Subscription: ...

    def subscribe(
        self,
        callback: Callback,
        *,
        kind: type[Any] = Change,
        home: str | None = None,
        device: str | None = None,
        name: str | None = None,
    ) -> Subscription:
        """Call ``callback`` with every record of ``kind`` matching the key."""
        return self._add(callback, kind, (home, device, name))

    def _add(self, callback: Callback, kind: type[Record], key: Key) -> Subscription:
        home, device, name = key
        if kind not in self._indexes:
            raise TypeError(f"the bus carries {', '.join(k.__name__ for k in KINDS)}, not {kind!r}")
        if device is not None and home is None:
            raise ValueError("a device subscription needs its home")
        if name is not None and device is None:
            raise ValueError("a name subscription needs its device")
        sub = Subscription(self, kind, key, callback)
        # Copy on write: publish iterates the lists it found, unaffected by new subscribes.
        subs = self._subs[(kind, key)] = [*self._subs.get((kind, key), ()), sub]
        callbacks = self._indexes[kind][key] = [s.callback for s in subs]
        if kind is Change:
            self._index_change(key, callbacks)
        return sub

    def _index_change(self, key: Key, callbacks: list[Callback] | None) -> None:
        """Put ``callbacks`` (``None``: none left) under ``key`` in the change index."""
        home, device, name = key
        if home is None:
            self._everything = callbacks
        elif device is None:
            if callbacks is None:
                self._homes.pop(home, None)
            else:
                self._homes[home] = callbacks
        elif callbacks is not None:
            self._devices.setdefault(home, {}).setdefault(device, {})[name] = callbacks
            if name is None:
                self._device_wide.add((home, device))
        else:
            if name is None:
                self._device_wide.discard((home, device))
            devices = self._devices.get(home, {})
            names = devices.get(device, {})
            names.pop(name, None)
            if not names:
                devices.pop(device, None)
            if not devices:
                self._devices.pop(home, None)
        self.broad = bool(self._device_wide or self._homes or self._everything is not None)

    def _remove(self, sub: Subscription) -> None:
        kind, key = sub.kind, sub.key
        subs = self._subs.get((kind, key), [])
        index = self._indexes[kind]
        callbacks = index.get(key)
        # By identity of the subscription: the same callback may be registered twice. Its
        # place in the list a publish may be walking now is given to a no-op, so a
        # subscriber closed by an earlier one of the same record is not called after all.
        for i, s in enumerate(subs):
            if s is sub:
                if callbacks is not None:
                    callbacks[i] = _closed
                break
        rest = [s for s in subs if s is not sub]
        left: list[Callback] | None = None
        if rest:
            self._subs[(kind, key)] = rest
            left = index[key] = [s.callback for s in rest]
        else:
            self._subs.pop((kind, key), None)
            index.pop(key, None)
        if kind is Change:
            self._index_change(key, left)

    def publish(self, record: Record) -> None:
        """Hand ``record`` to every subscriber of its kind indexed on it."""
        if isinstance(record, Change):
            self.publish_change(record)
            return
        index = self._indexes[type(record)]
        if index:  # nobody listens to this kind at all: nothing to look up
            self._deliver(index, record, record.name)

    def publish_change(self, change: Change) -> None:
        """``publish`` for a change: no dispatch on the kind."""
        c = change
        self.change(c.home, c.device, c.prop, c.value, c.old, c.ts, c.source, made=c)

    def change(  # noqa: PLR0917 - the fields positional: one call per change on ingest
        self,
        home: str,
        device: str,
        prop: str,
        value: Any,
        old: Any,
        ts: float,
        source: str,
        *,
        made: Change | None = None,
    ) -> None:
        """Publish the ``Change`` of these fields, the hot path of ingest (``Hub.report``):
        the record is made only when somebody watches it, the loop is inline."""
        exact = wide = None
        devices = self._devices.get(home)
        if devices is not None:
            names = devices.get(device)
            if names is not None:
                exact = names.get(prop)
                if self._device_wide:
                    wide = names.get(None)
        homewide = self._homes.get(home) if self._homes else None
        everything = self._everything
        if exact is None and wide is None and homewide is None and everything is None:
            return
        change = Change(home, device, prop, value, old, ts, source) if made is None else made
        if exact is not None:
            for callback in exact:
                try:
                    callback(change)
                except Exception:
                    self.failed(callback, change, prop)
        if wide is not None:
            self._call(wide, change)
        if homewide is not None:
            self._call(homewide, change)
        if everything is not None:
            self._call(everything, change)

    def _call(self, callbacks: list[Callback], change: Change) -> None:
        for callback in callbacks:
            try:
                callback(change)
            except Exception:
                self.failed(callback, change, change.prop)

    def _deliver(self, index: dict[Key, list[Callback]], record: Record, name: str) -> None:
        home, device = record.home, record.device
        for key in ((home, device, name), (home, device, None), (home, None, None), (None, None, None)):
            callbacks = index.get(key)
            if callbacks is None:
                continue
            for callback in callbacks:
                try:
                    callback(record)
                except Exception:
                    self.failed(callback, record, name)

    def failed(self, callback: Callback, record: Record, name: str) -> None:
        """Count and log a subscriber that raised on ``record`` (one broken subscriber must
        not stop ingest or the others)."""
        self.errors += 1
        log.exception(
            "subscriber %r failed on %s/%s %s (%s)",
            callback,
            record.home,
            record.device,
            name,
            type(record).__name__,
        )

    def watched(self, home: str, device: str, name: str, kind: type[Record] = Change) -> bool:
        """Whether any subscriber would receive a record of ``kind`` with this key."""
        index = self._indexes[kind]
        return any(
            k in index
            for k in ((home, device, name), (home, device, None), (home, None, None), (None, None, None))
        )

    def count(self, kind: type[Record] | None = None) -> int:
        """How many subscriptions are open (of ``kind``, or of every kind)."""
        return sum(len(subs) for (k, _), subs in self._subs.items() if kind is None or k is kind)

    @overload
    def listen(
        self,
        *,
        home: str | None = None,
        device: str | None = None,
        name: str | None = None,
        maxlen: int = 10_000,
    ) -> AsyncGenerator[Change, None]: ...

    @overload
    def listen(
        self,
        *,
        kind: type[R],
        home: str | None = None,
        device: str | None = None,
        name: str | None = None,
        maxlen: int = 10_000,
    ) -> AsyncGenerator[R, None]: ...

    async def listen(
        self,
        *,
        kind: type[Any] = Change,
        home: str | None = None,
        device: str | None = None,
        name: str | None = None,
        maxlen: int = 10_000,
    ) -> AsyncGenerator[Any, None]:
        """Yield matching records as they come; keeps at most ``maxlen`` unread."""
        queue: deque[Record] = deque(maxlen=maxlen)
        ready = asyncio.Event()

        def push(record: Record) -> None:
            if len(queue) == maxlen:
                self.dropped += 1
            queue.append(record)
            ready.set()

        with self._add(push, kind, (home, device, name)):
            while True:
                await ready.wait()
                ready.clear()
                while queue:
                    yield queue.popleft()
