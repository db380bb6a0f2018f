"""The ``kuksa.val.v1.VAL`` calls the official Python client still makes: GetServerInfo, Get, Set.

``kuksa-client`` reads values, target values and metadata with v1 ``Get`` (also to learn a
signal's datatype before it writes), writes target values (actuation) with v1 ``Set``,
and asks v1 ``GetServerInfo`` when it connects and when it authorizes. Subscriptions and
publishing go through v2. ``Subscribe`` and ``StreamedUpdate`` here answer
``UNIMPLEMENTED``, which makes the client use v2.

As in the KUKSA databroker, v1 reports a refused entry inside the response (``errors``,
with HTTP-like codes and the path) rather than as the call's status; only a missing or
bad token fails the whole call, with ``UNAUTHENTICATED``. A ``Set`` is checked entry by
entry first and applied only if every entry is acceptable.
"""

from __future__ import annotations

from typing import Any, Final

import grpc

from carhome import __version__
from carhome.connectors.kuksa.car import ServedCar
from carhome.connectors.kuksa.errors import SignalError
from carhome.connectors.kuksa.proto import grpc_v1, types_v1, val_v1
from carhome.connectors.kuksa.signals import KuksaSignal
from carhome.connectors.kuksa.v2 import SERVER_NAME, Context
from carhome.hub import State

_CURRENT: Final = frozenset({types_v1.VIEW_UNSPECIFIED, types_v1.VIEW_CURRENT_VALUE})
_ALL: Final = frozenset({types_v1.VIEW_ALL, types_v1.VIEW_FIELDS})


def _datapoint(signal: KuksaSignal, state: State) -> Any:
    point = types_v1.Datapoint()
    signal.encode(state.value, point)
    point.timestamp.FromNanoseconds(int(state.ts * 1e9))
    return point


def _metadata(signal: KuksaSignal) -> Any:
    sig = signal.signal
    meta = types_v1.Metadata(
        data_type=getattr(types_v1, f"DATA_TYPE_{sig.datatype.upper()}"),
        entry_type=getattr(types_v1, f"ENTRY_TYPE_{sig.kind.upper()}"),
        description=sig.description,
        unit=sig.unit or "",
    )
    lo, hi = signal.minimum, signal.maximum
    if signal.allowed is not None:
        meta.value_restriction.string.allowed_values.extend(signal.allowed)
    elif lo is not None or hi is not None:
        field = signal.wire_field
        restriction = (
            meta.value_restriction.floating_point
            if field in ("float", "double")
            else meta.value_restriction.unsigned
            if field == "uint32"
            else meta.value_restriction.signed
        )
        cast = float if field in ("float", "double") else int
        if lo is not None:
            restriction.min = cast(lo)
        if hi is not None:
            restriction.max = cast(hi)
    return meta


def _error(path: str, exc: SignalError) -> Any:
    code, reason = exc.v1_code
    return types_v1.DataEntryError(
        path=path, error=types_v1.Error(code=code, reason=reason, message=exc.message)
    )


def _overall(errors: list[Any]) -> Any:
    """The response's top-level error: the first entry's, as the databroker reports it."""
    first = errors[0].error
    return types_v1.Error(code=first.code, reason=first.reason, message=first.message)


class ValServiceV1(grpc_v1.VALServicer):  # type: ignore[misc]  # generated, untyped
    """``kuksa.val.v1.VAL`` (GetServerInfo, Get, Set) over a ``ServedCar``."""

    def __init__(self, car: ServedCar) -> None:
        self._car = car

    async def GetServerInfo(self, request: Any, context: Context) -> Any:  # noqa: N802  # gRPC's name
        await self._car.member(context)
        return val_v1.GetServerInfoResponse(name=SERVER_NAME, version=__version__)

    async def Get(self, request: Any, context: Context) -> Any:  # noqa: N802
        await self._car.member(context)
        entries: list[Any] = []
        errors: list[Any] = []
        for wanted in request.entries:
            try:
                signals = self._car.tree.match(wanted.path)
            except SignalError as exc:
                errors.append(_error(wanted.path, exc))
                continue
            entries.extend(self._entry(signal, wanted.view) for signal in signals)
        if errors:
            return val_v1.GetResponse(entries=entries, errors=errors, error=_overall(errors))
        return val_v1.GetResponse(entries=entries)

    def _entry(self, signal: KuksaSignal, view: int) -> Any:
        entry = types_v1.DataEntry(path=signal.path)
        if view in _CURRENT or view in _ALL:
            state = self._car.state(signal)
            if state is not None:
                entry.value.CopyFrom(_datapoint(signal, state))
        if (view == types_v1.VIEW_TARGET_VALUE or view in _ALL) and signal.path in self._car.targets:
            entry.actuator_target.CopyFrom(_datapoint(signal, self._car.targets[signal.path]))
        if view == types_v1.VIEW_METADATA or view in _ALL:
            entry.metadata.CopyFrom(_metadata(signal))
        return entry

    async def Set(self, request: Any, context: Context) -> Any:  # noqa: N802
        member = await self._car.member(context)
        targets: list[tuple[KuksaSignal, Any]] = []
        values: list[tuple[KuksaSignal, Any]] = []
        errors: list[Any] = []
        for update in request.updates:
            path = update.entry.path
            try:
                signal = self._car.tree.get(path)
                fields = set(update.fields)
                if fields - {types_v1.FIELD_ACTUATOR_TARGET, types_v1.FIELD_VALUE}:
                    raise SignalError(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"{path}: only the value and the actuator target can be set; metadata is read-only",
                    )
                if types_v1.FIELD_ACTUATOR_TARGET in fields:
                    target = signal.decode(update.entry.actuator_target, "value")
                    self._car.actuators.actuation(signal, target)  # refuses early, before anything is sent
                    targets.append((signal, target))
                if types_v1.FIELD_VALUE in fields:
                    values.append((signal, signal.check(signal.decode(update.entry.value, "value"))))
                if not fields:
                    raise SignalError(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"{path}: say which field to set (FIELD_ACTUATOR_TARGET or FIELD_VALUE)",
                    )
            except SignalError as exc:
                errors.append(_error(path, exc))
        if not errors and values:
            try:
                self._car.publish(member, values)
            except SignalError as exc:
                errors.extend(_error(s.path, exc) for s, _ in values)
        if not errors and targets:
            try:
                await self._car.actuate(member, targets)
            except SignalError as exc:
                errors.extend(_error(s.path, exc) for s, _ in targets)
        if errors:
            return val_v1.SetResponse(errors=errors, error=_overall(errors))
        return val_v1.SetResponse()
