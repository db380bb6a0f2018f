"""The charging, trips and members pages in headless Chromium, against a real demo hub.

The hub is the demo's (``carhome.compose.runtime.run``: simulated car, wallbox and home, its
charging planner), started by conftest.py's ``demo_hub`` with a history seeded
beforehand: the demo's car stands at home, so it has driven no trips of its own. Every
check compares the page with what the hub's API answers at the time, not with fixed
numbers: the plan's slots depend on the hour the test runs.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from web.conftest import Hub, client_of, demo_hub, live, page_of, shot

pytestmark = pytest.mark.asyncio(loop_scope="module")

FAMILY = "web_family"
FAMILY_PASSWORD = "family-member-Pa55word-long"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with demo_hub(tmp_path_factory.mktemp("web-charging"), history=True) as demo:
        yield demo


async def api_plan(hub: Hub) -> dict[str, Any]:
    async with client_of(hub) as client:
        r = await client.get("/api/charging/yizhuang/car")
        r.raise_for_status()
        plan: dict[str, Any] = r.json()
        return plan


async def shows_plan(page: Page, plan: dict[str, Any]) -> None:
    """The chart draws ``plan``: one price bar and one power bar per slot, the same powers."""
    slots = plan["slots"]
    chart = page.get_by_test_id("plan-chart")
    await expect(chart).to_have_attribute("data-mode", plan["mode"])
    await expect(chart).to_have_attribute("data-slots", str(len(slots)))
    await expect(chart.get_by_test_id("plan-price")).to_have_count(len(slots))
    await expect(chart.get_by_test_id("plan-power")).to_have_count(len(slots))
    await expect(chart.get_by_test_id("plan-soc")).to_have_attribute("data-points", str(len(slots) + 1))
    step_h = 0.25 if len(slots) < 2 else _hours(slots[1]["start"], slots[0]["start"])
    kwh = sum(s["power_kw"] * step_h for s in slots)
    # the page sums in JavaScript: its last digit may round the other way
    near = "|".join(re.escape(f"{kwh + d:.3f}") for d in (-0.001, 0.0, 0.001))
    await expect(chart).to_have_attribute("data-kwh", re.compile(f"^({near})$"))


def reaches_departure(plan: dict[str, Any]) -> bool:
    """Whether the plan's slots run up to its departure (the chart then marks it)."""
    slots = plan["slots"]
    step = _hours(slots[1]["start"], slots[0]["start"]) if len(slots) > 1 else 0.25
    end = datetime.fromisoformat(slots[-1]["start"]) + timedelta(hours=step)
    return datetime.fromisoformat(slots[0]["start"]) <= datetime.fromisoformat(plan["departure"]) <= end


