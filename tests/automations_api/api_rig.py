"""The rig of the automation API tests: a real hub (memory store, fake clock) with the
access parts of a hub process (``Access.open`` over a temporary directory), the engine,
``AutomationFiles`` over a temporary data directory, and the app the hub serves, called
in-process over ASGI. A "restart" is a new engine and a new ``AutomationFiles`` over the
same data directory (or a new, empty one) and the same saved automations.

What the API saves is kept as files of the data directory, or, given a ``PgDatabase``, in
its tables (``PostgresSavedAutomations``) as on a hub whose store is PostgreSQL; ``kept``
and ``switches`` read it back from where it is kept. Two homes: ``h1`` (owner olivia,
family fred, guest gina) and ``h2`` (owner nora), each with a car, a hall light and a
purifier.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from carhome.access.service import Access
from carhome.api import create_app
from carhome.automations import Engine
from carhome.automations.files import AutomationFiles
from carhome.automations.postgres_saved import PostgresSavedAutomations
from carhome.automations.routes import automation_routes
from carhome.errors import ConfigError
from carhome.hub import Device, Home, Hub
from carhome.pgdatabase import PgDatabase
from carhome.store.memory import MemoryStore
from carhome.testing import AckingDevice, FakeClock
from members_rig import bearer, login, members_access

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
    database: PgDatabase | None

    async def login(self, member: str) -> dict[str, str]:
        return bearer(await login(self.http, member))

    def saved_name(self, automation_id: str) -> str:
        """How the hub names the saved text of ``automation_id``."""
        if self.database is None:
            return f"automations/saved/{automation_id}.yaml"
        return f"postgresql:automations/{automation_id}"

    async def kept(self) -> dict[str, str]:
        """The saved texts by id, as kept (the files, or the table's rows)."""
        if self.database is None:
            saved = self.data / "automations" / "saved"
            files = sorted(saved.glob("*.yaml")) if saved.is_dir() else []
            return {p.stem: p.read_text() for p in files}
        rows = await self.database.fetch("reading", lambda r: (r[0], r[1]), KEPT)
        return dict(rows)

    async def switches(self) -> dict[str, bool]:
        """The enable switches, as kept (``enabled.json``, or the table's rows)."""
        if self.database is None:
            path = self.data / "automations" / "enabled.json"
            return json.loads(path.read_text()) if path.exists() else {}
        return dict(await self.database.fetch("reading", lambda r: (r[0], r[1]), SWITCHES))

    async def keep(self, automation_id: str, text: str) -> None:
        """Change what is kept of a saved automation behind the hub's back (a hand edit)."""
        if self.database is None:
            (self.data / "automations" / "saved" / f"{automation_id}.yaml").write_text(text)
            return
        changed = await self.database.execute("editing", [(EDIT, (automation_id, text))])
        assert changed == [1]


KEPT = "SELECT id, text FROM saved_automations ORDER BY id"
EDIT = "UPDATE saved_automations SET text = $2 WHERE id = $1"
SWITCHES = "SELECT id, enabled FROM automation_switches ORDER BY id"


async def serve(
    hub: Hub, access: Access, data: Path, base: Path, database: PgDatabase | None
) -> tuple[Engine, AutomationFiles, Any, list[ConfigError]]:
    """The engine, files and app of a (re)started hub, and the errors of what it did not load."""
    engine = Engine(hub, members=access.members)
    await engine.__aenter__()
    saved = None
    if database is not None:
        saved = PostgresSavedAutomations(database)
        await saved.open()
    files = AutomationFiles(data, base=[base], saved=saved)
    errors = await files.load(engine)
    app = create_app(hub, access=access)
    app.router.routes.extend(automation_routes(hub, engine, files=files, access=access))
    return engine, files, app, errors


async def open_rig(tmp_path: Path, database: PgDatabase | None = None) -> AsyncIterator[Rig]:
    clock = FakeClock()
    base = tmp_path / "shipped" / "base.yaml"
    base.parent.mkdir()
    base.write_text(BASE)
    async with (
        members_access(tmp_path / "data", clock) as access,
        Hub(store=MemoryStore(), clock=clock, gatekeeper=access.gatekeeper) as hub,
    ):
        for home in ("h1", "h2"):
            await hub.add_home(Home(id=home, name=home, lat=39.79, lon=116.50))
            await hub.add_device(Device(home=home, id="car", type="car"))
            await hub.add_device(Device(home=home, id="hall", type="light"))
            await hub.add_device(Device(home=home, id="purifier", type="air_purifier"))
        hub.report("h1", "car", {"place": "away"}, trusted=True)
        devices = AckingDevice(hub)
        hub.commands.attach("mqtt", devices)
        engine, files, app, errors = await serve(hub, access, tmp_path / "data", base, database)
        assert errors == []
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://hub"
            ) as http:
                yield Rig(hub, access, tmp_path / "data", base, devices, engine, files, http, database)
        finally:
            await engine.__aexit__(None, None, None)


async def restart(rig: Rig, data: Path | None = None) -> list[ConfigError]:
    """A new engine and new files over the same data directory (or ``data``, from now on):
    what a restarted hub loads; returns the errors of the automations it did not load."""
    await rig.engine.__aexit__(None, None, None)
    if data is not None:
        rig.data = data
    rig.engine, rig.files, app, errors = await serve(rig.hub, rig.access, rig.data, rig.base, rig.database)
    rig.http._transport = httpx.ASGITransport(app=app)
    return errors
