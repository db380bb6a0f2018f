"""The ``kuksa.val.v2.VAL`` service for one car.

Served: ``GetValue``, ``GetValues``, ``Subscribe``, ``SubscribeById``, ``Actuate``,
``BatchActuate``, ``ListMetadata``, ``PublishValue`` and ``GetServerInfo``. The provider
streams (``OpenProviderStream``, ``ActuateStream``) are not: the car's provider is
carhome's own connector, and those calls answer ``UNIMPLEMENTED``.

Every refusal is a ``SignalError`` turned into the call's status here, the one place
where this service meets gRPC's error handling.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, Final, TypeVar

import grpc
import grpc.aio

from carhome import __version__
from carhome.connectors.kuksa.car import ServedCar
from carhome.connectors.kuksa.errors import SignalError
from carhome.connectors.kuksa.proto import grpc_v2, types_v2, val_v2
from carhome.connectors.kuksa.signals import KuksaSignal
from carhome.hub import Change, State

log: Final = logging.getLogger(__name__)

SERVER_NAME: Final = "carhome"
MAX_BUFFER: Final = 10_000
"""Changes kept per subscription for a slow reader; the oldest are dropped beyond it."""

Context = grpc.aio.ServicerContext[Any, Any]
_T = TypeVar("_T")
_K = TypeVar("_K")


async def refused(context: Context, call: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``call``; a ``SignalError`` aborts the RPC with its status and message."""
    try:
        return await call()
    except SignalError as exc:
        await context.abort(exc.status, exc.message)
        raise  # abort() raises; this keeps the type checker informed


def datapoint(signal: KuksaSignal, state: State | None) -> Any:
    """A v2 ``Datapoint``; without a value when the car has not reported the signal yet."""
    point = types_v2.Datapoint()
    if state is not None:
        signal.encode(state.value, point.value)
        point.timestamp.FromNanoseconds(int(state.ts * 1e9))
    return point


def metadata(signal: KuksaSignal) -> Any:
    sig = signal.signal
    meta = types_v2.Metadata(
        path=sig.path,
        id=signal.id,
        data_type=getattr(types_v2, f"DATA_TYPE_{sig.datatype.upper()}"),
        entry_type=getattr(types_v2, f"ENTRY_TYPE_{sig.kind.upper()}"),
        description=sig.description,
        unit=sig.unit or "",
    )
    if signal.minimum is not None:
        signal.encode(_typed(signal, signal.minimum), meta.min)
    if signal.maximum is not None:
        signal.encode(_typed(signal, signal.maximum), meta.max)
    if signal.allowed is not None:
        meta.allowed_values.string_array.values.extend(signal.allowed)
    return meta


def _typed(signal: KuksaSignal, bound: float) -> Any:
    return float(bound) if signal.wire_field in ("float", "double") else int(bound)


