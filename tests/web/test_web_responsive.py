"""Every main page at phone, tablet, desktop and car-screen sizes, and in one language at a time, in
headless Chromium against a real demo hub (the hub, browser and page helpers of conftest.py; a
seeded history so the trips page has rows, and a guest with a grant, a refused command and an
allowed one so the members page has grants and an audit log with both decisions).

What is checked at each size: nothing is wider than the screen (the document's
``scrollWidth``, and every visible element and text outside a scrollable box), no button's
label is cut, and each page's main controls are visible and clickable. In Chinese, every
visible text is walked and any Latin-letter word fails the test unless it is a name the
home's people gave (devices, members, automations, the home, its places), an id in a code
element, or one of the units and proper names listed in ``LATIN_ALLOWED``. The spec tables
in ``web/src/i18n/spec`` are held to every spec the hub serves.

Screenshots of every page at phone size, in English and in Chinese, go where
conftest.py puts them (``CARHOME_SCREENSHOTS``).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, expect

from carhome.spec.devices import SPECS
from web.conftest import Hub, acked, add_guest, client_of, demo_hub, live, page_of, shot

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[2]
SPEC_WORDS = ROOT / "web" / "src" / "i18n" / "spec"

SIZES: dict[str, tuple[int, int]] = {
    "phone": (390, 844),
    "small-phone": (360, 740),
    "tablet": (820, 1180),
    "desktop": (1280, 800),
    "car-screen": (1920, 720),
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
        # the language switch names the other language in that language
        "English",
    }
)  # fmt: skip
LATIN_WORD = re.compile(r"[A-Za-zµ°][A-Za-z0-9µ°²³/.+]*[A-Za-z0-9²³]|[A-Za-z]")

# -- the hub and what it holds ------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """A demo hub with trips and charges, a guest with a grant, and audit entries allowed
    and denied."""
    async with demo_hub(tmp_path_factory.mktemp("web-responsive"), history=True) as demo:
        async with client_of(demo) as client:
            guest = await add_guest(client, GUEST, GUEST_PASSWORD, [(["living_room_light"], ["on"])], hours=2)
        async with client_of(demo, guest) as client:
            # within the grant: allowed; the garage: refused (no grant names it)
            await acked(client, "living_room_light", "set", "on", {"value": True})
            r = await client.post(
                "/api/devices/yizhuang/garage_door/commands",
                json={"kind": "action", "target": "open", "args": {}},
            )
            assert r.status_code == 403, r.text
        yield demo


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
        "automations",
        "/automations",
        lambda p: p.locator('tr[data-automation="arrive"]'),
        _automation_controls,
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
    if (out(r) && !scrolls(n)) {
      const text = n.textContent.trim().slice(0, 30);
      found.push(`text "${text}" in ${name(n.parentElement)}: ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  return found.slice(0, 25);
}"""

# The charts' labels drawn smaller than this (the height of a text's box, in CSS pixels:
# about an 8.5 px font) cannot be read on a phone.
LEGIBLE_PX = 10
SMALL_CHART_TEXT = """(least) => [...document.querySelectorAll("figure.chart svg text")]
  .filter((t) => t.textContent.trim() !== "" && t.checkVisibility())
  .map((t) => [t.textContent.trim(), Math.round(t.getBoundingClientRect().height * 10) / 10])
  .filter(([, h]) => h < least)"""

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
        "if (localStorage.getItem('carhome.session') === null)"
        f" localStorage.setItem('carhome.session', {tokens});"
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
        tools = page.locator(".top-tools button")
        await clickable(page, [*(links.nth(i) for i in range(7)), tools.first, tools.last], where)


# -- every page at every size ----------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
async def test_web_every_page_fits_the_screen_and_its_controls_work(
    browser: Browser, hub: Hub, size: str
) -> None:
    width, height = SIZES[size]
    checked = 0
    async with page_of(
        browser,
        hub,
        viewport={"width": width, "height": height},
        has_touch=size != "desktop",
    ) as page:
        for main in PAGES:
            where = f"{main.name} at {width}×{height}"
            if main.logged_in and checked == 1:
                await login_as_owner(page, hub)
            await open_page(page, main)
            await fits(page, where)
            small = await page.evaluate(SMALL_CHART_TEXT, LEGIBLE_PX)
            assert small == [], f"{where}: chart labels too small to read: {small}"
            await clickable(page, main.controls(page), where)
            if main.logged_in and main.name != "cabin":
                await navigation_works(page, width, where)
            if size == "phone":
                await shot(page, hub, f"phone-{main.name}")
            checked += 1
    print(f"pages fitting {width}×{height} with their controls clickable: {checked} of {len(PAGES)}")
    assert checked == len(PAGES)


# -- one language at a time ------------------------------------------------------------------


async def given_names(hub: Hub) -> list[str]:
    """The names the home's people gave, which stay as given in any language: devices,
    members, automations, scenes, the home and its places (but carhome's own words for
    places: home, away and the demo's work and supermarket are translated)."""
    async with client_of(hub) as client:
        homes = (await client.get("/api/homes")).json()
        devices = (await client.get("/api/devices")).json()
        members = (await client.get("/api/members")).json()
        automations = (await client.get("/api/automations")).json()
    names = [d["name"] for d in devices] + [m["name"] for m in members] + [a["alias"] for a in automations]
    names += [h["name"] for h in homes]
    names += [
        p["name"]
        for h in homes
        for p in h["places"]
        if p["name"] not in {"home", "away", "work", "supermarket"}
    ]
    # longest first, so a name inside another is not taken out of it first
    return sorted({n for n in names if n}, key=len, reverse=True)


