"""``FaultProxy``: a TCP proxy that breaks the link between a client and its server on cue.

Put it between devices and their broker (or a charger and the hub's OCPP server) and the
test decides what the network does — the faults a home's Wi-Fi and a phone's mobile link
really have:

- ``cut()``: every connection is aborted at once (an RST, as a pulled plug or a rebooted
  router gives) and, until ``restore()``, new ones are refused: an outage;
- ``hold()`` / ``release()``: bytes in both directions wait in the proxy and are passed on
  in order when released: a link that stalls and then delivers late;
- ``half_open()``: bytes are dropped and no side learns of it — neither connection is
  closed — until ``restore()``: the half-open connection a NAT timeout or a dead access
  point leaves behind, which only keepalives find out. New connections are accepted and
  black-holed as well. ``restore()`` aborts the black-holed ones (their bytes are gone).

Nothing here looks at the bytes. The proxy counts what it did in ``stats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Callable
from types import TracebackType
from typing import Final, Self

import msgspec

_CHUNK: Final = 65536


class _Mode(enum.Enum):
    UP = "up"
    DOWN = "down"
    HELD = "held"
    BLACKHOLE = "blackhole"


class ProxyStats(msgspec.Struct):
    """What the proxy has done since it was made."""

    accepted: int = 0
    """Connections taken from clients (refused ones not counted)."""
    refused: int = 0
    """Connections closed at once because the link was cut."""
    aborted: int = 0
    """Connections aborted by ``cut`` or by ``restore`` after ``half_open``."""
    dropped_bytes: int = 0
    """Bytes swallowed while half-open."""
    client_closes: int = 0
    """Connections the client side ended (a client that gave up on a half-open link, too)."""


class _Pair:
    """One client connection and its connection upstream."""

    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream = upstream
        self.blackholed = False
        self.ended = False
        self.held: list[tuple[asyncio.StreamWriter, bytes]] = []

    def abort(self) -> None:
        self.ended = True
        for writer in (self.client, self.upstream):
            writer.transport.abort()

    def close(self) -> None:
        self.ended = True
        for writer in (self.client, self.upstream):
            writer.close()


class FaultProxy:
    """Forwards TCP from ``host:port`` (0: a free port) to ``upstream_host:upstream_port``;
    an async context manager."""

    def __init__(
        self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.port = port
        self.stats = ProxyStats()
        self._mode = _Mode.UP
        self._server: asyncio.Server | None = None
        self._pairs: set[_Pair] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    @property
    def url(self) -> str:
        """The proxy's address as an MQTT URL."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        """Client connections open through the proxy now."""
        return len(self._pairs)

    async def until(self, condition: Callable[[ProxyStats], bool]) -> None:
        """Wait until ``condition(stats)`` holds; it is checked whenever a connection opens,
        is refused or ends (bound the wait yourself)."""
        while not condition(self.stats):
            self._changed.clear()
            await self._changed.wait()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for pair in list(self._pairs):
            pair.abort()
        self._pairs.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- faults ---------------------------------------------------------------------------

    def cut(self) -> None:
        """Abort every connection and refuse new ones until ``restore()``."""
        self._mode = _Mode.DOWN
        self._abort_all()

    def hold(self) -> None:
        """Keep every byte in the proxy (both directions) until ``release()``."""
        self._mode = _Mode.HELD

    def release(self) -> None:
        """Pass on, in order, what ``hold()`` kept, and forward as usual again."""
        self._mode = _Mode.UP
        for pair in list(self._pairs):
            held, pair.held = pair.held, []
            for writer, data in held:
                with contextlib.suppress(OSError, RuntimeError):
                    writer.write(data)

    def half_open(self) -> None:
        """Drop every byte, silently, on every connection (and new ones) until ``restore()``."""
        self._mode = _Mode.BLACKHOLE
        for pair in self._pairs:
            pair.blackholed = True

    def restore(self) -> None:
        """End a cut or a half-open link: new connections work again; black-holed ones are
        aborted, since what they carried is gone."""
        if self._mode is _Mode.HELD:
            self.release()
        self._mode = _Mode.UP
        for pair in [p for p in self._pairs if p.blackholed]:
            self._abort(pair)

    def _abort_all(self) -> None:
        for pair in list(self._pairs):
            self._abort(pair)

    def _abort(self, pair: _Pair) -> None:
        self._pairs.discard(pair)
        pair.abort()
        self.stats.aborted += 1

    # -- forwarding -----------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._changed.set()
        if self._mode is _Mode.DOWN:
            self.stats.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.stats.refused += 1
            writer.transport.abort()
            return
        self.stats.accepted += 1
        pair = _Pair(writer, up_writer)
        pair.blackholed = self._mode is _Mode.BLACKHOLE
        self._pairs.add(pair)
        for src, dst, from_client in ((reader, up_writer, True), (up_reader, writer, False)):
            task = asyncio.create_task(self._pipe(pair, src, dst, from_client), name="fault-proxy-pipe")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self, pair: _Pair, src: asyncio.StreamReader, dst: asyncio.StreamWriter, from_client: bool
    ) -> None:
        try:
            while data := await src.read(_CHUNK):
                if pair.blackholed:
                    self.stats.dropped_bytes += len(data)
                elif self._mode is _Mode.HELD:
                    pair.held.append((dst, data))
                else:
                    dst.write(data)
                    await dst.drain()
        except OSError:
            pass
        if from_client and not pair.ended:
            self.stats.client_closes += 1
        self._changed.set()
        # One side ended. A black-holed link tells the other side nothing; otherwise the
        # end goes through, as it would on a healthy network.
        if not pair.blackholed and pair in self._pairs:
            self._pairs.discard(pair)
            pair.close()
