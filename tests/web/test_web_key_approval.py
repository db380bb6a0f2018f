"""A browser enrolls on a device that holds a key already, with the approval of an owner
whose key is in another client: the Python phone (as `carhome keys`) enrolls first on the
garage, the browser asks, the phone approves from its own key, the browser opens the garage
signed. Against a real demo hub in headless Chromium (fixtures of conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from carhome.signing import Role
from carhome.wire.keyclient import HubKeys, KeyRing, Phone
from web.conftest import Hub, live, page_of
from web.test_web_signing import live_cabin, press_the_garage

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOME = "yizhuang"
GARAGE = "garage_door"


async def test_web_key_approval_the_phone_approves_the_browser(
    browser: Browser, hub: Hub, tmp_path: Path
) -> None:
    ring = KeyRing(tmp_path / "phone-keys")
    ring.create()
    headers = {"authorization": f"Bearer {hub.session['access_token']}"}
    async with HubKeys(hub.url, headers=headers) as keys:
        phone = Phone(ring, keys)
        challenge = await phone.begin(HOME, GARAGE)
        code = await keys.code(HOME, GARAGE)  # the hub's local screen (loopback, an owner)
        await phone.enroll(challenge, code=code, role=Role.OWNER, member=hub.session["member"])

        async with page_of(browser, hub, hub.session) as page:
            await page.goto(f"/keys?device={GARAGE}")
            await live(page)
            await page.get_by_role("button", name="Make this browser's key").click()
            key_id = await page.get_by_test_id("sign-key-id").inner_text()
            card = page.get_by_test_id("sign-device")
            await expect(card).to_have_attribute("data-device", GARAGE)
            await card.get_by_role("button", name="Start enrollment").click()
            await card.get_by_role("button", name="Show the code from the hub").click()
            await expect(card.get_by_label("Code shown on the device")).to_have_value(re.compile(r"^\d{6}$"))
            await card.get_by_role("button", name="Enroll", exact=True).click()

            # the garage holds the phone's key: the browser's request waits for an owner
            waiting = card.get_by_test_id("sign-waiting")
            await expect(waiting).to_contain_text("Waiting for an owner's approval")
            request_id = await waiting.get_attribute("data-request")
            listed = await keys.pending(HOME, GARAGE)
            assert [p.id for p in listed] == [request_id]
            assert listed[0].key_id.hex() == key_id

            approved = await phone.approve_request(listed[0])
            assert approved.status == "enrolled"

            await expect(page.get_by_test_id("sign-message")).to_have_text("Enrolled on Garage door.")
            await expect(card.get_by_test_id("sign-state")).to_have_attribute("data-enrolled", "yes")
            await expect(waiting).to_have_count(0)
            await expect(card.locator('tr[data-mine="yes"]')).to_have_attribute("data-key", key_id)
            assert {k.key_id.hex() for k in await keys.keys(HOME, GARAGE)} == {
                key_id,
                ring.key().public.key_id.hex(),
            }

            await page.goto("/cabin")
            await live_cabin(page)
            before = await page.get_by_test_id("cabin-garage").locator(".tile-state").inner_text()
            opens = before.strip() != "open"
            await press_the_garage(page, r"^open(ing)?$" if opens else r"^clos(ed|ing)$")

            # and the other way round: the browser, an owner now, approves a CLI-style key
            second = Phone(KeyRing(tmp_path / "second-keys"), keys)
            second.ring.create()
            challenge = await phone.begin(HOME, GARAGE)
            code = await keys.code(HOME, GARAGE)
            asked = await second.ask(challenge, code=code, role=Role.FAMILY, member="kid")
            await page.goto(f"/keys?device={GARAGE}")
            row = page.get_by_test_id("sign-requests").locator(f'tr[data-request="{asked.id}"]')
            await expect(row).to_contain_text("kid")
            await row.get_by_role("button", name="Approve").click()
            await expect(page.get_by_test_id("sign-message")).to_have_text(
                "Approved: kid's key is enrolled on Garage door."
            )
            settled = await second.outcome(asked)
            assert (settled.status, settled.decided_by) == ("enrolled", hub.session["member"])
            assert second.ring.pinned(HOME, GARAGE) is not None
            await expect(page.get_by_test_id("sign-requests")).to_have_count(0)
