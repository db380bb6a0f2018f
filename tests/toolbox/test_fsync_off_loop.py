"""No fsync on the event loop: a demo hub writes every file it keeps from another thread.

Runs ``carhome.compose.runtime.run`` over the demo configuration (built-in broker, SQLite, the
simulated home) as ``carhome demo`` does, with ``os.fsync`` counted by the thread that
calls it. The owner logs in, sends a command, saves an automation and has the hub make an
automation delegate key, so the hub writes its databases' neighbours, automation files and
key files while it serves. SQLite's own syncs run on each file's thread by construction
(``carhome.sqlitefile``); this counts the ones carhome makes itself (``carhome.files``).
"""

from __future__ import annotations

import asyncio
import os
import threading
import traceback
from pathlib import Path

import httpx
import pytest

from carhome.access.service import Access
from carhome.compose.demo import DEMO_OWNER, demo_config, demo_owner_password
from carhome.compose.runtime import Running, run
from mqtt.conftest import free_port

HOME = "yizhuang"
AUTOMATION = f"""home: {HOME}
automations:
  - id: purifier_at_night
    triggers: [{{trigger: time, at: "22:00"}}]
    actions:
      - {{action: command, device: living_room_purifier, name: turn_on}}
"""


class Fsyncs:
    """``os.fsync`` that counts its calls, and which of them ran on the event loop's thread."""

    def __init__(self, loop_thread: int) -> None:
        self._fsync = os.fsync
        self._loop_thread = loop_thread
        self.total = 0
        self.on_loop: list[str] = []

    def __call__(self, fd: int) -> None:
        self.total += 1
        if threading.get_ident() == self._loop_thread:
            try:
                what = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                what = f"fd {fd}"
            callers = [f"{f.filename.rpartition('/carhome/')[2]}:{f.lineno}" for f in _carhome_frames()]
            self.on_loop.append(f"{what} <- {' / '.join(callers)}")
        self._fsync(fd)


def _carhome_frames() -> list[traceback.FrameSummary]:
    return [f for f in traceback.extract_stack()[:-2] if "/src/carhome/" in f.filename]


async def test_a_serving_hub_never_fsyncs_on_its_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    data = tmp_path / "demo"
    password = demo_owner_password(data)
    config = demo_config(speed=1, data_dir=data, api_port=0, mqtt_port=free_port(), mqtt_url=None)
    fsyncs = Fsyncs(threading.get_ident())
    monkeypatch.setattr(os, "fsync", fsyncs)
    started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def owner(access: Access) -> None:
        await access.ensure_owner(DEMO_OWNER, HOME, "Demo owner", password)

    task = asyncio.create_task(
        run(config, data_dir=data, stop=stop, owner=owner, announce=started.set_result)
    )
    try:
        async with asyncio.timeout(30):
            running = await started
        async with httpx.AsyncClient(base_url=running.api_url, timeout=20) as client:
            r = await client.post("/api/auth/login", json={"member": DEMO_OWNER, "password": password})
            r.raise_for_status()
            auth = {"authorization": f"Bearer {r.json()['access_token']}"}
            r = await client.post(
                f"/api/devices/{HOME}/living_room_purifier/commands",
                json={"kind": "action", "target": "turn_on", "wait": 10},
                headers=auth,
            )
            assert r.status_code == 200, r.text
            r = await client.post("/api/automations", json={"text": AUTOMATION}, headers=auth)
            assert r.status_code in (200, 201), r.text
            r = await client.post(
                f"/api/keys/{HOME}/garage_door/delegate/key", json={"domains": ["garage"]}, headers=auth
            )
            assert r.status_code == 200, r.text
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert (data / "delegates" / HOME / "garage_door.pem").exists()
    print(f"\nfsyncs on the event loop: {len(fsyncs.on_loop)} of {fsyncs.total}")
    assert fsyncs.total > 0  # the count sees the hub's writes
    assert fsyncs.on_loop == [], "\n".join(fsyncs.on_loop)
