"""A hub process for tests: ``carhome.compose.runtime.run`` in a task of this event loop, as
the ``carhome`` command runs it, started and stopped by an ``async with``.

``demo_hub`` runs the demo configuration (built-in broker, SQLite, the simulated Yizhuang
home) on free loopback ports, as ``carhome demo`` does, with its owner made from the password
the demo keeps in its data directory; ``owner_login`` logs that owner in over the API, and
``owner_writes`` has it write each kind of file the hub keeps (``AUTOMATION`` among them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import msgspec

from carhome.access.service import Access
from carhome.clock import Clock
from carhome.compose.config import Config
from carhome.compose.demo import DEMO_OWNER, demo_config, demo_owner_password
from carhome.compose.runtime import Running, run
from members_rig import login
from mqtt.conftest import free_port

HOME = "yizhuang"
GUARD_S = 30.0
AUTOMATION = f"""home: {HOME}
automations:
  - id: purifier_at_night
    triggers: [{{trigger: time, at: "22:00"}}]
    actions:
      - {{action: command, device: living_room_purifier, name: turn_on}}
"""
"""An automation of the demo home for ``owner_writes``: its time trigger is a timer the hub keeps."""


@contextlib.asynccontextmanager
async def running_hub(
    config: Config,
    *,
    data_dir: Path | None = None,
    owner: Callable[[Access], Any] | None = None,
    automation_files: Sequence[Path] = (),
    clock: Clock | None = None,
    start_s: float = GUARD_S,
    stop_s: float = GUARD_S,
) -> AsyncIterator[Running]:
    """The hub ``config`` describes (on ``clock``, if given), from the moment it announced
    itself until it stopped; a hub that failed to start fails the test with its error."""
    started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run(
            config,
            data_dir=data_dir,
            stop=stop,
            owner=owner,
            announce=started.set_result,
            automation_files=automation_files,
            clock=clock,
        )
    )
    try:
        await asyncio.wait({task, started}, timeout=start_s, return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            raise AssertionError(f"the hub did not start: {task.exception() if task.done() else 'timeout'}")
        yield started.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, stop_s)


def demo_settings(data: Path) -> Config:
    """The demo configuration on free loopback ports, its data in ``data``."""
    return demo_config(speed=1, data_dir=data, api_port=0, mqtt_port=free_port(), mqtt_url=None)


def on_postgres(data: Path, url: str) -> Config:
    """``demo_settings`` with the hub's store in the PostgreSQL database at ``url``."""
    config = demo_settings(data)
    return msgspec.structs.replace(config, hub=msgspec.structs.replace(config.hub, store=url))


@contextlib.asynccontextmanager
async def demo_hub(
    data: Path,
    config: Config | None = None,
    *,
    automation_files: Sequence[Path] = (),
    on_access: Callable[[Access], None] | None = None,
    clock: Clock | None = None,
    bound_s: float = GUARD_S,
) -> AsyncIterator[Running]:
    """The demo hub over ``data`` (``config`` in place of the demo's own, if given), on
    ``clock`` if given, given ``bound_s`` to start and to stop; ``on_access`` is handed
    the hub's access parts as it starts."""
    password = demo_owner_password(data)

    async def owner(access: Access) -> None:
        if on_access is not None:
            on_access(access)
        await access.ensure_owner(DEMO_OWNER, HOME, "Demo owner", password)

    async with running_hub(
        config or demo_settings(data),
        data_dir=data,
        owner=owner,
        automation_files=automation_files,
        clock=clock,
        start_s=bound_s,
        stop_s=bound_s,
    ) as running:
        yield running


async def owner_login(client: httpx.AsyncClient, data: Path) -> dict[str, Any]:
    """The demo owner logged in through ``client``, with the password kept in ``data``."""
    return await login(client, DEMO_OWNER, demo_owner_password(data))


async def owner_writes(
    client: httpx.AsyncClient, auth: dict[str, str], automation: str | None = None
) -> None:
    """The owner sends the purifier a command, saves ``automation`` (if given) and has the
    hub make the garage door's automation delegate key: the hub writes each kind of file
    it keeps."""
    r = await client.post(
        f"/api/devices/{HOME}/living_room_purifier/commands",
        json={"kind": "action", "target": "turn_on", "wait": 10},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    if automation is not None:
        r = await client.post("/api/automations", json={"text": automation}, headers=auth)
        assert r.status_code in (200, 201), r.text
    r = await client.post(
        f"/api/keys/{HOME}/garage_door/delegate/key", json={"domains": ["garage"]}, headers=auth
    )
    assert r.status_code == 200, r.text
