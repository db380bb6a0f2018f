"""``Restartable``: the one shape of a fake a test takes down and brings back.

A device that reboots, a broker or a hub process that is killed and comes back: ``start()``
brings it up, ``stop()`` takes it down, ``start()`` again brings it back as it was (the
same port, the same data), and ``async with`` runs it from ``start`` to ``stop``.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self


class Restartable(abc.ABC):
    """Something a test starts, stops and starts again; an async context manager."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Bring it up (again after ``stop``, where it was)."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Take it down and return once it is down."""

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
