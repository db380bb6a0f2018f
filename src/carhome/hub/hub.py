"""The hub: the kernel every part of carhome talks to.

It holds the homes and devices, the current state of every property, the event bus and
the command router, and owns the clock. It knows no protocol, no HTTP and no SQL dialect:
connectors report changes with ``report`` and deliver commands through a ``Transport``;
the store sits behind the ``Store`` protocol; access decisions come from an injected
``Gatekeeper``.

Ingest: ``report`` checks each value against the device's spec (a bad one is rejected with
its reason, counted, and logged once per cause; the others still apply), stores what
changed, runs derivers (a car's place and distance to home) and publishes each change on
the bus. ``event`` checks a device event against the spec the same way and publishes it;
``set_available`` publishes a device going online or offline; the command router publishes
each command's results. Everything the hub knows is on its one bus (``EventBus``).

A device's spec is the built-in one of its type, or its own: a connector that learns what
a device offers from the device itself (Zigbee2MQTT's exposes) registers it with
``add_device(device, spec=…)``, under a type no built-in spec has. Such a device is stored
like any other; when the hub starts again it waits, with its last states, until its
connector registers it again with its spec.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self

import msgspec

from carhome.clock import Clock, SystemClock
from carhome.errors import InvalidChange, SpecError, UnknownDevice
from carhome.hub.bus import EventBus, Subscription
from carhome.hub.commands import Ack, AllowAll, Command, CommandKind, CommandRouter, Gatekeeper
from carhome.hub.events import Event, check_event
from carhome.hub.model import Device, Home
from carhome.hub.persistence import StateRow, StateWriter, Store
from carhome.hub.places import PlaceDeriver
from carhome.hub.rejections import RejectionLog
from carhome.hub.states import Availability, Change, State
from carhome.spec import SPECS, DeviceSpec, InvalidValue

log: Final = logging.getLogger(__name__)


class Report(msgspec.Struct):
    """What became of one report (or event): how many values were applied, and what was
    rejected."""

    applied: int = 0
    rejected: list[InvalidChange] = msgspec.field(default_factory=list)


class _Entry:
    """A device with its spec and its current state (one dict lookup on ingest)."""

    __slots__ = ("deriver", "device", "home", "spec", "states")

    def __init__(self, home: Home, device: Device, spec: DeviceSpec, deriver: PlaceDeriver | None) -> None:
        self.home = home
        self.device = device
        self.spec = spec
        self.deriver = deriver
        self.states: dict[str, State] = {}


class Hub:
    """State store, event bus, command router and clock for one or many homes."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock | None = None,
        gatekeeper: Gatekeeper | None = None,
        specs: Mapping[str, DeviceSpec] = SPECS,
        persist_states: bool = True,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._now = self.clock.time  # the time of a report that brings none
        self.store = store
        self.specs = specs
        self.bus = EventBus()
        self.rejections = RejectionLog(known=lambda home, device: (home, device) in self._entries)
        self._homes: dict[str, Home] = {}
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._by_home: dict[str, dict[str, _Entry]] = {}
        # Stored devices of a type without a built-in spec, with their last states: they
        # wait for their connector to register them again with their own spec.
        self._held: dict[tuple[str, str], dict[str, State]] = {}
        self._derivers = {"car": PlaceDeriver()}
        self._submitting = 0
        self._none_submitting = asyncio.Event()
        self._none_submitting.set()
        self.commands = CommandRouter(
            clock=self.clock,
            gatekeeper=gatekeeper or AllowAll(),
            outbox=store,
            lookup=self._lookup,
            publish=self.bus.publish,
        )
        self.writer = StateWriter(store) if persist_states else None
        self._writing: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._online: dict[tuple[str, str], tuple[bool, float]] = {}

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.store.open()
        for home in await self.store.homes():
            self._homes[home.id] = home
        for device in await self.store.devices():
            if device.type in self.specs:
                self._add_entry(device)
            else:
                self._held[(device.home, device.id)] = {}
        for row in await self.store.states():
            entry = self._entries.get((row.home, row.device))
            if entry is not None:
                entry.states[row.prop] = State(row.value, row.ts, row.source)
            elif (held := self._held.get((row.home, row.device))) is not None:
                held[row.prop] = State(row.value, row.ts, row.source)
        await self.commands.restore(await self.store.outbox_pending())
        if self.writer is not None:
            self._writing = self.bus.subscribe(self.writer)
            self._tasks.append(asyncio.create_task(self.writer.run(), name="hub-state-writer"))
        self._tasks.append(asyncio.create_task(self.commands.run_expiry(), name="hub-expiry"))
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.commands.drain()
        if self._writing is not None:
            self._writing.close()
            self._writing = None
        if self.writer is not None:
            await self.writer.flush()
        await self.store.close()

    async def flush(self) -> None:
        """Make every change so far durable in the store."""
        await self.commands.drain()
        if self.writer is not None:
            await self.writer.flush()

    # -- homes and devices ----------------------------------------------------------------

    async def add_home(self, home: Home) -> Home:
        self._homes[home.id] = home
        await self.store.save_home(home)
        return home

    def add_home_unsaved(self, home: Home) -> None:
        """Register a home in memory only (benchmarks, tests of the kernel)."""
        self._homes[home.id] = home

    async def add_device(self, device: Device, *, spec: DeviceSpec | None = None) -> Device:
        """Register and save ``device``; ``spec`` gives it its own spec (see the module
        docstring) instead of the built-in one of its type."""
        self._add_entry(device, spec)
        await self.store.save_device(device)
        return device

    async def add_devices(self, devices: Sequence[Device]) -> None:
        """Register and save many devices at once (one store transaction)."""
        for device in devices:
            self._add_entry(device)
        await self.store.save_devices(devices)

    def add_device_unsaved(self, device: Device, *, spec: DeviceSpec | None = None) -> None:
        """Register a device in memory only (benchmarks, tests of the kernel)."""
        self._add_entry(device, spec)

    def _add_entry(self, device: Device, own: DeviceSpec | None = None) -> None:
        home = self._homes.get(device.home)
        if home is None:
            raise UnknownDevice(device.home, device.id)
        spec = self._spec_for(device, own)
        key = (device.home, device.id)
        old = self._entries.get(key)
        entry = _Entry(home, device, spec, self._derivers.get(spec.type))
        if old is not None:
            entry.states = old.states
        elif (held := self._held.pop(key, None)) is not None:
            entry.states = _still_valid(held, spec)
        if own is not None and old is not None:  # its own spec may have changed
            entry.states = _still_valid(entry.states, spec)
        self._entries[key] = entry
        self._by_home.setdefault(device.home, {})[device.id] = entry

    def _spec_for(self, device: Device, own: DeviceSpec | None) -> DeviceSpec:
        where = f"device {device.home}/{device.id}"
        if own is None:
            spec = self.specs.get(device.type)
            if spec is None:
                raise SpecError(
                    f"{where} has unknown type {device.type!r}; known types: {', '.join(sorted(self.specs))}"
                )
            return spec
        if own.type != device.type:
            raise SpecError(
                f"{where} is of type {device.type!r} but its spec of type {own.type!r}; give both one type"
            )
        if device.type in self.specs:
            raise SpecError(
                f"{where}: {device.type!r} is a built-in type, whose spec is the built-in one;"
                " give a device with its own spec a type of its own"
            )
        return own

    async def remove_device(self, home: str, device: str) -> None:
        self._held.pop((home, device), None)
        self._entries.pop((home, device), None)
        self._by_home.get(home, {}).pop(device, None)
        await self.store.remove_device(home, device)

    def home(self, home: str) -> Home:
        try:
            return self._homes[home]
        except KeyError:
            raise UnknownDevice(home, "*", ()) from None

    def homes(self) -> list[Home]:
        return list(self._homes.values())

    def devices(self, home: str | None = None) -> list[Device]:
        if home is None:
            return [e.device for e in self._entries.values()]
        return [e.device for e in self._by_home.get(home, {}).values()]

    def device(self, home: str, device: str) -> Device:
        return self._entry(home, device).device

    def spec(self, home: str, device: str) -> DeviceSpec:
        return self._entry(home, device).spec

    def state(self, home: str, device: str) -> dict[str, State]:
        """The current state of every property the device has reported."""
        return dict(self._entry(home, device).states)

    def value(self, home: str, device: str, prop: str, default: Any = None) -> Any:
        state = self._entry(home, device).states.get(prop)
        return default if state is None else state.value

    def _entry(self, home: str, device: str) -> _Entry:
        entry = self._entries.get((home, device))
        if entry is None:
            raise UnknownDevice(home, device, list(self._by_home.get(home, ())))
        return entry

    def _unknown_device(self, home: str, device: str) -> InvalidChange:
        return InvalidChange(
            home=home,
            device=device,
            prop=None,
            code="unknown_device",
            reason="no such device in this home",
            allowed=", ".join(sorted(self._by_home.get(home, ()))[:12]) or None,
        )

    def _reject(self, report: Report, err: InvalidChange) -> Report:
        """Count ``err`` (logged once per cause) and add it to ``report``."""
        self.rejections.record(err)
        report.rejected.append(err)
        return report

    def _lookup(self, home: str, device: str) -> tuple[Device, DeviceSpec]:
        entry = self._entry(home, device)
        return entry.device, entry.spec

    def iter_states(self) -> Iterator[StateRow]:
        for (home, device), entry in self._entries.items():
            for prop, st in entry.states.items():
                yield StateRow(home, device, prop, st.value, st.ts, st.source)

    # -- availability ---------------------------------------------------------------------

    def set_available(self, home: str, device: str, online: bool) -> None:
        """Record that a device went online or offline (its connector saw it); a change is
        published on the bus as an ``Availability``."""
        if (home, device) not in self._entries:
            return
        previous = self._online.get((home, device))
        now = self.clock.time()
        self._online[(home, device)] = (online, now)
        if previous is None or previous[0] != online:
            self.bus.publish(Availability(home, device, online, now))

    def available(self, home: str, device: str) -> bool | None:
        """Whether the device is online; ``None`` if no connector has said yet."""
        seen = self._online.get((home, device))
        return None if seen is None else seen[0]

    # -- ingest ---------------------------------------------------------------------------

    def report(  # noqa: PLR0912 - the ingest hot path, inline on purpose (no call per change)
        self,
        home: str,
        device: str,
        values: Mapping[str, Any],
        *,
        ts: float | None = None,
        source: str = "",
        trusted: bool = False,
    ) -> Report:
        """Apply a device's reported values; each bad one is rejected alone.

        ``trusted`` lets an in-process producer (a deriver, a benchmark) set derived
        properties; connectors never pass it.
        """
        devices = self._by_home.get(home)
        entry = None if devices is None else devices.get(device)  # no key tuple made per report
        if entry is None:
            return self._reject(Report(), self._unknown_device(home, device))
        if ts is None:
            ts = self._now()
        spec = entry.spec
        # One lookup finds a change's checker; a derived property has none unless trusted.
        checkers = spec.checkers if trusted else spec.reported
        states = entry.states
        bus = self.bus
        deriver = entry.deriver
        moved = False  # whether a deriver's input changed
        applied = 0
        rejected: list[InvalidChange] | None = None
        for prop, raw in values.items():
            check = checkers.get(prop)
            try:
                if check is None:
                    raise _not_reported(spec, prop)
                value = check(raw)
            except InvalidValue as exc:
                rejected = self._refuse(rejected, home, device, prop, exc)
                continue
            applied += 1
            old = states.get(prop)
            states[prop] = State(value, ts, source)
            if old is None:
                was = None
            elif old.value != value:
                was = old.value
            else:
                continue
            if bus.broad:
                bus.change(home, device, prop, value, was, ts, source)
            else:
                # Only the subscribers of this very property: a change nobody watches
                # costs these lookups and makes nothing.
                watched = bus.routes.get(home)
                callbacks = None if watched is None else watched.get(device, _NONE).get(prop)
                if callbacks is not None:
                    change = Change(home, device, prop, value, was, ts, source)
                    for callback in callbacks:
                        try:
                            callback(change)
                        except Exception:
                            bus.failed(callback, change, prop)
            if deriver is not None and prop in deriver.inputs:
                moved = True
        report = Report(applied) if rejected is None else Report(applied, rejected)
        if moved and deriver is not None:
            derived = deriver.derive(entry.home, states)
            if derived:
                self.report(home, device, derived, ts=ts, source="hub", trusted=True)
        return report

    def report_one(  # noqa: PLR0912 - the one-value ingest hot path, inline on purpose
        self,
        home: str,
        device: str,
        prop: str,
        value: Any,
        *,
        ts: float | None = None,
        source: str = "",
        trusted: bool = False,
    ) -> InvalidChange | None:
        """``report(home, device, {prop: value})`` for a producer with one value per message
        (a connector reading one topic per property, a benchmark), without the mapping or the
        ``Report``: ``None`` when the value was applied, else its rejection — the very one
        ``report`` would list, counted and logged the same way.
        """
        try:  # subscripts, not calls: the device and its property are known nearly always
            entry = self._by_home[home][device]
        except KeyError:
            err = self._unknown_device(home, device)
            self.rejections.record(err)
            return err
        spec = entry.spec
        try:
            low, high, check = (spec.intake if trusted else spec.intake_reported)[prop]
        except KeyError:
            return self._refuse(None, home, device, prop, _not_reported(spec, prop))[0]
        # A float in range and finite (x - x is 0.0 for those only) is taken as it came, as
        # its checker would; anything else is checked.
        if not (type(value) is float and low <= value <= high and value - value == 0.0):
            try:
                value = check(value)
            except InvalidValue as exc:
                return self._refuse(None, home, device, prop, exc)[0]
        if ts is None:
            ts = self._now()
        states = entry.states
        old = states.get(prop)
        states[prop] = State(value, ts, source)
        if old is None:
            was = None
        elif old.value != value:
            was = old.value
        else:
            return None
        bus = self.bus
        if bus.broad:
            bus.change(home, device, prop, value, was, ts, source)
        else:
            watched = bus.routes.get(home)
            callbacks = None if watched is None else watched.get(device, _NONE).get(prop)
            if callbacks is not None:
                change = Change(home, device, prop, value, was, ts, source)
                for callback in callbacks:
                    try:
                        callback(change)
                    except Exception:
                        bus.failed(callback, change, prop)
        deriver = entry.deriver
        if deriver is not None and prop in deriver.inputs:
            derived = deriver.derive(entry.home, states)
            if derived:
                self.report(home, device, derived, ts=ts, source="hub", trusted=True)
        return None

    def _refuse(
        self, rejected: list[InvalidChange] | None, home: str, device: str, prop: str, exc: InvalidValue
    ) -> list[InvalidChange]:
        """Count a rejected value (logged once per cause) and add it to ``rejected``."""
        err = InvalidChange(
            home=home, device=device, prop=prop, code=exc.code, reason=exc.reason, allowed=exc.allowed
        )
        self.rejections.record(err)
        if rejected is None:
            return [err]
        rejected.append(err)
        return rejected

    def event(
        self,
        home: str,
        device: str,
        name: str,
        fields: Mapping[str, Any] | None = None,
        *,
        ts: float | None = None,
        source: str = "",
    ) -> Report:
        """Publish a device's event once it is checked against the device's spec.

        An unknown device, an event the spec does not have or fields that break it are
        rejected (counted and logged once per cause, like values) and published to nobody.
        """
        report = Report()
        entry = self._entries.get((home, device))
        try:
            if entry is None:
                raise self._unknown_device(home, device)
            try:
                checked = check_event(entry.spec, name, fields or {})
            except InvalidValue as exc:
                raise InvalidChange(
                    home=home,
                    device=device,
                    prop=None,
                    code=exc.code,
                    reason=f"event {name!r}: {exc.reason}",
                    allowed=exc.allowed,
                ) from None
        except InvalidChange as err:
            return self._reject(report, err)
        report.applied = 1
        self.bus.publish(Event(home, device, name, checked, self.clock.time() if ts is None else ts, source))
        return report

    def report_many(
        self, reports: Sequence[tuple[str, str, Mapping[str, Any], float | None]], *, source: str = ""
    ) -> list[InvalidChange]:
        """``report`` of each (home, device, values, ts) in ``reports``, in order: what a
        connector took in one read. Every rejection, in order (none: all were applied); a
        message from an unknown device is one ``unknown_device`` rejection.

        A message of one value (most are) takes ``report_one``'s way: no ``Report`` made.
        """
        one, report = self.report_one, self.report
        refused: list[InvalidChange] = []
        for home, device, values, ts in reports:
            if len(values) == 1:
                for prop, value in values.items():
                    err = one(home, device, prop, value, ts=ts, source=source)
                    if err is not None:
                        refused.append(err)
            else:
                rejected = report(home, device, values, ts=ts, source=source).rejected
                if rejected:
                    refused += rejected
        return refused

    # -- commands -------------------------------------------------------------------------

    async def submit(
        self,
        home: str,
        device: str,
        kind: CommandKind,
        target: str,
        args: dict[str, Any] | None = None,
        *,
        member: str,
        face: str,
        ttl: float = 30.0,
        signature: str | None = None,
        delegated: bool = False,
        command_id: str | None = None,
    ) -> Command:
        """Make, check, store and deliver a command; returns it once it is durable.

        ``signature`` is the phone's end-to-end envelope for a safety-critical command; the
        hub relays it untouched and the device verifies it. ``delegated`` says a part acts
        on its own, with no phone to sign (an automation run, the charging controller): the
        router's ``signer``, where the composition gave one, signs the command before the
        gatekeeper decides on it. Either way the command is submitted with its signature,
        and nothing writes one into it afterwards.

        ``command_id`` is an id derived from the command's cause (``derived_id``): a
        replay of that cause is refused with ``DuplicateCommand`` (the command was made).
        """
        command = self.commands.make(
            home=home,
            device=device,
            kind=kind,
            target=target,
            args=args,
            member=member,
            face=face,
            ttl=ttl,
            signature=signature,
            id=command_id,
        )
        self._submitting += 1
        self._none_submitting.clear()
        try:
            signer = self.commands.signer
            if delegated and signature is None and signer is not None:
                signed = await signer.sign(command, self.spec(home, device))
                if signed is not None:
                    command = msgspec.structs.replace(command, signature=signed)
            return await self.commands.submit(command, made_here=command_id is None)
        finally:
            self._submitting -= 1
            if not self._submitting:
                self._none_submitting.set()

    async def submits_done(self) -> None:
        """Once no ``submit`` is under way: every command submitted before is durable in the
        outbox, or was refused. A fleet worker commits a batch's checkpoint only after this,
        so a command the batch caused is never passed by the checkpoint while its write is
        still waiting (a busy database)."""
        await self._none_submitting.wait()

    def ack(self, home: str, device: str, ack: Ack) -> Command | None:
        return self.commands.ack(home, device, ack)


def _still_valid(states: dict[str, State], spec: DeviceSpec) -> dict[str, State]:
    """The states that ``spec`` still takes (a device's own spec may change between runs)."""
    kept: dict[str, State] = {}
    for prop, state in states.items():
        pspec = spec.properties.get(prop)
        if pspec is None:
            continue
        try:
            kept[prop] = State(pspec.check(state.value), state.ts, state.source)
        except InvalidValue:
            continue
    return kept


_NONE: Final[Mapping[str | None, Sequence[Callable[[Change], None]]]] = {}
"""No subscribers (never written to)."""


def _not_reported(spec: DeviceSpec, prop: str) -> InvalidValue:
    """Why ``prop`` has no checker for a report: it is not in ``spec``, or it is derived."""
    if prop in spec.properties:
        return InvalidValue("derived", "this property is derived by the hub, not reported")
    return InvalidValue("unknown_property", f"{spec.type} has no such property", _names(spec.properties))


def _names(items: Mapping[str, object], most: int = 12) -> str:
    names = sorted(items)
    return ", ".join(names[:most]) + (f" … ({len(names)} in all)" if len(names) > most else "")