def _hours(later: str, earlier: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds() / 3600


async def test_web_charging_plan_chart_and_mode_switch(browser: Browser, hub: Hub) -> None:
    async with page_of(browser, hub, hub.session) as page:
        await page.goto("/charging")
        await live(page)
        card = page.locator('[data-testid="car-plan"][data-car="car"]')
        await expect(card.get_by_role("heading", name="Plan for car")).to_be_visible()
        plan = await api_plan(hub)
        assert plan["slots"], "the demo's planner made no slots"
        await shows_plan(page, plan)
        chart = page.get_by_test_id("plan-chart")
        await expect(chart.locator("svg title")).to_have_text("Charging plan for car")
        # The departure is marked when the chart reaches it: on weekdays, not on a Friday
        # evening, when the next departure (Monday 08:00) lies past the planner's horizon.
        await expect(chart.get_by_test_id("plan-departure")).to_have_count(
            1 if reaches_departure(plan) else 0
        )
        await expect(chart.get_by_test_id("plan-now")).to_have_count(1)
        # hovering a slot shows its values
        middle = len(plan["slots"]) // 2
        await chart.locator(".hit").nth(middle).hover()
        tip = page.get_by_test_id("chart-tip")
        await expect(tip).to_contain_text(f"price {plan['slots'][middle]['price']:.3f} / kWh")
        await shot(page, hub, "charging")

        # the mode switch: the API's plan changes, and the page draws the new one
        switch = page.get_by_role("radiogroup", name="Charging mode")
        await expect(switch.get_by_role("radio", name=plan["mode"].capitalize())).to_have_attribute(
            "aria-checked", "true"
        )
        try:
            await switch.get_by_role("radio", name="Off").click()
            await expect(card).to_have_attribute("data-mode", "off")
            off = await api_plan(hub)
            assert off["mode"] == "off"
            assert all(s["power_kw"] == 0 for s in off["slots"])
            await shows_plan(page, off)
            await switch.get_by_role("radio", name="Now").click()
            await expect(card).to_have_attribute("data-mode", "now")
            now = await api_plan(hub)
            assert now["mode"] == "now"
            assert now["slots"][0]["power_kw"] > 0, now["slots"][:2]
            await shows_plan(page, now)
        finally:
            async with client_of(hub) as client:
                r = await client.put("/api/charging/yizhuang/car", json={"mode": plan["mode"]})
                assert r.status_code == 200, r.text


async def test_web_charging_target_editor_marks_the_field_refused(browser: Browser, hub: Hub) -> None:
    before = await api_plan(hub)
    async with page_of(browser, hub, hub.session) as page:
        await page.goto("/charging")
        editor = page.get_by_test_id("target-editor")
        target = editor.get_by_role("spinbutton")
        await target.fill("150")
        await editor.get_by_role("button", name="Save").click()
        refused = editor.locator('[data-field-error="target"]')
        await expect(refused).to_contain_text("from 0 to 100 %")
        await expect(target).to_have_attribute("aria-invalid", "true")
        try:
            await target.fill("85")
            await editor.get_by_role("button", name="Save").click()
            await expect(page.get_by_test_id("plan-target")).to_have_text("85 %")
            await expect(refused).to_have_count(0)
            assert (await api_plan(hub))["target"] == 85.0
        finally:
            async with client_of(hub) as client:
                r = await client.put("/api/charging/yizhuang/car", json={"target": before["target"]})
                assert r.status_code == 200, r.text


async def test_web_trips_page_shows_what_the_history_api_returns(browser: Browser, hub: Hub) -> None:
    async with client_of(hub) as client:
        trips = (await client.get("/api/history/trips")).json()["trips"]
        charges = (await client.get("/api/history/charges")).json()["charges"]
        days = (await client.get("/api/history/summaries", params={"period": "day"})).json()["summaries"]
        months = (await client.get("/api/history/summaries", params={"period": "month"})).json()["summaries"]
    assert len(trips) == 3
    assert len(charges) == 2
    async with page_of(browser, hub, hub.session) as page:
        await page.goto("/trips")
        rows = page.get_by_test_id("trips-table").locator("tbody tr")
        await expect(rows).to_have_count(len(trips))
        for trip in trips:
            row = page.locator(f'tr[data-trip="{trip["id"]}"]')
            await expect(row.locator('[data-col="distance"]')).to_have_text(f"{trip['distance_km']:.1f} km")
            await expect(row.locator('[data-col="consumption"]')).to_have_text(
                f"{trip['wh_per_km']:.0f} Wh/km"
            )
        charge_rows = page.get_by_test_id("charges-table").locator("tbody tr")
        await expect(charge_rows).to_have_count(len(charges))
        for charge in charges:
            row = page.locator(f'tr[data-charge="{charge["id"]}"]')
            await expect(row.locator('[data-col="added"]')).to_have_text(f"{charge['added_kwh']:.2f} kWh")
            await expect(row.locator('[data-col="cost"]')).to_have_text(f"{charge['cost']:.2f}")
        # the charts: one bar per day (or month) the summaries have, one point per trip
        day_keys = sorted({s["key"] for s in days})
        assert len(day_keys) == 2  # the two days the trips and charges fall on
        distance = page.get_by_test_id("distance-chart")
        await expect(distance).to_have_attribute("data-bars", str(len(day_keys)))
        for key in day_keys:
            km = sum(s["distance_km"] for s in days if s["key"] == key)
            await expect(distance.locator(f'rect.bar[data-label="{key}"]')).to_have_attribute(
                "data-value", f"{km:g}"
            )
        await expect(page.get_by_test_id("consumption-chart")).to_have_attribute(
            "data-points", str(len(trips))
        )
        # picking a trip shows where it went
        await page.locator(f'tr[data-trip="{trips[-1]["id"]}"]').click()
        await expect(page.get_by_test_id("trip-map")).to_have_attribute("data-trip", trips[-1]["id"])
        await expect(page.get_by_test_id("trip-map").get_by_test_id("car-dot")).to_have_count(1)
        await shot(page, hub, "trips")
        await page.get_by_role("radio", name="Monthly").click()
        await expect(distance).to_have_attribute("data-bars", str(len({s["key"] for s in months})))


async def test_web_owner_grants_a_guest_edits_and_withdraws_it(browser: Browser, hub: Hub) -> None:
    guest = "web_guest"
    async with page_of(browser, hub, hub.session) as page:
        await page.goto("/members")
        await live(page)
        adder = page.get_by_test_id("member-editor")
        await adder.get_by_label("Member id").fill(guest)
        await adder.get_by_label("Name").fill("Web guest")
        await adder.get_by_role("button", name="Add member").click()
        await expect(page.locator(f'tr[data-member="{guest}"]')).to_contain_text("Web guest")
        # the new guest's grant editor opens
        editor = page.get_by_test_id("grant-editor")
        await expect(editor.get_by_role("heading")).to_have_text(f"New grant for {guest}")
        await editor.get_by_role("checkbox", name="Living room light").check()
        # the light's settable "on", by its name in the catalog
        await editor.locator('input[data-target="on"]').check()
        await expect(editor.get_by_role("checkbox", name="Power", exact=True)).to_be_checked()
        # a window that ends before it starts is refused, and the message sits at "Valid until"
        await editor.get_by_label("Valid from").fill("2030-01-02T10:00")
        await editor.get_by_label("Valid until").fill("2030-01-01T10:00")
        await editor.get_by_role("button", name="Save grant").click()
        await expect(editor.locator('[data-field-error="ends"]')).to_contain_text("ends before it starts")
        await editor.get_by_label("Valid until").fill("2030-01-03T10:00")
        await editor.get_by_role("button", name="Save grant").click()
        await expect(editor).to_have_count(0)
        row = page.locator(f'tr[data-member="{guest}"]')
        await expect(row.locator(".grant")).to_have_count(1)
        what = row.locator(".grant .grant-what")
        await expect(what).to_have_attribute("data-devices", "living_room_light")
        await expect(what).to_have_attribute("data-targets", "on")
        await expect(what).to_have_text("Living room light: Power")
        async with client_of(hub) as client:
            listed = {m["id"]: m for m in (await client.get("/api/members")).json()}
        [grant] = listed[guest]["grants"]
        assert (grant["devices"], grant["targets"], grant["uses"]) == (["living_room_light"], ["on"], None)
        # change it: three uses at most
        await row.get_by_role("button", name="Edit").click()
        await expect(editor.get_by_role("heading")).to_have_text(f"Change grant {grant['id']} of {guest}")
        await editor.get_by_label("Uses").fill("3")
        await editor.get_by_role("button", name="Save grant").click()
        await expect(row.locator(".grant")).to_contain_text("0 of 3 uses")
        async with client_of(hub) as client:
            listed = {m["id"]: m for m in (await client.get("/api/members")).json()}
        [changed] = listed[guest]["grants"]
        assert (changed["id"], changed["uses"]) == (grant["id"], 3)
        await shot(page, hub, "members-grants")
        # withdraw it
        await row.get_by_role("button", name="Withdraw").click()
        await expect(row.locator(".grant")).to_have_count(0)
        async with client_of(hub) as client:
            listed = {m["id"]: m for m in (await client.get("/api/members")).json()}
        assert listed[guest]["grants"] == []


async def test_web_a_family_member_sees_no_grant_editing(browser: Browser, hub: Hub) -> None:
    async with client_of(hub) as client:
        r = await client.post(
            "/api/members",
            json={"id": FAMILY, "name": "Family member", "role": "family", "password": FAMILY_PASSWORD},
        )
        assert r.status_code == 201, r.text
        r = await client.post("/api/auth/login", json={"member": FAMILY, "password": FAMILY_PASSWORD})
        assert r.status_code == 200, r.text
        family = r.json()
    async with page_of(browser, hub, family) as page:
        await page.goto("/members")
        await expect(page.locator(f'tr[data-member="{FAMILY}"]')).to_contain_text("Family member")
        await expect(page.get_by_test_id("member-editor")).to_have_count(0)
        await expect(page.get_by_role("button", name="Grant…")).to_have_count(0)
    # and the hub refuses the change anyway
    async with client_of(hub, family) as client:
        r = await client.post("/api/members", json={"id": "sneaky", "name": "Sneaky", "role": "owner"})
        assert r.status_code == 403
