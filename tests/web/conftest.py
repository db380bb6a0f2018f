"""The web tests' hub, browser and page helpers: a real demo hub, headless Chromium, a page per test.

A demo hub (``carhome.compose.runtime.run`` over the demo configuration: built-in broker,
SQLite, the simulated Yizhuang home) and one browser serve a whole module (the fixtures
``hub`` and ``browser``; a module that needs another hub defines its own ``hub`` from
``demo_hub``); each test has its own browser context (its own storage, so its own login).
Playwright drives Debian's Chromium by its executable path; every wait is on a condition of
the page, never a fixed time.

Screenshots of the main pages go to ``$CARHOME_SCREENSHOTS`` when it is set (the README's
come from ``CARHOME_SCREENSHOTS=docs/screenshots``), else to the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import gmqtt
import httpx
import msgspec
import pytest
import pytest_asyncio
from gmqtt.mqtt.constants import MQTTv311
from playwright.async_api import Browser, ConsoleMessage, Locator, Page, async_playwright, expect

from carhome.api.server import ApiServer
from carhome.compose.config import Config
from carhome.compose.demo import DEMO_AUTOMATIONS, DEMO_HOME, DEMO_OWNER, demo_config, demo_owner_password
from carhome.compose.runtime import DATABASE
from carhome.history import ChargeSession, SqliteHistoryStore, Trip
from carhome.mqtt.credentials import CREDENTIALS_FILE, Credentials
from carhome.web import web_routes
from hub_process import demo_hub as running_demo
from members_rig import login
from mqtt.conftest import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
DAY = 86_400.0
# A position report the simulator may overwrite is sent again this many times, waiting
# this long each time for the page to show it.
REPORTS = 5
REPORT_WAIT_MS = 3000


class _WithWeb(ApiServer):
    """The hub's API server with the web app after every API route, as the hub will serve it
    once ``web_routes()`` is wired in ``carhome.compose.runtime`` (then this adds nothing)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        if not any(getattr(r, "name", None) == "web" for r in app.router.routes):
            app.router.routes.extend(web_routes())
        super().__init__(app, **kwargs)


