"""One demo hub per module for the say tests: ``carhome.compose.runtime.run`` over the demo
configuration (built-in broker, SQLite, the simulated Yizhuang home) on loopback ports,
with access control on and the owner logged in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from say_rig import DemoHub

from carhome.access.service import Access
from carhome.compose.demo import DEMO_OWNER, demo_config, demo_owner_password
from carhome.compose.runtime import Running, run
from mqtt.conftest import free_port


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DemoHub]:
    tmp = tmp_path_factory.mktemp("say")
    data = tmp / "demo"
    password = demo_owner_password(data)
    config = demo_config(speed=1, data_dir=data, api_port=0, mqtt_port=free_port(), mqtt_url=None)
    started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def owner(access: Access) -> None:
        await access.ensure_owner(DEMO_OWNER, "yizhuang", "Demo owner", password)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp / "state"))
        task = asyncio.create_task(
            run(config, data_dir=data, stop=stop, owner=owner, announce=started.set_result)
        )
        try:
            async with asyncio.timeout(30):
                running = await started
            async with httpx.AsyncClient(base_url=running.api_url) as client:
                r = await client.post("/api/auth/login", json={"member": DEMO_OWNER, "password": password})
                r.raise_for_status()
                yield DemoHub(running.api_url, r.json(), data)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
