"""What the history keeps: trips, charge sessions and parked spells, as typed records.

Each record is a frozen msgspec struct tagged by ``kind``, so the store keeps it as JSON and
the API sends it as it is. Times are seconds since the epoch (the devices' own timestamps);
energies are kWh, distances km, powers kW. A field is ``None`` when the car never reported
what it needs (a car without an odometer signal has no distance), never a guessed zero.

``OpenState`` is what the tracker of one car has started but not finished — the trip it is
on, the charge it is taking, the spell it is parked — persisted on every transition so a
hub restarted mid-trip finishes the trip it started.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Where the car was and what its battery held at one instant."""

    ts: float
    odometer_km: float | None = None
    energy_kwh: float | None = None  # in the battery
    soc: float | None = None  # percent
    lat: float | None = None
    lon: float | None = None
    place: str | None = None  # the hub's derived place: home, work, … or away


class Trip(msgspec.Struct, frozen=True, kw_only=True, tag="trip", tag_field="kind"):
    """A drive from one standstill to the next."""

    id: str
    home: str
    car: str
    start: float
    end: float
    start_place: str | None
    end_place: str | None
    start_lat: float | None
    start_lon: float | None
    end_lat: float | None
    end_lon: float | None
    odometer_start_km: float | None
    odometer_end_km: float | None
    distance_km: float | None  # from the odometer
    energy_kwh: float | None  # taken from the battery while driving
    wh_per_km: float | None
    soc_start: float | None
    soc_end: float | None
    max_speed_kmh: float | None
    gaps: bool = False  # samples were missing (the hub was down, the car went quiet)

    @property
    def duration_s(self) -> float:
        return self.end - self.start


CostBasis = Literal["grid", "battery"]


class ChargeSession(msgspec.Struct, frozen=True, kw_only=True, tag="charge", tag_field="kind"):
    """Energy put into the battery, from the first to the last moment power flowed."""

    id: str
    home: str
    car: str
    start: float
    end: float
    place: str | None
    lat: float | None
    lon: float | None
    charger: str | None  # the wallbox that metered it, when one did
    added_kwh: float | None  # into the battery
    grid_kwh: float | None  # drawn from the supply, when a charger metered it
    loss_kwh: float | None  # grid − added
    peak_kw: float | None  # grid side when a charger metered it, else battery side
    soc_start: float | None
    soc_end: float | None
    cost: float | None  # at the tariff's price of each interval; None without a tariff
    cost_basis: CostBasis | None  # which energy the cost counts
    gaps: bool = False

    @property
    def duration_s(self) -> float:
        return self.end - self.start


class Parked(msgspec.Struct, frozen=True, kw_only=True, tag="parked", tag_field="kind"):
    """A spell standing still between trips and charges, and the energy it cost."""

    id: str
    home: str
    car: str
    start: float
    end: float
    place: str | None
    lost_kwh: float | None  # battery energy gone while parked (standby, preconditioning)

    @property
    def duration_s(self) -> float:
        return self.end - self.start


Record = Trip | ChargeSession | Parked


def record_id(kind: str, home: str, car: str, start: float) -> str:
    """A record's id: the same derivation gives the same id, so a re-save replaces it."""
    return f"{kind}-{home}-{car}-{int(start * 1000)}"


# -- what a tracker has open -----------------------------------------------------------------


class OpenTrip(msgspec.Struct, kw_only=True):
    start: Snapshot
    max_speed_kmh: float | None = None
    rest_since: float | None = None  # when the car came to a standstill
    gaps: bool = False
    parked_before: OpenParked | None = None  # resumed if the "trip" proves to be no trip


class OpenCharge(msgspec.Struct, kw_only=True):
    start: Snapshot
    end: Snapshot  # as of the last moment power flowed
    flowing: bool = True
    charger: str | None = None
    grid_kwh: float = 0.0
    metered: bool = False
    meter_high: float | None = None  # the charger's highest reading since its meter last restarted
    meter_low: float | None = None  # a reading below it not yet known for a restart or a glitch
    cost_grid: float = 0.0
    cost_battery: float = 0.0
    uncosted: bool = False  # the tariff had no price for some of it
    peak_grid_w: float | None = None
    peak_battery_w: float | None = None
    gaps: bool = False
    parked_before: OpenParked | None = None


class OpenParked(msgspec.Struct, kw_only=True):
    start: Snapshot


class OpenState(msgspec.Struct, kw_only=True):
    """One car's unfinished business; at most one of the three is set."""

    home: str
    car: str
    trip: OpenTrip | None = None
    charge: OpenCharge | None = None
    parked: OpenParked | None = None
