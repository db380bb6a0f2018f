"""``carhome keys …`` and ``carhome call`` signing by itself, against a hub in its own thread
that relays to the simulated garage door over Mosquitto."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from carhome.api import ApiServer, create_app
from carhome.cli.commands import call
from carhome.cli.keys import keys
from carhome.hub import Home, Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock

from .conftest import MOSQUITTO, TIMEOUT, Broker, Rig

# `carhome keys` is registered in carhome.cli.main by the lead; the same commands, grouped here
cli = click.Group("carhome", commands={"keys": keys, "call": call})


class HubThread:
    """The rig (hub, relay, simulated home) serving its key routes on a loopback port."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.url = ""
        self.rig: Rig | None = None
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="signing-hub", daemon=True)

    def __enter__(self) -> HubThread:
        self._thread.start()
        if not self.ready.wait(TIMEOUT) or self.error is not None:
            raise RuntimeError(f"the hub did not start: {self.error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        broker = Broker(self.tmp)
        await broker.start()
        clock = FakeClock()
        try:
            async with Hub(store=MemoryStore(), clock=clock) as hub:
                await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
                rig = Rig(hub, clock, self.tmp, broker.url)
                for record in rig.sim.records():
                    await hub.add_device(record)
                rig.secure(boot=True)
                async with rig.connector:
                    await rig.start_devices()
                    app = create_app(hub, member="ana")  # the full local API, then the key routes
                    app.router.routes.extend(rig.app.router.routes)
                    async with ApiServer(app, port=0) as api:
                        self.url, self.rig = api.url, rig
                        self.ready.set()
                        await self._stop.wait()
                    await rig.stop_devices()
        finally:
            await broker.stop()


@pytest.fixture
def hub_thread(tmp_path: Path) -> HubThread:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (scripts/test installs it)")
    return HubThread(tmp_path)


def test_keys_commands_and_a_signed_call(hub_thread: HubThread, tmp_path: Path) -> None:
    env = {
        "CARHOME_KEYS": str(tmp_path / "ana-keys"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "CARHOME_TOKEN": "",
    }
    runner = CliRunner(env=env)
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