class ValService(grpc_v2.VALServicer):  # type: ignore[misc]  # generated, untyped
    """``kuksa.val.v2.VAL`` over a ``ServedCar``."""

    def __init__(self, car: ServedCar) -> None:
        self._car = car
        self.dropped = 0

    async def GetServerInfo(self, request: Any, context: Context) -> Any:  # noqa: N802  # gRPC's name
        await self._car.member(context)
        return val_v2.GetServerInfoResponse(name=SERVER_NAME, version=__version__, commit_hash="")

    async def GetValue(self, request: Any, context: Context) -> Any:  # noqa: N802
        await self._car.member(context)

        async def call() -> Any:
            signal = self._car.tree.resolve(request.signal_id)
            state = self._car.state(signal)
            if state is None:
                return val_v2.GetValueResponse()
            return val_v2.GetValueResponse(data_point=datapoint(signal, state))

        return await refused(context, call)

    async def GetValues(self, request: Any, context: Context) -> Any:  # noqa: N802
        await self._car.member(context)

        async def call() -> Any:
            signals = [self._car.tree.resolve(sid) for sid in request.signal_ids]
            return val_v2.GetValuesResponse(data_points=[datapoint(s, self._car.state(s)) for s in signals])

        return await refused(context, call)

    async def ListMetadata(self, request: Any, context: Context) -> Any:  # noqa: N802
        await self._car.member(context)

        async def call() -> Any:
            return val_v2.ListMetadataResponse(
                metadata=[metadata(s) for s in self._car.tree.match(request.root)]
            )

        return await refused(context, call)

    async def Actuate(self, request: Any, context: Context) -> Any:  # noqa: N802
        member = await self._car.member(context)

        async def call() -> Any:
            await self._car.actuate(member, [self._request(request)])
            return val_v2.ActuateResponse()

        return await refused(context, call)

    async def BatchActuate(self, request: Any, context: Context) -> Any:  # noqa: N802
        member = await self._car.member(context)

        async def call() -> Any:
            if not request.actuate_requests:
                raise SignalError(grpc.StatusCode.INVALID_ARGUMENT, "BatchActuate needs at least one request")
            await self._car.actuate(member, [self._request(r) for r in request.actuate_requests])
            return val_v2.BatchActuateResponse()

        return await refused(context, call)

    def _request(self, request: Any) -> tuple[KuksaSignal, Any]:
        signal = self._car.tree.resolve(request.signal_id)
        if not request.HasField("value"):
            raise SignalError(grpc.StatusCode.INVALID_ARGUMENT, f"{signal.path}: the request has no value")
        return signal, signal.decode(request.value, "typed_value")

    async def PublishValue(self, request: Any, context: Context) -> Any:  # noqa: N802
        member = await self._car.member(context)

        async def call() -> Any:
            signal = self._car.tree.resolve(request.signal_id)
            point = request.data_point
            value = signal.decode(point.value, "typed_value")
            ts = point.timestamp.ToNanoseconds() / 1e9 if point.HasField("timestamp") else None
            self._car.publish(member, [(signal, value)], ts=ts or None)
            return val_v2.PublishValueResponse()

        return await refused(context, call)

    async def Subscribe(self, request: Any, context: Context) -> AsyncIterator[Any]:  # noqa: N802
        signals = await self._signals(context, "Subscribe", "path", request.signal_paths, self._car.tree.get)
        async for entries in self._stream(signals, request.buffer_size, context):
            yield val_v2.SubscribeResponse(entries={s.path: p for s, p in entries})

    async def SubscribeById(self, request: Any, context: Context) -> AsyncIterator[Any]:  # noqa: N802
        signals = await self._signals(
            context, "SubscribeById", "id", request.signal_ids, self._car.tree.get_id
        )
        async for entries in self._stream(signals, request.buffer_size, context):
            yield val_v2.SubscribeByIdResponse(entries={s.id: p for s, p in entries})

    async def _signals(
        self, context: Context, method: str, what: str, keys: Sequence[_K], find: Callable[[_K], KuksaSignal]
    ) -> list[KuksaSignal]:
        """The signals a subscription names, for a member; the call aborted if it names none,
        or one that is not there."""
        await self._car.member(context)
        try:
            if not keys:
                raise SignalError(
                    grpc.StatusCode.INVALID_ARGUMENT, f"{method} needs at least one signal {what}"
                )
            return [find(key) for key in keys]
        except SignalError as exc:
            await context.abort(exc.status, exc.message)

    async def _stream(
        self, signals: list[KuksaSignal], buffer_size: int, context: Context
    ) -> AsyncIterator[list[tuple[KuksaSignal, Any]]]:
        """The current values first, then every change, batched as they queue up.

        A response holds one value per signal, so a signal that changed twice while the
        client was slow starts a new response rather than losing its first value. The
        token is checked again before every response: a revoked member's stream ends.
        """
        car = self._car
        by_path = {s.path: s for s in signals}
        queue: deque[Change] = deque(maxlen=min(buffer_size, MAX_BUFFER) or MAX_BUFFER)
        ready = asyncio.Event()

        def push(change: Change) -> None:
            if len(queue) == queue.maxlen:
                self.dropped += 1
            queue.append(change)
            ready.set()

        subscriptions = [
            car.hub.bus.subscribe(push, home=car.home, device=car.device, name=path) for path in by_path
        ]
        try:
            yield [(s, datapoint(s, car.state(s))) for s in by_path.values()]
            while True:
                await ready.wait()
                ready.clear()
                if car.check(context) is None:
                    await context.abort(
                        grpc.StatusCode.UNAUTHENTICATED, "the access token was revoked or expired"
                    )
                for batch in _batches(queue):
                    yield [
                        (by_path[c.prop], datapoint(by_path[c.prop], State(c.value, c.ts, c.source)))
                        for c in batch
                    ]
        finally:
            for sub in subscriptions:
                sub.cancel()


def _batches(queue: deque[Change]) -> Iterable[list[Change]]:
    """Drain ``queue`` into runs in which no property appears twice."""
    batch: list[Change] = []
    seen: set[str] = set()
    while queue:
        change = queue.popleft()
        if change.prop in seen:
            yield batch
            batch, seen = [], set()
        batch.append(change)
        seen.add(change.prop)
    if batch:
        yield batch
