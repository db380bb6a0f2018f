"""A real hub serving the real API with uvicorn on a free loopback port, in its own thread,
and a runner of the ``carhome`` command pointed at it.

The CLI is synchronous at its edge (click runs ``asyncio.run`` per command), so the hub
lives in a second thread with its own event loop. Tests reach into that loop only through
``call``, which runs a function there and waits (bounded) for its result. The fixtures
``hub_thread`` (one hub per module) and ``carhome`` are imported by the conftest of each
test directory that uses them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner, Result

from carhome.access.service import Access
from carhome.api import ApiServer, create_app
from carhome.cli import cli
from carhome.hub import Ack, Command, Device, Home, Hub
from carhome.say.routes import say_routes
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.testing.thread import ServingThread
from members_rig import open_access

_T = TypeVar("_T")

OWNER = "olivia"
OWNER_PASSWORD = "a long owner passphrase"


class SleepyDevice:
    """A ``Transport`` that answers through ``hub.ack``; some targets fail, some never answer.

    A command to a ``sleepy`` target gets no answer, and the device sleeps through its
    expiry: the fake clock moves past it, so the hub expires the command.
    """

    def __init__(self, hub: Hub, clock: FakeClock) -> None:
        self.hub = hub
        self.clock = clock
        self.fail = {"unlock": "a door is open"}
        self.silent = {"open_trunk"}
        self.sleepy = {"climate_off"}
        self.received: list[Command] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def deliver(self, command: Command) -> None:
        self.received.append(command)
        loop = asyncio.get_running_loop()
        if command.target in self.sleepy:
            task = loop.create_task(self.clock.advance(command.expires - self.clock.time() + 1))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if command.target in self.silent:
            return
        if command.target in self.fail:
            ack = Ack(command.id, "failed", error=self.fail[command.target])
        else:
            result = command.args.get("value", {"ran": command.target, **command.args})
            ack = Ack(command.id, "acked", result=result)
        loop.call_soon(self.hub.ack, command.home, command.device, ack)


class HubThread(ServingThread):
    """Start with ``start()``; ``url`` is the API; ``call(fn)`` runs ``fn(hub)`` in its loop."""

    def __init__(self, access: Path | None = None) -> None:
        """``access``: a data folder for the access parts (members, logins, the audit log);
        without it every request acts for one member and there is no audit log."""
        super().__init__("test-hub")
        self.clock = FakeClock()
        self.access_dir = access
        self.device: SleepyDevice | None = None
        self.trouble: str | None = None
        """What the hub's health check says is wrong (``None``: nothing)."""
        self._hub: Hub | None = None

    def call(self, fn: Callable[[Hub], _T]) -> _T:  # type: ignore[override]
        """Run ``fn(hub)`` in the hub's loop and return what it returns."""
        hub = self._hub
        assert hub is not None
        return super().call(lambda: fn(hub))

    async def serve(self) -> None:
        if self.access_dir is None:
            await self._serve(None)
            return
        async with open_access(self.access_dir, self.clock) as access:
            await access.ensure_owner(OWNER, "h1", "Owner", OWNER_PASSWORD)
            await self._serve(access)

    async def _serve(self, access: Access | None) -> None:
        gatekeeper = access.gatekeeper if access is not None else None
        async with Hub(store=MemoryStore(), clock=self.clock, gatekeeper=gatekeeper) as hub:
            await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
            await hub.add_device(Device(home="h1", id="car", type="car", name="Car"))
            await hub.add_device(
                Device(
                    home="h1",
                    id="purifier",
                    type="air_purifier",
                    name="Living room purifier",
                    room="living_room",
                )
            )
            await hub.add_home(Home(id="h2", name="Cottage", lat=40.1, lon=116.2))
            await hub.add_device(Device(home="h2", id="purifier", type="air_purifier"))
            self.device = SleepyDevice(hub, self.clock)
            hub.commands.attach("mqtt", self.device)
            self._hub = hub
            app = create_app(hub, member="cli-test", access=access, health=(lambda: self.trouble,))
            app.router.routes.extend(say_routes(hub))  # the say part's, as a whole hub serves them
            async with ApiServer(app, port=0) as server:
                await self.serving(server.url)


class Carhome:
    """Runs ``carhome …`` against the test hub (through --hub unless told otherwise)."""

    def __init__(self, url: str, state_home: Path) -> None:
        self.url = url
        self.state_home = state_home
        self.runner = CliRunner()

    def __call__(self, *args: str, hub: bool = True, env: dict[str, str | None] | None = None) -> Result:
        argv = [*args, "--hub", self.url] if hub else list(args)
        # No CARHOME_HUB from the developer's shell, and no announcement from their hub.
        environment: dict[str, str | None] = {"CARHOME_HUB": None, "XDG_STATE_HOME": str(self.state_home)}
        environment.update(env or {})
        return self.runner.invoke(cli, argv, env=environment, catch_exceptions=False)


@pytest.fixture(scope="module")
def hub_thread() -> Iterator[HubThread]:
    with HubThread() as thread:
        yield thread


@pytest.fixture
def carhome(hub_thread: HubThread, tmp_path: Path) -> Carhome:
    return Carhome(hub_thread.url, tmp_path)
