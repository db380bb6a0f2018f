"""The hub's built-in broker in a process of its own, so a chaos test can kill it.

Run as ``python builtin_broker.py PORT DATA_DIR``: it serves on 127.0.0.1:PORT (the NATS
server, supervised as the hub supervises it, its state in DATA_DIR), prints ``ready`` once it
accepts connections, and runs until it is stopped (SIGTERM) or killed (SIGKILL; the server
dies with it, as it dies with a killed hub).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from carhome.mqtt import EmbeddedBroker


async def main(port: int, data: Path) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with EmbeddedBroker("127.0.0.1", port, data_dir=data):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2])))
