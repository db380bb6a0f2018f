"""Daily and monthly totals of a car's trips, charges and parked losses, in local time.

A trip or charge counts for the local day (or month) it started in, in the home's timezone.
A parked spell's loss is shared between the days it spans in proportion to the time spent
in each, so a car standing from Friday night to Monday loses a little on every day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from carhome.wire.history import ChargeSession, Parked, Period, Summary, Trip


def period_key(ts: float, zone: ZoneInfo, period: Period) -> str:
    local = datetime.fromtimestamp(ts, zone)
    return local.strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


def summarize(
    period: Period,
    trips: Iterable[Trip],
    charges: Iterable[ChargeSession],
    parked: Iterable[Parked],
    zone_of: Callable[[str], ZoneInfo],
) -> list[Summary]:
    """The totals per (home, car, period), ordered by home, car and period."""
    out: dict[tuple[str, str, str], Summary] = {}

    def bucket(home: str, car: str, key: str) -> Summary:
        found = out.get((home, car, key))
        if found is None:
            found = out[(home, car, key)] = Summary(home=home, car=car, period=period, key=key)
        return found

    efficiency_km: dict[tuple[str, str, str], float] = {}
    for trip in trips:
        key = period_key(trip.start, zone_of(trip.home), period)
        s = bucket(trip.home, trip.car, key)
        s.trips += 1
        s.distance_km += trip.distance_km or 0.0
        s.driving_s += trip.end - trip.start
        if trip.energy_kwh is not None and trip.distance_km:
            s.driving_kwh += trip.energy_kwh
            efficiency_km[(trip.home, trip.car, key)] = (
                efficiency_km.get((trip.home, trip.car, key), 0.0) + trip.distance_km
            )
    for charge in charges:
        s = bucket(charge.home, charge.car, period_key(charge.start, zone_of(charge.home), period))
        s.charges += 1
        s.added_kwh += charge.added_kwh or 0.0
        s.grid_kwh += charge.grid_kwh or 0.0
        if charge.cost is None:
            s.uncosted_charges += 1
        else:
            s.cost += charge.cost
    for spell in parked:
        if spell.lost_kwh is None or spell.end <= spell.start:
            continue
        zone = zone_of(spell.home)
        for key, share in _split(spell.start, spell.end, zone, period):
            bucket(spell.home, spell.car, key).parked_lost_kwh += spell.lost_kwh * share
    for ident, s in out.items():
        km = efficiency_km.get(ident)
        if km:
            s.wh_per_km = round(s.driving_kwh * 1000.0 / km)
        s.distance_km = round(s.distance_km, 1)
        s.driving_kwh = round(s.driving_kwh, 2)
        s.added_kwh = round(s.added_kwh, 2)
        s.grid_kwh = round(s.grid_kwh, 2)
        s.cost = round(s.cost, 2)
        s.parked_lost_kwh = round(s.parked_lost_kwh, 2)
    return [out[k] for k in sorted(out)]


def _split(start: float, end: float, zone: ZoneInfo, period: Period) -> list[tuple[str, float]]:
    """The share of ``[start, end)`` in each local period it touches."""
    shares: list[tuple[str, float]] = []
    t = start
    while t < end:
        local = datetime.fromtimestamp(t, zone)
        if period == "day":
            nxt = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
        else:
            first = local.date().replace(day=1) + timedelta(days=32)
            nxt = datetime.combine(first.replace(day=1), datetime.min.time(), zone)
        edge = min(end, nxt.timestamp())
        shares.append((period_key(t, zone, period), (edge - t) / (end - start)))
        t = edge
    return shares
