"""Group commit: the outbox writes of a store that share one transaction.

Writes that arrive while a commit is in flight wait together for the next one, so many
commands share one transaction (one fsync on SQLite, one round trip on PostgreSQL). Each
caller returns only once the transaction holding its write has committed, with the rows
its write changed, or with the error that transaction raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

_W = TypeVar("_W")


class GroupCommit(Generic[_W]):
    """Writes queued for ``commit``, which runs each batch in one transaction, in arrival
    order, and returns the rows each write changed; its task is named ``name``."""

    def __init__(self, commit: Callable[[list[_W]], Awaitable[Sequence[int]]], *, name: str) -> None:
        self._commit = commit
        self._name = name
        self._queue: list[tuple[_W, asyncio.Future[int]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, write: _W) -> int:
        """Queue ``write`` for the next commit; the rows it changed, once committed."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((write, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued(), name=self._name)
        return await done

    async def finish(self) -> None:
        """Wait for the writes already queued (their errors go to their callers)."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _write_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                counts = await self._commit([write for write, _ in batch])
            except BaseException as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, done), count in zip(batch, counts, strict=True):
                if not done.done():
                    done.set_result(count)
