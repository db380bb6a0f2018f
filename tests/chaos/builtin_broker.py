"""The hub's built-in broker in a process of its own, so a chaos test can kill it.

Run as ``python builtin_broker.py PORT``: it serves on 127.0.0.1:PORT, prints ``ready`` once
it accepts connections, and runs until it is stopped (SIGTERM) or killed (SIGKILL).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from carhome.connectors.mqtt import EmbeddedBroker


async def main(port: int) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with EmbeddedBroker("127.0.0.1", port):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
