"""``ServingThread``: something async (a hub and its API) run in a thread of its own.

A synchronous caller — a CLI test, where click runs ``asyncio.run`` per command — needs the
hub it talks to on a second thread with its own event loop. A subclass writes ``serve``:
set things up, then ``await self.serving(url)``, which announces the URL and waits for
``stop()``. ``start()`` returns once it serves (or raises what went wrong); ``with`` a
serving thread starts it and stops it; ``call`` runs a function in the thread's loop.
"""

from __future__ import annotations

import abc
import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Final, Self, TypeVar

_T = TypeVar("_T")
BOUND: Final = 10.0
"""Seconds start, stop and call wait at most."""


class ServingThread(abc.ABC):
    def __init__(self, name: str) -> None:
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @abc.abstractmethod
    async def serve(self) -> None:
        """Set up, then ``await self.serving(url)``."""

    async def serving(self, url: str) -> None:
        """Announce ``url`` and serve until ``stop()``."""
        assert self._stop is not None
        self.url = url
        self._ready.set()
        await self._stop.wait()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(BOUND):
            raise TimeoutError(f"{self._thread.name} did not start")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(BOUND)
        if self._thread.is_alive():
            raise TimeoutError(f"{self._thread.name} did not stop")
        if self._error is not None:
            raise self._error

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn()`` in the thread's loop and return what it returns."""
        assert self._loop is not None

        async def run() -> _T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(BOUND)

    def call_async(self, fn: Callable[[], Awaitable[_T]]) -> _T:
        """Await ``fn()`` in the thread's loop and return what it returns."""
        assert self._loop is not None

        async def run() -> _T:
            return await fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(BOUND)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self.serve()
