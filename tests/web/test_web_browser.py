"""The web app and the cabin view in headless Chromium, against a real demo hub (the hub,
browser and page helpers of conftest.py: one hub and one browser for the module, a browser
context per test)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import pytest
from playwright.async_api import Browser, WebSocketRoute, expect

from carhome.compose.demo import DEMO_HOME, DEMO_OWNER
from web.conftest import (
    Hub,
    acked,
    add_guest,
    as_the_car,
    client_of,
    demo_hub,
    home_page,
    live,
    page_of,
    report,
    report_until,
    shot,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

GUEST = "driver_guest"
GUEST_PASSWORD = "cabin-guest-Pa55word-long"


# -- the tests -----------------------------------------------------------------------------


async def test_web_login_then_the_home_overview(browser: Browser, hub: Hub) -> None:
    async with page_of(browser, hub) as page:
        await page.goto("/")
        await expect(page.get_by_role("heading", name="Log in to your home")).to_be_visible()
        await shot(page, hub, "login")
        await page.get_by_label("Member").fill(DEMO_OWNER)
        await page.get_by_label("Password").fill("not the password at all")
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("alert")).to_contain_text("wrong member or password")
        await page.get_by_label("Password").fill(hub.password)
        await page.get_by_role("button", name="Log in").click()
        await live(page)
        car = page.get_by_test_id("car-card")
        await expect(car.get_by_test_id("car-soc")).to_have_text(re.compile(r"^\d+\.\d %$"))
        await expect(car.get_by_test_id("car-range")).to_have_text(re.compile(r"^\d+\.\d km$"))
        await expect(car.get_by_test_id("car-locks")).to_have_text("all locked")
        await expect(car.get_by_test_id("car-place")).to_have_text("at home")
        await expect(page.get_by_test_id("car-dot")).to_have_count(1)
        # devices grouped by room, with their controls
        living = page.locator('[data-room="living_room"]')
        await expect(living.get_by_role("heading", name="Living room")).to_be_visible()
        await expect(living.locator("[data-device]")).to_have_count(4)
        await expect(page.locator('[data-room="garage"] [data-device="garage_door"]')).to_be_visible()
        await expect(living.get_by_role("switch", name="Living room light")).to_be_visible()
        await shot(page, hub, "overview")
        # a reload keeps the member logged in and the client-side route
        await page.goto("/automations")
        await expect(page.get_by_role("heading", name="Automations", exact=True)).to_be_visible()


async def test_web_the_car_changes_live_on_the_page(browser: Browser, hub: Hub) -> None:
    async with home_page(browser, hub) as page:
        cabin = page.get_by_test_id("car-cabin")
        await expect(cabin).to_contain_text("climate off")
        # Another face (the API, as the CLI would) turns the car's climate on; the page
        # hears it over its WebSocket, without asking.
        async with client_of(hub) as client:
            await acked(client, "car", "action", "climate_on", {"temperature": 26.5})
        await expect(cabin).to_contain_text("climate on, set to 26.5 °C")
        async with client_of(hub) as client:
            await acked(client, "car", "action", "climate_off")
        await expect(cabin).to_contain_text("climate off")


async def test_web_a_change_before_the_subscription_took_is_not_missed(browser: Browser, hub: Hub) -> None:
    """The page reads every device, then subscribes over its WebSocket; a change that lands
    in between is read again once the subscription took (else the page would show the old
    value until the property changes once more)."""
    async with page_of(browser, hub, hub.session) as page:
        held: list[str] = []
        asked, release = asyncio.Event(), asyncio.Event()

        async def route(ws: WebSocketRoute) -> None:
            server = ws.connect_to_server()

            def from_page(message: str | bytes) -> None:
                text = message if isinstance(message, str) else message.decode()
                if '"subscribe"' in text and not release.is_set():
                    held.append(text)  # held back until the test lets it through
                    asked.set()
                else:
                    server.send(text)

            ws.on_message(from_page)

            async def let_go() -> None:
                await release.wait()
                for text in held:
                    server.send(text)

            _ = asyncio.get_running_loop().create_task(let_go())

        await page.route_web_socket(re.compile(r"/api/ws$"), route)
        await page.goto("/")
        cabin = page.get_by_test_id("car-cabin")
        await expect(cabin).to_contain_text("climate off")
        await expect(page.get_by_test_id("live")).not_to_have_attribute("data-live", "live")
        async with asyncio.timeout(10):
            await asked.wait()
        async with client_of(hub) as client:
            await acked(client, "car", "action", "climate_on", {"temperature": 25.5})
            release.set()
            await live(page)
            await expect(cabin).to_contain_text("climate on, set to 25.5 °C")
            await acked(client, "car", "action", "climate_off")
        await expect(cabin).to_contain_text("climate off")


async def test_web_a_toggled_device_shows_its_command_complete(browser: Browser, hub: Hub) -> None:
    async with home_page(browser, hub) as page:
        row = page.locator('[data-device="living_room_light"]')
        switch = row.get_by_role("switch", name="Living room light")
        before = await switch.get_attribute("aria-checked")
        await switch.click()
        await expect(row.locator(".cmd")).to_have_attribute("data-status", "acked")
        after = "false" if before == "true" else "true"
        await expect(switch).to_have_attribute("aria-checked", after)
        # and back, so the light ends as it was
        await switch.click()
        await expect(switch).to_have_attribute("aria-checked", before or "false")
        await expect(row.locator(".cmd")).to_have_attribute("data-status", "acked")


async def test_web_device_detail_edits_properties_and_shows_denials(browser: Browser, hub: Hub) -> None:
    async with page_of(browser, hub, hub.session) as page:
        await page.goto("/devices/yizhuang/living_room_ac")
        await live(page)
        target = page.locator('tr[data-prop="target_temperature"]')
        await expect(target.locator("td.value")).to_contain_text("°C")
        await target.locator("input").fill("25.5")
        await target.get_by_role("button", name="Set").click()
        commands = page.locator(".commands li")
        await expect(commands.first.locator(".cmd")).to_have_attribute("data-status", "acked")
        await expect(target.locator("td.value")).to_have_text("25.5 °C")
        # every property of the spec is there, with its unit
        await expect(page.locator("tr[data-prop]")).to_have_count(5)
        await shot(page, hub, "device")
        # a safety-critical command without the member's signature is refused, with why
        await page.goto("/devices/yizhuang/front_door")
        await page.locator('button[data-action="unlock"]').click()
        denied = page.locator(".commands li .cmd").first
        await expect(denied).to_have_attribute("data-status", "denied")
        await expect(denied).to_contain_text("needs the member's signature")


async def test_web_automation_editor_shows_errors_by_line_and_clears_them(browser: Browser, hub: Hub) -> None:
    async with page_of(browser, hub, hub.session) as page:
        await page.goto("/automations")
        await expect(page.locator('tr[data-automation="arrive"]')).to_contain_text("Coming home")
        result = page.get_by_test_id("check-result")
        await expect(result).to_have_text("No errors: this YAML would load.")
        editor = page.get_by_role("textbox", name="YAML editor")
        good = await editor.input_value()
        await editor.fill(good.replace("name: turn_on", "name: turn_onn"))
        errors = page.get_by_test_id("check-errors")
        await expect(errors).to_contain_text("editor.yaml:9")
        await expect(errors).to_contain_text("has no action 'turn_onn'")
        await expect(page.locator(".gutter .bad")).to_have_text("9\n")
        await shot(page, hub, "automations")
        await editor.fill(good)
        await expect(result).to_have_text("No errors: this YAML would load.")
        await expect(errors).to_have_count(0)
        # an automation's traces open under it
        await page.locator('tr[data-automation="arrive"]').get_by_role("button", name="Traces").click()
        await expect(page.get_by_text("No runs yet.")).to_be_visible()


async def test_web_members_and_the_audit_log(browser: Browser, hub: Hub) -> None:
    async with page_of(browser, hub, hub.session) as page:
        await page.goto("/members")
        await expect(page.locator('tr[data-member="owner"]')).to_contain_text("Demo owner")
        await expect(page.get_by_test_id("audit-chain")).to_contain_text("hash chain intact")
        await expect(page.locator('tr[data-decision="allowed"]').first).to_be_visible()
        await shot(page, hub, "members")


async def test_web_the_cabin_view_acts_with_the_drivers_own_rights(browser: Browser, hub: Hub) -> None:
    # The driver is a guest allowed the living room light only; the grants show the guest
    # the car and where it is, the garage and the purifier, none of which she may work.
    async with client_of(hub) as client:
        guest = await add_guest(
            client,
            GUEST,
            GUEST_PASSWORD,
            [
                (["living_room_light"], ["on"]),
                (["car"], ["location"]),
                (["garage_door", "living_room_purifier"], ["mode"]),
            ],
            hours=1,
        )
    async with page_of(browser, hub, guest, viewport={"width": 1280, "height": 720}, has_touch=True) as page:
        await page.goto("/cabin")
        await expect(page.get_by_text("Driver: driver_guest")).to_be_visible()
        await expect(page.get_by_test_id("cabin-eta")).to_contain_text("At home")
        await expect(page.get_by_test_id("cabin-garage")).to_contain_text("closed")
        # what the grant allows is done ...
        light = page.locator('.device-tile[data-device="living_room_light"]').get_by_role("switch")
        before = await light.get_attribute("aria-checked")
        await light.tap()
        await expect(light).to_have_attribute("aria-checked", "false" if before == "true" else "true")
        status = page.get_by_test_id("cabin-status")
        await expect(status.locator(".cmd")).to_have_attribute("data-status", "acked")
        # ... what it does not is refused, and the screen says why
        await page.get_by_test_id("cabin-garage").get_by_role("button", name="Open").tap()
        await expect(status.locator(".cmd")).to_have_attribute("data-status", "denied")
        await expect(status).to_contain_text("reason:")
        await expect(page.get_by_test_id("cabin-garage").locator(".cmd")).to_have_attribute(
            "data-status", "denied"
        )
        purifier = page.locator('.device-tile[data-device="living_room_purifier"]')
        await purifier.get_by_role("switch").tap()
        await expect(purifier.locator(".cmd")).to_contain_text("denied")
        await shot(page, hub, "cabin")


async def test_web_cabin_scenes_run_for_the_owner(browser: Browser, hub: Hub) -> None:
    async with page_of(browser, hub, hub.session, viewport={"width": 1280, "height": 720}) as page:
        await page.goto("/cabin")
        await expect(page.get_by_test_id("cabin-eta")).to_contain_text("At home")
        await page.locator('[data-scene="arrive"]').click()
        await expect(page.get_by_test_id("scene-arrive-progress")).to_have_text("3/3 acked")
        purifier = page.locator('.device-tile[data-device="living_room_purifier"]').get_by_role("switch")
        await expect(purifier).to_have_attribute("aria-checked", "true")


async def test_web_speaks_chinese_after_the_switch(browser: Browser, hub: Hub) -> None:
    async with home_page(browser, hub) as page:
        await page.get_by_role("button", name="中文").click()
        await expect(page.get_by_role("link", name="自动化")).to_be_visible()
        await expect(page.get_by_test_id("car-place")).to_have_text("在家")
        await expect(page.get_by_role("heading", name="客厅")).to_be_visible()
        await shot(page, hub, "overview-zh")
        # the choice is kept across a reload
        await page.reload()
        await expect(page.get_by_role("link", name="成员")).to_be_visible()
        await page.get_by_role("button", name="English").click()
        await expect(page.get_by_role("link", name="Members")).to_be_visible()


# Last in the module: it moves the car (within the geofence, so no automation fires) and
# brings it back where it was.
async def test_web_the_cars_track_is_drawn_as_it_moves(browser: Browser, hub: Hub) -> None:
    async with home_page(browser, hub) as page:
        await expect(page.locator("path.track")).to_have_count(0)
        # The car's GPS, as the car publishes it on the broker: a loop through the
        # neighbourhood, 100 m at most from home.
        lat0, lon0 = DEMO_HOME.lat, DEMO_HOME.lon
        loop = [(0.0003, 0.0002), (0.0006, 0.0005), (0.0007, 0.0009), (0.0004, 0.0011), (0.0001, 0.0007)]
        async with as_the_car(hub) as car:
            track = page.locator("path.track")
            try:
                for n, (dlat, dlon) in enumerate(loop, start=1):
                    report(
                        car,
                        Vehicle_CurrentLocation_Latitude=lat0 + dlat,
                        Vehicle_CurrentLocation_Longitude=lon0 + dlon,
                    )
                    # one point per report (its latitude and longitude together), from home on
                    segments = re.compile(rf"^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+){{{n}}}$")
                    await expect(track).to_have_attribute("d", segments)
                await expect(page.get_by_test_id("car-place")).to_contain_text("at home")
                # the dot is where the car last reported, north-east of the home mark
                dot = page.get_by_test_id("car-dot")
                assert float(await dot.get_attribute("cx") or 0) > 160
                assert float(await dot.get_attribute("cy") or 0) < 160
                await shot(page, hub, "overview")
            finally:
                report(car, Vehicle_CurrentLocation_Latitude=lat0, Vehicle_CurrentLocation_Longitude=lon0)
                await expect(page.get_by_test_id("car-dot")).to_have_attribute("cx", "160")


async def test_web_the_cabin_shows_the_arrival_time_while_driving_home(browser: Browser, hub: Hub) -> None:
    async with page_of(browser, hub, hub.session, viewport={"width": 1280, "height": 720}) as page:
        await page.goto("/cabin")
        eta = page.get_by_test_id("cabin-eta")
        await expect(eta).to_contain_text("At home")
        lat0, lon0 = DEMO_HOME.lat, DEMO_HOME.lon
        async with as_the_car(hub) as car:
            try:
                # 0.0234° of longitude east of home is 2.0 km; at 40 km/h that is 3 minutes.
                # The simulator speaks for this car too and may report its own (parked at
                # home) position at any moment, so the test reports again, as a driving car
                # does every second, until the page shows the arrival time.
                shown = re.compile(r"3 min\s*2\.00 km to go at 40 km/h")
                await report_until(
                    car,
                    eta,
                    shown,
                    Vehicle_CurrentLocation_Latitude=lat0,
                    Vehicle_CurrentLocation_Longitude=lon0 + 0.0234,
                    Vehicle_Speed=40.0,
                    Vehicle_IsMoving=True,
                )
                await expect(eta).to_contain_text(shown)
                await shot(page, hub, "cabin-driving")
            finally:
                report(
                    car,
                    Vehicle_CurrentLocation_Latitude=lat0,
                    Vehicle_CurrentLocation_Longitude=lon0,
                    Vehicle_Speed=0.0,
                    Vehicle_IsMoving=False,
                )
                await expect(eta).to_contain_text("At home")


async def test_web_says_when_the_hub_hears_nothing(browser: Browser, tmp_path: Path) -> None:
    """The built-in broker stops delivering (SIGSTOP): the hub's own heartbeat stops coming
    back, its health says degraded, and the page says why; when it delivers again, the
    banner goes."""
    async with demo_hub(tmp_path) as deaf_hub, page_of(browser, deaf_hub, deaf_hub.session) as page:
        await page.goto("/")
        await live(page)
        banner = page.get_by_test_id("health")
        await expect(banner).to_have_count(0)
        nats = int((deaf_hub.data / "nats" / "nats-server.pid").read_text())
        os.kill(nats, signal.SIGSTOP)
        try:
            # three heartbeats missed (15 s), then the page's next look (every 10 s)
            await expect(banner).to_contain_text("no heartbeat came back", timeout=40_000)
            await shot(page, deaf_hub, "health-degraded")
        finally:
            os.kill(nats, signal.SIGCONT)
        await expect(banner).to_have_count(0, timeout=30_000)
