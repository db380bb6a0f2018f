"""Charging on the wire: each car's plan in force, its settings, and new prices.

A plan's slots say, per slot, the start, the price, the solar power, the planned power and
the state of charge (percent) at the slot's end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec


class SlotOut(msgspec.Struct, kw_only=True):
    start: datetime
    price: float
    solar_kw: float
    power_kw: float
    soc: float
    """Planned state of charge at the end of the slot, percent."""


class CarPlanOut(msgspec.Struct, kw_only=True):
    home: str
    car: str
    charger: str | None
    mode: str
    target: float
    limit: float | None
    departure: datetime
    plugged: bool
    in_session: bool
    charging_now: bool
    setpoint_a: int
    setpoint_kw: float
    reasons: list[str]
    problem: str | None
    problem_code: str | None = None
    """The problem's kind (``no_session``, ``command_failed``, ``not_sent``, ``no_prices``,
    ``file_unreadable``, ``file_invalid``, ``internal``), for a face to say it in its own words."""
    made_at: datetime | None
    soc_start: float
    """State of charge the plan starts from, percent."""
    energy_kwh: float
    cost: float
    shortfall_kwh: float
    slots: list[SlotOut]


class SettingsIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    mode: Literal["off", "now", "solar", "solar_min", "smart"] | None = None
    target: float | None = None
    departure: str | None = None


class PricesIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: str
    format: Literal["csv", "json"] = "csv"
    file: str = "<request>"


class PricesOut(msgspec.Struct, kw_only=True):
    home: str
    slots: int
    start: datetime
    end: datetime
    cars: list[str]
