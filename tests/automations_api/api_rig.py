"""The rig of the automation API tests: a real hub (memory store, fake clock) with the
access parts of a hub process (``Access.open`` over a temporary directory), the engine,
``AutomationFiles`` over a temporary data directory, and the app the hub serves, called
in-process over ASGI. A "restart" is a new engine and a new ``AutomationFiles`` over the
same data directory. Two homes: ``h1`` (owner olivia, family fred, guest gina) and ``h2``
(owner nora), each with a car, a hall light and a purifier.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from carhome.access.service import Access
from carhome.api import create_app
from carhome.automations import Engine
from carhome.automations.files import AutomationFiles
from carhome.automations.routes import automation_routes
from carhome.errors import ConfigError
from carhome.hub import Device, Home, Hub
from carhome.store.memory import MemoryStore
from carhome.testing import AckingDevice, FakeClock
from members_rig import add_members, bearer, login, open_access

# A read-only file given to the hub, as the demo's packaged file is.
BASE = """home: h1
scenes:
  evening:
    hall: {on: true, brightness: 40}
    purifier: {on: true}
  away:
    hall: {on: false}
    purifier: {on: false}
automations:
  - id: porch
    alias: Porch light at the door
    member: olivia
    triggers: [{trigger: place, device: car, event: enter, place: home}]
    actions:
      # the hall first
      - {action: command, device: hall, name: turn_on}
  - id: purify
    member: olivia
    triggers: [{trigger: place, device: car, event: leave, place: home}]
    actions: [{action: scene, scene: away}]
"""

NEW = """home: h1
automations:
  - id: night_light
    alias: Night light
    member: olivia
    triggers: [{trigger: place, device: car, event: enter, place: home}]
    actions:
      - {action: set, device: hall, property: brightness, value: 10}
"""


@dataclass
class Rig:
    hub: Hub
    access: Access
    data: Path
    base: Path
    devices: AckingDevice
    engine: Engine
    files: AutomationFiles
    http: httpx.AsyncClient

    async def login(self, member: str) -> dict[str, str]:
        return bearer(await login(self.http, member))


async def serve(
    hub: Hub, access: Access, data: Path, base: Path
) -> tuple[Engine, AutomationFiles, Any, list[ConfigError]]:
    """The engine, files and app of a (re)started hub, and the errors of what it did not load."""
    engine = Engine(hub, members=access.members)
    await engine.__aenter__()
    files = AutomationFiles(data, base=[base])
    errors = await files.load(engine)
    app = create_app(hub, access=access)
    app.router.routes.extend(automation_routes(hub, engine, files=files, access=access))
    return engine, files, app, errors


async def open_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = FakeClock()
    base = tmp_path / "shipped" / "base.yaml"
    base.parent.mkdir()
    base.write_text(BASE)
    async with (
        open_access(tmp_path / "data", clock) as access,
        Hub(store=MemoryStore(), clock=clock, gatekeeper=access.gatekeeper) as hub,
    ):
        await add_members(access)
        for home in ("h1", "h2"):
            await hub.add_home(Home(id=home, name=home, lat=39.79, lon=116.50))
            await hub.add_device(Device(home=home, id="car", type="car"))
            await hub.add_device(Device(home=home, id="hall", type="light"))
            await hub.add_device(Device(home=home, id="purifier", type="air_purifier"))
        hub.report("h1", "car", {"place": "away"}, trusted=True)
        devices = AckingDevice(hub)
        hub.commands.attach("mqtt", devices)
        engine, files, app, errors = await serve(hub, access, tmp_path / "data", base)
        assert errors == []
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://hub"
            ) as http:
                yield Rig(hub, access, tmp_path / "data", base, devices, engine, files, http)
        finally:
            await engine.__aexit__(None, None, None)


async def restart(rig: Rig) -> list[ConfigError]:
    """A new engine and new files over the same data directory: what a restarted hub loads;
    returns the errors of the automations it did not load."""
    await rig.engine.__aexit__(None, None, None)
    rig.engine, rig.files, app, errors = await serve(rig.hub, rig.access, rig.data, rig.base)
    rig.http._transport = httpx.ASGITransport(app=app)
    return errors
