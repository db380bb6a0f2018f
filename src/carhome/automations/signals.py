"""Device events and command results, indexed for the triggers that watch them.

The hub's bus carries property changes only. Device events come from connectors (the MQTT
connector's ``on_event``) and command results from the command router; ``Signals`` keeps
one index of watchers per kind keyed by (home, device, name), so a signal costs one dict
lookup whatever else is configured. The engine feeds it: ``Engine.device_event`` and a
single ``CommandRouter.on_result`` listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

import msgspec

from carhome.hub import Command

log: Final = logging.getLogger(__name__)


class DeviceSignal(msgspec.Struct, frozen=True, gc=False):
    """A device event: its name and checked fields."""

    home: str
    device: str
    name: str
    fields: dict[str, Any]
    ts: float


Key = tuple[str, str, str]


class _Watch:
    __slots__ = ("_index", "callback", "key")

    def __init__(self, index: dict[Key, list[_Watch]], key: Key, callback: Callable[[Any], None]) -> None:
        self._index = index
        self.key = key
        self.callback = callback

    def cancel(self) -> None:
        watches = [w for w in self._index.get(self.key, ()) if w is not self]
        if watches:
            self._index[self.key] = watches
        else:
            self._index.pop(self.key, None)


class Signals:
    """Watchers of device events and of command results, keyed by (home, device, name)."""

    def __init__(self) -> None:
        self._events: dict[Key, list[_Watch]] = {}
        self._results: dict[Key, list[_Watch]] = {}

    def on_event(self, key: Key, callback: Callable[[DeviceSignal], None]) -> _Watch:
        return self._add(self._events, key, callback)

    def on_result(self, key: Key, callback: Callable[[Command], None]) -> _Watch:
        """Watch commands to (home, device) whose target (action or property) is ``key[2]``."""
        return self._add(self._results, key, callback)

    def _add(self, index: dict[Key, list[_Watch]], key: Key, callback: Callable[[Any], None]) -> _Watch:
        watch = _Watch(index, key, callback)
        # Copy on write, as the bus: a callback may (un)register while we iterate.
        index[key] = [*index.get(key, ()), watch]
        return watch

    def event(self, signal: DeviceSignal) -> None:
        self._call(self._events, (signal.home, signal.device, signal.name), signal)

    def result(self, command: Command) -> None:
        self._call(self._results, (command.home, command.device, command.target), command)

    def _call(self, index: dict[Key, list[_Watch]], key: Key, value: Any) -> None:
        for watch in index.get(key, ()):
            try:
                watch.callback(value)
            except Exception:
                log.exception("automation watcher failed on %s", key)
