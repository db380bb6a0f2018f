"""History records made by hand, for tests that store or serve some without driving a car.

``a_trip`` is a trip from home to work and ``a_charge`` a charge at work, each with every
field a history store keeps filled in; a test changes what it looks at with
``msgspec.structs.replace``. Their ids are ``record_id``'s, as the tracker makes them, so a
record saved again under the same home, car and start replaces the first.
"""

from __future__ import annotations

from carhome.history import ChargeSession, Trip
from carhome.history.records import record_id


def a_trip(home: str, car: str, start: float, end: float, km: float = 5.0) -> Trip:
    """A trip of ``km`` from home to work, from ``start`` to ``end``."""
    return Trip(
        id=record_id("trip", home, car, start),
        home=home,
        car=car,
        start=start,
        end=end,
        start_place="home",
        end_place="work",
        start_lat=39.8,
        start_lon=116.5,
        end_lat=39.78,
        end_lon=116.55,
        odometer_start_km=100.0,
        odometer_end_km=100.0 + km,
        distance_km=km,
        energy_kwh=0.8,
        wh_per_km=160.0,
        soc_start=60.0,
        soc_end=59.0,
        max_speed_kmh=60.0,
    )


def a_charge(home: str, car: str, start: float, end: float) -> ChargeSession:
    """A charge of 7 kWh at work, from ``start`` to ``end``, measured at the battery only."""
    return ChargeSession(
        id=record_id("charge", home, car, start),
        home=home,
        car=car,
        start=start,
        end=end,
        place="work",
        lat=39.78,
        lon=116.55,
        charger=None,
        added_kwh=7.0,
        grid_kwh=None,
        loss_kwh=None,
        peak_kw=7.2,
        soc_start=60.0,
        soc_end=71.0,
        cost=None,
        cost_basis=None,
    )
