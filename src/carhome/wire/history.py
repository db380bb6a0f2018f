"""History on the wire: trips, charge sessions, parked spells, their totals, and the query.

The records are the history part's own (``carhome.history`` keeps them as these structs and
the API sends them as they are). Times are seconds since the epoch; energies kWh,
distances km, powers kW; a field is ``None`` when the car never reported what it needs.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

MAX_RECORDS: Final = 10_000

Period = Literal["day", "month"]


class Span(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """What every history record has: its id, the car's home and id, and when it began
    and ended."""

    id: str
    home: str
    car: str
    start: float
    end: float

    @property
    def duration_s(self) -> float:
        return self.end - self.start


class Trip(Span, frozen=True, kw_only=True, tag="trip"):
    """A drive from one standstill to the next."""

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


CostBasis = Literal["grid", "battery"]


class ChargeSession(Span, frozen=True, kw_only=True, tag="charge"):
    """Energy put into the battery, from the first to the last moment power flowed."""

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


class Parked(Span, frozen=True, kw_only=True, tag="parked"):
    """A spell standing still between trips and charges, and the energy it cost."""

    place: str | None
    lost_kwh: float | None  # battery energy gone while parked (standby, preconditioning)


class Summary(msgspec.Struct, kw_only=True):
    """One car's totals over one local day (``2026-01-07``) or month (``2026-01``)."""

    home: str
    car: str
    period: Period
    key: str
    trips: int = 0
    distance_km: float = 0.0
    driving_kwh: float = 0.0
    wh_per_km: float | None = None
    driving_s: float = 0.0
    charges: int = 0
    added_kwh: float = 0.0
    grid_kwh: float = 0.0
    cost: float = 0.0
    uncosted_charges: int = 0  # charges without a price (no tariff, or an unknown price)
    parked_lost_kwh: float = 0.0


class HistoryQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, rename={"from_": "from"}):
    """Query of the history routes (``from`` and ``to`` are parsed by hand: three forms)."""

    home: str | None = None
    car: str | None = None
    from_: str | None = None
    to: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_RECORDS)] | None = None
    period: Literal["day", "month"] = "day"


class TripList(msgspec.Struct, kw_only=True):
    trips: list[Trip]
    timezones: dict[str, str]  # home → IANA timezone, to show local times


class ChargeList(msgspec.Struct, kw_only=True):
    charges: list[ChargeSession]
    timezones: dict[str, str]


class ParkedList(msgspec.Struct, kw_only=True):
    parked: list[Parked]
    timezones: dict[str, str]


class SummaryList(msgspec.Struct, kw_only=True):
    period: Literal["day", "month"]
    summaries: list[Summary]
