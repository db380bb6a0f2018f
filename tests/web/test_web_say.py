"""The cabin's say box in headless Chromium, against a real demo hub (the hub, browser and
page helpers of ``test_web_browser``): a request typed in English and one in Chinese are
answered, followed to their ack, and the device turns on live in the cabin's own tiles."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from test_web_browser import Hub, browser, hub, page_of  # noqa: F401 - fixtures shared with the cabin tests

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _switched_off(demo: Hub, *devices: str) -> None:
    """Start from a known state: the devices off (the demo's automations may have turned them on)."""
    headers = {"Authorization": f"Bearer {demo.session['access_token']}"}
    async with httpx.AsyncClient(base_url=demo.url, headers=headers, timeout=60) as client:
        for device in devices:
            r = await client.post(
                f"/api/devices/yizhuang/{device}/commands",
                json={"kind": "set", "target": "on", "args": {"value": False}, "wait": 20},
            )
            assert r.json()["status"] == "acked", r.text


async def _say(page: Page, text: str) -> None:
    box = page.get_by_test_id("cabin-say")
    await box.get_by_role("textbox").fill(text)
    await box.get_by_role("button", name=re.compile("^(Send|发送)$")).click()


async def test_web_say_in_the_cabin_turns_a_device_on_live(browser: Browser, hub: Hub) -> None:  # noqa: F811
    await _switched_off(hub, "living_room_purifier", "living_room_light")
    async with page_of(browser, hub, hub.session, viewport={"width": 1280, "height": 720}) as page:
        await page.goto("/cabin")
        purifier = page.locator('[data-device="living_room_purifier"]').get_by_role("switch")
        await expect(purifier).to_have_attribute("aria-checked", "false")
        await _say(page, "turn on the living room air purifier")
        answer = page.get_by_test_id("say-answer")
        await expect(answer).to_have_attribute("data-status", "done")
        await expect(answer).to_contain_text("turn on the Living room purifier")
        await expect(page.get_by_test_id("say-progress").locator(".cmd")).to_have_attribute(
            "data-status", "acked"
        )
        await expect(purifier).to_have_attribute("aria-checked", "true")
        # a question is answered from live state, with its unit
        await _say(page, "how much charge is left?")
        await expect(answer).to_have_attribute("data-status", "question")
        await expect(answer).to_have_text(re.compile(r"^The Car's charge is \d+(\.\d)? %\.$"))
        await expect(page.get_by_test_id("say-progress")).to_have_count(0)
        # two air conditioners at home, neither in the car: a question back, nothing sent
        await _say(page, "set the ac to 22")
        await expect(answer).to_have_attribute("data-status", "ambiguous")
        await expect(answer).to_contain_text("Bedroom air conditioner")


async def test_web_say_in_chinese(browser: Browser, hub: Hub) -> None:  # noqa: F811
    await _switched_off(hub, "living_room_light")
    async with page_of(browser, hub, hub.session) as page:
        await page.context.add_init_script("localStorage.setItem('carhome.lang', 'zh')")
        await page.goto("/cabin")
        light = page.locator('[data-device="living_room_light"]').get_by_role("switch")
        await expect(light).to_have_attribute("aria-checked", "false")
        await expect(page.get_by_test_id("cabin-say").get_by_role("heading")).to_have_text("对家里说")
        await _say(page, "打开客厅的灯")
        answer = page.get_by_test_id("say-answer")
        await expect(answer).to_contain_text("打开客厅灯")
        await expect(page.get_by_test_id("say-progress").locator(".cmd")).to_have_attribute(
            "data-status", "acked"
        )
        await expect(light).to_have_attribute("aria-checked", "true")
        # asked in the car, "the air conditioner" is the car's own climate
        await _say(page, "把空调调到24度")
        await expect(answer).to_have_attribute("data-status", "done")
        await expect(answer).to_contain_text("车")
        await expect(page.get_by_test_id("say-progress").locator(".cmd")).to_have_attribute(
            "data-status", "acked"
        )
        await _say(page, "车还有多少电")
        await expect(answer).to_have_text(re.compile(r"^车的电量是\d+(\.\d)?%。$"))
