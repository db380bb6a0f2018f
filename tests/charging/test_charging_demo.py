"""The demo hub process charges its car by a plan over OCPP.

Runs ``carhome.compose.runtime.run`` over the demo configuration on free loopback ports, as
``carhome demo`` does: the simulated wallbox must connect to the hub's OCPP server and
receive a charging profile, and the car must have a smart plan on the Beijing
time-of-use tariff, visible through the API.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from carhome.access.service import Access
from carhome.compose.demo import DEMO_OWNER, demo_config, demo_owner_password
from carhome.compose.runtime import Running, run
from mqtt.conftest import free_port

GUARD_S = 30.0


class ProfileSeen(logging.Handler):
    """Sets an event when the simulated wallbox applies a charging profile."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = asyncio.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "Profile at" in message:
            self.messages.append(message)
            self.seen.set()


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


async def test_the_demo_wallbox_connects_over_ocpp_and_gets_a_profile(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    password = demo_owner_password(data)
    config = demo_config(speed=1, data_dir=data, api_port=0, mqtt_port=free_port(), mqtt_url=None)
    assert config.ocpp is not None
    assert config.ocpp.host == "127.0.0.1"
    assert [c.charger for c in config.charging] == ["wallbox"]
    watcher = ProfileSeen()
    sim_log = logging.getLogger("carhome.sim.wallbox")
    sim_log.addHandler(watcher)
    sim_log.setLevel(logging.INFO)
    started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def owner(access: Access) -> None:
        await access.ensure_owner(DEMO_OWNER, "yizhuang", "Demo owner", password)

    task = asyncio.create_task(
        run(config, data_dir=data, stop=stop, owner=owner, announce=started.set_result)
    )
    try:
        async with asyncio.timeout(GUARD_S):
            running = await started
            await watcher.seen.wait()
        async with httpx.AsyncClient(base_url=running.api_url) as api:
            login = await api.post("/api/auth/login", json={"member": DEMO_OWNER, "password": password})
            headers = {"authorization": f"Bearer {login.json()['access_token']}"}
            plans = (await api.get("/api/charging", headers=headers)).json()
            wallbox = (await api.get("/api/devices/yizhuang/wallbox", headers=headers)).json()
    finally:
        stop.set()
        sim_log.removeHandler(watcher)
        await asyncio.wait_for(task, GUARD_S)
    # TxDefaultProfile with no car at the wallbox, TxProfile in a session: the demo runs on
    # real time, so where the simulated car is depends on the hour
    assert watcher.messages[0].startswith(
        ("sim wallbox yizhuang-garage: TxDefaultProfile at", "sim wallbox yizhuang-garage: TxProfile at")
    )
    [plan] = plans
    assert (plan["home"], plan["car"], plan["charger"], plan["mode"], plan["target"]) == (
        "yizhuang",
        "car",
        "wallbox",
        "smart",
        80.0,
    )
    assert plan["departure"].endswith("08:00:00+08:00")
    assert {s["price"] for s in plan["slots"]} <= {0.30, 0.65, 1.05}
    assert wallbox["device"]["connector"] == "ocpp"
    assert wallbox["device"]["online"] is True
    assert (data / "carhome.ocpp.db").is_file()  # its transactions outlive the process
