"""The charging routes of the local API over a real hub and controller (no charger)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import httpx
import msgspec
import pytest

from carhome.cli.charging import draw, pick, plan_text
from carhome.energy.controller import ChargingController
from carhome.testing import FakeClock
from carhome.wire.charging import CarPlanOut


async def test_the_plan_lists_its_slots(api: httpx.AsyncClient) -> None:
    [plan] = (await api.get("/api/charging")).json()
    assert (plan["home"], plan["car"], plan["mode"], plan["target"], plan["plugged"]) == (
        "h1",
        "car",
        "smart",
        75.0,
        True,
    )
    charging = [s for s in plan["slots"] if s["power_kw"] > 0]
    assert charging
    assert charging[0]["start"].startswith("2026-01-02T00:00")  # the cheapest hour
    assert plan["slots"][-1]["soc"] == pytest.approx(75.0, abs=0.5)
    assert {"start", "price", "solar_kw", "power_kw", "soc"} == set(plan["slots"][0])


async def test_put_changes_mode_target_and_departure(api: httpx.AsyncClient) -> None:
    r = await api.put("/api/charging/h1/car", json={"mode": "now", "target": 90, "departure": "06:30"})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert (plan["mode"], plan["target"], plan["departure"]) == ("now", 90.0, "2026-01-02T06:30:00Z")
    assert plan["charging_now"] is True
    assert plan["reasons"]  # replanned for it


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"mode": "fast"}, "mode"),
        ({"departure": "25:00"}, "neither HH:MM nor an ISO 8601 time"),
        ({"departure": "2025-01-01T07:00:00+00:00"}, "has passed"),
        ({"target": 150}, "from 0 to 100 %"),
        ({"speed": 1}, "speed"),
    ],
)
async def test_put_refuses_bad_settings(api: httpx.AsyncClient, body: dict[str, object], reason: str) -> None:
    r = await api.put("/api/charging/h1/car", json=body)
    assert r.status_code == 422
    assert reason in r.json()["detail"]


async def test_an_unknown_car_is_a_404(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/charging/h1/other")
    assert r.status_code == 404
    assert "h1/car" in r.json()["detail"]


async def test_prices_are_loaded_and_a_bad_series_names_its_line(
    api: httpx.AsyncClient, controller: ChargingController, evening: FakeClock
) -> None:
    bad = "start,value\n2026-01-01T18:00:00+00:00,0.1\n2026-01-01T18:15:00+00:00,cheap\n"
    r = await api.post("/api/charging/h1/prices", json={"text": bad, "file": "day-ahead.csv"})
    assert r.status_code == 422
    assert (r.json()["file"], r.json()["line"]) == ("day-ahead.csv", 3)
    assert "not a number" in r.json()["reason"]
    start = datetime.fromtimestamp(evening.time(), UTC)
    rows = [f"{(start + i * timedelta(minutes=15)).isoformat()},{0.05 if i < 8 else 2.0}" for i in range(60)]
    r = await api.post("/api/charging/h1/prices", json={"text": "start,value\n" + "\n".join(rows)})
    assert r.status_code == 200, r.text
    assert (r.json()["slots"], r.json()["cars"]) == (60, ["car"])
    assert "prices" in controller.status.reasons
    [plan] = (await api.get("/api/charging")).json()
    assert plan["charging_now"] is True  # now is the cheapest


async def test_the_cli_shows_the_plan_and_draws_it(api: httpx.AsyncClient, tmp_path: Path) -> None:
    plans = msgspec.json.decode((await api.get("/api/charging")).content, type=list[CarPlanOut])
    text = plan_text(pick(plans, "h1/car"))
    assert text.startswith("h1/car: smart, 75 % by Fri 07:00 (through the car)")
    assert "Fri 00:00" in text  # the first charging slot
    chart = draw(plans[0], tmp_path / "plan.svg")
    assert chart.read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))
    with pytest.raises(click.UsageError, match="charged cars: h1/car"):
        pick(plans, "other")
