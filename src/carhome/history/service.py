"""The ``History`` service: every car on the hub, tracked from its telemetry, kept in a store.

It subscribes to the hub's bus once, for everything, and hands each car's signals (and its
wallbox's: power, meter, status) to that car's ``CarTracker``. The bus calls subscribers
synchronously, so tracking costs no task per change; what a tracker closes, and its open
state when that is due, is queued and written by one background task in one transaction
per batch (``flush`` waits for it). A second task moves the clock on every few seconds so a
parked car's trip ends although the car says nothing more.

Charger and car: a wallbox's readings count for the car named in ``chargers``
(``{(home, wallbox): car}``), else for the home's only car; a home with several cars and no
mapping meters nothing from its wallboxes (the cars' own signals still make the sessions).

On start the trackers resume the open states the store kept and the last values the hub
restored; on stop they are saved, never closed — a trip the hub was on when it stopped
finishes after the restart.
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

from carhome.energy.tariffs import Tariff
from carhome.errors import CarhomeError, UnknownDevice
from carhome.history.records import ChargeSession, OpenState, Parked, Record, Trip
from carhome.history.store import HistoryStore, MemoryHistoryStore, Query
from carhome.history.summaries import Period, Summary, summarize
from carhome.history.tracker import CAR_SIGNALS, CHARGER_SIGNALS, CarTracker, Settings
from carhome.hub import Change, Hub, Subscription

log: Final = logging.getLogger(__name__)

_R = TypeVar("_R", Trip, ChargeSession, Parked)
_NOTHING: Final[Mapping[str, str]] = {}


class _Route:
    """Where one device's changes go: a tracker and the signals it reads of that device."""

    __slots__ = ("signals", "tracker")

    def __init__(self, tracker: CarTracker | None, signals: Mapping[str, str]) -> None:
        self.tracker = tracker
        self.signals = signals


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
        self._records: list[Record] = []
        self._states: dict[tuple[str, str], OpenState] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.write_errors = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.store.open()
        try:
            self._resumed = {(s.home, s.car): s for s in await self.store.open_states()}
            for device in self.hub.devices():
                self._route(device.home, device.id)
        except BaseException:
            await self.store.close()
            raise
        self._subscription = self.hub.bus.subscribe(self._on_change)
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="history-writer"),
            asyncio.create_task(self._tick_loop(), name="history-clock"),
        ]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None
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
        if route is None:
            route = self._route(change.home, change.device)
        signal = route.signals.get(change.prop)
        if signal is None or route.tracker is None:
            return
        tracker = route.tracker
        tracker.feed(signal, change.value, change.ts)
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
            return _Route(None, _NOTHING)  # not cached: it may be added later
        if kind == "car":
            route = _Route(self._tracker(home, device), CAR_SIGNALS)
        elif kind == "wallbox":
            car = self._chargers.get((home, device)) or self._only_car(home)
            tracker = self._tracker(home, car) if car is not None else None
            if tracker is not None:
                tracker.charger = device
                tracker.seed(self.hub.state(home, device), CHARGER_SIGNALS)
            route = _Route(tracker, CHARGER_SIGNALS)
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
