"""One car's telemetry turned into trips, charge sessions and parked spells, as it comes.

A ``CarTracker`` is fed one signal at a time (the hub's bus hands over each change) and
keeps, at any moment, at most one thing open: a trip, a charge, or a parked spell. It is
pure — no clock, no I/O: what it closes it hands out through ``take``, and what it has open
is an ``OpenState`` the caller persists, so a restarted hub resumes the trip it was on.

The rules, and why:

- A trip starts at the first sign of movement — speed above zero, ``IsMoving``, or an
  odometer that went up while nothing was open (the moving reports were missed) — from the
  last standstill values (odometer, battery energy, place) the car reported before it.
- It ends when the car has stood still for ``stop_after_s`` (longer than a red light), at
  the moment it came to rest; or at once when it starts charging. A "trip" shorter than
  ``min_trip_km`` by the odometer (moved in the garage, a GPS jump) is no trip: the parked
  spell it interrupted goes on.
- A charge starts when the car says ``IsCharging`` or its charger delivers power, and ends
  when the cable comes out (or the car drives off); its ``end`` is the last moment power
  flowed, so paused smart charging is one session. A car and charger that never report the
  cable end a session after ``charge_gap_s`` without power.
- Energy into the battery is the battery's energy at the end minus the start; from the
  grid, the sum of the charger's meter increments above the highest reading before them.
  A session meter restarts at zero when the charger opens a new session: a reading of
  zero, or two readings in a row below the highest, is a restart (counted from zero); a
  single lower reading followed by one back at or above the highest was a glitch (or a
  late message) and counts nothing. Each increment is priced at the tariff of the minutes
  it flowed in (``costing``): from the grid energy when a charger metered it, else from
  the battery's.
- A car may be charged at one of several wallboxes: its charger's signals come from the
  one it is plugged into — the wallbox that is busy (a car at its connector, or power
  flowing) — and the others' are kept aside, never mixed in; the charge names it.
- Parked spells run from the end of one trip or charge to the start of the next; what the
  battery lost meanwhile (standby, preconditioning) is their ``lost_kwh``.
- A report older than the last one of the same signal (a replayed or delayed message) is
  ignored; equal values never arrive (the hub publishes changes only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from carhome.history.costing import slice_cost
from carhome.history.records import OpenCharge, OpenParked, OpenState, OpenTrip, Record, Snapshot, record_id
from carhome.hub.states import State
from carhome.prices.tariffs import Tariff
from carhome.spec import vss
from carhome.spec.devices import PLACE
from carhome.wire.history import ChargeSession, CostBasis, Parked, Trip

# The car's signals the tracker reads, by the short name it uses for each.
CAR_SIGNALS: Final[Mapping[str, str]] = {
    vss.SPEED: "speed",
    vss.IS_MOVING: "moving",
    vss.ODOMETER: "odometer",
    vss.ENERGY: "energy",
    vss.SOC: "soc",
    vss.NET_CAPACITY: "capacity",
    vss.BATTERY_POWER: "battery_power",
    vss.IS_CHARGING: "charging",
    vss.CABLE_CONNECTED: "cable",
    vss.LATITUDE: "lat",
    vss.LONGITUDE: "lon",
    PLACE: "place",
}
# A wallbox's properties, read for the car it charges.
CHARGER_SIGNALS: Final[Mapping[str, str]] = {
    "power": "charger_power",
    "energy": "charger_energy",
    "status": "charger_status",
}
_UNPLUGGED_STATUSES: Final = frozenset({"available", "unavailable"})
_CHARGER_NAMES: Final = frozenset(CHARGER_SIGNALS.values())
_METER_ZERO: Final = 1e-9  # a session meter at zero has restarted
_EPSILON_KM: Final = 1e-6
_MIN_PARKED_S: Final = 60.0
_CHARGE_SILENCE_S: Final = 3600.0  # a charge this long without a word has gaps


@dataclass(frozen=True, slots=True)
class Settings:
    """How the tracker tells a trip, a charge and a stop apart."""

    stop_after_s: float = 180.0  # standing still this long ends a trip (a red light is shorter)
    charge_gap_s: float = 900.0  # without a cable signal: no power this long ends a charge
    min_trip_km: float = 0.1  # the odometer's resolution; less is no trip
    min_charge_kwh: float = 0.05
    silence_s: float = 120.0  # a moving car quiet this long has gaps in its trip
    jump_km: float = 1.0  # more than one report's worth of driving: reports were missed
    save_every_s: float = 60.0  # how often an open trip's progress is persisted


class CarTracker:
    """Derives one car's trips, charges and parked spells from its signals."""

    def __init__(
        self,
        home: str,
        car: str,
        *,
        settings: Settings | None = None,
        tariff: Tariff | None = None,
        state: OpenState | None = None,
    ) -> None:
        self.home = home
        self.car = car
        self.settings = settings or Settings()
        self.tariff = tariff
        self.state = state if state is not None else OpenState(home=home, car=car)
        self.last: dict[str, tuple[Any, float]] = {}
        self.latest = -math.inf  # the newest timestamp seen on any signal
        self._heard_before = -math.inf  # the newest one before that (the previous report)
        self.stale = 0  # reports ignored for being older than what was seen
        self.charger: str | None = None  # the wallbox whose signals count now
        self._wallboxes: dict[str, dict[str, tuple[Any, float]]] = {}  # each one's last signals
        self._closed: list[Record] = []
        self._dirty = False
        self._saved_at = -math.inf

    # -- input ----------------------------------------------------------------------------

    def seed(self, states: Mapping[str, State], signals: Mapping[str, str]) -> None:
        """Take the last known values (a hub restored from its store) without transitions."""
        for prop, st in states.items():
            name = signals.get(prop)
            if name is not None:
                self.last[name] = (st.value, st.ts)
                self.latest = max(self.latest, st.ts)

    def seed_charger(self, charger: str, states: Mapping[str, State]) -> None:
        """Take a wallbox's last known values (a hub restored from its store)."""
        self._wallboxes[charger] = {
            CHARGER_SIGNALS[prop]: (st.value, st.ts) for prop, st in states.items() if prop in CHARGER_SIGNALS
        }
        if self.charger is None or (not self._busy(self.charger) and self._busy(charger)):
            self._follow(charger)
        for name, (_, ts) in self._wallboxes[charger].items():
            if charger == self.charger and name in _CHARGER_NAMES:
                self.latest = max(self.latest, ts)

    def feed(self, signal: str, value: Any, ts: float, *, charger: str | None = None) -> None:
        """One signal took a new value at ``ts`` (device time); ``charger`` names the wallbox
        a charger signal came from."""
        if charger is not None and not self._from_charger(charger, signal, value, ts):
            return
        previous = self.last.get(signal)
        if previous is not None and ts < previous[1]:
            self.stale += 1
            return
        self.expire(ts)
        st = self.state
        quiet = ts - self.latest
        if st.trip is not None and st.trip.rest_since is None and quiet > self.settings.silence_s:
            st.trip.gaps = True
        if st.charge is not None and st.charge.flowing and quiet > _CHARGE_SILENCE_S:
            st.charge.gaps = True
        before = _Before(self, signal, previous, ts)
        self.last[signal] = (value, ts)
        if ts > self.latest:
            self._heard_before, self.latest = self.latest, ts
        if signal in _FLOW_SIGNALS:
            self._flow(ts, before)
        handler = _HANDLERS.get(signal)
        if handler is not None:
            handler(self, value, previous, ts, before)
        if signal in _SNAPSHOT_SIGNALS:
            self._fill(ts)
        if st.trip is None and st.charge is None and st.parked is None:
            st.parked = OpenParked(start=self.snapshot(ts))
            self._dirty = True

    def _from_charger(self, charger: str, signal: str, value: Any, ts: float) -> bool:
        """Keep a wallbox's signal; whether it counts (it is the wallbox the car is at)."""
        mine = self._wallboxes.setdefault(charger, {})
        before = mine.get(signal)
        if before is not None and ts < before[1]:
            self.stale += 1
            return False
        mine[signal] = (value, ts)
        if charger == self.charger:
            return True
        if (self.charger is not None and self._busy(self.charger)) or not self._busy(charger):
            return False  # another wallbox is the car's, or this one is idle: kept aside
        self._follow(charger)
        if before is None:  # what came before this signal is this wallbox's own
            self.last.pop(signal, None)
        else:
            self.last[signal] = before
        return True

    def _busy(self, charger: str) -> bool:
        """Whether a car is at the wallbox or it delivers power."""
        seen = self._wallboxes.get(charger, {})
        status, power = seen.get("charger_status"), seen.get("charger_power")
        return (status is not None and status[0] not in _UNPLUGGED_STATUSES) or (
            power is not None and power[0] > 0
        )

    def _follow(self, charger: str) -> None:
        """From now on the charger signals are this wallbox's."""
        self.charger = charger
        for name in _CHARGER_NAMES:
            self.last.pop(name, None)
        self.last.update(self._wallboxes.get(charger, {}))

    def expire(self, now: float) -> None:
        """Close what ran out of time by ``now``: a rest long enough, a charge long idle."""
        st, s = self.state, self.settings
        trip = st.trip
        if trip is not None and trip.rest_since is not None and now >= trip.rest_since + s.stop_after_s:
            self._close_trip(trip.rest_since)
        charge = st.charge
        if (
            charge is not None
            and not charge.flowing
            and not self._cable_known()
            and now >= charge.end.ts + s.charge_gap_s
        ):
            self._close_charge(charge.end.ts)

    # -- output ---------------------------------------------------------------------------

    def take(self) -> tuple[list[Record], OpenState | None]:
        """What closed since the last call, and the open state if it is due to be saved."""
        closed, self._closed = self._closed, []
        due = self._dirty or bool(closed)
        if not due and (self.state.trip is not None or self.state.charge is not None):
            due = self.latest - self._saved_at >= self.settings.save_every_s
        if not due:
            return closed, None
        self._dirty = False
        self._saved_at = self.latest
        return closed, self.open_state()

    def open_state(self) -> OpenState:
        """A copy of what is open now, to persist (the tracker keeps changing its own)."""
        return msgspec.convert(msgspec.to_builtins(self.state), OpenState)

    def snapshot(self, ts: float) -> Snapshot:
        return Snapshot(
            ts=ts,
            odometer_km=self._value("odometer"),
            energy_kwh=self._energy(),
            soc=self._value("soc"),
            lat=self._value("lat"),
            lon=self._value("lon"),
            place=self._value("place"),
        )

    # -- the signals ----------------------------------------------------------------------

    def _on_speed(self, value: Any, previous: Any, ts: float, before: _Before) -> None:
        if value > 0:
            self._moving(ts, before, value)
        else:
            self._still(ts)

    def _on_moving(self, value: Any, previous: Any, ts: float, before: _Before) -> None:
        if value:
            self._moving(ts, before, None)
        else:
            self._still(ts)

    def _on_odometer(self, value: Any, previous: Any, ts: float, before: _Before) -> None:
        if previous is None or value <= previous[0] + _EPSILON_KM:
            return
        st = self.state
        if st.trip is None:
            # It moved with no report of moving: the car's first report on the way (its speed
            # did not change: it already waits at a light), or, further than one report
            # covers, reports were missed and it left at the earliest after the last one.
            # It left from where it parked: this report's position came before its
            # odometer, so ``before`` has already moved.
            start = before.snapshot()
            if st.parked is not None:
                where = st.parked.start
                start = msgspec.structs.replace(start, lat=where.lat, lon=where.lon, place=where.place)
            missed = value - previous[0] > self.settings.jump_km
            if missed and math.isfinite(self._heard_before):
                start = msgspec.structs.replace(start, ts=max(self._heard_before, previous[1]))
            trip = self._moving(ts, start, None)
            trip.gaps = trip.gaps or missed
            if self._speed_says_still():
                trip.rest_since = ts
        elif "speed" not in self.last and "moving" not in self.last:
            st.trip.rest_since = None  # no speed signal: the odometer is all there is

    def _on_energy(self, value: Any, previous: Any, ts: float, before: _Before) -> None:
        charge = self.state.charge
        if charge is None or previous is None or self.tariff is None:
            return
        added = value - previous[0]
        if added > 0:
            cost = slice_cost(self.tariff, max(previous[1], charge.start.ts), ts, added)
            if cost is None:
                charge.uncosted = True
            else:
                charge.cost_battery += cost

    def _on_charger_energy(self, value: Any, previous: Any, ts: float, before: _Before) -> None:
        charge = self.state.charge
        if charge is None or previous is None:
            return
        added = self._metered(charge, float(value), float(previous[0]))
        if added <= 0:
            return
        charge.metered = True
        charge.charger = self.charger
        charge.grid_kwh += added
        if self.tariff is not None:
            cost = slice_cost(self.tariff, max(previous[1], charge.start.ts), ts, added)
            if cost is None:
                charge.uncosted = True
            else:
                charge.cost_grid += cost

    @staticmethod
    def _metered(charge: OpenCharge, value: float, previous: float) -> float:
        """Energy a session-meter reading adds (see the module docstring for restarts and glitches)."""
        high = charge.meter_high if charge.meter_high is not None else previous
        low = charge.meter_low
        added = 0.0
        if value >= high:
            added, high, low = value - high, value, None  # on it goes (a lower one was a glitch)
        elif value <= _METER_ZERO:
            high, low = value, None  # restarted at zero
        elif low is not None and value >= low:
            added, high, low = value, value, None  # restarted: two readings in a row below the top
        else:
            low = value  # lower than the top: a restart, or a glitch? The next reading tells.
        charge.meter_high, charge.meter_low = high, low
        return added

    def _on_charger_power(self, value: Any, previous: Any, ts: float, before: _Before) -> None:
        charge = self.state.charge
        if charge is not None and value > 0:
            charge.peak_grid_w = max(charge.peak_grid_w or 0.0, float(value))

    def _on_battery_power(self, value: Any, previous: Any, ts: float, before: _Before) -> None:
        charge = self.state.charge
        if charge is not None and value > 0:
            charge.peak_battery_w = max(charge.peak_battery_w or 0.0, float(value))

    def _on_cable(self, value: Any, previous: Any, ts: float, before: _Before) -> None:
        if not value and self.state.charge is not None:
            self._close_charge(ts)

    def _on_charger_status(self, value: Any, previous: Any, ts: float, before: _Before) -> None:
        if value in _UNPLUGGED_STATUSES and self.state.charge is not None:
            self._close_charge(ts)

    # -- transitions ----------------------------------------------------------------------

    def _moving(self, ts: float, start: Snapshot | _Before, speed: float | None) -> OpenTrip:
        st = self.state
        if st.charge is not None:
            self._close_charge(ts)
        if st.trip is None:
            parked, st.parked = st.parked, None
            begun = start if isinstance(start, Snapshot) else start.snapshot()
            st.trip = OpenTrip(start=begun, parked_before=parked)
            self._dirty = True
        st.trip.rest_since = None
        if speed is not None:
            st.trip.max_speed_kmh = max(st.trip.max_speed_kmh or 0.0, float(speed))
        return st.trip

    def _still(self, ts: float) -> None:
        trip = self.state.trip
        if trip is not None and trip.rest_since is None:
            trip.rest_since = ts
            self._dirty = True

    def _flow(self, ts: float, before: _Before) -> None:
        st = self.state
        flowing = self._flowing()
        charge = st.charge
        if flowing and (charge is None or not charge.flowing):
            if st.trip is not None:
                self._close_trip(st.trip.rest_since if st.trip.rest_since is not None else ts)
            if st.charge is None:
                parked, st.parked = st.parked, None
                start = before.snapshot()
                st.charge = OpenCharge(start=start, end=start, parked_before=parked, charger=self.charger)
                meter = self.last.get("charger_energy")
                if meter is not None:
                    st.charge.meter_high = float(meter[0])
            st.charge.flowing = True
            self._dirty = True
        elif not flowing and charge is not None and charge.flowing:
            charge.flowing = False
            charge.end = self.snapshot(ts)
            self._dirty = True

    def _close_trip(self, end_ts: float) -> None:
        st, s = self.state, self.settings
        trip = st.trip
        if trip is None:
            return
        st.trip = None
        self._dirty = True
        end = self.snapshot(max(end_ts, trip.start.ts))
        a, b = trip.start, end
        distance = _minus(b.odometer_km, a.odometer_km)
        confirmed = distance >= s.min_trip_km if distance is not None else b.ts - a.ts >= 60.0
        if not confirmed:
            st.parked = trip.parked_before or OpenParked(start=a)
            return
        energy = _minus(a.energy_kwh, b.energy_kwh)
        self._close_parked(trip.parked_before, a)
        self._closed.append(
            Trip(
                id=record_id("trip", self.home, self.car, a.ts),
                home=self.home,
                car=self.car,
                start=a.ts,
                end=b.ts,
                start_place=a.place,
                end_place=b.place,
                start_lat=a.lat,
                start_lon=a.lon,
                end_lat=b.lat,
                end_lon=b.lon,
                odometer_start_km=a.odometer_km,
                odometer_end_km=b.odometer_km,
                distance_km=_round(distance, 1),
                energy_kwh=_round(energy, 2),
                wh_per_km=(
                    _round(energy * 1000.0 / distance, 0)
                    if energy is not None and distance is not None and distance >= s.min_trip_km
                    else None
                ),
                soc_start=a.soc,
                soc_end=b.soc,
                max_speed_kmh=trip.max_speed_kmh,
                gaps=trip.gaps,
            )
        )
        st.parked = OpenParked(start=b)

    def _close_charge(self, ts: float) -> None:
        st, s = self.state, self.settings
        charge = st.charge
        if charge is None:
            return
        st.charge = None
        self._dirty = True
        end = self.snapshot(ts) if charge.flowing else charge.end
        a, b = charge.start, end
        added = _minus(b.energy_kwh, a.energy_kwh)
        grid = charge.grid_kwh if charge.metered else None
        confirmed = (added is not None and added >= s.min_charge_kwh) or (
            grid is not None and grid >= s.min_charge_kwh
        )
        if not confirmed:
            st.parked = charge.parked_before or OpenParked(start=a)
            return
        cost: float | None = None
        basis: CostBasis | None = None
        if self.tariff is not None and not charge.uncosted:
            cost, basis = (charge.cost_grid, "grid") if charge.metered else (charge.cost_battery, "battery")
        peak_w = charge.peak_grid_w if charge.metered else charge.peak_battery_w
        self._close_parked(charge.parked_before, a)
        self._closed.append(
            ChargeSession(
                id=record_id("charge", self.home, self.car, a.ts),
                home=self.home,
                car=self.car,
                start=a.ts,
                end=max(b.ts, a.ts),
                place=a.place if a.place is not None else b.place,
                lat=a.lat,
                lon=a.lon,
                charger=charge.charger,
                added_kwh=_round(added, 2),
                grid_kwh=_round(grid, 2),
                loss_kwh=_round(_minus(grid, added), 2),
                peak_kw=_round(None if peak_w is None else peak_w / 1000.0, 2),
                soc_start=a.soc,
                soc_end=b.soc,
                cost=_round(cost, 2),
                cost_basis=basis,
                gaps=charge.gaps,
            )
        )
        st.parked = OpenParked(start=b)

    def _close_parked(self, parked: OpenParked | None, end: Snapshot) -> None:
        if parked is None or end.ts - parked.start.ts < _MIN_PARKED_S:
            return  # the seconds between arriving and the charger's handshake are no spell
        a = parked.start
        self._closed.append(
            Parked(
                id=record_id("parked", self.home, self.car, a.ts),
                home=self.home,
                car=self.car,
                start=a.ts,
                end=end.ts,
                place=a.place if a.place is not None else end.place,
                lost_kwh=_round(_minus(a.energy_kwh, end.energy_kwh), 2),
            )
        )

    def _fill(self, ts: float) -> None:
        """Complete an open start that was made before the car had reported everything.

        A parked spell's start is filled silently (standing still, the values hold); a trip's
        or charge's start filled late is flagged as having gaps.
        """
        st = self.state
        if st.parked is not None and _incomplete(st.parked.start):
            st.parked.start = self._filled(st.parked.start)
        if st.trip is not None and _incomplete(st.trip.start):
            filled = self._filled(st.trip.start)
            if filled != st.trip.start:
                st.trip.start, st.trip.gaps = filled, True
        if st.charge is not None and _incomplete(st.charge.start):
            filled = self._filled(st.charge.start)
            if filled != st.charge.start:
                st.charge.start, st.charge.gaps = filled, True

    def _filled(self, snap: Snapshot) -> Snapshot:
        now = self.snapshot(snap.ts)
        return Snapshot(
            ts=snap.ts,
            odometer_km=_first(snap.odometer_km, now.odometer_km),
            energy_kwh=_first(snap.energy_kwh, now.energy_kwh),
            soc=_first(snap.soc, now.soc),
            lat=_first(snap.lat, now.lat),
            lon=_first(snap.lon, now.lon),
            place=_first(snap.place, now.place),
        )

    # -- reading the last values ----------------------------------------------------------

    def _value(self, signal: str) -> Any:
        seen = self.last.get(signal)
        return None if seen is None else seen[0]

    def _energy(self) -> float | None:
        energy = self._value("energy")
        if energy is not None:
            return float(energy)
        soc, capacity = self._value("soc"), self._value("capacity")
        if soc is not None and capacity:
            return float(soc) * float(capacity) / 100.0
        return None

    def _flowing(self) -> bool:
        return bool(self._value("charging")) or (self._value("charger_power") or 0) > 0

    def _speed_says_still(self) -> bool:
        speed, moving = self._value("speed"), self._value("moving")
        return (speed is not None and speed <= 0) or moving is False

    def _cable_known(self) -> bool:
        return "cable" in self.last or "charger_status" in self.last


