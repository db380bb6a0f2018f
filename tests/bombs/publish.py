"""Publish what a plan lists, then exit: a misbehaving device in a process of its own, so
that what it allocates to send megabytes is not counted as the hub's.

    python publish.py PORT PLAN.json

PLAN is a JSON list of ``{"topic": …, "file": …}``: each file's bytes are published on its
topic at QoS 1, in order. Before it disconnects it publishes on a topic of its own and
waits to receive that back: the broker has then taken every message before it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import gmqtt
from gmqtt.mqtt.constants import MQTTv311


async def main(port: int, messages: list[tuple[str, bytes]]) -> None:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    mark = f"bomber/{uuid.uuid4().hex}"
    client = gmqtt.Client(f"bomber-{uuid.uuid4().hex[:8]}")

    def on_message(_c: object, topic: str, *_: object) -> None:
        if topic == mark and not done.done():
            done.set_result(None)

    client.on_message = on_message
    await client.connect("127.0.0.1", port, version=MQTTv311)
    client.subscribe(mark, qos=1)
    for topic, payload in messages:
        client.publish(topic, payload, qos=1)
    client.publish(mark, b"done", qos=1)
    await asyncio.wait_for(done, 60)
    await client.disconnect()


if __name__ == "__main__":
    plan = json.loads(Path(sys.argv[2]).read_text())
    asyncio.run(main(int(sys.argv[1]), [(m["topic"], Path(m["file"]).read_bytes()) for m in plan]))
