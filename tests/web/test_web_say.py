"""The cabin's say box in headless Chromium, against a real demo hub (the hub, browser and
page helpers of conftest.py): a request typed in English and one in Chinese are
answered, followed to their ack, and the device turns on live in the cabin's own tiles."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from web.conftest import Hub, acked, client_of, page_of

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _switched_off(demo: Hub, *devices: str) -> None:
    """Start from a known state: the devices off (the demo's automations may have turned them on)."""
    async with client_of(demo) as client:
        for device in devices:
            await acked(client, device, "set", "on", {"value": False})


async def _say(page: Page, text: str) -> None:
    box = page.get_by_test_id("cabin-say")
    await box.get_by_role("textbox").fill(text)
    await box.get_by_role("button", name=re.compile("^(Send|发送)$")).click()


async def _said_and_done(page: Page, text: str, answer_says: str) -> None:
    """Say ``text``: the answer is done, says ``answer_says``, and its command is acked."""
    await _say(page, text)
    answer = page.get_by_test_id("say-answer")
    await expect(answer).to_have_attribute("data-status", "done")
    await expect(answer).to_contain_text(answer_says)
    await expect(page.get_by_test_id("say-progress").locator(".cmd")).to_have_attribute(
        "data-status", "acked"
    )


async def test_web_say_in_the_cabin_turns_a_device_on_live(browser: Browser, hub: Hub) -> None:
    await _switched_off(hub, "living_room_purifier", "living_room_light")
    async with page_of(browser, hub, hub.session, viewport={"width": 1280, "height": 720}) as page:
        await page.goto("/cabin")
        purifier = page.locator('[data-device="living_room_purifier"]').get_by_role("switch")
        await expect(purifier).to_have_attribute("aria-checked", "false")
        await _said_and_done(page, "turn on the living room air purifier", "turn on the Living room purifier")
        answer = page.get_by_test_id("say-answer")
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


async def test_web_say_in_chinese(browser: Browser, hub: Hub) -> None:
    await _switched_off(hub, "living_room_light")
    async with page_of(browser, hub, hub.session) as page:
        await page.context.add_init_script("localStorage.setItem('carhome.lang', 'zh')")
        await page.goto("/cabin")
        light = page.locator('[data-device="living_room_light"]').get_by_role("switch")
        await expect(light).to_have_attribute("aria-checked", "false")
        await expect(page.get_by_test_id("cabin-say").get_by_role("heading")).to_have_text("对家里说")
        await _said_and_done(page, "打开客厅的灯", "打开客厅灯")
        answer = page.get_by_test_id("say-answer")
        await expect(light).to_have_attribute("aria-checked", "true")
        # asked in the car, "the air conditioner" is the car's own climate
        await _said_and_done(page, "把空调调到24度", "车")
        await _say(page, "车还有多少电")
        await expect(answer).to_have_text(re.compile(r"^车的电量是\d+(\.\d)?%。$"))
