"""The first-run page in headless Chromium, on a phone (390×844) in English and in Chinese,
and on a desktop (1280×800).

Each test starts a fresh hub as ``carhome serve`` would from ``examples/carhome.yaml`` (free
loopback ports; ``carhome.compose.runtime.run`` in this process, the web app served by it), opens
the setup link the hub made, and goes through the first-run page: the owner (code filled
in from the link), the home (the example's, from its configuration file: read-only), the
first devices (the example's wallbox at the hub's OCPP address), to the logged-in home
page. Every wait is on a condition of the page, never a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from carhome.compose.config import load_config
from carhome.compose.runtime import Running
from hub_process import running_hub
from setup.served import example_config
from web.conftest import page_errors

CHROMIUM: Final = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM: Final = Path(CHROMIUM).exists()
SIZES: Final = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
PASSWORD: Final = "a long first password"

# Latin words the Chinese first-run page may show outside code: the product's name, the
# protocols devices speak, a unit, and the names people gave (the example's home).
LATIN_ALLOWED: Final = frozenset({"carhome", "MQTT", "OCPP", "kWh", "English"})
LATIN_WORD: Final = re.compile(r"[A-Za-zµ°][A-Za-z0-9µ°²³/.+]*[A-Za-z0-9²³]|[A-Za-z]")
TEXTS: Final = """() => {
  const skip = new Set(["CODE", "SCRIPT", "STYLE"]);
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
    const text = n.textContent.trim();
    if (text === "" || n.parentElement === null || n.parentElement.closest("code, script, style")) continue;
    if (!n.parentElement.checkVisibility({ visibilityProperty: true })) continue;
    texts.push(text);
  }
  return texts;
}"""


@contextlib.asynccontextmanager
async def fresh_hub(tmp: Path) -> AsyncIterator[Running]:
    """A hub from the example configuration with no member yet (so it made a setup code)."""
    config = load_config(example_config(tmp))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp / "state"))
        async with running_hub(config, start_s=60) as running:
            yield running


@contextlib.asynccontextmanager
async def browser_page(lang: str, size: str) -> AsyncIterator[Page]:
    if not HAVE_CHROMIUM:
        if os.environ.get("CARHOME_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is not installed, though scripts/test should have installed it")
        pytest.skip("chromium is not installed (scripts/test installs Debian's chromium)")
    async with async_playwright() as p:
        browser: Browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            context = await browser.new_context(
                viewport=SIZES[size], has_touch=size == "phone", locale="zh-CN" if lang == "zh" else "en-US"
            )
            context.set_default_timeout(15_000)
            await context.add_init_script(f"localStorage.setItem('carhome.lang', '{lang}')")
            page = await context.new_page()
            errors = page_errors(page)
            yield page
            assert errors == [], f"errors in the page: {errors}"
        finally:
            await browser.close()


async def shot(page: Page, tmp: Path, name: str) -> None:
    """A screenshot to ``$CARHOME_SCREENSHOTS`` (the README's) or the test's folder."""
    where = Path(os.environ.get("CARHOME_SCREENSHOTS") or tmp)
    await page.screenshot(path=str(where / f"{name}.png"), full_page=True)


async def fits(page: Page, where: str) -> None:
    width, screen = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen, f"{where}: {width} px wide on a {screen} px screen"


async def speaks(page: Page, lang: str, where: str) -> None:
    """In Chinese, no Latin word outside code but the allowed ones and given names."""
    if lang != "zh":
        return
    texts = [t.replace("Yizhuang flat", " ") for t in await page.evaluate(TEXTS)]
    found = [w for t in texts for w in LATIN_WORD.findall(t) if w not in LATIN_ALLOWED]
    assert found == [], f"{where} in Chinese shows words not in the catalog: {found}"


WORDS: Final = {
    "en": {
        "owner": "Become the owner",
        "next": "Next",
        "finish": "Go to my home",
        "wrong": "setup code is wrong",
    },
    "zh": {"owner": "成为主人", "next": "下一步", "finish": "进入我的家", "wrong": "设置码不对"},
}


@pytest.mark.parametrize(("lang", "size"), [("en", "phone"), ("zh", "phone"), ("en", "desktop")])
async def test_the_first_run_page_makes_the_owner_and_opens_the_home(
    tmp_path: Path, lang: str, size: str
) -> None:
    words = WORDS[lang]
    name = f"{size}-setup{'-zh' if lang == 'zh' else ''}"
    async with fresh_hub(tmp_path) as hub, browser_page(lang, size) as page:
        assert hub.setup_url is not None
        code = hub.setup_url.rpartition("code=")[2]
        # the app sends a visitor of a hub without owner to the first-run page
        await page.goto(hub.api_url + "/")
        await expect(page).to_have_url(re.compile(r"/setup$"))
        owner = page.get_by_test_id("setup-owner")
        await expect(owner.locator('input[name="code"]')).to_have_value("")
        # a wrong code is refused in words
        await owner.locator('input[name="code"]').fill("WRONG-CODE-0000")
        await owner.locator('input[name="member"]').fill("ana")
        await owner.locator('input[name="password"]').fill(PASSWORD)
        await owner.locator('input[name="again"]').fill(PASSWORD)
        await owner.get_by_role("button", name=words["owner"]).click()
        await expect(owner.get_by_role("alert")).to_contain_text(words["wrong"])
        await speaks(page, lang, "the owner step")
        await fits(page, "the owner step")

        # the link fills the code in
        await page.goto(hub.setup_url)
        owner = page.get_by_test_id("setup-owner")
        await expect(owner.locator('input[name="code"]')).to_have_value(code)
        await owner.locator('input[name="member"]').fill("ana")
        await owner.locator('input[name="name"]').fill("Ana")
        await owner.locator('input[name="password"]').fill(PASSWORD)
        await owner.locator('input[name="again"]').fill(PASSWORD)
        await shot(page, tmp_path, name)
        await owner.get_by_role("button", name=words["owner"]).click()

        home = page.get_by_test_id("setup-home")
        await expect(home).to_contain_text("Yizhuang flat")  # from the configuration file, read-only
        await expect(home.locator("input")).to_have_count(0)
        assert "code=" not in page.url  # the spent code leaves the address bar
        await speaks(page, lang, "the home step")
        await fits(page, "the home step")
        await home.get_by_role("button", name=words["next"]).click()

        devices = page.get_by_test_id("setup-devices")
        await expect(devices).to_contain_text("carhome/yizhuang/{device}/state")
        await expect(devices).to_contain_text("/ocpp/garage-1")
        await speaks(page, lang, "the devices step")
        await fits(page, "the devices step")
        await shot(page, tmp_path, f"{name}-devices")
        await devices.get_by_role("button", name=words["finish"]).click()

        # the logged-in home page, live
        await expect(page).to_have_url(re.compile(r"/$"))
        await expect(page.locator(".home-name")).to_have_text("Yizhuang flat")
        await expect(page.get_by_test_id("live")).to_have_attribute("data-live", "live")
        await fits(page, "the home page")
        session = await page.evaluate("() => JSON.parse(localStorage.getItem('carhome.session')).member")
        assert session == "ana"
