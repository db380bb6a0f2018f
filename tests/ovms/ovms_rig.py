"""A fake OVMS module on a real broker, playing back what the reference firmware publishes.

``FakeModule`` is an MQTT client that behaves as an OVMS v3 module's server v3 client does
(``ovms_server_v3.cpp``): it connects with the will ``metric/s/v3/connected`` = ``no``
(retained) and a persistent session, says ``yes`` there, publishes metrics retained at QoS 0,
takes commands on ``client/+/command/+`` and answers each on ``client/<client>/response/<id>``
at QoS 1 with what the firmware's shell prints (``fixtures/responses.json``). The messages and
answers come from the fixtures, recorded from the firmware's sources (``fixtures/README.md``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTv311

from carhome.connectors.ovms import OvmsCar, OvmsConfig
from carhome.hub import Hub
from waiting import TIMEOUT, until, until_told

FIXTURES = Path(__file__).parent / "fixtures"
SESSION: dict[str, Any] = json.loads((FIXTURES / "session.json").read_text())
RESPONSES: dict[str, Any] = json.loads((FIXTURES / "responses.json").read_text())
PREFIX: str = SESSION["prefix"]


async def online(hub: Hub, device: str = "leaf", up: bool = True) -> None:
    await until(lambda: hub.available("h1", device) is up, f"h1/{device} {'online' if up else 'offline'}")


def leaf_config(url: str, **car: object) -> OvmsConfig:
    """The ``ovms`` section for the car ``h1/leaf`` whose module is ``ovms-user``'s ``LEAF1``."""
    settings: dict[str, object] = {"home": "h1", "device": "leaf", "user": "ovms-user", "vehicle": "LEAF1"}
    settings.update(car)
    return OvmsConfig(url=url, cars=(OvmsCar(**settings),))  # type: ignore[arg-type]


def answer_of(command: str, failing: set[str]) -> str:
    """What the firmware's shell prints for ``command`` (its failure when the verb fails)."""
    first = command.split(maxsplit=1)[0]
    verb = first if first in ("lock", "unlock") else command
    table = RESPONSES["failures"] if verb in failing else RESPONSES
    answer = table.get(verb)
    return answer if isinstance(answer, str) else RESPONSES["failures"]["charge limit 80"]


class FakeModule:
    """An OVMS module's MQTT side, connected to the broker at ``port``."""

    def __init__(self, port: int, prefix: str = PREFIX, *, name: str = "ovms-module") -> None:
        self.port = port
        self.prefix = prefix
        self.client = gmqtt.Client(
            name,
            clean_session=False,  # mongoose's handshake asks for no clean session
            will_message=gmqtt.Message(f"{prefix}metric/s/v3/connected", b"no", qos=0, retain=True),
        )
        self.commands: list[tuple[str, str, str]] = []
        """(client id, command id, command) as received."""
        self.active: list[tuple[str, bytes]] = []
        self.failing: set[str] = set()
        """Verbs whose command fails (the firmware's failure answer is sent)."""
        self.hold = False
        """Keep answers back until ``answer_held``."""
        self.held: list[tuple[str, str]] = []
        self._changed = asyncio.Event()
        self._subacks: asyncio.Queue[int] = asyncio.Queue()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda _c, mid, *_: self._subacks.put_nowait(mid)

    async def __aenter__(self) -> FakeModule:
        await asyncio.wait_for(self.client.connect("127.0.0.1", self.port, version=MQTTv311), TIMEOUT)
        self.client.subscribe(f"{self.prefix}client/+/command/+", qos=1)
        await asyncio.wait_for(self._subacks.get(), TIMEOUT)
        self.client.subscribe(f"{self.prefix}client/+/active", qos=0)
        await asyncio.wait_for(self._subacks.get(), TIMEOUT)
        self.say_connected(True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.client.is_connected:
            await self.client.disconnect()

    def say_connected(self, yes: bool) -> None:
        self.metric("s.v3.connected", "yes" if yes else "no")

    def metric(self, name: str, value: str | bytes) -> None:
        """Publish one metric as the firmware's ``TransmitMetric`` does."""
        payload = value.encode() if isinstance(value, str) else value
        self.client.publish(f"{self.prefix}metric/{name.replace('.', '/')}", payload, qos=0, retain=True)

    def raw(self, suffix: str, payload: bytes) -> None:
        self.client.publish(f"{self.prefix}{suffix}", payload, qos=0, retain=True)

    def play_session(self) -> int:
        """Publish the recorded session (after its ``connected``); returns how many messages."""
        messages = [m for m in SESSION["messages"] if m[0] != "metric/s/v3/connected"]
        for suffix, value in messages:
            self.raw(suffix, value.encode())
        return len(messages)

    def answer_held(self) -> None:
        for topic, answer in self.held:
            self.client.publish(topic, answer.encode(), qos=1)
        self.held.clear()

    async def until(self, condition: Callable[[], bool], what: str = "the module") -> None:
        """Wait (bounded) until ``condition()`` holds; checked at every message the module gets."""
        await until_told(self._changed, condition, what)

    def _on_message(self, _c: object, topic: str, payload: bytes, qos: int, properties: Any) -> None:
        rest = topic[len(self.prefix) :]
        _, client, kind, *tail = rest.split("/")
        if kind == "active":
            self.active.append((client, payload))
        elif kind == "command":
            command_id = tail[0]
            command = payload.decode()
            self.commands.append((client, command_id, command))
            answer = (f"{self.prefix}client/{client}/response/{command_id}", answer_of(command, self.failing))
            if self.hold:
                self.held.append(answer)
            else:
                self.client.publish(answer[0], answer[1].encode(), qos=1)
        self._changed.set()
