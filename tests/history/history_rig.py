"""A simulated week recorded through a real hub into ``History``, with the simulator's truth.

The simulated home (``carhome.sim.SimHome``: the car, its wallbox and the weekly routine) is
stepped on a ``FakeClock``; each step's reports of the car and the wallbox go into the hub
with the step's time, exactly as the MQTT connector would hand them over, and the clock is
advanced so ``History``'s own timer runs. Beside it the rig writes down what really
happened — from the simulator's unrounded state, not from the reports — so the tests can
hold the derived trips and charges against it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from carhome.energy import TimeOfUseTariff, TouWindow
from carhome.history import ChargeSession, History, Parked, SqliteHistoryStore, Summary, Trip
from carhome.hub import Home, Hub
from carhome.sim import Outdoor, SimHome
from carhome.store.sqlite import SqliteStore
from carhome.testing import FakeClock

BEIJING = ZoneInfo("Asia/Shanghai")
HOME = Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060, radius_m=150.0, timezone="Asia/Shanghai")
# Beijing-style time of use (yuan/kWh): valley at night, peak in the evening.
WINDOWS = ((time(23, 0), time(7, 0), 0.30), (time(7, 0), time(18, 0), 0.60), (time(18, 0), time(23, 0), 1.00))
TARIFF = TimeOfUseTariff(tuple(TouWindow(a, b, p) for a, b, p in WINDOWS), BEIJING)


def price_by_hand(ts: float) -> float:
    """The tariff above, worked out without the tariff class."""
    hour = datetime.fromtimestamp(ts, BEIJING).hour
    if hour >= 23 or hour < 7:
        return 0.30
    return 0.60 if hour < 18 else 1.00


def at(text: str) -> float:
    """Seconds since the epoch of a local Beijing time like ``2026-01-05 06:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING).timestamp()


@dataclass
class TrueTrip:
    start: float
    odometer0: float
    energy0: float
    end: float = 0.0
    odometer1: float = 0.0
    energy1: float = 0.0
    origin: str | None = None
    destination: str | None = None

    @property
    def km(self) -> float:
        return self.odometer1 - self.odometer0

    @property
    def kwh(self) -> float:
        return self.energy0 - self.energy1


@dataclass
class TrueCharge:
    """One plug-in with power in it: from the first to the last step power flowed."""

    start: float = 0.0
    end: float = 0.0
    energy0: float = 0.0
    energy1: float = 0.0
    grid: float = 0.0
    cost: float = 0.0
    flowed: bool = False

    @property
    def added(self) -> float:
        return self.energy1 - self.energy0


@dataclass
class Week:
    trips: list[Trip]
    charges: list[ChargeSession]
    parked: list[Parked]
    days: list[Summary]
    months: list[Summary]
    true_trips: list[TrueTrip]
    true_charges: list[TrueCharge]
    energy_first: float  # the battery when the history first saw it (as reported)
    energy_last: float
    first_ts: float
    last_ts: float
    database: Path
    stale: int = 0


async def record_week(data: Path, start: str = "2026-01-05 00:00", days: float = 7.0) -> Week:
    """Run the simulated home for ``days`` from ``start`` through a hub and a ``History``."""
    t0 = at(start)
    clock = FakeClock(t0)
    sim = SimHome(HOME, outdoor=Outdoor(timezone=HOME.timezone), soc=65.0, seed=3)
    home = msgspec.structs.replace(HOME, places=sim.places())
    car, wallbox = sim.car, sim.wallbox
    database = data / "carhome.db"
    true_trips: list[TrueTrip] = []
    true_charges: list[TrueCharge] = []
    plugged_session: TrueCharge | None = None
    flowing = False
    async with Hub(store=SqliteStore(database), clock=clock) as hub:
        await hub.add_home(home)
        await hub.add_devices(sim.records())
        async with History(hub, SqliteHistoryStore.beside(database), tariff=TARIFF) as history:
            now = t0
            sim.update(now)
            for device_id in ("car", "wallbox"):
                hub.report(home.id, device_id, sim.devices[device_id].step(0.0), ts=now)
            energy_first = round(car.energy_kwh, 1)
            end = t0 + days * 86_400
            while now < end:
                dt = 5.0 if car.driving else 30.0
                now += dt
                await clock.advance(dt)
                was_driving = car.driving
                sim.update(now)
                if car.driving and not was_driving:
                    trip = true_trips_append(true_trips, now, car.odometer_km, car.energy_kwh)
                    trip.origin = car.trip.route.origin if car.trip is not None else None
                if car.plugged and plugged_session is None:
                    plugged_session = TrueCharge()
                energy0, meter0 = car.energy_kwh, wallbox.energy_kwh
                for device_id in ("car", "wallbox"):
                    changed = sim.devices[device_id].step(dt)
                    if changed:
                        hub.report(home.id, device_id, changed, ts=now)
                if true_trips and true_trips[-1].end == 0.0 and not car.driving:
                    last = true_trips[-1]
                    last.end, last.odometer1, last.energy1 = now, car.odometer_km, car.energy_kwh
                    last.destination = car.place
                if plugged_session is not None:
                    if car.charging or flowing:
                        # the step in which it stopped counts too: its report says so at ``now``
                        if not plugged_session.flowed:
                            plugged_session.flowed = True
                            plugged_session.start, plugged_session.energy0 = now, energy0
                        plugged_session.end, plugged_session.energy1 = now, car.energy_kwh
                    flowing = car.charging
                    # the meter restarts at a plug-in: count only this session's increments
                    step_grid = max(0.0, wallbox.energy_kwh - meter0)
                    plugged_session.grid += step_grid
                    plugged_session.cost += step_grid * price_by_hand(now - dt / 2)
                    if not car.plugged:
                        if plugged_session.flowed:
                            true_charges.append(plugged_session)
                        plugged_session = None
            await clock.advance(600.0)  # let the last trip's rest run out
            trips = await history.trips()
            charges = await history.charges()
            parked = await history.parked()
            days_ = await history.summaries("day")
            months = await history.summaries("month")
            tracker = history.tracker(home.id, "car")
            stale = tracker.stale if tracker is not None else -1
            if plugged_session is not None and plugged_session.flowed:
                true_charges.append(plugged_session)
    return Week(
        trips=trips,
        charges=charges,
        parked=parked,
        days=days_,
        months=months,
        true_trips=true_trips,
        true_charges=true_charges,
        energy_first=energy_first,
        energy_last=round(car.energy_kwh, 1),
        first_ts=t0,
        last_ts=now,
        database=database,
        stale=stale,
    )


def true_trips_append(trips: list[TrueTrip], now: float, odometer: float, energy: float) -> TrueTrip:
    trip = TrueTrip(start=now, odometer0=odometer, energy0=energy)
    trips.append(trip)
    return trip


def record_week_sync(data: Path) -> Week:
    return asyncio.run(record_week(data))
