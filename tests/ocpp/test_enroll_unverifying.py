"""``carhome keys enroll`` on a charger that cannot verify signatures says so, and what to do.

A standard charger (the ``ocpp`` library's charge point, no carhome keeper) answers carhome's
DataTransfer with ``NotImplemented`` or ``UnknownVendorId``: it holds no keys and never
will. The hub answers the key ask with a refusal that says so (reason ``no_signatures``),
and the CLI tells the owner how to trust the charger for charging alone instead of
"try again shortly".
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from carhome.access.keyroutes import key_routes
from carhome.api import ApiServer, create_app
from carhome.cli.keys import keys
from carhome.connectors.ocpp import Charger, OcppServer
from carhome.hub import Device, Home, Hub
from carhome.signing.relay import ByConnector
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.testing.thread import ServingThread
from carhome.testing.wallbox import SimulatedWallbox, Version

PASSWORD = "s3cret-wallbox-password"
cli = click.Group("carhome", commands={"keys": keys})


class HubThread(ServingThread):
    """A hub, its OCPP server and a standard charger connected to it, serving the local API."""

    def __init__(self, version: Version) -> None:
        super().__init__("ocpp-enroll-hub")
        self.version = version

    async def serve(self) -> None:
        clock = FakeClock()
        async with Hub(store=MemoryStore(), clock=clock) as hub:
            await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
            await hub.add_device(Device(home="h1", id="wallbox", type="wallbox", connector="ocpp"))
            chargers = {"CP-1": Charger(home="h1", device="wallbox", password=PASSWORD)}
            async with OcppServer(hub, "127.0.0.1", 0, chargers=chargers) as server:
                url = f"ws://127.0.0.1:{server.port}/ocpp"
                async with SimulatedWallbox(
                    url, "CP-1", version=self.version, password=PASSWORD, clock=clock
                ) as box:
                    await box.boot()
                    app = create_app(hub, member="ana")
                    relay = ByConnector(hub, {"ocpp": server})
                    app.router.routes.extend(key_routes(hub, relay, who=lambda request: "ana"))
                    async with ApiServer(app, port=0) as api:
                        await self.serving(api.url)


@pytest.fixture(params=["1.6", "2.0.1"])
def hub_thread(request: pytest.FixtureRequest) -> HubThread:
    return HubThread(request.param)


def test_enrolling_on_a_charger_that_cannot_verify_says_how_to_trust_it(
    hub_thread: HubThread, tmp_path: Path
) -> None:
    env = {
        "CARHOME_KEYS": str(tmp_path / "ana-keys"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "CARHOME_TOKEN": "",
    }
    runner = CliRunner(env=env)
    assert runner.invoke(cli, ["keys", "new"]).exit_code == 0
    with hub_thread as hub:
        result = runner.invoke(cli, ["keys", "enroll", "h1/wallbox", "--member", "ana", "--hub", hub.url])
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "h1/wallbox cannot verify signatures" in out
    assert "unsigned_charging: - {home: h1, device: wallbox, owner: <owner member id>}" in out
    assert "for charging alone" in out
    assert "try again shortly" not in out
