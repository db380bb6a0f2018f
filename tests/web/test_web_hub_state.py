"""What the web app says about the hub and the car, in headless Chromium against a real
demo hub (the helpers of conftest.py, its history seeded): controls off and a plain
"reconnecting" while the hub is out of reach, the trunk in the doors' summary, every time
in the home's zone whatever the browser's, and the car's four windows told apart.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Route, WebSocketRoute, expect

from carhome.compose.demo import DEMO_HOME
from web.conftest import Hub, as_the_car, client_of, demo_hub, home_page, live, page_of, report, report_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOME_ZONE = ZoneInfo(DEMO_HOME.timezone)
# A browser far from the home: its own clock would put every time 12 or 13 hours off.
BROWSER_ZONE = "America/New_York"
PHONE = {"width": 390, "height": 844}
TRACED = "resp_traced"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with demo_hub(tmp_path_factory.mktemp("web-hub-state"), history=True) as demo:
        yield demo


class Outage:
    """The hub out of reach for one page: its live connection closed and refused, every
    API request refused, until ``end()``."""

    def __init__(self) -> None:
        self.down = False
        self.open: list[WebSocketRoute] = []

    async def socket(self, ws: WebSocketRoute) -> None:
        if self.down:
            await ws.close(code=1011, reason="hub away")
            return
        ws.connect_to_server()
        self.open.append(ws)

    async def refuse(self, route: Route) -> None:
        await route.abort("connectionrefused")

    async def begin(self) -> None:
        self.down = True
        for ws in self.open:
            await ws.close(code=1011, reason="hub away")
        self.open.clear()


async def test_web_controls_are_off_while_the_hub_is_out_of_reach(browser: Browser, hub: Hub) -> None:
    outage = Outage()
    async with page_of(browser, hub, hub.session, viewport=PHONE, has_touch=True) as page:
        await page.route_web_socket(re.compile(r"/api/ws$"), outage.socket)
        await page.goto("/")
        await live(page)
        light = page.locator('[data-device="living_room_light"]').get_by_role("switch")
        stepper = page.locator('[data-device="living_room_ac"] .stepper button').first
        await expect(light).to_be_enabled()
        await expect(page.get_by_test_id("offline")).to_have_count(0)

        await page.route(re.compile(r"/api/"), outage.refuse)
        await outage.begin()
        banner = page.get_by_test_id("offline")
        await expect(banner).to_contain_text("reconnecting")
        await expect(page.get_by_test_id("live")).not_to_have_attribute("data-live", "live")
        await expect(light).to_be_disabled()
        await expect(stepper).to_be_disabled()
        # a page that asks the hub now says so in plain words, never the browser's own
        await page.locator(".menu-button").click()
        await page.locator("#main-nav nav a", has_text="Charging").click()
        error = page.locator("main.charging .error")
        await expect(error).to_contain_text("The hub cannot be reached")
        await expect(page.locator("body")).not_to_contain_text("Failed to fetch")
        await expect(page.locator("body")).not_to_contain_text("TypeError")
        await expect(page.get_by_role("radio")).to_have_count(0)

        # the hub is back: one tap on "Try now" and the controls are on again (the live
        # connection stays refused until the tap, so the page's own backoff cannot win the
        # race on a slow machine and take the button away before it is tapped)
        await page.unroute(re.compile(r"/api/"), outage.refuse)
        try_now = banner.get_by_role("button", name="Try now")
        await expect(try_now).to_be_enabled()
        outage.down = False
        await try_now.click()
        await live(page)
        await expect(banner).to_have_count(0)
        await page.locator(".menu-button").click()
        await page.locator("#main-nav nav a", has_text="Home").click()
        await expect(light).to_be_enabled()
        await light.click()
        await expect(page.locator('[data-device="living_room_light"] .cmd')).to_have_attribute(
            "data-status", "acked"
        )
        await light.click()
        await expect(page.locator('[data-device="living_room_light"] .cmd')).to_have_attribute(
            "data-status", "acked"
        )


async def test_web_the_doors_summary_names_an_open_trunk(browser: Browser, hub: Hub) -> None:
    async with home_page(browser, hub) as page:
        doors = page.get_by_test_id("car-locks")
        await expect(doors).to_have_text("all locked")
        async with as_the_car(hub) as car:
            try:
                # the simulator speaks for the car too and may report its own trunk; the
                # test reports again until the page shows this one
                await report_until(car, doors, "trunk open", Vehicle_Body_Trunk_Rear_IsOpen=True)
                await expect(doors).to_have_text("all locked · trunk open")
                await expect(doors).to_have_class("warn")
                await page.get_by_role("button", name="中文").click()
                await expect(doors).to_have_text("全部已锁 · 后备箱开着")
                await page.get_by_role("button", name="English").click()
            finally:
                report(car, Vehicle_Body_Trunk_Rear_IsOpen=False)
                await expect(doors).to_have_text("all locked")


def home_clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, HOME_ZONE).strftime("%H:%M")


def browser_clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, ZoneInfo(BROWSER_ZONE)).strftime("%H:%M")


async def a_traced_run(hub: Hub) -> dict[str, Any]:
    """An automation of the test's own that has run once: its trace."""
    text = (
        f"home: yizhuang\nautomations:\n  - id: {TRACED}\n    alias: Note the light\n    member: owner\n"
        "    triggers:\n      - {trigger: state, device: living_room_light, property: 'on'}\n"
        "    actions:\n      - {action: notify, member: owner, message: light}\n"
    )
    async with client_of(hub) as client:

        async def light(value: bool) -> None:
            r = await client.post(
                "/api/devices/yizhuang/living_room_light/commands",
                json={"kind": "set", "target": "on", "args": {"value": value}, "wait": 20},
            )
            assert r.json()["status"] == "acked", r.text

        # the light off before the automation exists, whatever the demo's hour left it at, so
        # exactly one change fires it: the run the page must show first
        await light(False)
        r = await client.post("/api/automations", json={"text": text})
        assert r.status_code in (200, 201), r.text
        await light(True)
        # The light reports its state before its ack, in order on one connection, and the
        # engine starts the run as a task of its own, so the trace (kept from the moment a
        # run fires) may come a few loop turns later.
        traces: list[dict[str, Any]] = []
        for _ in range(200):  # each request lets the hub's tasks run
            traces = (await client.get(f"/api/automations/{TRACED}/traces")).json()["traces"]
            if traces:
                break
        assert len(traces) == 1, traces
        trace: dict[str, Any] = traces[0]
        return trace


