"""The local API over a real hub (memory store, fake clock) with a device that answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from carhome.api import create_app
from carhome.hub import Hub
from carhome.testing import AckingDevice


@pytest.fixture
def device(hub: Hub) -> AckingDevice:
    fake = AckingDevice(hub, fail={"unlock": "a door is open"}, silent={"climate_off", "toggle"})
    hub.commands.attach("mqtt", fake)
    return fake


@pytest.fixture
async def client(hub: Hub, device: AckingDevice) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hub, member="alice"))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
        yield c