def screenshots(tmp: Path) -> Path:
    shots = Path(os.environ.get("CARHOME_SCREENSHOTS") or tmp / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    return shots


@dataclass
class Hub:
    url: str
    password: str
    session: dict[str, Any]
    shots: Path
    broker_port: int
    data: Path


def parked(config: Config) -> Config:
    """The demo on the real week, without its household routine: the car stays at home, plugged
    in, whatever the day and hour the suite runs at (on a weekday morning it would drive off)."""
    return msgspec.structs.replace(config, sim=msgspec.structs.replace(config.sim, routine=False))


def local_noon_today(now: float) -> float:
    """Noon of today in the demo home's timezone: the seeded history keeps its shape (which
    local day each trip and charge falls on) whatever the time of day the suite runs at."""
    zone = ZoneInfo(DEMO_HOME.timezone)
    return datetime.fromtimestamp(now, zone).replace(hour=12, minute=0, second=0, microsecond=0).timestamp()


def seeded_history(now: float) -> tuple[list[Trip], list[ChargeSession]]:
    """Three trips over two days (two on the same day) and two charges, all in the past."""
    lat, lon = DEMO_HOME.lat, DEMO_HOME.lon

    def trip(start: float, km: float, kwh: float, dlat: float, dlon: float) -> Trip:
        return Trip(
            id=f"trip-yizhuang-car-{int(start * 1000)}",
            home="yizhuang",
            car="car",
            start=start,
            end=start + 1800,
            start_place="home",
            end_place=None,
            start_lat=lat,
            start_lon=lon,
            end_lat=lat + dlat,
            end_lon=lon + dlon,
            odometer_start_km=1000.0,
            odometer_end_km=1000.0 + km,
            distance_km=km,
            energy_kwh=kwh,
            wh_per_km=round(kwh * 1000 / km, 1),
            soc_start=80.0,
            soc_end=70.0,
            max_speed_kmh=60.0,
        )

    def charge(start: float, kwh: float, cost: float) -> ChargeSession:
        return ChargeSession(
            id=f"charge-yizhuang-car-{int(start * 1000)}",
            home="yizhuang",
            car="car",
            start=start,
            end=start + 7200,
            place="home",
            lat=lat,
            lon=lon,
            charger="wallbox",
            added_kwh=kwh,
            grid_kwh=round(kwh * 1.08, 3),
            loss_kwh=round(kwh * 0.08, 3),
            peak_kw=7.0,
            soc_start=40.0,
            soc_end=80.0,
            cost=cost,
            cost_basis="grid",
        )

    day1 = now - 3 * DAY
    day2 = now - 1 * DAY
    trips = [
        trip(day1, 12.5, 2.1, 0.01, 0.02),
        trip(day1 + 3 * 3600, 8.0, 1.5, -0.02, 0.01),
        trip(day2, 30.2, 5.0, 0.05, -0.04),
    ]
    charges = [charge(day1 - 6 * 3600, 20.0, 6.5), charge(day2 - 6 * 3600, 14.0, 4.2)]
    return trips, charges


async def _seed(data: Path) -> None:
    """Put ``seeded_history`` into the hub's history before it starts."""
    trips, charges = seeded_history(local_noon_today(time.time()))
    await asyncio.to_thread(data.mkdir, parents=True)
    store = SqliteHistoryStore.beside(data / DATABASE)
    await store.open()
    try:
        await store.commit([*trips, *charges], [])
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def demo_hub(
    tmp: Path,
    *,
    configure: Callable[[Config], Config] = parked,
    automation_files: Sequence[Path] = (DEMO_AUTOMATIONS,),
    history: bool = False,
) -> AsyncIterator[Hub]:
    """A demo hub (``carhome.compose.runtime.run`` over the demo configuration, changed by
    ``configure``) with the web app, its data in ``tmp/demo`` (with ``history``, holding the
    trips and charges of ``seeded_history``), logged into as the owner."""
    data = tmp / "demo"
    if history:
        await _seed(data)
    password = demo_owner_password(data)
    broker_port = free_port()
    config = demo_config(speed=1, data_dir=data, api_port=0, mqtt_port=broker_port, mqtt_url=None)
    # A module's tests share the owner's one login (``Hub.session``): on a loaded machine a
    # module takes longer than the demo's 5-minute access token. Pages refresh their own.
    config = msgspec.structs.replace(
        config, access=msgspec.structs.replace(config.access, access_token_minutes=120)
    )
    config = configure(config)
    shots = screenshots(tmp)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp / "state"))
        patch.setattr("carhome.api.part.ApiServer", _WithWeb)
        async with (
            running_demo(data, config, automation_files=automation_files) as running,
            httpx.AsyncClient(base_url=running.api_url) as client,
        ):
            session = await login(client, DEMO_OWNER, password)
            yield Hub(running.api_url, password, session, shots, broker_port, data)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with demo_hub(tmp_path_factory.mktemp("web")) as demo:
        yield demo


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        if os.environ.get("CARHOME_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is not installed, though scripts/test should have installed it")
        pytest.skip("chromium is not installed (scripts/test installs Debian's chromium)")
    async with async_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        b = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            await b.close()


