"""Charging on the wire: each car's plan in force, its settings, and new prices.

A plan's slots say, per slot, the start, the price, the solar power, the planned power and
the state of charge (percent) at the slot's end. ``sources`` say where the prices and the
solar forecast come from and how old they are: a provider outage is a warning there, not
a stopped plan.
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


class SourceOut(msgspec.Struct, kw_only=True):
    """Where a plan's prices or solar forecast come from, and how old they are."""

    provider: str
    title: str
    kind: Literal["prices", "solar"]
    fetched_at: datetime | None
    age_s: float | None
    """Seconds since the data in use was fetched."""
    known_until: datetime | None
    stale: bool
    """The last refresh failed (or none succeeded yet): the plan runs on older data."""
    error: str | None
    warning: str | None


class SiteOut(msgspec.Struct, kw_only=True):
    """What the home's grid meter and fuse allow this car's wallbox now."""

    cap_a: int | None
    """The most the fuse leaves it, A per phase (None: no meter currents)."""
    surplus_kw: float | None
    """The measured solar surplus it may take (solar modes)."""
    meter_silent: bool


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
    sources: list[SourceOut] = []
    """The price and forecast providers the plan is made from (none: the configured tariff)."""
    site: SiteOut | None = None
    shared_line: str | None = None
    """The connection this car shares with others, planned together."""


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
