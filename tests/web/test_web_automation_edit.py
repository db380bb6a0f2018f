"""The automation editor saving to the hub, and the cabin's scenes from the hub, in
headless Chromium against a real demo hub.

The demo hub, the browser and the page helpers are those of conftest.py (module-scoped
fixtures: this module gets a demo hub of its own, so what it saves does not reach the other
modules). Every wait is on a condition of the page.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from web.conftest import Hub, page_of, shot

pytestmark = pytest.mark.asyncio(loop_scope="module")

SAVED = "automations/saved/evening_light.yaml"


def row(page: Page, automation: str):  # type: ignore[no-untyped-def]
    return page.locator(f'tr[data-automation="{automation}"]')


async def test_web_create_edit_refuse_fix_save_switch_and_delete(browser: Browser, hub: Hub) -> None:
    saved = hub.data / SAVED
    async with page_of(browser, hub, hub.session) as page:
        await page.goto("/automations")
        await expect(row(page, "arrive")).to_contain_text("Coming home")
        editor = page.get_by_role("textbox", name="YAML editor")
        result = page.get_by_test_id("check-result")
        # a new automation: the example, saved as it is
        await expect(result).to_have_text("No errors: this YAML would load.")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_test_id("save-result")).to_have_text(f"Saved evening_light to {SAVED}.")
        await expect(row(page, "evening_light")).to_contain_text("Light on when the car comes home")
        assert "name: turn_on}" in saved.read_text()

        # open it, edit it into an error: the hub refuses, the line is marked, nothing saved
        await row(page, "evening_light").get_by_role("button", name="Edit").click()
        await expect(page.get_by_test_id("editor-mode")).to_contain_text("Editing evening_light")
        good = await editor.input_value()
        await editor.fill(good.replace("name: turn_on", "name: turn_onn"))
        await page.get_by_role("button", name="Save").click()
        refused = page.get_by_test_id("save-errors")
        await expect(refused).to_contain_text("Not saved: 1 error(s).")
        await expect(refused.locator('li[data-line="9"]')).to_contain_text("has no action 'turn_onn'")
        await expect(page.locator(".gutter .bad")).to_have_text("9\n")
        assert "name: turn_on}" in saved.read_text()
        await shot(page, hub, "automation-refused")

        # fixed, the marks go; saved, the hub keeps the new text
        await editor.fill(good.replace("name: turn_on", "name: turn_off"))
        await expect(result).to_have_text("No errors: this YAML would load.")
        await expect(refused).to_have_count(0)
        await expect(page.locator(".gutter .bad")).to_have_count(0)
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_test_id("save-result")).to_have_text(f"Saved evening_light to {SAVED}.")
        assert "name: turn_off}" in saved.read_text()
        await page.reload()
        await row(page, "evening_light").get_by_role("button", name="Edit").click()
        await expect(editor).to_have_value(good.replace("name: turn_on", "name: turn_off"))

        # the switch turns it off, and off it stays
        switch = row(page, "evening_light").get_by_role("switch")
        await expect(switch).to_have_attribute("aria-checked", "true")
        await switch.click()
        await expect(switch).to_have_attribute("aria-checked", "false")
        await page.reload()
        await expect(row(page, "evening_light")).to_have_attribute("data-enabled", "false")
        await expect(row(page, "evening_light").get_by_role("switch")).to_have_attribute(
            "aria-checked", "false"
        )

        # a read-only automation is saved as an override; delete takes an API one away
        await row(page, "leave").get_by_role("button", name="Edit").click()
        await expect(page.get_by_text("demo_automations.yaml is read-only")).to_be_visible()
        await row(page, "evening_light").get_by_role("button", name="Edit").click()
        await page.get_by_role("button", name="Delete").click()
        await expect(page.get_by_test_id("save-result")).to_have_text("Deleted evening_light.")
        await expect(row(page, "evening_light")).to_have_count(0)
        assert not saved.exists()


async def test_web_cabin_scenes_come_from_the_hub(browser: Browser, hub: Hub) -> None:
    async with page_of(browser, hub, hub.session, viewport={"width": 1280, "height": 720}) as page:
        await page.goto("/cabin")
        await expect(page.get_by_test_id("cabin-eta")).to_contain_text("At home")
        scenes = page.locator("[data-scene]")
        await expect(scenes).to_have_count(3)
        await expect(page.locator('[data-scene="sleep"]')).to_contain_text("Good night")
        await page.locator('[data-scene="sleep"]').click()
        await expect(page.get_by_test_id("scene-sleep-progress")).to_have_text("4/4 acked")
        bedroom = page.locator('.device-tile[data-device="bedroom_ac"]').get_by_role("switch")
        await expect(bedroom).to_have_attribute("aria-checked", "true")
        await shot(page, hub, "cabin-scenes")
