"""Broker throughput: one gmqtt publisher → one gmqtt subscriber, QoS 0 and QoS 1, through
the built-in broker (the NATS server the hub runs) and Mosquitto, in the same run.

Each broker runs on a free loopback port, letting anyone in. The publisher sends
``--messages`` messages of 149 bytes (a typical state report) to one topic as fast as it
can; the clock runs from the first publish until the subscriber has them all (or nothing
arrived for two seconds: the rest is counted lost). Prints one JSON line.

    .venv/bin/python bench/broker.py --messages 100000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTv311

from carhome.mqtt import EmbeddedBroker
from carhome.mqtt.nats import NATS_VERSION
from loopback import free_port, mosquitto

PAYLOAD = (
    b'{"Vehicle.Speed":42.5,"Vehicle.Powertrain.TractionBattery.StateOfCharge.Current":80.5,' + b"x" * 63
)
TOPIC = "carhome/h1/car/state"
QUIET = 2.0


async def run_one(port: int, qos: int, count: int) -> dict[str, Any]:
    got = 0
    done = asyncio.Event()
    last = time.perf_counter()

    def on_message(*_: Any) -> int:
        nonlocal got, last
        got += 1
        last = time.perf_counter()
        if got >= count:
            done.set()
        return 0

    subscriber = gmqtt.Client(f"bench-sub-{port}-{qos}")
    subscriber.on_message = on_message
    subscribed = asyncio.Event()
    subscriber.on_subscribe = lambda *_: subscribed.set()
    publisher = gmqtt.Client(f"bench-pub-{port}-{qos}")
    await subscriber.connect("127.0.0.1", port, version=MQTTv311)
    await publisher.connect("127.0.0.1", port, version=MQTTv311)
    subscriber.subscribe(TOPIC, qos=qos)
    await asyncio.wait_for(subscribed.wait(), 10)
    start = time.perf_counter()
    for i in range(count):
        publisher.publish(TOPIC, PAYLOAD, qos=qos)
        if i % 1000 == 999:
            await asyncio.sleep(0)  # let the transports drain
    while not done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), QUIET)
        if time.perf_counter() - last > QUIET:
            break
    elapsed = last - start
    await publisher.disconnect()
    await subscriber.disconnect()
    return {"msg_per_s": round(got / elapsed) if elapsed > 0 else 0, "received": got, "lost": count - got}


async def main(count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=Path(directory)) as nats:
            key = f"nats-server {NATS_VERSION}"
            results[key] = {f"qos{q}": await run_one(nats.port, q, count) for q in (0, 1)}
        binary = shutil.which("mosquitto")
        if binary is not None:
            async with mosquitto(binary, Path(directory)) as (port, _):
                results["mosquitto"] = {f"qos{q}": await run_one(port, q, count) for q in (0, 1)}
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    found = asyncio.run(main(args.messages))
    print(
        json.dumps(
            {
                "bench": "broker",
                "messages": args.messages,
                "payload_bytes": len(PAYLOAD),
                "machine": platform.machine(),
                "results": found,
            }
        )
    )
