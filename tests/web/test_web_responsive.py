"""Every main page at phone, tablet and desktop sizes, and in one language at a time, in
headless Chromium against a real demo hub (the hub, browser and page helpers of
``test_web_browser``; a history seeded as in ``test_web_charging`` so the trips page has
rows, and a guest with a grant, a refused command and an allowed one so the members page
has grants and an audit log with both decisions).

What is checked at each size: nothing is wider than the screen (the document's
``scrollWidth``, and every visible element and text outside a scrollable box), no button's
label is cut, and each page's main controls are visible and clickable. In Chinese, every
visible text is walked and any Latin-letter word fails the test unless it is a name the
home's people gave (devices, members, automations, the home, its places), an id in a code
element, or one of the units and proper names listed in ``LATIN_ALLOWED``. The spec tables
in ``web/src/i18n/spec`` are held to every spec the hub serves.

Screenshots of every page at phone size, in English and in Chinese, go where
``test_web_browser`` puts them (``CARHOME_SCREENSHOTS``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, WebSocketRoute, expect
from test_web_browser import Hub, as_the_car, browser, demo_hub, live, page_of, report, shot
from test_web_charging import local_noon_today, seeded_history

from carhome.history import SqliteHistoryStore
from carhome.runtime import DATABASE, DEMO_HOME
from carhome.spec.devices import SPECS

__all__ = ["browser"]  # the fixture, used by name

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[2]
SPEC_WORDS = ROOT / "web" / "src" / "i18n" / "spec"

SIZES: dict[str, tuple[int, int]] = {
    "phone": (390, 844),
    "small-phone": (360, 740),
    "tablet": (820, 1180),
    "desktop": (1280, 800),
}
# The width below which the header folds its links into a menu (style.css).
MENU_BELOW = 1000

GUEST = "resp_guest"
GUEST_PASSWORD = "responsive-guest-Pa55word-long"

# Latin words Chinese text may hold: units, and names that are not translated (the
# product's own, a file format, a protocol, a standard, an air quality measure).
LATIN_ALLOWED = frozenset(
    {
        # units
        "km", "km/h", "kWh", "kW", "Wh/km", "W", "A", "K", "m²", "µg/m³", "°C",
        # proper names
        "carhome", "YAML", "HTTPS", "VSS", "PM2.5", "Home", "Assistant",
    }
)  # fmt: skip
LATIN_WORD = re.compile(r"[A-Za-zµ°][A-Za-z0-9µ°²³/.+]*[A-Za-z0-9²³]|[A-Za-z]")

# -- the hub and what it holds ------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """A demo hub with trips and charges, a guest with a grant, and audit entries allowed
    and denied."""
    tmp = tmp_path_factory.mktemp("web-responsive")
    trips, charges = seeded_history(local_noon_today(time.time()))
    data = tmp / "demo"
    data.mkdir()
    store = SqliteHistoryStore.beside(data / DATABASE)
    await store.open()
    try:
        await store.commit([*trips, *charges], [])
    finally:
        await store.close()
    async with demo_hub(tmp) as demo:
        async with client_of(demo) as client:
            r = await client.post(
                "/api/members",
                json={"id": GUEST, "name": "Guest driver", "role": "guest", "password": GUEST_PASSWORD},
            )
            assert r.status_code == 201, r.text
            now = time.time()
            r = await client.post(
                f"/api/members/{GUEST}/grants",
                json={"devices": ["living_room_light"], "targets": ["on"], "starts": now - 60, "ends": now + 7200},
            )
            assert r.status_code == 201, r.text
            r = await client.post("/api/auth/login", json={"member": GUEST, "password": GUEST_PASSWORD})
            guest = r.json()
        async with client_of(demo, guest) as client:
            # within the grant: allowed; the garage: refused (no grant names it)
            r = await client.post(
                "/api/devices/yizhuang/living_room_light/commands",
                json={"kind": "set", "target": "on", "args": {"value": True}, "wait": 20},
            )
            assert r.json()["status"] == "acked", r.text
            r = await client.post(
                "/api/devices/yizhuang/garage_door/commands", json={"kind": "action", "target": "open", "args": {}}
            )
            assert r.status_code == 403, r.text
        yield demo


def client_of(hub: Hub, session: dict[str, Any] | None = None) -> httpx.AsyncClient:
    token = (session or hub.session)["access_token"]
    return httpx.AsyncClient(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


# -- the pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MainPage:
    name: str
    path: str
    # a locator that is there once the page shows its data
    ready: Callable[[Page], Locator]
    # the page's main controls: each must be visible and clickable
    controls: Callable[[Page], list[Locator]]
    logged_in: bool = True


def _home_controls(page: Page) -> list[Locator]:
    living = page.locator('[data-room="living_room"]')
    return [
        page.get_by_test_id("car-card").get_by_role("link"),
        living.get_by_role("switch", name="Living room light"),
        page.locator('[data-device="living_room_ac"] .stepper button').first,
        page.locator('[data-device="living_room_ac"] .stepper button').last,
        page.locator('[data-device="garage_door"] button[data-action="open"]'),
    ]


def _device_controls(page: Page) -> list[Locator]:
    limit = page.locator('tr[data-prop="Vehicle.Powertrain.TractionBattery.Charging.ChargeLimit"]')
    return [
        page.locator('button[data-action="climate_on"]'),
        page.locator('button[data-action="set_charge_limit"]'),
        limit.locator("input"),
        limit.get_by_role("button"),
    ]


def _charging_controls(page: Page) -> list[Locator]:
    modes = page.get_by_test_id("mode-switch")
    return [
        *(modes.locator(f'[data-mode="{m}"]') for m in ("off", "now", "solar", "solar_min", "smart")),
        page.get_by_test_id("target-editor").locator('input[name="target"]'),
        page.get_by_test_id("target-editor").locator('input[name="departure"]'),
        page.get_by_test_id("target-editor").locator('button[type="submit"]'),
    ]


def _trips_controls(page: Page) -> list[Locator]:
    return [
        page.get_by_role("radio").first,
        page.get_by_role("radio").last,
        page.get_by_test_id("trips-table").locator("tbody tr").first,
    ]


def _automation_controls(page: Page) -> list[Locator]:
    row = page.locator('tr[data-automation="arrive"]')
    editor = page.get_by_test_id("automation-editor")
    return [
        row.get_by_role("switch"),
        row.locator("button").nth(1),
        row.locator("button").nth(2),
        editor.locator("textarea"),
        editor.locator("button.primary"),
    ]


def _members_controls(page: Page) -> list[Locator]:
    guest = page.locator(f'tr[data-member="{GUEST}"]')
    adder = page.get_by_test_id("member-editor")
    return [
        guest.locator(".grant button").first,
        guest.locator(".row-actions button").first,
        adder.locator("#member-id"),
        adder.locator("#member-role"),
        adder.locator('button[type="submit"]'),
    ]


def _keys_controls(page: Page) -> list[Locator]:
    return [page.get_by_test_id("sign-key").get_by_role("button")]


def _cabin_controls(page: Page) -> list[Locator]:
    say = page.get_by_test_id("cabin-say")
    return [
        page.get_by_test_id("cabin-garage").get_by_role("button"),
        page.get_by_test_id("cabin-door").get_by_role("button"),
        page.locator('[data-scene="arrive"]'),
        page.locator('.device-tile[data-device="living_room_light"]').get_by_role("switch"),
        say.get_by_role("textbox"),
        say.locator('button[type="submit"]'),
        page.locator(".cabin-exit"),
    ]


def _login_controls(page: Page) -> list[Locator]:
    return [
        page.locator('input[name="member"]'),
        page.locator('input[name="password"]'),
        page.locator('button[type="submit"]'),
        page.locator(".corner button"),
    ]


PAGES = (
    MainPage("login", "/login", lambda p: p.locator("form.login-card"), _login_controls, logged_in=False),
    MainPage("home", "/", lambda p: p.get_by_test_id("car-soc"), _home_controls),
    MainPage("device", "/devices/yizhuang/car", lambda p: p.locator("tr[data-prop]").first, _device_controls),
    MainPage("charging", "/charging", lambda p: p.get_by_test_id("plan-chart"), _charging_controls),
    MainPage("trips", "/trips", lambda p: p.get_by_test_id("trips-table"), _trips_controls),
    MainPage(
        "automations", "/automations", lambda p: p.locator('tr[data-automation="arrive"]'), _automation_controls
    ),
    MainPage("members", "/members", lambda p: p.get_by_test_id("audit-chain"), _members_controls),
    MainPage("keys", "/keys", lambda p: p.get_by_test_id("sign-key").get_by_role("button"), _keys_controls),
    MainPage("cabin", "/cabin", lambda p: p.get_by_test_id("cabin-eta"), _cabin_controls),
)

# Everything wider than the screen: the document, and each visible element or text whose
# box ends beyond either edge, unless a box around it scrolls sideways on purpose
# (overflow-x auto or scroll); and each button whose label does not fit inside it.
OVERFLOW = """() => {
  const vw = document.documentElement.clientWidth;
  const found = [];
  const width = document.documentElement.scrollWidth;
  if (width > vw) found.push(`document is ${width} px wide in a ${vw} px viewport`);
  const scrolls = (node) => {
    for (let p = node.parentElement; p !== null; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX;
      if (x === "auto" || x === "scroll") return true;
    }
    return false;
  };
  const name = (el) => {
    const parts = [];
    for (let e = el; e !== null && e !== document.body && parts.length < 4; e = e.parentElement) {
      let s = e.tagName.toLowerCase();
      for (const a of ["data-testid", "data-prop", "data-device", "data-mode", "class"]) {
        const v = e.getAttribute(a);
        if (v) { s += `[${a}="${v}"]`; break; }
      }
      parts.unshift(s);
    }
    return parts.join(" > ");
  };
  const out = (r) => r.width > 0 && (r.right > vw + 0.5 || r.left < -0.5);
  for (const el of document.body.querySelectorAll("*")) {
    if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: false })) continue;
    const r = el.getBoundingClientRect();
    if (out(r) && !scrolls(el)) found.push(`${name(el)}: ${Math.round(r.left)}..${Math.round(r.right)}`);
    if (el.tagName === "BUTTON" && el.scrollWidth > el.clientWidth + 1) {
      found.push(`${name(el)}: its label needs ${el.scrollWidth} px, the button is ${el.clientWidth} px`);
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
    if (n.textContent.trim() === "" || n.parentElement === null) continue;
    if (!n.parentElement.checkVisibility({ visibilityProperty: true })) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    if (out(r) && !scrolls(n)) found.push(`text "${n.textContent.trim().slice(0, 30)}" in ${name(n.parentElement)}: ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  return found.slice(0, 25);
}"""

# Every text a person reads: visible text nodes (not in code, pre, an SVG title or
# description), placeholders and the options of every select.
TEXTS = """() => {
  const skip = new Set(["CODE", "PRE", "KBD", "SAMP", "SCRIPT", "STYLE", "TEXTAREA", "title", "desc"]);
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
    const text = n.textContent.trim();
    if (text === "" || n.parentElement === null) continue;
    let hidden = false;
    for (let e = n.parentElement; e !== null; e = e.parentElement) {
      if (skip.has(e.tagName)) { hidden = true; break; }
    }
    if (hidden) continue;
    const inOption = n.parentElement.closest("option") !== null;
    if (!inOption && !n.parentElement.checkVisibility({ visibilityProperty: true })) continue;
    texts.push(text);
  }
  for (const el of document.querySelectorAll("[placeholder]")) texts.push(el.getAttribute("placeholder"));
  return texts;
}"""


async def login_as_owner(page: Page, hub: Hub) -> None:
    tokens = json.dumps(json.dumps(hub.session))
    await page.context.add_init_script(
        f"if (localStorage.getItem('carhome.session') === null) localStorage.setItem('carhome.session', {tokens});"
    )


async def open_page(page: Page, main: MainPage) -> None:
    await page.goto(main.path)
    await expect(main.ready(page).first).to_be_visible()
    if main.logged_in and main.name != "cabin":
        await live(page)


async def fits(page: Page, where: str) -> None:
    found = await page.evaluate(OVERFLOW)
    assert found == [], f"{where}: wider than the screen: {found}"


async def clickable(page: Page, controls: list[Locator], where: str) -> None:
    for control in controls:
        await expect(control, f"{where}: {control}").to_have_count(1)
        await expect(control, f"{where}: {control}").to_be_visible()
        await expect(control, f"{where}: {control}").to_be_enabled()
        # the browser's own checks: in view, stable, enabled, and what a tap there hits
        await control.click(trial=True, timeout=5000)


async def navigation_works(page: Page, width: int, where: str) -> None:
    """The header's links: in a row when wide; behind the menu button when narrow, every
    link (and the language switch and logout) reachable once it is open."""
    links = page.locator("#main-nav nav a")
    await expect(links).to_have_count(7)
    menu = page.locator(".menu-button")
    if width < MENU_BELOW:
        await expect(links.first).to_be_hidden()
        await clickable(page, [menu], where)
        await menu.click()
        await expect(menu).to_have_attribute("aria-expanded", "true")
        await fits(page, f"{where} (menu open)")
        await clickable(page, [links.nth(i) for i in range(7)], where)
        tools = page.locator(".top-tools button")
        await expect(tools).to_have_count(2)
        await clickable(page, [tools.first, tools.last], where)
        # one line per link: no word broken over lines
        heights = await links.evaluate_all("(as) => as.map((a) => a.getClientRects().length)")
        assert heights == [1] * 7, f"{where}: a menu link wraps: {heights}"
        await menu.click()
        await expect(links.first).to_be_hidden()
    else:
        await expect(menu).to_be_hidden()
        await clickable(page, [links.nth(i) for i in range(7)], where)


# -- every page at every size ----------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
async def test_web_every_page_fits_the_screen_and_its_controls_work(browser: Browser, hub: Hub, size: str) -> None:
    width, height = SIZES[size]
    checked = 0
    async with page_of(browser, hub, viewport={"width": width, "height": height}, has_touch=size != "desktop") as page:
        for main in PAGES:
            where = f"{main.name} at {width}×{height}"
            if main.logged_in and checked == 1:
                await login_as_owner(page, hub)
            await open_page(page, main)
            await fits(page, where)
            await clickable(page, main.controls(page), where)
            if main.logged_in and main.name != "cabin":
                await navigation_works(page, width, where)
            if size == "phone":
                await shot(page, hub, f"phone-{main.name}")
            checked += 1
    print(f"pages fitting {width}×{height} with their controls clickable: {checked} of {len(PAGES)}")
    assert checked == len(PAGES)
