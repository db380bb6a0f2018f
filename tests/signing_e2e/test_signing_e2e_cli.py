"""``carhome keys …`` and ``carhome call`` signing by itself, against a hub in its own thread
that relays to the simulated garage door over Mosquitto."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from carhome.access.delegates import FileDelegateKeys
from carhome.api import ApiServer, create_app
from carhome.cli.commands import call
from carhome.cli.keys import keys
from carhome.hub import Home, Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.testing.thread import ServingThread
from mqtt.conftest import Mosquitto, free_port, require_mosquitto

from .conftest import Rig

# `carhome keys` is registered in carhome.cli.main by the lead; the same commands, grouped here
cli = click.Group("carhome", commands={"keys": keys, "call": call})


class HubThread(ServingThread):
    """The rig (hub, relay, simulated home) serving its key routes on a loopback port."""

    def __init__(self, tmp: Path) -> None:
        super().__init__("signing-hub")
        self.tmp = tmp
        self.rig: Rig | None = None

    async def serve(self) -> None:
        clock = FakeClock()
        async with (
            Mosquitto(free_port(), self.tmp) as broker,
            Hub(store=MemoryStore(), clock=clock) as hub,
        ):
            await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
            rig = Rig(hub, clock, self.tmp, broker.url, FileDelegateKeys(self.tmp / "hub" / "delegates"))
            for record in rig.sim.records():
                await hub.add_device(record)
            rig.secure(boot=True)
            async with rig.connector:
                await rig.start_devices()
                app = create_app(hub, member="ana")  # the full local API, then the key routes
                app.router.routes.extend(rig.app.router.routes)
                async with ApiServer(app, port=0) as api:
                    self.rig = rig
                    await self.serving(api.url)
                await rig.stop_devices()


def person(tmp_path: Path, keys: Path) -> CliRunner:
    """The CLI as a person runs it: keys in ``keys``, configuration and state of their own, no
    token in the environment."""
    env = {
        "CARHOME_KEYS": str(keys),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "CARHOME_TOKEN": "",
    }
    return CliRunner(env=env)


@pytest.fixture
def hub_thread(tmp_path: Path) -> HubThread:
    require_mosquitto()
    return HubThread(tmp_path)


def test_keys_commands_and_a_signed_call(hub_thread: HubThread, tmp_path: Path) -> None:
    runner = person(tmp_path, tmp_path / "ana-keys")
    with hub_thread as hub:
        assert hub.rig is not None
        garage = hub.rig.device("garage_door")

        def carhome(*args: str) -> str:
            given = list(args) if args[:2] == ("keys", "new") else [*args, "--hub", hub.url]
            result = runner.invoke(cli, given)
            assert result.exit_code == 0, result.output
            return result.output

        assert "key " in carhome("keys", "new")
        unsigned = runner.invoke(cli, ["call", "h1/garage_door", "open", "--hub", hub.url])
        assert unsigned.exit_code == 3, unsigned.output  # no key enrolled yet: the device refuses
        assert "unsigned" in unsigned.output

        assert "enrolled" in carhome("keys", "enroll", "h1/garage_door", "--member", "ana", "--code-from-hub")
        assert "acked" in carhome("call", "h1/garage_door", "open")
        assert garage.motion == 1  # type: ignore[attr-defined]
        assert "ana" in carhome("keys", "list", "h1/garage_door")

        out = carhome("keys", "delegate", "h1/garage_door", "garage", "--code-from-hub")
        assert "delegate:garage" in out
        keys_table = carhome("keys", "list", "h1/garage_door")
        row = next(line for line in keys_table.splitlines() if "delegate:garage" in line)
        assert "revoked" in carhome("keys", "remove", "h1/garage_door", row.split()[0][:12])
        assert "revoked" in carhome("keys", "list", "h1/garage_door")