async def test_web_every_time_is_in_the_homes_zone(browser: Browser, hub: Hub) -> None:
    trace = await a_traced_run(hub)
    async with client_of(hub) as client:
        trips = (await client.get("/api/history/trips")).json()["trips"]
    newest = trips[-1]
    assert home_clock(newest["start"]) != browser_clock(newest["start"])
    async with page_of(browser, hub, hub.session, timezone_id=BROWSER_ZONE, locale="en-GB") as page:
        # the trips: the home's wall clock, and the page says which zone that is
        await page.goto("/trips")
        start = page.locator(f'tr[data-trip="{newest["id"]}"] td').first
        await expect(start).to_contain_text(home_clock(newest["start"]))
        await expect(start).not_to_contain_text(browser_clock(newest["start"]))
        note = page.get_by_test_id("zone-note")
        await expect(note).to_contain_text("China Standard Time")
        await expect(note.locator("code")).to_have_text(DEMO_HOME.timezone)

        # an automation's runs
        await page.goto("/automations")
        row = page.locator(f'tr[data-automation="{TRACED}"]')
        await row.get_by_role("button", name="Traces").click()
        run = page.locator(f'li[data-status="{trace["status"]}"]').first
        started = datetime.fromtimestamp(trace["started"], HOME_ZONE).strftime("%H:%M:%S")
        await expect(run).to_contain_text(started)

        # a guest's grant: the form starts from the home's clock, and what is typed in it
        # is the home's wall time
        await page.goto("/members")
        await live(page)
        adder = page.get_by_test_id("member-editor")
        await adder.get_by_label("Member id").fill("zone_guest")
        await adder.get_by_label("Name").fill("Zone guest")
        await adder.get_by_role("button", name="Add member").click()
        editor = page.get_by_test_id("grant-editor")
        starts = await editor.get_by_label("Valid from").input_value()
        shown = datetime.strptime(starts, "%Y-%m-%dT%H:%M").replace(tzinfo=HOME_ZONE).timestamp()
        assert abs(shown - time.time()) < 120, (starts, datetime.now(HOME_ZONE))
        await expect(editor).to_contain_text("China Standard Time")
        await editor.get_by_role("checkbox", name="Living room light").check()
        await editor.locator('input[data-target="on"]').check()
        await editor.get_by_label("Valid from").fill("2030-01-02T10:00")
        await editor.get_by_label("Valid until").fill("2030-01-02T18:30")
        await editor.get_by_role("button", name="Save grant").click()
        await expect(editor).to_have_count(0)
        grant_row = page.locator('tr[data-member="zone_guest"] .grant')
        await expect(grant_row).to_contain_text("10:00")
        await expect(grant_row).to_contain_text("18:30")
    async with client_of(hub) as client:
        members = {m["id"]: m for m in (await client.get("/api/members")).json()}
    [grant] = members["zone_guest"]["grants"]
    expected = (
        datetime(2030, 1, 2, 10, 0, tzinfo=HOME_ZONE).timestamp(),
        datetime(2030, 1, 2, 18, 30, tzinfo=HOME_ZONE).timestamp(),
    )
    assert (grant["starts"], grant["ends"]) == expected
    print("times shown in the home's zone: 4 of 4 (trips, traces, grant form, saved grant)")


async def test_web_the_cars_windows_are_told_apart(browser: Browser, hub: Hub) -> None:
    async with page_of(browser, hub, hub.session, viewport=PHONE) as page:
        await page.goto("/devices/yizhuang/car")
        windows = page.locator('tr[data-prop$=".Window.Position"] td.prop-name')
        await expect(windows).to_have_count(4)
        labels = await windows.all_inner_texts()
        assert sorted(labels) == sorted(
            [
                "Window, front, driver's side",
                "Window, front, passenger's side",
                "Window, rear, driver's side",
                "Window, rear, passenger's side",
            ]
        ), labels
        await page.context.add_init_script("localStorage.setItem('carhome.lang', 'zh')")
        await page.reload()
        await expect(windows).to_have_count(4)
        zh = await windows.all_inner_texts()
        assert len(set(zh)) == 4, zh
        assert all(label.endswith("车窗") for label in zh), zh
