"""A real hub for the bombs: ``carhome.compose.runtime.run`` over the demo configuration (built-in
broker, SQLite, the simulated Yizhuang home and its charging, the demo automations), in a
thread of its own, serving its API on a loopback port as ``carhome demo`` does.

It has a member of each role — the demo owner, and a family member and a guest the owner
adds through the API — and a ``LoopLag`` probe running on its event loop from the start.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from measure import LoopLag

from carhome.access.service import Access
from carhome.compose.demo import DEMO_AUTOMATIONS, DEMO_OWNER, demo_config, demo_owner_password
from carhome.compose.runtime import Running, run
from carhome.testing.thread import ServingThread
from mqtt.conftest import free_port

HOME = "yizhuang"
PASSWORD = "a long enough password for the bombs"
ROLES = ("owner", "family", "guest")


class BombHub(ServingThread):
    """The demo hub; ``tokens`` holds an access token per role."""

    def __init__(self, data: Path) -> None:
        super().__init__("bombed-demo-hub")
        self.data = data
        self.lag = LoopLag()
        self.tokens: dict[str, str] = {}

    async def serve(self) -> None:
        self.lag.start()
        config = demo_config(speed=1, data_dir=self.data, api_port=0, mqtt_port=free_port(), mqtt_url=None)
        started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        password = demo_owner_password(self.data)

        async def owner(access: Access) -> None:
            await access.ensure_owner(DEMO_OWNER, HOME, "Demo owner", password)

        task = asyncio.create_task(
            run(
                config,
                data_dir=self.data,
                stop=stop,
                owner=owner,
                announce=started.set_result,
                automation_files=[DEMO_AUTOMATIONS],
            )
        )
        try:
            async with asyncio.timeout(30):
                running = await started
            async with httpx.AsyncClient(base_url=running.api_url, timeout=30) as client:
                self.tokens["owner"] = await _login(client, DEMO_OWNER, password)
                owner_auth = {"Authorization": f"Bearer {self.tokens['owner']}"}
                for role in ("family", "guest"):
                    added = await client.post(
                        "/api/members",
                        json={"id": f"bomb-{role}", "name": role, "role": role, "password": PASSWORD},
                        headers=owner_auth,
                    )
                    added.raise_for_status()
                    self.tokens[role] = await _login(client, f"bomb-{role}", PASSWORD)
            await self.serving(running.api_url)
        finally:
            self.lag.stop()
            stop.set()
            await asyncio.wait_for(task, 30)


async def _login(client: httpx.AsyncClient, member: str, password: str) -> str:
    r = await client.post("/api/auth/login", json={"member": member, "password": password})
    r.raise_for_status()
    return str(r.json()["access_token"])
