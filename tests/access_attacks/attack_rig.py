"""A hub to attack: real access parts over a temporary directory, the app the hub serves,
served by uvicorn on a loopback port, and clients that come from chosen loopback addresses.

Home ``h1`` has two cars (``car``, ``van``), a purifier, a light and a front door; its
members are the owner ``olivia``, family ``fred`` and the guest ``gina`` (no grant until a
test gives one). Home ``h2`` has its own car and owner ``nora``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import websockets
from starlette.routing import BaseRoute

from carhome.access.service import Access
from carhome.api import ApiServer, create_app
from carhome.hub import Device, Home, Hub
from carhome.say.routes import say_routes
from carhome.store.memory import MemoryStore
from carhome.testing import AckingDevice, FakeClock

WAIT = 5.0
"""Real seconds a test waits for an answer it expects before it fails."""


@contextlib.asynccontextmanager
async def attack_hub(clock: FakeClock, access: Access) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=clock, gatekeeper=access.gatekeeper) as hub:
        for home in ("h1", "h2"):
            await hub.add_home(Home(id=home, name=home, lat=39.79, lon=116.50))
            await hub.add_device(Device(home=home, id="car", type="car", name="Car"))
        await hub.add_device(Device(home="h1", id="van", type="car", name="Van"))
        await hub.add_device(
            Device(home="h1", id="purifier", type="air_purifier", name="Purifier", room="living_room")
        )
        await hub.add_device(Device(home="h1", id="light", type="light", name="Hall light", room="hall"))
        await hub.add_device(Device(home="h1", id="front_door", type="door_lock", name="Front door"))
        hub.commands.attach("mqtt", AckingDevice(hub, result=lambda command: {"ran": command.target}))
        yield hub


@dataclass
class Served:
    """The hub's app on a real socket."""

    url: str
    ws_url: str

    def client(self, source: str = "127.0.0.1") -> httpx.AsyncClient:
        """An HTTP client whose connections come from the loopback address ``source``."""
        transport = httpx.AsyncHTTPTransport(local_address=source)
        return httpx.AsyncClient(transport=transport, base_url=self.url, timeout=WAIT)


@contextlib.asynccontextmanager
async def serve(
    hub: Hub, access: Access, *, routes: Sequence[BaseRoute] = (), **app_options: Any
) -> AsyncIterator[Served]:
    """The hub's app (with ``routes`` added, as the hub process adds its parts') on a socket."""
    app = create_app(hub, access=access, **app_options)
    app.router.routes.extend(say_routes(hub))  # the say part's, as every hub serves them
    app.router.routes.extend(routes)
    try:
        async with ApiServer(app, port=0) as server:
            yield Served(server.url, server.url.replace("http://", "ws://") + "/api/ws")
    finally:
        app.state.live.close()


async def frame(ws: Any) -> dict[str, Any]:
    """The next frame the hub sends (``ConnectionClosed`` once it closed the socket)."""
    async with asyncio.timeout(WAIT):
        data: dict[str, Any] = json.loads(await ws.recv())
        return data


async def closed(ws: Any) -> tuple[int, str]:
    """Read frames until the hub closes the socket; its close code and reason (a socket
    the hub keeps open fails the test after ``WAIT`` seconds)."""
    async with asyncio.timeout(WAIT):
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""