def client_of(hub: Hub, session: dict[str, Any] | None = None) -> httpx.AsyncClient:
    """The hub's API as the owner (or as the member of ``session``)."""
    token = (session or hub.session)["access_token"]
    return httpx.AsyncClient(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


async def acked(
    client: httpx.AsyncClient, device: str, kind: str, target: str, args: dict[str, Any] | None = None
) -> None:
    """Run a command on a device of the demo home and wait for the device's ack."""
    r = await client.post(
        f"/api/devices/yizhuang/{device}/commands",
        json={"kind": kind, "target": target, "args": args or {}, "wait": 20},
    )
    assert r.json()["status"] == "acked", r.text


async def add_guest(
    client: httpx.AsyncClient,
    member: str,
    password: str,
    grants: Sequence[tuple[list[str], list[str]]],
    *,
    hours: float,
) -> dict[str, Any]:
    """Add a guest with ``grants`` (devices, targets) from a minute ago for ``hours``; the
    guest's session, logged in."""
    r = await client.post(
        "/api/members", json={"id": member, "name": "Guest driver", "role": "guest", "password": password}
    )
    assert r.status_code == 201, r.text
    now = time.time()
    for devices, targets in grants:
        r = await client.post(
            f"/api/members/{member}/grants",
            json={"devices": devices, "targets": targets, "starts": now - 60, "ends": now + hours * 3600},
        )
        assert r.status_code == 201, r.text
    r = await client.post("/api/auth/login", json={"member": member, "password": password})
    assert r.status_code == 200, r.text
    guest: dict[str, Any] = r.json()
    return guest


async def new_page(browser: Browser, hub: Hub, session: dict[str, Any] | None = None, **options: Any) -> Page:
    """A fresh context's page; with ``session``, already logged in (tokens in its storage)."""
    context = await browser.new_context(base_url=hub.url, **{"locale": "en-US", **options})
    context.set_default_timeout(15_000)
    if session is not None:
        tokens = json.dumps(json.dumps(session))
        # Only into a fresh storage: a reload keeps what the app itself stored since.
        await context.add_init_script(
            "if (localStorage.getItem('carhome.session') === null)"
            f" localStorage.setItem('carhome.session', {tokens});"
        )
    return await context.new_page()


def page_errors(page: Page) -> list[str]:
    """The errors ``page`` shows from now on: its script errors and its console's."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(message: ConsoleMessage) -> None:
        # A refused request (401 at a wrong password, 403 at a denial) is logged by Chromium
        # itself and is part of the test; anything else (a CSP violation, a script error) is not.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", console)
    return errors


@contextlib.asynccontextmanager
async def page_of(
    browser: Browser, hub: Hub, session: dict[str, Any] | None = None, **options: Any
) -> AsyncIterator[Page]:
    page = await new_page(browser, hub, session, **options)
    errors = page_errors(page)
    try:
        yield page
    finally:
        await page.context.close()
    assert errors == [], f"errors in the page: {errors}"


@contextlib.asynccontextmanager
async def home_page(browser: Browser, hub: Hub) -> AsyncIterator[Page]:
    """The home overview, logged in as the owner, once it hears the hub live."""
    async with page_of(browser, hub, hub.session) as page:
        await page.goto("/")
        await live(page)
        yield page


async def shot(page: Page, hub: Hub, name: str) -> None:
    await page.screenshot(path=str(hub.shots / f"{name}.png"), full_page=True)


async def live(page: Page) -> None:
    await expect(page.get_by_test_id("live")).to_have_attribute("data-live", "live")


@contextlib.asynccontextmanager
async def as_the_car(hub: Hub) -> AsyncIterator[gmqtt.Client]:
    """An MQTT client on the hub's broker speaking for the car (with the car's own login
    where the broker asks for one), to report positions the simulator would not."""
    car = gmqtt.Client(f"web-test-car-{free_port()}")
    credentials = hub.data / CREDENTIALS_FILE
    if credentials.exists():
        login = Credentials.load(credentials).device("yizhuang", "car")
        car.set_auth_credentials(login.username, login.password)
    await asyncio.wait_for(car.connect("127.0.0.1", hub.broker_port, version=MQTTv311), 10)
    try:
        yield car
    finally:
        await car.disconnect()


def report(car: gmqtt.Client, **signals: float | bool) -> None:
    """Publish car state; keyword names are VSS paths with ``_`` for ``.``."""
    state = {name.replace("_", "."): value for name, value in signals.items()}
    car.publish("carhome/yizhuang/car/state", json.dumps(state), qos=1)


async def report_until(
    car: gmqtt.Client, shown: Locator, text: str | re.Pattern[str], **signals: float | bool
) -> None:
    """Report ``signals`` until ``shown`` contains ``text``, ``REPORTS`` times at most: the
    simulator speaks for the car too and may report its own values at any moment, so the test
    reports again, as a driving car does every second. The caller's next expectation judges."""
    for _ in range(REPORTS):
        report(car, **signals)
        with contextlib.suppress(AssertionError):
            await expect(shown).to_contain_text(text, timeout=REPORT_WAIT_MS)
            return
