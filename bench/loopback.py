"""Brokers for the benches on a free loopback port: the port, and a Mosquitto of its own."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until_listening(port: int) -> None:
    for _ in range(500):  # a bench, not a test: polling for the port is fine here
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.02)
    sys.exit(f"nothing listens on port {port}")


@contextlib.asynccontextmanager
async def mosquitto(
    binary: str, directory: Path, *, cap_inflight: bool = True
) -> AsyncIterator[tuple[int, int]]:
    """``binary`` listening on a free loopback port, letting anyone in, its configuration in
    ``directory``; with ``cap_inflight=False`` no cap on the QoS 1 messages in flight either.
    Yields the port and the broker's process id."""
    port = free_port()
    conf = directory / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n"
        # as NATS does: no cap on the messages queued for a subscriber (the default 1000 drops)
        "max_queued_messages 0\n" + ("" if cap_inflight else "max_inflight_messages 0\n")
    )
    process = await asyncio.create_subprocess_exec(binary, "-c", str(conf))
    try:
        await until_listening(port)
        yield port, process.pid
    finally:
        process.terminate()
        await process.wait()