class _Before:
    """The car as it was just before this change, worked out only if a transition needs it.

    Most changes (speed on the way, energy while parked) start nothing, so the snapshot is
    not built for them: tracking then costs a few dictionary lookups per change.
    """

    __slots__ = ("_previous", "_signal", "_tracker", "_ts")

    def __init__(
        self, tracker: CarTracker, signal: str, previous: tuple[Any, float] | None, ts: float
    ) -> None:
        self._tracker, self._signal, self._previous, self._ts = tracker, signal, previous, ts

    def snapshot(self) -> Snapshot:
        last = self._tracker.last
        now = last.get(self._signal)
        if self._previous is None:
            last.pop(self._signal, None)
        else:
            last[self._signal] = self._previous
        try:
            return self._tracker.snapshot(self._ts)
        finally:
            if now is not None:
                last[self._signal] = now


_Handler = Any  # (tracker, value, previous, ts, before) -> None
_HANDLERS: Final[dict[str, _Handler]] = {
    "speed": CarTracker._on_speed,
    "moving": CarTracker._on_moving,
    "odometer": CarTracker._on_odometer,
    "energy": CarTracker._on_energy,
    "charger_energy": CarTracker._on_charger_energy,
    "charger_power": CarTracker._on_charger_power,
    "battery_power": CarTracker._on_battery_power,
    "cable": CarTracker._on_cable,
    "charger_status": CarTracker._on_charger_status,
}
_FLOW_SIGNALS: Final = frozenset({"charging", "charger_power"})
_SNAPSHOT_SIGNALS: Final = frozenset({"odometer", "energy", "soc", "capacity", "lat", "lon", "place"})


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits) + 0.0


def _first(a: Any, b: Any) -> Any:
    return a if a is not None else b


def _incomplete(snap: Snapshot) -> bool:
    return snap.odometer_km is None or snap.energy_kwh is None or snap.place is None or snap.lat is None
