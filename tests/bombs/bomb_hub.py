"""A real hub for the bombs: ``carhome.compose.runtime.run`` over the demo configuration (built-in
broker, SQLite, the simulated Yizhuang home and its charging, the demo automations), in a
thread of its own, serving its API on a loopback port as ``carhome demo`` does.

It has a member of each role — the demo owner, and a family member and a guest the owner
adds through the API — and a ``LoopLag`` probe running on its event loop from the start.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from measure import LoopLag

from carhome.compose.demo import DEMO_AUTOMATIONS
from carhome.testing.thread import ServingThread
from hub_process import demo_hub, owner_login
from members_rig import bearer, login

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
        async with demo_hub(self.data, automation_files=[DEMO_AUTOMATIONS]) as running:
            try:
                async with httpx.AsyncClient(base_url=running.api_url, timeout=30) as client:
                    owner = await owner_login(client, self.data)
                    self.tokens["owner"] = owner["access_token"]
                    for role in ("family", "guest"):
                        added = await client.post(
                            "/api/members",
                            json={"id": f"bomb-{role}", "name": role, "role": role, "password": PASSWORD},
                            headers=bearer(owner),
                        )
                        added.raise_for_status()
                        self.tokens[role] = (await login(client, f"bomb-{role}", PASSWORD))["access_token"]
                await self.serving(running.api_url)
            finally:  # before the hub stops: its shutdown is not what the bombs measure
                self.lag.stop()
