"""Soak: the demo world runs a simulated week at high speed; memory and files stay bounded.

``carhome.compose.runtime.run`` over ``demo_config`` — the built-in broker, the simulated home of
Yizhuang (car, wallbox over OCPP, lights, locks, the garage …) with its automations,
charging plans, history and API — on a clock running ``SPEED`` times real time, so a week
passes in under two minutes. Every simulated hour the owner sends a command to the living
room light through the API (a real HTTP client), with a TTL of six simulated hours.

Figures: ``rss growth`` (the process's resident memory from the end of the first simulated
day to the end of the week), ``data dir growth`` (the data directory over the same span,
and its size once the hub stopped), ``commands lost`` (the owner's commands not acked).
The demo's own commands (automations, charging) keep their TTLs of 30 to 60 simulated
seconds, which at this speed are 5 to 10 ms of wall time, so most of them expire; they
are counted too, and none may stay pending past its expiry while the hub runs (with a wall
second of slack for a busy loop).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import pytest

from carhome.clock import ScaledClock
from carhome.compose.demo import DEMO_AUTOMATIONS, DEMO_HOME, DEMO_OWNER, demo_config, demo_owner_password
from carhome.compose.runtime import DATABASE
from carhome.hub import CommandStatus
from carhome.mqtt.broker import DIRECTORY as BROKER_STORE
from carhome.store import SqliteStore
from hub_process import demo_hub
from mqtt.conftest import free_port

from .conftest import BOUND

SPEED = 6000.0  # a simulated week in about 100 s
HOUR = 3600.0
DAYS = 7
TTL = 6 * HOUR  # 3.6 s of wall time: room for a slow machine
LIGHT = "living_room_light"


def rss_mb() -> float:
    """This process's resident memory."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * 4096 / 2**20


async def log_in(api: httpx.AsyncClient, password: str) -> dict[str, str]:
    r = await api.post("/api/auth/login", json={"member": DEMO_OWNER, "password": password})
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['access_token']}"}


def size_mb(directory: Path, *, without: str | None = None) -> float:
    files = [f for f in directory.rglob("*") if f.is_file()]
    if without is not None:
        files = [f for f in files if not f.is_relative_to(directory / without)]
    return sum(f.stat().st_size for f in files) / 2**20


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.mark.timeout(400)
async def test_a_simulated_week_of_the_demo_stays_bounded(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    password = demo_owner_password(data)
    config = demo_config(speed=SPEED, data_dir=data, api_port=0, mqtt_port=free_port(), mqtt_url=None)
    # an access token lives a simulated day at most: the owner logs in twice a day
    config = msgspec.structs.replace(
        config, access=msgspec.structs.replace(config.access, access_token_minutes=24 * 60)
    )
    clock = ScaledClock(SPEED)
    sent: list[str] = []
    demo = demo_hub(data, config, automation_files=[DEMO_AUTOMATIONS], clock=clock, bound_s=BOUND)
    async with demo as running:
        begun = clock.time()
        async with httpx.AsyncClient(base_url=running.api_url, timeout=BOUND) as api:
            headers: dict[str, str] = {}
            for hour in range(DAYS * 24):
                if hour % 12 == 0:
                    headers = await log_in(api, password)
                brightness = {"value": 1 + hour % 100}
                r = await api.post(
                    f"/api/devices/{DEMO_HOME.id}/{LIGHT}/commands",
                    json={"kind": "set", "target": "brightness", "args": brightness, "ttl": TTL},
                    headers=headers,
                )
                assert r.status_code in (200, 202), r.text
                sent.append(r.json()["id"])
                if hour == 23:  # the first day is the warm-up: caches, history, plans
                    rss_day1, data_day1 = rss_mb(), size_mb(data)
                await clock.sleep(begun + (hour + 1) * HOUR - clock.time())
            rss_week, data_week = rss_mb(), size_mb(data)
            headers = await log_in(api, password)
            results = []
            for i in sent:  # a token lives a simulated day, 14 s of wall time: a slow machine logs in again
                r = await api.get(f"/api/commands/{i}", params={"wait": 5}, headers=headers)
                if r.status_code == 401:
                    headers = await log_in(api, password)
                    r = await api.get(f"/api/commands/{i}", params={"wait": 5}, headers=headers)
                results.append(r.json()["status"])
            simulated_days = (clock.time() - begun) / (24 * HOUR)
        stopping = clock.time()
    # stopped: every write-ahead file checkpointed into its database
    at_rest, broker_at_rest = size_mb(data, without=BROKER_STORE), size_mb(data / BROKER_STORE)
    async with SqliteStore(data / DATABASE) as store:
        everything = await store.commands(limit=10**6)
    others = [c for c in everything if c.id not in set(sent)]
    # a deadline that fell due while the hub ran must have ended its command: at this speed a
    # wall second is SPEED simulated ones, the slack of a busy loop; a command still within
    # that second when the hub stopped waits, durably, to end "expired" at the next start
    stuck = [c for c in everything if not c.status.final and c.expires <= stopping - SPEED]
    lost = [s for s in results if s != CommandStatus.ACKED.value]
    growth = 100 * (rss_week - rss_day1) / rss_day1
    acked = sum(c.status is CommandStatus.ACKED for c in others)
    expired = sum(c.status is CommandStatus.EXPIRED for c in others)
    print(
        f"\nsoak: {simulated_days:.1f} simulated days at {SPEED:.0f}x, rss growth: {growth:.1f} %"
        f" ({rss_day1:.0f} -> {rss_week:.0f} MB), data dir growth: {data_week - data_day1:.1f} MB"
        f" ({data_week:.1f} MB running; at rest {at_rest:.1f} MB of databases,"
        f" {broker_at_rest:.1f} MB of the broker's retained messages),"
        f" commands lost: {len(lost)} of {len(sent)};"
        f" demo commands: {len(others)} ({acked} acked, {expired} expired),"
        f" pending past expiry: {len(stuck)}"
    )
    assert simulated_days >= DAYS
    assert lost == []
    assert stuck == []
    assert growth < 10
    # SQLite's write-ahead files fill up to their checkpoint size (4 MB for the hub's, the
    # history's and the timers' databases), then stay; what is kept grows with the history
    assert data_week - data_day1 < 12
    assert at_rest < 4
    # the built-in broker keeps retained messages in JetStream blocks of up to 8 MB, and
    # compacts a block once most of it is replaced: at most two blocks at a time
    assert broker_at_rest < 16
