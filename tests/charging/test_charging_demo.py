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

from hub_process import demo_hub, demo_settings, owner_login
from members_rig import bearer

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
    config = demo_settings(data)
    assert config.ocpp is not None
    assert config.ocpp.host == "127.0.0.1"
    assert [c.charger for c in config.charging] == ["wallbox"]
    watcher = ProfileSeen()
    sim_log = logging.getLogger("carhome.sim.wallbox")
    sim_log.addHandler(watcher)
    sim_log.setLevel(logging.INFO)
    try:
        async with demo_hub(data, config) as running:
            async with asyncio.timeout(GUARD_S):
                await watcher.seen.wait()
            async with httpx.AsyncClient(base_url=running.api_url) as api:
                headers = bearer(await owner_login(api, data))
                plans = (await api.get("/api/charging", headers=headers)).json()
                wallbox = (await api.get("/api/devices/yizhuang/wallbox", headers=headers)).json()
    finally:
        sim_log.removeHandler(watcher)
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
