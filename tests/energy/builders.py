"""Builders for planner tests: one hour-by-hour day in UTC, cars with round numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from carhome.energy import Car, Charger, Energy, Mode, OneOffDeparture, Soc, TaperCurve

T0 = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def charger(max_a: float = 10.0, min_a: float = 0.0, **kw: object) -> Charger:
    # 1 phase at 100 V: 10 A is 1 kW, which keeps hand arithmetic easy
    return Charger("wb", max_current=max_a, min_current=min_a, phases=1, voltage=100.0, **kw)  # type: ignore[arg-type]


def car(
    soc: float = 0.0,
    target: float = 0.5,
    hours: float = 4,
    *,
    capacity: float = 4.0,
    efficiency: float = 1.0,
    taper: TaperCurve | None = None,
    mode: Mode = Mode.SMART,
    wallbox: Charger | None = None,
    name: str = "ev",
    limit: float | None = None,
) -> Car:
    return Car(
        name,
        Energy(capacity),
        Soc(soc),
        Soc(target),
        OneOffDeparture(T0 + hours * HOUR),
        wallbox or charger(),
        taper=taper,
        efficiency=efficiency,
        mode=mode,
        limit=Soc(limit) if limit is not None else None,
    )
