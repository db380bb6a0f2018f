"""A hub killed with its built-in broker comes back at once on the same port and store.

The NATS server runs in a session of its own and dies with the hub on a SIGTERM the kernel
sends it, so it may still be shutting down — holding the port and the JetStream store —
when a supervisor starts the hub again. Here the old server is frozen (SIGSTOP) before its
hub is killed, so it is certainly still there: the new broker must end it and start, not
fail on "address already in use" nor share the store with it.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from carhome.mqtt import EmbeddedBroker
from carhome.mqtt.broker import DIRECTORY
from carhome.mqtt.link import MqttLink
from carhome.testing import FakeClock
from mqtt.conftest import free_port

from .brokers import Builtin


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has no command line left)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes() != b""
    except OSError:
        return False


@pytest.mark.timeout(120)
async def test_a_server_left_by_a_killed_hub_is_ended_and_the_broker_starts(tmp_path: Path) -> None:
    port = free_port()
    old = Builtin(port, tmp_path)
    await old.start()
    data = tmp_path / f"builtin-{port}"
    server = int((data / DIRECTORY / "nats-server.pid").read_text())
    os.kill(server, signal.SIGSTOP)  # it cannot finish a shutdown: it keeps the port
    try:
        await old.stop(kill=True)  # the hub's process dies; its server lingers
        assert running(server)
        async with (
            EmbeddedBroker("127.0.0.1", port, data_dir=data) as broker,
            MqttLink(
                broker.url,
                clock=FakeClock(),
                client_id="after",
                status_topic="after/status",
                on_message=print,
            ) as link,
        ):
            assert broker.up
            assert link.connected
            assert broker.pid != server
        assert not running(server)
    finally:
        if running(server):
            os.kill(server, signal.SIGKILL)
