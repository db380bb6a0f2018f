"""A real demo hub in a thread of its own, for the OpenAPI tests.

``carhome.compose.runtime.run`` over the demo configuration (built-in broker, SQLite, the simulated
Yizhuang home, the demo automations) on free loopback ports, as ``carhome demo`` runs it.
Schemathesis calls the API synchronously, so the hub needs its own event loop: it runs in a
``ServingThread``. ``app`` is the Starlette app exactly as the runtime built it (charging,
history, keys, automations and the web app included), caught on its way to the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from carhome.access.service import Access
from carhome.api.server import ApiServer
from carhome.compose.demo import DEMO_AUTOMATIONS, DEMO_OWNER
from carhome.testing.thread import ServingThread
from hub_process import demo_hub, owner_login


class DemoHub(ServingThread):
    """The demo hub; ``token`` is its owner's access token."""

    def __init__(self, data: Path) -> None:
        super().__init__("openapi-demo-hub")
        self.data = data
        self.app: Any = None
        self.access: Access | None = None
        self.token = ""

    async def serve(self) -> None:
        def keep(access: Access) -> None:
            self.access = access

        async with demo_hub(self.data, automation_files=[DEMO_AUTOMATIONS], on_access=keep) as running:
            async with httpx.AsyncClient(base_url=running.api_url) as client:
                self.token = (await owner_login(client, self.data))["access_token"]
            await self.serving(running.api_url)

    def fresh_token(self) -> str:
        """A new session's access token for the owner (for an operation that ends its session)."""
        access = self.access
        assert access is not None
        pair = self.call_async(lambda: access.tokens.open_session(access.members.require(DEMO_OWNER)))
        return pair.access


class _Catching(ApiServer):
    """The runtime's API server, keeping the app it serves for the test to inspect."""

    caught: ClassVar[list[Any]] = []

    def __init__(self, app: Any, **kwargs: Any) -> None:
        _Catching.caught.append(app)
        super().__init__(app, **kwargs)


def start_demo_hub(tmp: Path) -> DemoHub:
    """Start the hub (the caller stops it); the runtime's app is in ``hub.app``."""
    hub = DemoHub(tmp / "demo")
    _Catching.caught.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("carhome.api.part.ApiServer", _Catching)
        hub.start()
    hub.app = _Catching.caught[-1]
    return hub
