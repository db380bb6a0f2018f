"""Notifications: messages automations leave for a home's members.

Kept in memory (the newest ``size``), shown by the CLI and later the app; listeners (the
API's live feed, a benchmark) are called as each one is sent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import msgspec


class Notification(msgspec.Struct, frozen=True, gc=False):
    home: str
    member: str
    message: str
    ts: float
    automation: str


Listener = Callable[[Notification], None]


class Notifications:
    """The notifications sent so far, newest last, and who wants to hear of new ones."""

    def __init__(self, size: int = 10_000) -> None:
        self._items: deque[Notification] = deque(maxlen=size)
        self._listeners: list[Listener] = []

    def send(self, notification: Notification) -> None:
        self._items.append(notification)
        for listener in self._listeners:
            listener(notification)

    def listen(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def list(self, home: str | None = None, member: str | None = None) -> list[Notification]:
        return [
            n
            for n in self._items
            if (home is None or n.home == home) and (member is None or n.member == member)
        ]