def latin_words(texts: list[str], names: list[str]) -> list[str]:
    """The Latin-letter words in ``texts`` once the given names are taken out, other than
    the allowed units and proper names."""
    found = []
    for text in texts:
        rest = text
        for name in names:
            rest = rest.replace(name, " ")
        found.extend(
            f"{word!r} in {text!r}"
            for word in LATIN_WORD.findall(rest)
            if word.rstrip(".") not in LATIN_ALLOWED and word not in LATIN_ALLOWED
        )
    return found


async def test_web_every_page_speaks_chinese_only(browser: Browser, hub: Hub) -> None:
    names = await given_names(hub)
    width, height = SIZES["phone"]
    walked = 0
    async with page_of(browser, hub, viewport={"width": width, "height": height}, has_touch=True) as page:
        await page.context.add_init_script("localStorage.setItem('carhome.lang', 'zh')")
        for main in PAGES:
            if main.logged_in and walked == 1:
                await login_as_owner(page, hub)
            await open_page(page, main)
            if main.name == "members":  # the grant editor too: its targets are spec words
                await page.locator(f'tr[data-member="{GUEST}"] .grant button').first.click()
                await expect(
                    page.get_by_test_id("grant-editor").locator('input[name="target"]').first
                ).to_be_visible()
            if main.name == "trips":  # and a trip's map
                await page.get_by_test_id("trips-table").locator("tbody tr").first.click()
                await expect(page.get_by_test_id("trip-map")).to_be_visible()
            if main.logged_in and main.name != "cabin":
                await page.locator(".menu-button").click()  # the menu's words too
            found = latin_words(await page.evaluate(TEXTS), names)
            assert found == [], f"{main.name} in Chinese shows words not in the catalog: {found}"
            await fits(page, f"{main.name} in Chinese")
            await shot(page, hub, f"phone-{main.name}-zh")
            walked += 1
    print(f"pages in Chinese with no untranslated word: {walked} of {len(PAGES)}")
    assert walked == len(PAGES)


async def test_web_the_latin_word_check_finds_what_it_must() -> None:
    """The walk's own check: an English word fails, a given name, a unit and an id pass."""
    names = ["Living room light"]
    assert latin_words(["客厅：Living room light 已打开，80 %，12.5 kWh，PM2.5"], names) == []
    assert latin_words(["状态：cooking"], names) == ["'cooking' in '状态：cooking'"]
    assert latin_words(["locked: 是"], names) == ["'locked' in 'locked: 是'"]
    assert latin_words(["Mar 5, 14:05"], names) == ["'Mar' in 'Mar 5, 14:05'"]
    assert latin_words(["temperature: 21 °C"], names) == ["'temperature' in 'temperature: 21 °C'"]


async def test_web_the_spec_tables_name_everything_the_hub_serves(hub: Hub) -> None:
    """Every device type, property, action, argument, event, enum value, boolean meaning
    and unit of every spec the hub serves (and of every spec carhome defines) has words in
    both the English and the Chinese tables."""
    tables = {lang: json.loads((SPEC_WORDS / f"{lang}.json").read_text()) for lang in ("en", "zh")}
    async with client_of(hub) as client:
        devices = (await client.get("/api/devices")).json()
        served = {}
        for d in devices:
            detail = (await client.get(f"/api/devices/{d['home']}/{d['id']}")).json()
            served[detail["spec"]["type"]] = detail["spec"]
    assert {"car", "light", "air_conditioner", "garage_door", "wallbox"} <= set(served)
    missing: list[str] = []
    names = 0

    def need(lang: str, table: dict[str, Any], key: str, where: str) -> None:
        nonlocal names
        names += 1
        if not isinstance(table.get(key), str) or table[key] == "":
            missing.append(f"{lang}: {where}")

    def values(lang: str, words: dict[str, Any], prop: dict[str, Any], where: str) -> None:
        meanings = words["values"].get(prop["name"], {})
        if prop["allowed"]:
            for value in prop["allowed"]:
                need(lang, meanings, value, f"{where} = {value}")
        if prop["format"] == "bool":
            for value in ("true", "false"):
                need(lang, meanings, value, f"{where} = {value}")
        if prop.get("unit"):
            need(lang, tables[lang]["units"], prop["unit"], f"unit {prop['unit']} of {where}")

    for lang, table in tables.items():
        for type_, spec in served.items():
            words = table["types"].get(type_)
            if words is None:
                missing.append(f"{lang}: device type {type_}")
                continue
            need(lang, words, "title", f"{type_} title")
            for prop in spec["properties"]:
                need(lang, words["properties"], prop["name"], f"{type_}.{prop['name']}")
                values(lang, words, prop, f"{type_}.{prop['name']}")
            for action in spec["actions"]:
                need(lang, words["actions"], action["name"], f"{type_} action {action['name']}")
                for arg in action["args"]:
                    need(lang, words["args"], arg["name"], f"{type_} {action['name']}({arg['name']})")
                    values(lang, words, arg, f"{type_} {action['name']}({arg['name']})")
            for event in spec["events"]:
                need(lang, words["events"], event["name"], f"{type_} event {event['name']}")
                for field in event["fields"]:
                    need(lang, words["fields"], field["name"], f"{type_} {event['name']}.{field['name']}")
                    values(lang, words, field, f"{type_} {event['name']}.{field['name']}")
        # and the types no demo device has
        missing.extend(f"{lang}: device type {type_}" for type_ in SPECS if type_ not in table["types"])
    print(f"spec names without words: {len(missing)} of {names}")
    assert missing == []
    # the two languages name the same things
    assert tables["en"]["units"].keys() == tables["zh"]["units"].keys()
    for type_, words in tables["en"]["types"].items():
        zh = tables["zh"]["types"][type_]
        for part in ("properties", "actions", "args", "events", "fields", "values"):
            assert words[part].keys() == zh[part].keys(), (type_, part)
