"""The ``History`` service: every car on the hub, tracked from its telemetry, kept in a store.

It subscribes on the hub's bus to the signals it reads of each car and each wallbox the hub
has when it starts — nothing else reaches it — and hands each car's signals (and its
wallbox's: power, meter, status) to that car's ``CarTracker``. The bus calls subscribers
synchronously, so tracking costs no task per change; what a tracker closes, and its open
state when that is due, is queued and written by one background task in one transaction
per batch (``flush`` waits for it). A second task moves the clock on every few seconds so a
parked car's trip ends although the car says nothing more.

Charger and car: a wallbox's readings count for the car named in ``chargers``
(``{(home, wallbox): car}``), else for the home's only car, else — a home with several cars
and no mapping — for the one car that is plugged in or charging when the wallbox is busy:
until exactly one is, the wallbox's readings wait (``MAX_WAITING`` of them), and are handed
to that car's tracker in order once it is known; the wallbox is the car's until its
connector is free again. A car with several wallboxes follows the busy one (``CarTracker``).

On start the trackers resume the open states the store kept and the last values the hub
restored; on stop the subscriptions are closed and the trackers saved, never closed — a
trip the hub was on when it stopped finishes after the restart. A car or wallbox added to
the hub later is tracked from the next start (a hub adds its devices before its parts start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Final, Self, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from carhome.errors import CarhomeError, UnknownDevice
from carhome.history.records import OpenState, Record
from carhome.history.store import HistoryStore, MemoryHistoryStore, Query
from carhome.history.summaries import summarize
from carhome.history.tracker import CAR_SIGNALS, CHARGER_SIGNALS, CarTracker, Settings
from carhome.hub import Change, Hub
from carhome.prices.tariffs import Tariff
from carhome.wire.history import ChargeSession, Parked, Period, Summary, Trip

log: Final = logging.getLogger(__name__)

_R = TypeVar("_R", Trip, ChargeSession, Parked)
_NOTHING: Final[Mapping[str, str]] = {}
MAX_WAITING: Final = 10_000
"""Readings of a wallbox kept while it is not known which car it charges."""
_FREE: Final = frozenset({"available", "unavailable"})  # the wallbox's connector is free


class _Route:
    """Where one device's changes go: a tracker and the signals it reads of that device;
    ``charger`` is the wallbox's id when the device is one, ``shared`` when the car it
    charges is found out as it goes."""

    __slots__ = ("charger", "shared", "signals", "tracker")

    def __init__(
        self,
        tracker: CarTracker | None,
        signals: Mapping[str, str],
        *,
        charger: str | None = None,
        shared: bool = False,
    ) -> None:
        self.tracker = tracker
        self.signals = signals
        self.charger = charger
        self.shared = shared


class History:
    """Trips, charge sessions and parked spells of every car on ``hub``.

    ``tariffs`` maps a home id to its tariff (``tariff`` is for homes not in it); charges
    in a home without one have no cost. Use as ``async with History(hub, store) as history``
    inside the hub's own ``async with``.
    """

    def __init__(
        self,
        hub: Hub,
        store: HistoryStore | None = None,
        *,
        tariffs: Mapping[str, Tariff] | None = None,
        tariff: Tariff | None = None,
        chargers: Mapping[tuple[str, str], str] | None = None,
        settings: Settings | None = None,
        tick_s: float = 15.0,
    ) -> None:
        self.hub = hub
        self.store: HistoryStore = store if store is not None else MemoryHistoryStore()
        self.settings = settings or Settings()
        self._tariffs = dict(tariffs or {})
        self._tariff = tariff
        self._chargers = dict(chargers or {})
        self._tick_s = tick_s
        self._trackers: dict[tuple[str, str], CarTracker] = {}
        self._routes: dict[tuple[str, str], _Route] = {}
        self._resumed: dict[tuple[str, str], OpenState] = {}
        self._charging: dict[tuple[str, str], str] = {}  # shared wallbox → the car it charges now
        self._waiting: dict[tuple[str, str], list[Change]] = {}  # shared wallbox → readings for a car
        self._records: list[Record] = []
        self._states: dict[tuple[str, str], OpenState] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._subscriptions = contextlib.ExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self.write_errors = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.store.open()
        try:
            self._resumed = {(s.home, s.car): s for s in await self.store.open_states()}
            routes = [(device, self._route(device.home, device.id)) for device in self.hub.devices()]
        except BaseException:
            await self.store.close()
            raise
        for device, route in routes:
            properties = self.hub.spec(device.home, device.id).properties
            for prop in route.signals:
                if prop in properties:
                    self._subscriptions.enter_context(
                        self.hub.bus.subscribe(self._on_change, home=device.home, device=device.id, name=prop)
                    )
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="history-writer"),
            asyncio.create_task(self._tick_loop(), name="history-clock"),
        ]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._subscriptions.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:
            for tracker in self._trackers.values():
                self._collect(tracker)
                self._states[(tracker.home, tracker.car)] = tracker.open_state()
            await self.flush()
        finally:
            await self.store.close()

    async def flush(self) -> None:
        """Write everything derived so far; returns once it is in the store."""
        async with self._lock:
            records, self._records = self._records, []
            states, self._states = self._states, {}
            if not records and not states:
                return
            try:
                await self.store.commit(records, list(states.values()))
            except BaseException:
                # keep them for the next try; a newer state of the same car wins
                self._records[:0] = records
                for key, state in states.items():
                    self._states.setdefault(key, state)
                raise

    # -- queries --------------------------------------------------------------------------

    async def trips(self, query: Query | None = None) -> list[Trip]:
        return await self._query(Trip, query)

    async def charges(self, query: Query | None = None) -> list[ChargeSession]:
        return await self._query(ChargeSession, query)

    async def parked(self, query: Query | None = None) -> list[Parked]:
        return await self._query(Parked, query)

    async def summaries(self, period: Period, query: Query | None = None) -> list[Summary]:
        """Daily or monthly totals per car over the records the query selects."""
        # every record of the range counts, whatever limit a listing would use
        query = msgspec.structs.replace(query, limit=None) if query is not None else Query()
        return summarize(
            period,
            await self.trips(query),
            await self.charges(query),
            await self.parked(query),
            self.zone,
        )

    def zone(self, home: str) -> ZoneInfo:
        """The timezone of ``home`` (UTC for a home the hub no longer knows)."""
        try:
            return ZoneInfo(self.hub.home(home).timezone)
        except UnknownDevice:
            return ZoneInfo("UTC")

    def tracker(self, home: str, car: str) -> CarTracker | None:
        """The tracker of one car (for its open state and counters)."""
        return self._trackers.get((home, car))

    async def _query(self, kind: type[_R], query: Query | None) -> list[_R]:
        await self.flush()
        return await self.store.records(kind, query or Query())

    # -- ingest ---------------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        route = self._routes.get((change.home, change.device))
        signal = None if route is None else route.signals.get(change.prop)
        if route is None or signal is None:
            return
        if route.shared:
            self._shared(change, signal)
            return
        tracker = route.tracker
        if tracker is None:
            return
        tracker.feed(signal, change.value, change.ts, charger=route.charger)
        self._collect(tracker)
        if route.charger is None and signal in ("cable", "charging") and self._waiting:
            self._hand_over(change.home)

    def _shared(self, change: Change, signal: str) -> None:
        """A wallbox of a home with several cars: its reading goes to the car it charges."""
        key = (change.home, change.device)
        car = self._charging.get(key)
        if car is None and self._busy(key):
            car = self._plugged_car(change.home)
        if car is None:
            waiting = self._waiting.setdefault(key, [])
            if signal == "charger_status" and change.value in _FREE:
                waiting.clear()  # nobody was charging there
            waiting.append(change)
            del waiting[:-MAX_WAITING]
            return
        tracker = self._tracker(change.home, car)
        if key not in self._charging:
            self._charging[key] = car
            for earlier in self._waiting.pop(key, ()):
                tracker.feed(CHARGER_SIGNALS[earlier.prop], earlier.value, earlier.ts, charger=change.device)
        tracker.feed(signal, change.value, change.ts, charger=change.device)
        if signal == "charger_status" and change.value in _FREE:
            del self._charging[key]  # the car has left that wallbox
        self._collect(tracker)

    def _busy(self, wallbox: tuple[str, str]) -> bool:
        """Whether a car is at the wallbox's connector or it delivers power (the hub's state)."""
        home, device = wallbox
        status, power = self.hub.value(home, device, "status"), self.hub.value(home, device, "power")
        return (status is not None and status not in _FREE) or (power or 0) > 0

    def _plugged_car(self, home: str) -> str | None:
        """The one car of ``home`` plugged in or charging, and at no other wallbox, if one is."""
        taken = {car for (h, _), car in self._charging.items() if h == home}
        found = [
            car
            for (h, car), tracker in self._trackers.items()
            if h == home
            and car not in taken
            and (tracker.last.get("cable", (False,))[0] or tracker.last.get("charging", (False,))[0])
        ]
        return found[0] if len(found) == 1 else None

    def _hand_over(self, home: str) -> None:
        """A car of ``home`` was plugged in or started charging: waiting readings may be its."""
        for key, waiting in list(self._waiting.items()):
            if key[0] == home and waiting and key not in self._charging and self._busy(key):
                car = self._plugged_car(home)
                if car is None:
                    return
                self._charging[key] = car
                tracker = self._tracker(home, car)
                for earlier in self._waiting.pop(key):
                    tracker.feed(CHARGER_SIGNALS[earlier.prop], earlier.value, earlier.ts, charger=key[1])
                self._collect(tracker)

    def _collect(self, tracker: CarTracker) -> None:
        closed, state = tracker.take()
        if closed:
            self._records.extend(closed)
        if state is not None:
            self._states[(tracker.home, tracker.car)] = state
        if closed or state is not None:
            self._wake.set()

    def _route(self, home: str, device: str) -> _Route:
        """Work out once where a device's changes go (a car, its wallbox, or nowhere)."""
        try:
            kind = self.hub.device(home, device).type
        except UnknownDevice:
            return _Route(None, _NOTHING)
        if kind == "car":
            route = _Route(self._tracker(home, device), CAR_SIGNALS)
        elif kind == "wallbox":
            car = self._chargers.get((home, device)) or self._only_car(home)
            if car is None:
                route = _Route(None, CHARGER_SIGNALS, charger=device, shared=True)
            else:
                tracker = self._tracker(home, car)
                tracker.seed_charger(device, self.hub.state(home, device))
                route = _Route(tracker, CHARGER_SIGNALS, charger=device)
        else:
            route = _Route(None, _NOTHING)
        self._routes[(home, device)] = route
        return route

    def _only_car(self, home: str) -> str | None:
        cars = [d.id for d in self.hub.devices(home) if d.type == "car"]
        return cars[0] if len(cars) == 1 else None

    def _tracker(self, home: str, car: str) -> CarTracker:
        tracker = self._trackers.get((home, car))
        if tracker is None:
            tracker = CarTracker(
                home,
                car,
                settings=self.settings,
                tariff=self._tariffs.get(home, self._tariff),
                state=self._resumed.pop((home, car), None),
            )
            tracker.seed(self.hub.state(home, car), CAR_SIGNALS)
            self._trackers[(home, car)] = tracker
        return tracker

    # -- background -----------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except CarhomeError as exc:
                # kept in memory (flush put it back) and written with the next batch
                self.write_errors += 1
                log.warning("history not saved yet (tried again with the next batch): %s", exc)

    async def _tick_loop(self) -> None:
        clock = self.hub.clock
        while True:
            await clock.sleep(self._tick_s)
            now = clock.time()
            for tracker in list(self._trackers.values()):
                tracker.expire(now)
                self._collect(tracker)
