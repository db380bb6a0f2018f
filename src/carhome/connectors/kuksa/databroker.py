"""``KuksaDatabrokerConnector``: a car's signals from its in-vehicle KUKSA databroker.

The other direction from ``KuksaServer``: carhome is the client. The connector subscribes
(``kuksa.val.v2`` ``Subscribe``) to the configured signals of a databroker and reports
every update into the hub as the car's state, checked against the car's spec like any
device report. While the stream is up the car is available; when it drops (the car
sleeps, the link goes) the car is marked offline and the connector reconnects with
doubling, jittered delays on the hub's clock, so tests advance time instead of waiting.

A signal the databroker does not have makes ``Subscribe`` fail as a whole; the connector
then asks ``ListMetadata`` which of its paths exist, logs the missing ones once, and
subscribes to the rest. Timestamps are the hub's: a car's clock may be off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import urlsplit

import grpc
import grpc.aio

from carhome.backoff import Backoff
from carhome.connectors.kuksa.errors import SignalError
from carhome.connectors.kuksa.proto import grpc_v2, val_v2
from carhome.connectors.kuksa.signals import KuksaSignal, SignalTree
from carhome.errors import ConfigError, SpecError
from carhome.hub import Hub

log: Final = logging.getLogger(__name__)

SOURCE: Final = "kuksa-databroker"


def parse_target(url: str) -> str:
    """``host:port`` from ``grpc://host:port`` (or a bare ``host:port``); ``ConfigError`` if not."""
    text = url if "://" in url else f"grpc://{url}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"databroker URL {url!r} is not valid: {exc}") from exc
    if parts.scheme != "grpc":
        raise ConfigError(
            f"databroker URL {url!r}: use grpc://host:port (TLS to a databroker is not supported yet)"
        )
    if not parts.hostname or port is None:
        raise ConfigError(f"databroker URL {url!r} needs a host and a port, e.g. grpc://127.0.0.1:55555")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"databroker URL {url!r}: a databroker URL has no path, query or fragment")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}"


class KuksaDatabrokerConnector:
    """Keeps ``home/device`` of ``hub`` current from a databroker's ``paths`` (all when empty)."""

    def __init__(
        self,
        hub: Hub,
        url: str,
        *,
        home: str,
        device: str,
        paths: Sequence[str] = (),
        token: str | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        spec = hub.spec(home, device)
        if spec.type != "car":
            raise ConfigError(f"a KUKSA databroker feeds a car; {home}/{device} is a {spec.type}")
        tree = SignalTree(spec)
        unknown = [p for p in paths if p not in tree.by_path]
        if unknown:
            raise SpecError(
                f"KUKSA databroker for {home}/{device}: carhome's car has no signal {unknown[0]!r};"
                f" known signals: {', '.join(sorted(tree.by_path))}"
            )
        self._hub = hub
        self._target = parse_target(url)
        self.url = url
        self.home = home
        self.device = device
        self._signals: dict[str, KuksaSignal] = {p: tree.by_path[p] for p in paths} or dict(tree.by_path)
        self._metadata = [("authorization", f"Bearer {token}")] if token else None
        self._backoff = backoff or Backoff()
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self.connected = False
        self.attempts = 0
        self.missing: frozenset[str] = frozenset()
        self.updates = 0

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name=f"kuksa-databroker-{self.home}-{self.device}")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_connected(self, connected: bool = True, timeout: float = 10.0) -> None:
        """Wait (real seconds) until the subscription is up (or, ``connected=False``, down)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.connected is connected), timeout)

    async def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        self._hub.set_available(self.home, self.device, connected)
        async with self._changed:
            self._changed.notify_all()

    async def _run(self) -> None:
        delays = self._backoff.delays()
        while True:
            self.attempts += 1
            try:
                async with grpc.aio.insecure_channel(self._target) as channel:
                    stub = grpc_v2.VALStub(channel)
                    async for _ in self._subscribe(stub):
                        delays = self._backoff.delays()  # a working stream resets the backoff
            except grpc.aio.AioRpcError as exc:
                level = logging.WARNING if self.connected or self.attempts == 1 else logging.DEBUG
                log.log(level, "KUKSA databroker %s: %s: %s", self.url, exc.code().name, exc.details())
            if self.connected:
                await self._set_connected(False)
            await self._hub.clock.sleep(next(delays))

    async def _subscribe(self, stub: Any) -> Any:
        """Subscribe and report each response; yields once per response."""
        paths = [p for p in self._signals if p not in self.missing]
        try:
            async for response in stub.Subscribe(
                val_v2.SubscribeRequest(signal_paths=paths), metadata=self._metadata
            ):
                self._report(response)
                if not self.connected:  # after the current values are in: "up" means current
                    await self._set_connected(True)
                yield
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.NOT_FOUND:
                raise
            await self._find_missing(stub, paths)
            raise

    async def _find_missing(self, stub: Any, paths: list[str]) -> None:
        missing: set[str] = set(self.missing)
        for path in paths:
            try:
                await stub.ListMetadata(val_v2.ListMetadataRequest(root=path), metadata=self._metadata)
            except grpc.aio.AioRpcError as exc:
                if exc.code() is not grpc.StatusCode.NOT_FOUND:
                    raise
                missing.add(path)
        if missing - self.missing:
            log.warning(
                "KUKSA databroker %s has no %s; following the car's other signals",
                self.url,
                ", ".join(sorted(missing - self.missing)),
            )
        self.missing = frozenset(missing)

    def _report(self, response: Any) -> None:
        values: dict[str, Any] = {}
        for path, point in response.entries.items():
            signal = self._signals.get(path)
            if signal is None or point.value.WhichOneof("typed_value") is None:
                continue  # not asked for, or no value yet
            try:
                values[path] = signal.decode(point.value, "typed_value")
            except SignalError:  # a value of the wrong type: the hub's report rejects and counts it
                values[path] = getattr(point.value, point.value.WhichOneof("typed_value"))
        if values:
            self.updates += 1
            self._hub.report(self.home, self.device, values, source=SOURCE)
